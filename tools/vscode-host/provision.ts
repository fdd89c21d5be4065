/**
 * Provisions the real-VS-Code test host: code-server (which embeds VS Code 1.139.1) and the
 * Node 24 it needs, both from the npm registry, into the git-ignored `.cache/vscode-host/`.
 *
 * Why this shape (see docs/testing-in-vscode.md):
 * - No desktop VS Code/Electron can be downloaded here; code-server from npm is the real
 *   workbench + Node extension host.
 * - code-server 4.139 needs Node 24 at runtime (Node 20 lacks `node:module` `registerHooks`),
 *   and its native addons must be built by npm running under that same Node, against its
 *   headers (`npm_config_nodedir`), or they fail to load with a NODE_MODULE_VERSION mismatch.
 * - `kerberos` (a code-server dependency) compiles against `gssapi/gssapi.h` from Debian's
 *   `libkrb5-dev`; without it the install fails deep inside node-gyp output.
 *
 * Idempotent and safe for concurrent test processes: a mkdir lock serialises installers and a
 * marker file, written only after a verified install, tells a finished install from a half one.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

// Bumping either gives a new cache folder (old ones are not pruned: delete .cache/vscode-host).
// code-server's native addons are built against NODE_VERSION's headers, so a Node bump must
// also reinstall code-server: bump both, or delete the cache.
export const NODE_VERSION = "24.21.0";
export const CODE_SERVER_VERSION = "4.139.1";

/** Repo root: this file lives in <root>/tools/vscode-host/. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const HOST_CACHE_DIR = path.join(REPO_ROOT, ".cache", "vscode-host");

export interface VscodeHost {
  /** Node 24 executable that must run code-server. */
  nodeBinary: string;
  /** Folder holding `nodeBinary` (put first in PATH for anything code-server spawns). */
  nodeBinDir: string;
  /** code-server's CLI entry (`out/node/entry.js`); run as `<nodeBinary> <codeServerEntry> ...`. */
  codeServerEntry: string;
  /** code-server package folder. */
  codeServerDir: string;
  codeServerVersion: string;
  /** VS Code version embedded in code-server (from its lib/vscode/package.json). */
  vscodeVersion: string;
  /** The cache folder everything lives in. */
  cacheDir: string;
}

export interface EnsureVscodeHostOptions {
  /** Progress sink; defaults to stderr lines prefixed with `[vscode-host]`. */
  log?: (line: string) => void;
  /** Cache folder; defaults to `<repo>/.cache/vscode-host`. */
  cacheDir?: string;
}

interface Marker {
  version: string;
  installedAt: string;
  seconds: number;
}

const defaultLog = (line: string): void => {
  process.stderr.write(`[vscode-host] ${line}\n`);
};

