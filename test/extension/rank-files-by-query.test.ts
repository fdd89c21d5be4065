import assert from "node:assert/strict";
import { rankFilesByQuery } from "../../extension/src/chat/rank-files-by-query";

describe("extension: the @ picker's fuzzy file match", function () {
  const paths = ["src/greeting.ts", "test/greeting.test.ts", "docs/agreement.md", "src/server/registry.ts", "README.md"];

  it("keeps paths with the query's characters in order, the file name's matches first, then the shorter path", function () {
    // "agreement" has g, r, e, e, t in order too, scattered: after the names that contain "greet"
    assert.deepEqual(rankFilesByQuery(paths, "greet", 10), ["src/greeting.ts", "test/greeting.test.ts", "docs/agreement.md"]);
    assert.equal(rankFilesByQuery(paths, "GRT", 10)[0], "src/greeting.ts", "case-insensitive");
    assert.ok(!rankFilesByQuery(paths, "greet", 10).includes("README.md"));
    assert.deepEqual(rankFilesByQuery(paths, "zzz", 10), []);
  });

  it("lists everything up to the limit for an empty query", function () {
    assert.deepEqual(rankFilesByQuery(paths, " ", 2), paths.slice(0, 2));
  });
});
