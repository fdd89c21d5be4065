import type { Knex } from "knex";

/**
 * Knex's SQLite client, with each connection keeping its prepared statements for reuse.
 *
 * Knex runs every query as `database.all(sql, …)`, which makes node-sqlite3 prepare a new statement
 * (one trip to libuv's thread pool), run it (a second trip) and finalize it. Our queries have a
 * handful of shapes, so reusing the prepared statement saves the first trip and the compile:
 * measured here, a primary-key SELECT goes from ≈ 185 µs to ≈ 75 µs and from ≈ 130 µs to ≈ 45 µs
 * of CPU. It matters most inside a transaction, which holds SQLite's one connection while each of
 * its statements waits for its turn on the event loop (docs/decisions/0006-server-performance.md).
 *
 * Only `_query` (how one compiled query is executed) and `destroyRawConnection` change; SQL,
 * bindings and results are exactly knex's. A statement is reset and re-bound by node-sqlite3 on
 * every run, and SQLite re-prepares it by itself after a schema change.
 */

interface SqliteStatement {
  all(parameters: unknown[], callback: (this: SqliteStatement, error: Error | null, rows: unknown) => void): SqliteStatement;
  run(parameters: unknown[], callback: (this: SqliteStatement, error: Error | null) => void): SqliteStatement;
  finalize(callback?: (error: Error | null) => void): void;
}

interface SqliteConnection {
  prepare(sql: string, callback: (error: Error | null) => void): SqliteStatement;
}

/** The compiled query knex hands to `_query`; `response` and `context` are what knex reads back. */
interface CompiledQuery {
  sql: string;
  bindings?: unknown[];
  method?: string;
  returning?: unknown;
  response?: unknown;
  context?: unknown;
}

interface KnexSqliteClient {
  _query(connection: SqliteConnection, query: CompiledQuery): Promise<CompiledQuery>;
  destroyRawConnection(connection: SqliteConnection): Promise<void>;
}

interface CachedStatement {
  statement: Promise<SqliteStatement>;
  /** Queries running on it now; an evicted statement is finalized when this reaches 0. */
  users: number;
  isEvicted: boolean;
}

// knex's own SQLite dialect; knex ships no types for it (and no `exports` map forbids the path)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KnexSqliteClientClass: new (config: Knex.Config) => KnexSqliteClient = require("knex/lib/dialects/sqlite3");

/** Distinct SQL texts kept per connection: ours are a few dozen; variable-length IN lists and batch inserts make the rest. */
const STATEMENTS_PER_CONNECTION = 200;

const statementsByConnection = new WeakMap<SqliteConnection, Map<string, CachedStatement>>();

export class SqliteClientWithStatementCache extends KnexSqliteClientClass {
  override async _query(connection: SqliteConnection, query: CompiledQuery): Promise<CompiledQuery> {
    if (!query.sql) throw new Error("The query is empty");
    // the same choice knex makes: `run` gives lastID/changes for writes, `all` gives rows
    const isWrite = query.method === "insert" || query.method === "update";
    const callMethod = (isWrite && !query.returning) || query.method === "counter" || query.method === "del" ? "run" : "all";
    const cached = statementFor(connection, query.sql);
    cached.users += 1;
    try {
      const statement = await cached.statement;
      return await new Promise<CompiledQuery>((resolve, reject) => {
        const callback = function (this: SqliteStatement, error: Error | null, response?: unknown) {
          if (error) return reject(error);
          query.response = response;
          query.context = this;
          resolve(query);
        };
        if (callMethod === "run") statement.run(query.bindings ?? [], callback);
        else statement.all(query.bindings ?? [], callback);
      });
    } finally {
      cached.users -= 1;
      if (cached.isEvicted && cached.users === 0) finalizeWhenPrepared(cached);
    }
  }

  /** SQLite refuses to close a connection with statements still prepared. */
  override async destroyRawConnection(connection: SqliteConnection): Promise<void> {
    const statements = statementsByConnection.get(connection);
    statementsByConnection.delete(connection);
    if (statements) {
      await Promise.all(
        [...statements.values()].map((cached) =>
          cached.statement.then(
            (statement) => new Promise<void>((resolve) => statement.finalize(() => resolve())),
            () => undefined,
          ),
        ),
      );
    }
    return super.destroyRawConnection(connection);
  }
}

function statementFor(connection: SqliteConnection, sql: string): CachedStatement {
  let statements = statementsByConnection.get(connection);
  if (!statements) {
    statements = new Map();
    statementsByConnection.set(connection, statements);
  }
  const found = statements.get(sql);
  if (found) {
    // most recently used last, so eviction takes the least recently used
    statements.delete(sql);
    statements.set(sql, found);
    return found;
  }
  const cached: CachedStatement = {
    statement: new Promise<SqliteStatement>((resolve, reject) => {
      const statement = connection.prepare(sql, (error) => (error ? reject(error) : resolve(statement)));
    }),
    users: 0,
    isEvicted: false,
  };
  // a statement that failed to prepare (bad SQL) is not kept; its error reaches the caller
  cached.statement.catch(() => {
    if (statements.get(sql) === cached) statements.delete(sql);
  });
  statements.set(sql, cached);
  if (statements.size > STATEMENTS_PER_CONNECTION) {
    const [oldestSql, oldest] = statements.entries().next().value as [string, CachedStatement];
    statements.delete(oldestSql);
    oldest.isEvicted = true;
    if (oldest.users === 0) finalizeWhenPrepared(oldest);
  }
  return cached;
}

function finalizeWhenPrepared(cached: CachedStatement): void {
  cached.statement.then(
    (statement) => statement.finalize(),
    () => undefined,
  );
}