export async function ensureVscodeHost(options: EnsureVscodeHostOptions = {}): Promise<VscodeHost> {
  const log = options.log ?? defaultLog;
  const cacheDir = options.cacheDir ?? HOST_CACHE_DIR;
  const nodePackage = nodePackageName();
  const nodePrefix = path.join(cacheDir, `node-${NODE_VERSION}`);
  const nodePackageDir = path.join(nodePrefix, "node_modules", nodePackage);
  const codeServerPrefix = path.join(cacheDir, `code-server-${CODE_SERVER_VERSION}`);
  const codeServerDir = path.join(codeServerPrefix, "node_modules", "code-server");
  const host: VscodeHost = {
    nodeBinary: path.join(nodePackageDir, "bin", "node"),
    nodeBinDir: path.join(nodePackageDir, "bin"),
    codeServerEntry: path.join(codeServerDir, "out", "node", "entry.js"),
    codeServerDir,
    codeServerVersion: CODE_SERVER_VERSION,
    vscodeVersion: "",
    cacheDir,
  };

  const nodeMarker = path.join(nodePrefix, ".installed.json");
  const codeServerMarker = path.join(codeServerPrefix, ".installed.json");
  // Fast path without the lock: markers are written last, so their presence means complete.
  if (!(hasMarker(nodeMarker, NODE_VERSION) && hasMarker(codeServerMarker, CODE_SERVER_VERSION))) {
    fs.mkdirSync(cacheDir, { recursive: true });
    const release = await acquireLock(path.join(cacheDir, ".install.lock"), log);
    try {
      // Re-check under the lock: another process may have finished while we waited.
      if (!hasMarker(nodeMarker, NODE_VERSION)) {
        await installPackage({
          label: `Node ${NODE_VERSION} (${nodePackage})`,
          prefix: nodePrefix,
          spec: `${nodePackage}@${NODE_VERSION}`,
          marker: nodeMarker,
          version: NODE_VERSION,
          // The npm that runs the tests (any version) is fine for a package without scripts.
          npm: { node: process.execPath, npmCli: findNpmCli(), env: {} },
          verify: async () => {
            const out = await capture(host.nodeBinary, ["--version"]);
            if (out.trim() !== `v${NODE_VERSION}`) throw new Error(`unexpected node --version: ${out.trim()}`);
          },
          log,
        });
      }
      if (!hasMarker(codeServerMarker, CODE_SERVER_VERSION)) {
        checkNativeBuildPrerequisites();
        await installPackage({
          label: `code-server ${CODE_SERVER_VERSION}`,
          prefix: codeServerPrefix,
          spec: `code-server@${CODE_SERVER_VERSION}`,
          marker: codeServerMarker,
          version: CODE_SERVER_VERSION,
          npm: {
            // npm must itself run under Node 24 (code-server's postinstall checks the running
            // Node major and installs lib/vscode's dependencies with it).
            node: host.nodeBinary,
            npmCli: bundledNpmCli(nodePackageDir) ?? findNpmCli(),
            env: {
              PATH: `${host.nodeBinDir}${path.delimiter}${process.env.PATH ?? ""}`,
              // node-gyp would otherwise build against the system Node's headers (this
              // machine's ~/.npmrc even sets nodedir=/usr) and the addons would not load in Node 24.
              npm_config_nodedir: nodePackageDir,
            },
          },
          verify: async () => {
            const out = await capture(host.nodeBinary, [host.codeServerEntry, "--version"], {
              PATH: `${host.nodeBinDir}${path.delimiter}${process.env.PATH ?? ""}`,
            });
            if (!out.includes(CODE_SERVER_VERSION)) throw new Error(`unexpected code-server --version: ${out.trim()}`);
            // Proves postinstall.sh ran (it installs lib/vscode's dependencies) and that the
            // native addons were built for Node 24's ABI (else: NODE_MODULE_VERSION mismatch).
            const addon = path.join(codeServerDir, "lib", "vscode", "node_modules", "@vscode", "spdlog", "build", "Release", "spdlog.node");
            await capture(host.nodeBinary, ["-e", `require(${JSON.stringify(addon)})`]);
          },
          log,
        });
      }
    } finally {
      release();
    }
  }

  host.vscodeVersion = readVscodeVersion(codeServerDir);
  return host;
}

function nodePackageName(): string {
  // The npm registry publishes the official Node builds as node-<platform>-<arch>; only
  // linux-x64 is verified with code-server here.
  if (process.platform !== "linux") {
    throw new Error(`vscode-host: only Linux is supported (this is ${process.platform})`);
  }
  return `node-linux-${process.arch}`;
}

function checkNativeBuildPrerequisites(): void {
  if (!fs.existsSync("/usr/include/gssapi/gssapi.h")) {
    throw new Error(
      "vscode-host: code-server needs the Kerberos development headers to build its `kerberos` addon " +
        "(/usr/include/gssapi/gssapi.h is missing). Install them with:\n" +
        "    sudo apt-get install -y libkrb5-dev\n" +
        "(plus build-essential and python3 if they are missing), then run the tests again.",
    );
  }
}

function hasMarker(file: string, version: string): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Marker>;
    return marker.version === version;
  } catch {
    return false;
  }
}

