/**
 * Entry of the extension-host tests (the desktop contract of `extensionTestsPath`: `run()`
 * resolves when every test passed and rejects otherwise). esbuild bundles this file and each
 * `*.vscode-test.ts` beside it into a temp folder (see ../support/build-extension-host-tests.ts), so
 * mocha cannot be found by walking up from there: its folder is baked in at build time.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The repository's root, replaced by esbuild's `define`. */
declare const JUGGLER_REPOSITORY_ROOT: string;

export async function run(): Promise<void> {
  // mocha 12 is an ES module package; Node 24's require() (the extension host's Node) loads it. A static
  // import would be bundled instead, and the path is only known at run time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(path.join(JUGGLER_REPOSITORY_ROOT, "node_modules", "mocha")) as typeof import("mocha") & {
    default?: typeof import("mocha");
  };
  const Mocha = loaded.default ?? loaded;
  const mocha = new Mocha({ ui: "bdd", color: false, reporter: "spec", timeout: 60_000 });
  for (const file of fs
    .readdirSync(__dirname)
    .filter((name) => name.endsWith(".vscode-test.js"))
    .sort()) {
    mocha.addFile(path.join(__dirname, file));
  }
  await mocha.loadFilesAsync();
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} extension-host test(s) failed`);
}
