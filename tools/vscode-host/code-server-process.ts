/**
 * Starts one throw-away code-server (real VS Code 1.139 workbench + Node extension host) for a
 * test and stops it without leaving processes behind.
 *
 * Vendor quirks handled here (see docs/testing-in-vscode.md):
 * - Without `--config` code-server writes ~/.config/code-server/config.yaml; an empty config
 *   file is rejected ("expected a document, but the input is empty"), so we write one key.
 * - Each page load spawns a new extension host and old ones linger for hours: the server is
 *   spawned detached (own process group) and stopped by signalling the negative pid.
 * - Run inside a VS Code terminal, code-server sees VSCODE_IPC_HOOK_CLI and hands the request to
 *   that VS Code instead of starting; that and other variables are not inherited (see
 *   INHERITED_ENV_BLOCKLIST).
 * - Environment variables of the code-server process reach the extension host's process.env,
 *   which is how tests hand settings (server URLs, flags) to the extension under test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { freePort } from "../harness/free-port";
import * as os from "node:os";
import * as path from "node:path";
import { ensureVscodeHost, type VscodeHost } from "./provision";

export interface StartCodeServerOptions {
  /** Provisioned host; defaults to `await ensureVscodeHost()`. */
  host?: VscodeHost;
  /** Folder opened when the workbench URL has no `folder=` (code-server's positional path). */
  folder?: string;
  /** Extra user settings merged over the quiet defaults (e.g. `{ 'juggler.serverUrl': url }`). */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and therefore for the extension host. */
  env?: Record<string, string | undefined>;
  /** Let the workbench honour the `payload` query (extension development + tests paths). */
  smokeTestDriver?: boolean;
  /** Defaults to a fresh temp folder, removed on stop (a given folder is left alone). */
  userDataDir?: string;
  /** Defaults to a fresh temp folder, removed on stop (a given folder is left alone). */
  extensionsDir?: string;
  /** `.vsix` files (or gallery ids) installed into the extensions dir before the server starts. */
  installExtensions?: string[];
  /** Extra code-server CLI arguments. */
  extraArgs?: string[];
  /** Receives each non-noise log line. Default: warnings and errors go to stderr. */
  onLog?: (line: string) => void;
  /** How long to wait for /healthz. Default 60 s. */
  startTimeoutMs?: number;
}

export interface CodeServer {
  /** Base URL, e.g. `http://127.0.0.1:41234/` (trailing slash). */
  url: string;
  port: number;
  pid: number;
  userDataDir: string;
  extensionsDir: string;
  /** Full, unfiltered log of this server (kept after stop for debugging). */
  logFile: string;
  /** Kills the whole process group (idempotent) and removes the temp folder it created. */
  stop(options?: StopOptions): Promise<void>;
}

export interface StopOptions {
  /** Also delete `logFile` (do it when the test passed). Default false: the log is kept. */
  removeLog?: boolean;
}

/** User settings that keep a fresh profile quiet and offline-friendly. */
export const QUIET_SETTINGS: Readonly<Record<string, unknown>> = {
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  // Not required, but they remove popups that would cover status bar / notifications in journeys.
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "chat.disableAIFeatures": true,
};

/**
 * Lines code-server/VS Code log on every offline start that say nothing about the code under
 * test: its agent host, marketplace (open-vsx) lookups, update and telemetry endpoints, and
 * the rejected github.com / DNS lookups behind them.
 */
const NOISE: RegExp[] = [
  /agent ?host/i,
  /open-vsx\.org|openvsx|marketplace|gallery/i,
  /update\.code\.visualstudio\.com|vscode-unpkg|vscode-sync|default\.exp-tas\.com|mobile\.events\.data/i,
  /getaddrinfo (ENOTFOUND|EAI_AGAIN)|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|socket hang up/i,
  /\[(info|trace|debug)\]|^\[[^\]]+\] (info|trace|debug) /i,
  /^\s*$/,
  // Printed when the page/extension host connections drop at the end of a run.
  /Unexpected SIGPIPE/,
];

export function isNoise(line: string): boolean {
  return NOISE.some((pattern) => pattern.test(line));
}

const defaultOnLog = (line: string): void => {
  if (/\b(error|warn(ing)?)\b/i.test(line)) process.stderr.write(`[code-server] ${line}\n`);
};

/**
 * Group leader of every server: runs code-server and polls that both it and the test process
 * are alive. If the test process dies without stop() (SIGKILL, crash, a CI timeout), the
 * supervisor kills the group, so no code-server or extension host outlives its test (they would
 * otherwise wait out the 3-hour reconnection grace time). When code-server exits by itself the
 * rest of the group (extension hosts) goes with it. An orphan's temp folder is removed too:
 * nobody is left to read its log.
 * $1 = pid of the test process, $2 = temp folder, $3… = the code-server command.
 */
