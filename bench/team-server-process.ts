import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const repositoryRoot = path.resolve(__dirname, "..");

export interface TeamServerProcess {
  url: string;
  pid: number;
  /** From spawn to the "listening" line. */
  startupMs: number;
  rssBytes(): number;
  /** User + system CPU time the process has used so far. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface StartCommand {
  /** The `npm start` script as written in package.json. */
  script: string;
  /** What runs before the server (the build), each an argument list for node. */
  preparations: string[][];
  /** The server process: node's arguments. */
  serverArguments: string[];
}

/**
 * `npm start` is "<preparation> && … && <server>". The benchmark runs the preparations once (they
 * are not the server's start-up) and then starts the last command itself, so the process measured
 * is exactly the one `npm start` leaves running. Only `node …` and `tsx …` commands are understood.
 */
export function readStartCommand(): StartCommand {
  const packageJson = JSON.parse(fs.readFileSync(path.join(repositoryRoot, "package.json"), "utf8")) as { scripts: { start: string } };
  const script = packageJson.scripts.start;
  const commands = script.split("&&").map((command) => command.trim().split(/\s+/));
  const toNodeArguments = (words: string[]): string[] => {
    const [program, ...rest] = words;
    if (program === "node") return rest;
    if (program === "tsx") return ["--import", "tsx", ...rest];
    throw new Error(`bench: cannot run "${words.join(" ")}" from the start script "${script}"`);
  };
  const nodeCommands = commands.map(toNodeArguments);
  return { script, preparations: nodeCommands.slice(0, -1), serverArguments: nodeCommands.at(-1) as string[] };
}

/** Runs the start script's preparations (the server build); returns how long they took. */
export function prepareTeamServer(command: StartCommand = readStartCommand()): number {
  const started = performance.now();
  for (const preparation of command.preparations) {
    execFileSync(process.execPath, preparation, { cwd: repositoryRoot, stdio: ["ignore", "ignore", "inherit"] });
  }
  return performance.now() - started;
}

/**
 * Starts the server the way `npm start` does (after prepareTeamServer) as its own process, so its
 * memory and CPU are measured alone. `extraNodeArguments` (e.g. --cpu-prof) go before the script.
 */
export async function startTeamServerProcess(
  environment: Record<string, string>,
  extraNodeArguments: string[] = [],
  command: StartCommand = readStartCommand(),
): Promise<TeamServerProcess> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...extraNodeArguments, ...command.serverArguments], {
    cwd: repositoryRoot,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...environment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`team server exited with ${code}:\n${output}`)));
  });
  const startupMs = performance.now() - started;
  const pid = child.pid as number;
  // clock ticks per second: 100 on Linux (getconf CLK_TCK)
  const ticksPerSecond = 100;
  return {
    url,
    pid,
    startupMs,
    rssBytes: () => {
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      return match?.[1] ? Number(match[1]) * 1024 : Number.NaN;
    },
    cpuMs: () => {
      // fields after the command name: state is 3rd, utime 14th and stime 15th of the whole line
      const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
