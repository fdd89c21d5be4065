/**
 * `runTests()` of the unmodified `@vscode/test-electron`, pointed at code-server instead of a
 * downloaded VS Code (no download host is reachable here): the "executable" is launcher.sh.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runTests } from "@vscode/test-electron";
import { ensureVscodeHost, type EnsureVscodeHostOptions } from "./provision";

/** The executable handed to runTests as `vscodeExecutablePath`. */
export const LAUNCHER_PATH = path.join(__dirname, "launcher.sh");

export interface RunExtensionTestsOptions {
  /** Extension folder(s) with a package.json (`--extensionDevelopmentPath`). */
  extensionDevelopmentPath: string | string[];
  /** Tests module (or folder with index.js) exporting `run(): Promise<void>`. */
  extensionTestsPath: string;
  /** Folder opened in the workbench; default: none (empty window). */
  workspaceFolder?: string;
  /** Environment of code-server, hence of the extension host (`process.env` in the tests). */
  env?: Record<string, string | undefined>;
  /** User settings for this run (merged with the quiet defaults of code-server-process.ts). */
  settings?: Record<string, unknown>;
  /** Hard timeout of the whole run (default 5 min); the run fails with exit code 124. */
  timeoutMs?: number;
  /** Extra VS Code CLI arguments (most desktop ones are ignored by the launcher). */
  launchArgs?: string[];
  provision?: EnsureVscodeHostOptions;
}

/**
 * Provisions the host if needed, then runs the extension tests in a fresh profile (user data
 * and extensions folders are temporary, so runs are independent and may run concurrently).
 * Resolves 0; rejects with test-electron's `TestRunFailedError` when tests fail or time out.
 */
export async function runExtensionTests(options: RunExtensionTestsOptions): Promise<number> {
  await ensureVscodeHost(options.provision);
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "vscode-host-profile-"));
  const userDataDir = path.join(profileDir, "ud");
  const extensionsDir = path.join(profileDir, "ext");
  fs.mkdirSync(path.join(userDataDir, "User"), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  if (options.settings) {
    fs.writeFileSync(path.join(userDataDir, "User", "settings.json"), JSON.stringify(options.settings, null, 2));
  }
  const launchArgs = [
    // runTests puts launchArgs first; VS Code (and the launcher) take the first bare path as the folder.
    ...(options.workspaceFolder ? [path.resolve(options.workspaceFolder)] : []),
    `--user-data-dir=${userDataDir}`,
    `--extensions-dir=${extensionsDir}`,
    ...(options.timeoutMs ? [`--vscode-host-timeout=${options.timeoutMs}`] : []),
    ...(options.launchArgs ?? []),
  ];
  try {
    return await runTests({
      vscodeExecutablePath: LAUNCHER_PATH,
      extensionDevelopmentPath: options.extensionDevelopmentPath,
      extensionTestsPath: options.extensionTestsPath,
      extensionTestsEnv: options.env,
      launchArgs,
    });
  } finally {
    fs.rmSync(profileDir, { recursive: true, force: true });
  }
}