const SUPERVISOR = `
parent=$1; workdir=$2; shift 2
"$@" &
server=$!
while kill -0 "$server" 2>/dev/null && kill -0 "$parent" 2>/dev/null; do sleep 1; done
trap '' TERM
kill -TERM 0 2>/dev/null
sleep 3
kill -0 "$parent" 2>/dev/null || rm -rf "$workdir"
kill -KILL 0 2>/dev/null
`;

/** Process groups we started and have not stopped yet; killed synchronously if we exit. */
const liveGroups = new Set<number>();
process.on("exit", () => {
  for (const pgid of liveGroups) killGroup(pgid, "SIGKILL");
});

export async function startCodeServer(options: StartCodeServerOptions = {}): Promise<CodeServer> {
  const host = options.host ?? (await ensureVscodeHost());
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "vscode-host-"));
  // Short paths on purpose: code-server puts a unix socket (code-server-ipc.sock) into the
  // user-data-dir, and socket paths are limited to 107 bytes.
  const userDataDir = options.userDataDir ?? path.join(workDir, "ud");
  const extensionsDir = options.extensionsDir ?? path.join(workDir, "ext");
  const configFile = path.join(workDir, "config.yaml");
  const logFile = path.join(workDir, "code-server.log");
  fs.mkdirSync(path.join(userDataDir, "User"), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(configFile, "auth: none\n");
  writeUserSettings(userDataDir, { ...QUIET_SETTINGS, ...options.settings });

  const env = childEnv(host, options.env);
  const commonArgs = ["--config", configFile, "--user-data-dir", userDataDir, "--extensions-dir", extensionsDir];
  // Our temp folders go on stop; the log stays for a post-mortem unless the caller says not.
  const removeTemp = (removeLog: boolean): void => {
    if (removeLog) {
      fs.rmSync(workDir, { recursive: true, force: true });
      return;
    }
    // Only what we made; the log and anything a caller saved next to it (see launcher) stay,
    // and so do the server-side logs (remote extension host, pty host) from the profile.
    const serverLogs = path.join(workDir, "ud", "logs");
    if (fs.existsSync(serverLogs)) fs.renameSync(serverLogs, path.join(workDir, "server-logs"));
    for (const entry of ["ud", "ext", "config.yaml"]) fs.rmSync(path.join(workDir, entry), { recursive: true, force: true });
  };

  try {
    for (const extension of options.installExtensions ?? []) {
      await runOnce(host.nodeBinary, [host.codeServerEntry, ...commonArgs, "--force", "--install-extension", extension], env, logFile);
    }
  } catch (error) {
    removeTemp(false);
    throw error;
  }

  // The free port is picked before code-server binds it; another process can take it in
  // between, so a bind failure is retried on a new port.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [
      host.codeServerEntry,
      ...commonArgs,
      "--bind-addr",
      `127.0.0.1:${port}`,
      "--auth",
      "none",
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--disable-getting-started-override",
      ...(options.smokeTestDriver ? ["--vscode-option", "enable-smoke-test-driver"] : []),
      ...(options.extraArgs ?? []),
      ...(options.folder ? [options.folder] : []),
    ];
    const child = spawn("/bin/sh", ["-c", SUPERVISOR, "vscode-host-supervisor", String(process.pid), workDir, host.nodeBinary, ...args], {
      env,
      detached: true, // own process group: stop() kills code-server, its extension hosts, pty host…
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pgid = child.pid;
    if (pgid === undefined) {
      lastError = new Error("code-server did not start (no pid)");
      continue;
    }
    liveGroups.add(pgid);
    pipeLog(child, logFile, options.onLog ?? defaultOnLog);
    const url = `http://127.0.0.1:${port}/`;
    let stopping: Promise<void> | undefined;
    const stop = (stopOptions: StopOptions = {}): Promise<void> =>
      (stopping ??= (async () => {
        await stopGroup(child, pgid);
        liveGroups.delete(pgid);
        removeTemp(stopOptions.removeLog ?? false);
      })());
    try {
      await waitForHealth(url, child, options.startTimeoutMs ?? 60_000);
      return { url, port, pid: pgid, userDataDir, extensionsDir, logFile, stop };
    } catch (error) {
      // Not stop(): the next attempt still needs the profile folders.
      await stopGroup(child, pgid);
      liveGroups.delete(pgid);
      lastError = error as Error;
      if (!/EADDRINUSE/.test(readTail(logFile, 20))) break;
    }
  }
  removeTemp(false);
  throw new Error(`${lastError?.message ?? "code-server failed"}\nLog ${logFile}:\n${readTail(logFile, 30)}`);
}

