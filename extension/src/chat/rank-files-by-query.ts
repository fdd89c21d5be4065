/**
 * The `@` picker's fuzzy match: a path matches when the query's characters appear in it in order
 * (case-insensitive). Ranked by where they match: in the file name before in the folders, then
 * consecutive characters, then shorter paths. Pure, so it is tested without VS Code.
 */
export function rankFilesByQuery(paths: readonly string[], query: string, limit: number): string[] {
  const wanted = query.trim().toLowerCase();
  if (wanted === "") return paths.slice(0, limit);
  const scored: Array<{ path: string; score: number }> = [];
  for (const path of paths) {
    const score = scoreMatch(path.toLowerCase(), wanted);
    if (score !== undefined) scored.push({ path, score });
  }
  scored.sort((left, right) => right.score - left.score || left.path.length - right.path.length || left.path.localeCompare(right.path));
  return scored.slice(0, limit).map((entry) => entry.path);
}

function scoreMatch(path: string, query: string): number | undefined {
  const nameStart = path.lastIndexOf("/") + 1;
  let score = 0;
  let from = 0;
  let previous = -2;
  for (const character of query) {
    const index = path.indexOf(character, from);
    if (index === -1) return undefined;
    if (index === previous + 1) score += 3;
    if (index >= nameStart) score += 2;
    previous = index;
    from = index + 1;
  }
  // the whole query inside the file name beats any scattered match
  if (path.slice(nameStart).includes(query)) score += 10 * query.length;
  return score;
}
