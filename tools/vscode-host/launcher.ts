/**
 * A stand-in for the VS Code executable that the unmodified `@vscode/test-electron` `runTests()`
 * can launch (`vscodeExecutablePath: launcher.sh`): it takes VS Code's CLI arguments, runs the
 * extension tests in code-server's web workbench through headless Chromium and exits with the
 * tests' exit code.
 *
 * How the web workbench runs extension tests (VS Code 1.139 `workbench.js`): only when the
 * server was started with `--vscode-option enable-smoke-test-driver` does it read the `payload`
 * query (extensionDevelopmentPath / extensionTestsPath as vscode-remote URIs). When the tests'
 * `run()` settles it calls `window.codeAutomationExit(code, logs)`, and it reports log lines
 * through `window.codeAutomationLog(level, args)`; both must be exposed before navigation.
 *
 * runTests 2.5.2 always adds desktop-only switches (--no-sandbox, --disable-gpu-sandbox,
 * --disable-updates, --skip-welcome, --skip-release-notes, --disable-workspace-trust) and,
 * unless reuseMachineInstall, --extensions-dir/--user-data-dir under ./.vscode-test.
 *
 * Extra switches understood here (pass them in runTests' `launchArgs`):
 *   --vscode-host-timeout=<ms>   hard timeout (also $VSCODE_HOST_TIMEOUT_MS; default 5 min)
 * Environment (runTests' extensionTestsEnv reaches it): VSCODE_HOST_VERBOSE=1 prints all
 * workbench log lines; VSCODE_HOST_KEEP_LOGS=0 drops the logs of a failed run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as util from "node:util";
import type { Browser } from "playwright-core";
import { startCodeServer, workbenchUrl, type CodeServer } from "./code-server-process";
import { ensureVscodeHost } from "./provision";
import { closeWorkbench, launchBrowser, openWorkbench } from "./workbench-driver";

export interface LauncherArgs {
  extensionDevelopmentPaths: string[];
  extensionTestsPath?: string;
  userDataDir?: string;
  extensionsDir?: string;
  folder?: string;
  disableExtensions: boolean;
  timeoutMs: number;
  ignored: string[];
}

/** Desktop/Electron switches that have no meaning for code-server + Chromium. */
const IGNORED_FLAGS = new Set([
  "--no-sandbox",
  "--disable-gpu-sandbox",
  "--disable-gpu",
  "--disable-updates",
  "--skip-welcome",
  "--skip-release-notes",
  "--disable-workspace-trust", // code-server always gets its own --disable-workspace-trust
  "--disable-telemetry",
  "--disable-crash-reporter",
  "--new-window",
  "--wait",
  "--verbose",
]);

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

