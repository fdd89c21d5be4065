import ignore, { type Ignore } from "ignore";

/** A folder's `.gitignore` rules and the folder (relative to the workspace folder, "" for its root) they apply in. */
interface IgnoreLevel {
  directory: string;
  rules: Ignore;
}

/**
 * The paths (relative to one workspace folder, `/`-separated) that git would not ignore, reading
 * every `.gitignore` among them: each one's patterns apply to the paths below its folder, relative
 * to that folder, with the `ignore` package's implementation of git's matching. A `.gitignore` in a
 * folder an outer one already ignores is never read (git does not read it either), so an ignored
 * `node_modules` costs nothing. Approximation, said plainly: a deeper file cannot re-include (`!`) what
 * an outer one ignored, which git allows only for files whose folder is not itself ignored.
 */
export async function filterIgnoredFiles(
  paths: readonly string[],
  readFile: (path: string) => Promise<string | undefined>,
): Promise<string[]> {
  const ignoreFiles = paths
    .filter((path) => path === ".gitignore" || path.endsWith("/.gitignore"))
    .sort((first, second) => first.split("/").length - second.split("/").length || first.localeCompare(second));
  const levels: IgnoreLevel[] = [];
  for (const file of ignoreFiles) {
    const directory = file.slice(0, Math.max(0, file.length - "/.gitignore".length));
    if (directory !== "" && isIgnored(levels, `${directory}/`)) continue;
    const text = await readFile(file);
    if (text !== undefined) levels.push({ directory, rules: ignore().add(text) });
  }
  return paths.filter((path) => !isIgnored(levels, path));
}

function isIgnored(levels: readonly IgnoreLevel[], path: string): boolean {
  for (const { directory, rules } of levels) {
    if (directory === "") {
      if (rules.ignores(path)) return true;
      continue;
    }
    if (!path.startsWith(`${directory}/`)) continue;
    const inside = path.slice(directory.length + 1);
    if (inside !== "" && rules.ignores(inside)) return true;
  }
  return false;
}
