import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const repositoryRoot = path.resolve(__dirname, "..");

export interface TeamServerProcess {
  url: string;
  pid: number;
  /** From spawn to the "listening" line. */
  startupMs: number;
  rssBytes(): number;
  stop(): Promise<void>;
}

/** Starts `npm start`'s command (tsx server/src/main.ts) as its own process, so its memory is measured alone. */
export async function startTeamServerProcess(environment: Record<string, string>): Promise<TeamServerProcess> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts"], {
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
  return {
    url,
    pid,
    startupMs,
    rssBytes: () => {
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      return match?.[1] ? Number(match[1]) * 1024 : Number.NaN;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
