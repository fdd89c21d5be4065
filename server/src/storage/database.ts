import fs from "node:fs";
import path from "node:path";
import knexFactory, { type Knex } from "knex";
import pg from "pg";
import { migrationSource } from "./migration-source";

export type Database = Knex;

export interface DatabaseOptions {
  /** postgres://… ; undefined means SQLite at `sqliteFile`. */
  databaseUrl?: string;
  sqliteFile: string;
}

// PostgreSQL returns bigint (int8) columns as strings to avoid precision loss; our bigints are
// epoch milliseconds, well inside Number.MAX_SAFE_INTEGER, so parse them as numbers.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

export function isPostgres(database: Database): boolean {
  return database.client.config.client === "pg";
}

/** Opens the database and applies pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database = options.databaseUrl ? openPostgres(options.databaseUrl) : openSqlite(options.sqliteFile);
  await database.migrate.latest({ migrationSource });
  return database;
}

function openPostgres(connectionString: string): Database {
  return knexFactory({ client: "pg", connection: { connectionString }, pool: { min: 0, max: 10 } });
}

function openSqlite(file: string): Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return knexFactory({
    client: "sqlite3",
    connection: { filename: file },
    useNullAsDefault: true,
    pool: {
      // One connection: SQLite serialises writers anyway, and a single connection keeps
      // transactions from meeting SQLITE_BUSY between our own connections.
      min: 1,
      max: 1,
      afterCreate: (connection: { exec(sql: string, callback: (error: Error | null) => void): void }, done: (error: Error | null, connection: unknown) => void) => {
        connection.exec(
          "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;",
          (error) => done(error, connection),
        );
      },
    },
  });
}
