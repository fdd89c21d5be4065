import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const repositoryRoot = path.resolve(__dirname, "..", "..");

/** One real team server process (`tsx server/src/main.ts`), as `npm start` would run it on its own machine. */
export interface ServerInstance {
  url: string;
  pid: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGKILL: no shutdown step runs, as when a machine dies. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait (the graceful stop), then remove its data folder. */
  stop(): Promise<void>;
}

/**
 * Starts `count` server processes sharing one PostgreSQL database (and one SECRET_KEY, so that a
 * session issued by one is honoured by all), each with its own data folder and port.
 */
export async function startServerInstances(
  count: number,
  databaseUrl: string,
  environment: Record<string, string> = {},
): Promise<ServerInstance[]> {
  const secretKey = crypto.randomBytes(32).toString("hex");
  const instances: ServerInstance[] = [];
  try {
    // one after another: the first one runs the migrations, the others find them done
    for (let index = 0; index < count; index += 1) {
      instances.push(await startServerInstance({ DATABASE_URL: databaseUrl, SECRET_KEY: secretKey, ...environment }));
    }
  } catch (error) {
    await Promise.all(instances.map((instance) => instance.stop()));
    throw error;
  }
  return instances;
}

export async function startServerInstance(environment: Record<string, string>): Promise<ServerInstance> {
  const dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-instance-"));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/src/main.ts"], {
    cwd: repositoryRoot,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDirectory,
      LOG_LEVEL: "warn",
      CATALOG_REFRESH_MINUTES: "0",
      ...environment,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`team server exited with ${code}:\n${output}`)));
  });
  const remove = () => fs.rmSync(dataDirectory, { recursive: true, force: true });
  return {
    url,
    pid: child.pid as number,
    output: () => output,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      remove();
    },
  };
}
