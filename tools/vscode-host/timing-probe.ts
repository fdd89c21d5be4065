/**
 * Builds the benchmark's timing probe (./timing-probe-extension.ts) into a `.vsix` that code-server
 * installs beside Juggler's (see `StartCodeServerOptions.installExtensions`).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { REPO_ROOT } from "./provision";

import type { TimingProbeRecord } from "./timing-probe-record";

/** Bundles and packages the probe in `folder`; returns the `.vsix` path. */
export async function packageTimingProbe(folder: string): Promise<string> {
  const extensionFolder = path.join(folder, "timing-probe");
  fs.mkdirSync(extensionFolder, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { engines: { vscode: string } };
  fs.writeFileSync(
    path.join(extensionFolder, "package.json"),
    JSON.stringify(
      {
        name: "timing-probe",
        displayName: "Juggler benchmark timing probe",
        description: "Records when Juggler's chat session handles what the benchmark times.",
        version: "0.0.1",
        publisher: "juggler-bench",
        license: "MIT",
        engines: { vscode: manifest.engines.vscode },
        main: "./extension.js",
        activationEvents: ["onStartupFinished"],
        extensionDependencies: ["juggler.juggler"],
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(path.join(extensionFolder, "README.md"), "Measures Juggler for its benchmark; not for use.\n");
  await esbuild.build({
    entryPoints: [path.join(REPO_ROOT, "tools", "vscode-host", "timing-probe-extension.ts")],
    outfile: path.join(extensionFolder, "extension.js"),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode"],
    logLevel: "warning",
  });
  const vsix = path.join(folder, "timing-probe.vsix");
  execFileSync(
    path.join(REPO_ROOT, "node_modules", ".bin", "vsce"),
    ["package", "--no-dependencies", "--skip-license", "--allow-missing-repository", "-o", vsix],
    { cwd: extensionFolder, stdio: "pipe" },
  );
  return vsix;
}

/** Every record the probe wrote so far, oldest first. */
export function readTimingProbe(file: string): TimingProbeRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as TimingProbeRecord);
}
