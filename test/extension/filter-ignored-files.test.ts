import assert from "node:assert/strict";
import { filterIgnoredFiles } from "../../extension/src/chat/filter-ignored-files";

describe("extension: the @ picker leaves out what .gitignore files ignore", function () {
  it("applies the root and nested .gitignore files, each relative to its own folder", async function () {
    const files: Record<string, string> = {
      ".gitignore": "node_modules/\n*.log\n/build\n",
      "packages/app/.gitignore": "generated/\nsecret.txt\n",
      "node_modules/left-pad/.gitignore": "index.js\n",
    };
    const read: string[] = [];
    const paths = [
      ".gitignore",
      "src/main.ts",
      "debug.log",
      "build/out.js",
      "src/build/keep.ts",
      "node_modules/left-pad/.gitignore",
      "node_modules/left-pad/index.js",
      "packages/app/.gitignore",
      "packages/app/secret.txt",
      "packages/app/src/secret.txt",
      "packages/app/generated/api.ts",
      "packages/app/src/index.ts",
      "packages/other/secret.txt",
    ];
    const kept = await filterIgnoredFiles(paths, async (path) => {
      read.push(path);
      return files[path];
    });
    assert.deepEqual(kept, [
      ".gitignore",
      "src/main.ts",
      "src/build/keep.ts",
      "packages/app/.gitignore",
      "packages/app/src/index.ts",
      "packages/other/secret.txt",
    ]);
    assert.deepEqual(read, [".gitignore", "packages/app/.gitignore"], "a .gitignore inside an ignored folder is never read");
  });

  it("keeps everything when there is no .gitignore, or one cannot be read", async function () {
    assert.deepEqual(await filterIgnoredFiles(["a.ts", "b/c.ts"], async () => undefined), ["a.ts", "b/c.ts"]);
    assert.deepEqual(await filterIgnoredFiles([".gitignore", "a.log"], async () => undefined), [".gitignore", "a.log"]);
  });
});
