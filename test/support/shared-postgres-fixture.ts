import { stopTestPostgres, testPostgresAdminUrl } from "./postgres";

/**
 * Mocha global fixtures for `npm run test:fast`, which runs test files in parallel worker
 * processes: one embedded PostgreSQL is started here, in the main process, before the workers
 * exist, and handed to them as TEST_DATABASE_URL (each test still creates a database of its
 * own). Without it every worker would start and stop its own server around every file.
 * Only active when JUGGLER_SHARED_TEST_POSTGRES=1, so a single test file run alone starts
 * PostgreSQL lazily, only when it needs one.
 */
export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.JUGGLER_SHARED_TEST_POSTGRES !== "1" || process.env.TEST_DATABASE_URL) return;
  process.env.TEST_DATABASE_URL = await testPostgresAdminUrl();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestPostgres();
}
