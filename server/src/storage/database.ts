import path from "node:path";
import knexFactory, { type Knex } from "knex";
import { preparePrivateDirectory, preparePrivateFile } from "../private-files";
import { migrationSource } from "./migration-source";
import { BetterSqliteClient } from "./better-sqlite3-client";

export type Database = Knex;

export interface DatabaseOptions {
  /** postgres://… ; undefined means SQLite at `sqliteFile`. */
  databaseUrl?: string;
  sqliteFile: string;
}

export function isPostgres(database: Database): boolean {
  return database.client.config.client === "pg";
}

/** Opens the database and applies pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database = await connectDatabase(options);
  await database.migrate.latest({ migrationSource });
  return database;
}

/** Opens the database without migrating (tests of the migrations themselves step through them). */
export async function connectDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openSqlite(options.sqliteFile);
}

async function openPostgres(connectionString: string): Promise<Database> {
  // Imported only here: the driver costs ≈ 15 MB that a SQLite server never needs. Knex requires
  // the same module instance, so the type parser set here is the one its connections use.
  const { default: pg } = await import("pg");
  // PostgreSQL returns bigint (int8) columns as strings to avoid precision loss; our bigints are
  // epoch milliseconds, well inside Number.MAX_SAFE_INTEGER, so parse them as numbers.
  pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));
  return knexFactory({ client: "pg", connection: { connectionString }, pool: { min: 0, max: 10 } });
}

/**
 * The commit that leaves the WAL this many pages long copies them into the database file and syncs
 * both (a checkpoint), on the server's thread. SQLite's default, 1,000 pages (4 MB), checkpointed
 * every ≈ 15 answers and copied the same hot pages (index roots, the search index's structure, a
 * busy conversation's row) each time. At 4,000 pages (a WAL of 16 MB at most) commits cost about
 * 30 % less CPU and their checkpoint pauses add up to half as much, the longest no longer than
 * before; at 16,000 the longest pause tripled (decision 0031).
 */
export const WAL_CHECKPOINT_PAGES = 4_000;

function openSqlite(file: string): Database {
  // The database is the team's conversations: the server's user's alone (0600 in a 0700 folder).
  // SQLite makes its -wal and -shm files with the database file's mode; ones left by an older
  // version are tightened too.
  preparePrivateDirectory(path.dirname(file));
  preparePrivateFile(file);
  for (const companion of [`${file}-wal`, `${file}-shm`]) preparePrivateFile(companion, { createIfMissing: false });
  return knexFactory({
    // knex's better-sqlite3 client, reusing prepared statements (see the class)
    client: BetterSqliteClient as unknown as typeof Knex.Client,
    connection: { filename: file },
    useNullAsDefault: true,
    pool: {
      // One connection: SQLite serialises writers anyway, and a single connection keeps
      // transactions from meeting SQLITE_BUSY between our own connections.
      min: 1,
      max: 1,
      afterCreate: (connection: { exec(sql: string): void }, done: (error: Error | null, connection: unknown) => void) => {
        try {
          // temp_store = MEMORY: a statement whose triggers write several rows (a message with its
          // search entries) keeps its statement journal in memory; with SQLite's default each such
          // insert created, wrote and deleted a file in /var/tmp (decision 0029).
          // wal_autocheckpoint: see WAL_CHECKPOINT_PAGES.
          connection.exec(
            `PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES};`,
          );
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  });
}