/** URL of the workbench for `folder`, optionally with a smoke-test-driver `payload`. */
export function workbenchUrl(
  server: Pick<CodeServer, "url" | "port">,
  options: { folder?: string; extensionDevelopmentPath?: string | string[]; extensionTestsPath?: string } = {},
): string {
  const url = new URL(server.url);
  if (options.folder) url.searchParams.set("folder", options.folder);
  const payload: [string, string][] = [];
  const remote = (file: string): string => `vscode-remote://127.0.0.1:${server.port}${path.resolve(file)}`;
  const devPaths = options.extensionDevelopmentPath === undefined ? [] : [options.extensionDevelopmentPath].flat();
  for (const devPath of devPaths) payload.push(["extensionDevelopmentPath", remote(devPath)]);
  if (options.extensionTestsPath) payload.push(["extensionTestsPath", remote(options.extensionTestsPath)]);
  if (payload.length > 0) url.searchParams.set("payload", JSON.stringify(payload));
  return url.toString();
}

function writeUserSettings(userDataDir: string, settings: Record<string, unknown>): void {
  const file = path.join(userDataDir, "User", "settings.json");
  let existing: Record<string, unknown> = {};
  try {
    existing = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    // absent or not plain JSON (comments): ours replace it
  }
  fs.writeFileSync(file, JSON.stringify({ ...existing, ...settings }, null, 2));
}

/**
 * Inherited variables that would change what code-server does, so a test gets the same server
 * wherever it runs (explicit `options.env` may still set them):
 * - code-server reads PORT (overrides --bind-addr's port), PASSWORD/HASHED_PASSWORD, CODE_SERVER_*
 *   (CODE_SERVER_PARENT_PID makes it act as its own child process), CS_*, EXTENSIONS_GALLERY,
 *   GITHUB_TOKEN and LOG_LEVEL (out/node/cli.js);
 * - VSCODE_*: from an outer VS Code terminal (VSCODE_IPC_HOOK_CLI: see header; VSCODE_NLS_CONFIG,
 *   VSCODE_CWD… would reconfigure the embedded VS Code server);
 * - npm_*: leaked from an outer `npm test`; NODE_OPTIONS: the test runner's tsx preload must not
 *   enter Node 24's code-server and extension hosts; ELECTRON_RUN_AS_NODE likewise.
 */
const INHERITED_ENV_BLOCKLIST =
  /^(PORT|PASSWORD|HASHED_PASSWORD|CODE_SERVER_.*|CS_.*|EXTENSIONS_GALLERY|GITHUB_TOKEN|LOG_LEVEL|VSCODE_.*|npm_.*|NODE_OPTIONS|ELECTRON_RUN_AS_NODE)$/i;

function childEnv(host: VscodeHost, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!INHERITED_ENV_BLOCKLIST.test(key)) env[key] = value;
  }
  // code-server re-spawns itself and VS Code forks extension hosts with process.execPath, but
  // shell-outs (`node` in tasks, terminals) should find the same Node 24.
  env.PATH = `${host.nodeBinDir}${path.delimiter}${process.env.PATH ?? ""}`;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function pipeLog(child: ChildProcess, logFile: string, onLog: (line: string) => void): void {
  const out = fs.createWriteStream(logFile, { flags: "a" });
  let pending = "";
  const onData = (chunk: Buffer): void => {
    out.write(chunk);
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (!isNoise(line)) onLog(line);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  child.on("close", () => out.end());
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited early (${child.exitCode ?? child.signalCode})`);
    }
    try {
      const response = await fetch(new URL("healthz", url), { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await delay(200);
  }
  throw new Error(`code-server did not answer ${url}healthz within ${timeoutMs} ms`);
}

async function stopGroup(child: ChildProcess, pgid: number): Promise<void> {
  killGroup(pgid, "SIGTERM");
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && groupAlive(pgid)) await delay(100);
  if (groupAlive(pgid)) killGroup(pgid, "SIGKILL");
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && groupAlive(pgid)) await delay(50);
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      setTimeout(resolve, 1000).unref();
    });
  }
}

export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function runOnce(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      fs.appendFileSync(logFile, output);
      if (code === 0) resolve();
      else reject(new Error(`code-server ${args.slice(-2).join(" ")} exited with ${code}:\n${output}`));
    });
  });
}

function readTail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
