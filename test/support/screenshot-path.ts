import fs from "node:fs";
import path from "node:path";

const repositoryRoot = path.resolve(__dirname, "../..");

/**
 * Where a test writes a screenshot: docs/screenshots/ when JUGGLER_UPDATE_SCREENSHOTS=1
 * (`npm run screenshots`), else the git-ignored test-results/screenshots/, so an ordinary
 * `npm test` never dirties the work tree.
 */
export function screenshotPath(fileName: string): string {
  const folder =
    process.env.JUGGLER_UPDATE_SCREENSHOTS === "1"
      ? path.join(repositoryRoot, "docs", "screenshots")
      : path.join(repositoryRoot, "test-results", "screenshots");
  fs.mkdirSync(folder, { recursive: true });
  return path.join(folder, fileName);
}
