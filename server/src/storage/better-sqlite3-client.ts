import type { Knex } from "knex";

/**
 * Knex's better-sqlite3 client, with each connection keeping its prepared statements for reuse.
 *
 * better-sqlite3 runs a statement synchronously on the calling thread: no trip to libuv's thread
 * pool and back, so a transaction holds SQLite's one connection for the microseconds its
 * statements take instead of one event-loop turn per statement (decision 0028). Knex's own
 * better-sqlite3 client compiles every query afresh (`connection.prepare` on each call); our queries
 * have a few dozen shapes, so the compiled statement is kept per SQL text (least recently used
 * evicted). A statement is re-bound on every run, and SQLite re-prepares it by itself after a
 * schema change.
 *
 * `_query` changes, and the SQL of a LIMIT or OFFSET: the rest of the SQL, the bindings and the
 * results are exactly knex's.
 *
 * Knex binds a LIMIT or OFFSET (`.first()` is `limit ?`). SQLite plans such a statement with the
 * bound value as a constant, so binding it again makes SQLite prepare the whole statement again on
 * its next run, and the cached statement saves nothing: a send's conversation read took 34 µs with
 * `limit ?` and 8 µs with `limit 1` (decision 0031). Knex has already made the value an integer
 * (`parseInt`), so the compiler writes it into the SQL. Each page size then has a statement of its
 * own, which the cache keeps like any other.
 *
 * A statement blocks the event loop while it runs, and a chain of them awaited one after another
 * only yields to microtasks: a 10,000-message import would hold every stream and request for half a
 * second. So a run of statements that has kept the thread for SLICE_MS yields to the event loop
 * (setImmediate) before its next statement; a single long statement still runs whole.
 */

interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

interface BetterSqliteStatement {
  /** True for a statement that returns rows (a SELECT, or a write with RETURNING). */
  readonly reader: boolean;
  all(parameters: unknown[]): unknown[];
  run(parameters: unknown[]): RunResult;
}

interface BetterSqliteConnection {
  prepare(sql: string): BetterSqliteStatement;
}

/** The compiled query knex hands to `_query`; `response` and `context` are what knex reads back. */
interface CompiledQuery {
  sql: string;
  bindings?: unknown[];
  response?: unknown;
  context?: unknown;
}

interface KnexBetterSqliteClient {
  _query(connection: BetterSqliteConnection, query: CompiledQuery): Promise<CompiledQuery>;
  _formatBindings(bindings: unknown[] | undefined): unknown[];
}

// knex's own better-sqlite3 dialect; knex ships no types for it (and no `exports` map forbids the path)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KnexBetterSqliteClientClass: new (config: Knex.Config) => KnexBetterSqliteClient = require("knex/lib/dialects/better-sqlite3");

/** Distinct SQL texts kept per connection: ours are a few dozen; variable-length IN lists and batch inserts make the rest. */
const STATEMENTS_PER_CONNECTION = 200;

const statementsByConnection = new WeakMap<BetterSqliteConnection, Map<string, BetterSqliteStatement>>();

/** How long statements may run back to back, in one event-loop turn, before they let the loop run. */
const SLICE_MS = 10;

/** When the statements of this event-loop turn started (undefined: none has run in this turn yet). */
let turnStartedAt: number | undefined;

async function yieldWhenTurnIsLong(): Promise<void> {
  const now = performance.now();
  if (turnStartedAt === undefined) {
    turnStartedAt = now;
    // the next turn starts afresh
    setImmediate(() => (turnStartedAt = undefined));
    return;
  }
  if (now - turnStartedAt < SLICE_MS) return;
  await new Promise((resolve) => setImmediate(resolve));
  return yieldWhenTurnIsLong();
}

interface KnexQueryCompiler {
  /** The builder's single-valued parts (`limit`, `offset` …). */
  single: Record<string, unknown>;
  _getValueOrParameterFromAttribute(attribute: string, rawValue?: unknown): string;
}

type KnexQueryCompilerClass = new (client: unknown, builder: unknown, formatter: unknown) => KnexQueryCompiler;

// knex's SQLite query compiler, which its better-sqlite3 dialect uses (no types, as above)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const KnexSqliteQueryCompilerClass: KnexQueryCompilerClass = require("knex/lib/dialects/sqlite3/query/sqlite-querycompiler");

/** Writes an integer LIMIT or OFFSET into the SQL instead of binding it (see the file's comment). */
class LiteralLimitQueryCompiler extends KnexSqliteQueryCompilerClass {
  override _getValueOrParameterFromAttribute(attribute: string, rawValue?: unknown): string {
    const value = this.single[attribute];
    if ((attribute === "limit" || attribute === "offset") && Number.isSafeInteger(value)) return String(value);
    return super._getValueOrParameterFromAttribute(attribute, rawValue);
  }
}

export class BetterSqliteClient extends KnexBetterSqliteClientClass {
  queryCompiler(builder: unknown, formatter: unknown): KnexQueryCompiler {
    return new LiteralLimitQueryCompiler(this, builder, formatter);
  }

  override async _query(connection: BetterSqliteConnection, query: CompiledQuery): Promise<CompiledQuery> {
    if (!query.sql) throw new Error("The query is empty");
    await yieldWhenTurnIsLong();
    const statement = statementFor(connection, query.sql);
    const bindings = this._formatBindings(query.bindings);
    if (statement.reader) {
      query.response = statement.all(bindings);
      return query;
    }
    const response = statement.run(bindings);
    query.response = response;
    query.context = { lastID: response.lastInsertRowid, changes: response.changes };
    return query;
  }
}

function statementFor(connection: BetterSqliteConnection, sql: string): BetterSqliteStatement {
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
  // a statement that fails to prepare (bad SQL) throws here and is not kept
  const statement = connection.prepare(sql);
  statements.set(sql, statement);
  if (statements.size > STATEMENTS_PER_CONNECTION) statements.delete(statements.keys().next().value as string);
  return statement;
}