export function parseLauncherArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): LauncherArgs {
  const result: LauncherArgs = {
    extensionDevelopmentPaths: [],
    disableExtensions: false,
    timeoutMs: Number(env.VSCODE_HOST_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS,
    ignored: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    // VS Code accepts both `--flag=value` and `--flag value` for these.
    const value = (): string => (eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : (argv[++i] ?? ""));
    switch (name) {
      case "--extensionDevelopmentPath":
        result.extensionDevelopmentPaths.push(path.resolve(value()));
        break;
      case "--extensionTestsPath":
        result.extensionTestsPath = path.resolve(value());
        break;
      case "--user-data-dir":
        result.userDataDir = path.resolve(value());
        break;
      case "--extensions-dir":
        result.extensionsDir = path.resolve(value());
        break;
      case "--folder-uri": {
        const uri = value();
        result.folder = uri.startsWith("file://") ? new URL(uri).pathname : uri;
        break;
      }
      case "--disable-extensions":
        result.disableExtensions = true;
        break;
      case "--vscode-host-timeout":
        result.timeoutMs = Number(value()) || result.timeoutMs;
        break;
      default:
        if (!arg.startsWith("-") && result.folder === undefined) result.folder = path.resolve(arg);
        else result.ignored.push(arg);
    }
  }
  return result;
}

/** Node resolves the tests module itself: a folder means its index.js (desktop contract). */
function resolveTestsModule(testsPath: string): string {
  return fs.existsSync(testsPath) && fs.statSync(testsPath).isDirectory() ? path.join(testsPath, "index.js") : testsPath;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * The workbench hands its log service's arguments over unformatted; the extension host's console
 * (mocha's reporter included) arrives printf-style, e.g. `["    ✔ %s (%dms)", title, 75]`.
 */
function formatLogArgs(args: unknown): string {
  return Array.isArray(args) ? util.format(...(args as unknown[])) : util.format(args);
}

/**
 * What the workbench itself logs on every offline run, as opposed to the extension host's
 * console: connection chatter, the agent host / chat features, open-vsx lookups, and reads
 * cancelled by the page closing at the end. Set VSCODE_HOST_VERBOSE=1 to see everything.
 */
const WORKBENCH_NOISE: RegExp[] = [
  /^Resolv(ing|ed) connection token|^Creating a socket|\[reconnection-grace-time\]|^Updating additional builtin extensions cache/,
  /^\[Service Worker\]|^\[(AgentHost|AccountPolicyGate|RemoteAgentHostProtocol|ChatModelSelection)[\]:]/,
  /open-vsx\.org|getaddrinfo (ENOTFOUND|EAI_AGAIN)/,
  /^\[lifecycle\] Long running operations during shutdown/,
  /^Unable to read file '[^']*' \(Canceled/,
  /^No default agent contributed|chatSessionInput:/,
  // The built-in GitHub extension never registers its auth provider offline.
  /^Timed out waiting for authentication provider 'github'/,
];

function isWorkbenchNoise(line: string): boolean {
  return WORKBENCH_NOISE.some((pattern) => pattern.test(line));
}

/** On failure keep the window/extension-host logs that codeAutomationExit hands over. */
function saveWorkbenchLogs(dir: string, logs: unknown): void {
  if (!Array.isArray(logs)) return;
  for (const entry of logs as { relativePath?: unknown; contents?: unknown }[]) {
    if (typeof entry.relativePath !== "string" || typeof entry.contents !== "string") continue;
    const file = path.join(dir, path.normalize(entry.relativePath).replace(/^(\.\.[/\\])+/, ""));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, entry.contents);
  }
}

export async function runLauncher(argv: string[]): Promise<number> {
  const args = parseLauncherArgs(argv);
  const unknown = args.ignored.filter((arg) => !IGNORED_FLAGS.has(arg.split("=")[0]));
  if (unknown.length > 0) print(`[vscode-host] ignoring unsupported arguments: ${unknown.join(" ")}`);
  if (args.extensionDevelopmentPaths.length === 0 || !args.extensionTestsPath) {
    print("[vscode-host] usage: launcher.sh --extensionDevelopmentPath=<dir> --extensionTestsPath=<file|dir> [folder]");
    return 2;
  }

  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let finished = false;
  let cleaning: Promise<void> | undefined;
  const cleanup = (removeLog: boolean): Promise<void> =>
    (cleaning ??= (async () => {
      finished = true;
      await browser?.close().catch(() => undefined);
      // VSCODE_HOST_KEEP_LOGS=0: a deliberately failing run (the self-test) leaves nothing behind.
      await server?.stop({ removeLog: removeLog || process.env.VSCODE_HOST_KEEP_LOGS === "0" });
    })());
  // runTests forwards the first Ctrl+C as SIGINT; a kill from a CI runner is SIGTERM. The main
  // flow below then fails (its browser is gone) and must wait for this cleanup, not exit early.
  let interrupted: Promise<number> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    print(`[vscode-host] ${signal}: stopping code-server and Chromium`);
    const code = signal === "SIGINT" ? 130 : 143;
    interrupted = cleanup(true).then(() => code); // an interrupted run's logs are of no use
    resolveExit(code);
  };
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  let timer: NodeJS.Timeout | undefined;
  try {
    const host = await ensureVscodeHost();
    server = await startCodeServer({
      host,
      smokeTestDriver: true,
      userDataDir: args.userDataDir,
      extensionsDir: args.extensionsDir,
      folder: args.folder,
    });
    if (interrupted) {
      // The signal came while code-server was starting, before cleanup could see it.
      await server.stop({ removeLog: true });
      return await interrupted;
    }
    const url = new URL(
      workbenchUrl(server, {
        folder: args.folder,
        extensionDevelopmentPath: args.extensionDevelopmentPaths,
        extensionTestsPath: resolveTestsModule(args.extensionTestsPath),
      }),
    );
    if (args.disableExtensions) {
      // The payload's `disableExtensions` is the web workbench's --disable-extensions.
      const payload = JSON.parse(url.searchParams.get("payload") ?? "[]") as [string, string][];
      payload.push(["disableExtensions", "true"]);
      url.searchParams.set("payload", JSON.stringify(payload));
    }

    const logDir = path.dirname(server.logFile);
    const workbenchLog = path.join(logDir, "workbench.log");
    const verbose = process.env.VSCODE_HOST_VERBOSE === "1";
    let workbenchLogs: unknown;
    const timedOut = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        print(
          `[vscode-host] TIMEOUT: the extension tests did not finish within ${args.timeoutMs} ms (code-server log: ${server?.logFile})`,
        );
        resolve(124);
      }, args.timeoutMs);
    });

    browser = await launchBrowser({ handleSignals: false });
    if (interrupted) {
      await browser.close();
      await server.stop({ removeLog: true });
      return await interrupted;
    }
    browser.on("disconnected", () => {
      if (!finished) {
        print("[vscode-host] Chromium disconnected before the tests finished");
        resolveExit(1);
      }
    });
    const page = await openWorkbench(url.toString(), {
      browser,
      waitForWorkbench: false,
      beforeNavigate: async (p) => {
        await p.exposeFunction("codeAutomationLog", (level: string, logArgs: unknown) => {
          const line = formatLogArgs(logArgs);
          fs.appendFileSync(workbenchLog, `[${level}] ${line}\n`);
          if (verbose || !isWorkbenchNoise(line)) print(line);
        });
        await p.exposeFunction("codeAutomationExit", (code: number, logs: unknown) => {
          workbenchLogs = logs;
          resolveExit(Number(code) || 0);
        });
        p.on("crash", () => {
          print("[vscode-host] the workbench page crashed");
          resolveExit(1);
        });
      },
    });
    const code = await Promise.race([exited, timedOut]);
    if (interrupted) return await interrupted;
    await closeWorkbench(page);
    if (code !== 0 && process.env.VSCODE_HOST_KEEP_LOGS !== "0") {
      saveWorkbenchLogs(path.join(logDir, "window-logs"), workbenchLogs);
      print(`[vscode-host] extension tests exited with ${code}; logs (code-server, workbench, window) in ${logDir}`);
    }
    await cleanup(code === 0);
    return code;
  } catch (error) {
    // After a signal the cleanup closed the browser under our feet: that error is expected.
    if (interrupted) return await interrupted;
    print(`[vscode-host] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanup(false);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

if (require.main === module) {
  runLauncher(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