function readVscodeVersion(codeServerDir: string): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(codeServerDir, "lib", "vscode", "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

interface NpmRunner {
  node: string;
  npmCli: string;
  env: NodeJS.ProcessEnv;
}

async function installPackage(args: {
  label: string;
  prefix: string;
  spec: string;
  marker: string;
  version: string;
  npm: NpmRunner;
  verify: () => Promise<void>;
  log: (line: string) => void;
}): Promise<void> {
  const { label, prefix, log } = args;
  const started = Date.now();
  // No marker = never installed or interrupted half way: start from scratch.
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.mkdirSync(prefix, { recursive: true });
  // An own package.json keeps npm from walking up into the repo's package.json/lockfile.
  fs.writeFileSync(
    path.join(prefix, "package.json"),
    JSON.stringify({ name: "vscode-host-cache", private: true, description: "generated by tools/vscode-host/provision.ts" }, null, 2),
  );
  const logFile = `${prefix}.install.log`;
  const shown = path.relative(process.cwd(), prefix);
  log(`installing ${label} into ${shown.startsWith("..") || shown === "" ? prefix : shown} (log: ${logFile})`);
  const heartbeat = setInterval(() => {
    log(`  still installing ${label}… ${Math.round((Date.now() - started) / 1000)} s`);
  }, 15_000);
  try {
    const code = await runToFile(
      args.npm.node,
      [args.npm.npmCli, "install", "--no-save", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=http", args.spec],
      { cwd: prefix, env: { ...withoutNpmVariables(process.env), ...args.npm.env } },
      logFile,
    );
    if (code !== 0) {
      throw new Error(`npm install ${args.spec} exited with ${code}.\nLast lines of ${logFile}:\n${tail(logFile, 40)}`);
    }
    await args.verify();
  } catch (error) {
    clearInterval(heartbeat);
    log(`FAILED installing ${label}; the half install will be redone on the next run`);
    throw error;
  }
  clearInterval(heartbeat);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const marker: Marker = { version: args.version, installedAt: new Date().toISOString(), seconds };
  fs.writeFileSync(args.marker, JSON.stringify(marker, null, 2));
  log(`installed ${label} in ${seconds} s`);
}

/**
 * Drops the npm_* variables an outer `npm test`/`npx` exported, except registry/network
 * settings (a mirror or proxy configured through the environment must keep working). The rest
 * would leak into our npm: code-server's postinstall.sh reads the Node major from
 * `npm_config_user_agent`, which npm does not overwrite when inherited, so it saw the outer
 * Node 20 and refused ("code-server currently requires node v24"); `npm_config_local_prefix`
 * and `npm_config_prefix` would point the install at the repo, an empty `npm_config_allow_scripts`
 * could block install scripts.
 */
const KEPT_NPM_CONFIG =
  /^npm_config_(registry|.+:registry|proxy|https?_proxy|no_?proxy|cafile|ca|cert|key|strict_ssl|cache|userconfig|globalconfig|fetch_[a-z_]+|maxsockets|prefer_offline|offline)$/i;

function withoutNpmVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !/^npm_/i.test(key) || KEPT_NPM_CONFIG.test(key)));
}

/** npm bundled with the Node package, if the package ships it (lib/node_modules/npm). */
function bundledNpmCli(nodePackageDir: string): string | undefined {
  const cli = path.join(nodePackageDir, "lib", "node_modules", "npm", "bin", "npm-cli.js");
  return fs.existsSync(cli) ? cli : undefined;
}

/** npm-cli.js of the npm that runs alongside the current Node. */
function findNpmCli(): string {
  const candidates = [
    process.env.npm_execpath,
    path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js"),
    "/usr/lib/node_modules/npm/bin/npm-cli.js",
    "/usr/share/nodejs/npm/bin/npm-cli.js",
  ];
  for (const candidate of candidates) {
    if (candidate && /npm-cli\.js$/.test(candidate) && fs.existsSync(candidate)) return candidate;
  }
  throw new Error("vscode-host: cannot find npm-cli.js (is npm installed next to node?)");
}

function runToFile(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }, logFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, "w");
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", out, out] });
    child.on("error", (error) => {
      fs.closeSync(out);
      reject(error);
    });
    child.on("close", (code, signal) => {
      fs.closeSync(out);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

function capture(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${output}`)),
    );
  });
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * mkdir is atomic, so it doubles as a cross-process lock. The owner's pid is recorded so a lock
 * left behind by a killed process (e.g. Ctrl+C during a cold install) is taken over instead of
 * blocking every later run.
 */
async function acquireLock(lockDir: string, log: (line: string) => void): Promise<() => void> {
  const ownerFile = path.join(lockDir, "pid");
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(ownerFile, String(process.pid));
      return () => fs.rmSync(lockDir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number(readOr(ownerFile, ""));
    const ageMs = Date.now() - statMtimeOr(lockDir, Date.now());
    // No pid after 10 s means the owner died between mkdir and writing its pid.
    if ((owner && !isAlive(owner)) || (!owner && ageMs > 10_000)) {
      log(`removing stale install lock ${lockDir} (owner ${owner || "unknown"} is gone)`);
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log(`waiting for another process (pid ${owner || "?"}) to finish installing…`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

function statMtimeOr(file: string, fallback: number): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return fallback;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// `tsx tools/vscode-host/provision.ts` provisions (e.g. in CI before the tests, or to warm up).
if (require.main === module) {
  const started = Date.now();
  ensureVscodeHost()
    .then((host) => {
      console.log(JSON.stringify({ ...host, seconds: (Date.now() - started) / 1000 }, null, 2));
    })
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    });
}
