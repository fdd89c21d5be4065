/**
 * Bundles test/vscode/extension-host/ (index.ts + every *.vscode-test.ts) into CommonJS files the
 * extension host can `require`: `vscode` stays external (the host provides it), mocha is loaded
 * by absolute path from the repository at run time (see extension-host/index.ts).
 */
import * as esbuild from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../../tools/vscode-host/provision";

const SOURCE_DIR = path.join(REPO_ROOT, "test", "vscode", "extension-host");

/** Writes the bundles into `outDir`; returns the path of the tests module (its index.js). */
export async function buildExtensionHostTests(outDir: string): Promise<string> {
  // Not `*.test.ts`: `npm test` runs those in plain Node, where `vscode` does not exist.
  const testFiles = fs.readdirSync(SOURCE_DIR).filter((name) => name.endsWith(".vscode-test.ts"));
  const entryPoints = Object.fromEntries([
    ["index", path.join(SOURCE_DIR, "index.ts")],
    ...testFiles.map((name) => [name.replace(/\.ts$/, ""), path.join(SOURCE_DIR, name)]),
  ]);
  await esbuild.build({
    entryPoints,
    outdir: outDir,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    external: ["vscode", "mocha"],
    define: { JUGGLER_REPOSITORY_ROOT: JSON.stringify(REPO_ROOT) },
    // Readable stack traces in a failing test's output.
    keepNames: true,
    sourcemap: "inline",
    logLevel: "warning",
    absWorkingDir: REPO_ROOT,
  });
  return path.join(outDir, "index.js");
}
