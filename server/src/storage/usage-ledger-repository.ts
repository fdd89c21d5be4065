import type { Knex } from "knex";
import { isPostgres } from "./database";

/** One `usage_ledger` row: one answer, its tokens as reported (null: not reported) and its cost then. */
export interface LedgerRow {
  id: string;
  user_id: string;
  client_kind: "chat" | "gateway";
  client_name: string;
  api_key_id: string | null;
  provider: string;
  model_id: string;
  conversation_id: string | null;
  message_id: string | null;
  status: string;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  cost_micro_usd: number | null;
  time_to_first_token_ms: number | null;
  duration_ms: number | null;
  finished_at: number;
  /** UTC date of finished_at, YYYY-MM-DD. */
  day: string;
}

/** Sums of the reported figures of a set of answers, and how many answers reported each. */
export interface ReportedSumsRow {
  answers: number;
  input_tokens: number;
  answers_with_input_tokens: number;
  output_tokens: number;
  answers_with_output_tokens: number;
  cached_input_tokens: number;
  answers_with_cached_input_tokens: number;
  cost_micro_usd: number;
  answers_with_cost: number;
  time_to_first_token_ms: number;
  answers_with_time_to_first_token: number;
  duration_ms: number;
  answers_with_duration: number;
}

/** One model's share of a conversation's answers. */
export interface ModelTotalsRow extends ReportedSumsRow {
  provider: string;
  model_id: string;
}

/** The raw answers between two times, by hour (finer than the daily rollups). */
export interface HourlyRow extends ReportedSumsRow {
  hour: number;
  user_id: string;
  client_kind: string;
  client_name: string;
  provider: string;
  model_id: string;
}

/**
 * Rows per multi-row INSERT: knex writes one for SQLite as a compound SELECT, and SQLite allows 500
 * terms in one (and 32,766 bound values: 18 columns × 400 stays below).
 */
export const ROWS_PER_STATEMENT = 400;

/** Sums of the reported values and how many answers reported each (SQL fragments over a ledger alias). */
const reportedSums = (alias: string) => `COUNT(*) AS answers,
  COALESCE(SUM(${alias}.input_tokens), 0) AS input_tokens, COUNT(${alias}.input_tokens) AS answers_with_input_tokens,
  COALESCE(SUM(${alias}.output_tokens), 0) AS output_tokens, COUNT(${alias}.output_tokens) AS answers_with_output_tokens,
  COALESCE(SUM(${alias}.cached_input_tokens), 0) AS cached_input_tokens, COUNT(${alias}.cached_input_tokens) AS answers_with_cached_input_tokens,
  COALESCE(SUM(${alias}.cost_micro_usd), 0) AS cost_micro_usd, COUNT(${alias}.cost_micro_usd) AS answers_with_cost,
  COALESCE(SUM(${alias}.time_to_first_token_ms), 0) AS time_to_first_token_ms, COUNT(${alias}.time_to_first_token_ms) AS answers_with_time_to_first_token,
  COALESCE(SUM(${alias}.duration_ms), 0) AS duration_ms, COUNT(${alias}.duration_ms) AS answers_with_duration`;

/** The sum columns of both rollup tables, in their order. */
export const sumColumns = [
  "answers",
  "input_tokens",
  "answers_with_input_tokens",
  "output_tokens",
  "answers_with_output_tokens",
  "cached_input_tokens",
  "answers_with_cached_input_tokens",
  "cost_micro_usd",
  "answers_with_cost",
  "time_to_first_token_ms",
  "answers_with_time_to_first_token",
  "duration_ms",
  "answers_with_duration",
] as const satisfies ReadonlyArray<keyof ReportedSumsRow>;

/** Sums of no answers yet: every column 0 (the return type fails to compile if sumColumns misses one). */
export function emptySums(): ReportedSumsRow {
  const sums = {} as Record<(typeof sumColumns)[number], number>;
  for (const column of sumColumns) sums[column] = 0;
  return sums;
}

/**
 * The raw ledger: one row per answer, written once at the answer's end and never changed (later
 * price changes do not touch it). Usage over days is read from the rollups (usage-rollup-repository.ts);
 * this table answers what needs single answers: a conversation's totals and hour buckets.
 */
export class UsageLedgerRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  /**
   * Inserts answers' rows and returns the ids of those inserted: an answer that already has its row
   * (`message_id` is unique) is left out, so recording twice is harmless.
   */
  async insert(rows: readonly LedgerRow[]): Promise<Set<string>> {
    const inserted = new Set<string>();
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const returned: Array<{ id: string }> = await this.database("usage_ledger")
        .insert(rows.slice(start, start + ROWS_PER_STATEMENT))
        .onConflict("message_id")
        .ignore()
        .returning("id");
      // the RETURNING of ignored rows is empty, on SQLite as on PostgreSQL
      for (const entry of returned) inserted.add(entry.id);
    }
    return inserted;
  }

  /** Many rows in batches (a benchmark's or a test's bulk load; answers are recorded one by one). */
  async insertMany(rows: readonly LedgerRow[]): Promise<void> {
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      await this.database("usage_ledger").insert(rows.slice(start, start + ROWS_PER_STATEMENT));
    }
  }

  async findByMessage(messageId: string): Promise<LedgerRow | undefined> {
    const row: LedgerRow | undefined = await this.database("usage_ledger").where({ message_id: messageId }).first();
    return row ? normaliseLedgerRow(row) : undefined;
  }

  /** Every answer of a conversation, summed per model (through the conversation_id index). */
  async totalsOfConversation(userId: string, conversationId: string): Promise<ModelTotalsRow[]> {
    const rows: ModelTotalsRow[] = await this.database("usage_ledger as l")
      .where({ "l.conversation_id": conversationId, "l.user_id": userId })
      .groupBy("l.provider", "l.model_id")
      .orderBy("l.model_id")
      .select("l.provider", "l.model_id", this.database.raw(reportedSums("l")));
    return rows.map((row) => numbersOf(row, ["provider", "model_id"]));
  }

  /** Answers finished in [fromMs, toMs), by UTC hour, for everyone or one user. */
  async sumByHour(fromMs: number, toMs: number, userId: string | undefined): Promise<HourlyRow[]> {
    // integer division on both databases (bigint / integer)
    const hour = "l.finished_at / 3600000";
    const query = this.database("usage_ledger as l").where("l.finished_at", ">=", fromMs).andWhere("l.finished_at", "<", toMs);
    if (userId !== undefined) query.andWhere("l.user_id", userId);
    const rows: HourlyRow[] = await query
      .groupByRaw(`${hour}, l.user_id, l.client_kind, l.client_name, l.provider, l.model_id`)
      .select(
        this.database.raw(`${hour} AS hour`),
        "l.user_id",
        "l.client_kind",
        "l.client_name",
        "l.provider",
        "l.model_id",
        this.database.raw(reportedSums("l")),
      );
    return rows.map((row) => numbersOf(row, ["user_id", "client_kind", "client_name", "provider", "model_id"]));
  }

  /**
   * The daily and weekly rollups made again from the whole ledger (derived data; the same sums the
   * server upserts as answers end). For a repair, and for loading many rows at once in tests and benchmarks.
   */
  async rebuildRollups(): Promise<void> {
    const week = isPostgres(this.database as Knex)
      ? "to_char(date_trunc('week', to_date(day, 'YYYY-MM-DD')), 'YYYY-MM-DD')"
      : "date(day, '-6 days', 'weekday 1')";
    await this.database("usage_daily").delete();
    await this.database.raw(`
      INSERT INTO usage_daily (day, week, month, user_id, client_kind, client_name, provider, model_id, answers,
                               input_tokens, answers_with_input_tokens, output_tokens, answers_with_output_tokens,
                               cached_input_tokens, answers_with_cached_input_tokens, cost_micro_usd, answers_with_cost,
                               time_to_first_token_ms, answers_with_time_to_first_token, duration_ms, answers_with_duration)
      SELECT l.day, ${week}, substr(l.day, 1, 7), l.user_id, l.client_kind, l.client_name, l.provider, l.model_id, ${reportedSums("l")}
        FROM usage_ledger l
       GROUP BY l.day, l.user_id, l.client_kind, l.client_name, l.provider, l.model_id`);
    await this.database("usage_weekly").delete();
    await this.database.raw(`
      INSERT INTO usage_weekly (week, user_id, client_kind, client_name, provider, model_id, ${sumColumns.join(", ")})
      SELECT d.week, d.user_id, d.client_kind, d.client_name, d.provider, d.model_id, ${sumColumns.map((column) => `SUM(d.${column})`).join(", ")}
        FROM usage_daily d
       GROUP BY d.week, d.user_id, d.client_kind, d.client_name, d.provider, d.model_id`);
  }
}

export function normaliseLedgerRow(row: LedgerRow): LedgerRow {
  const optional = (value: number | string | null) => (value === null ? null : Number(value));
  return {
    ...row,
    input_tokens: optional(row.input_tokens),
    output_tokens: optional(row.output_tokens),
    cached_input_tokens: optional(row.cached_input_tokens),
    cost_micro_usd: optional(row.cost_micro_usd),
    time_to_first_token_ms: optional(row.time_to_first_token_ms),
    duration_ms: optional(row.duration_ms),
    finished_at: Number(row.finished_at),
  };
}

/**
 * Aggregates as numbers: PostgreSQL returns COUNT as bigint and SUM of bigint as numeric, both as
 * strings; SQLite returns integers. Sums of tokens and micro-dollars stay far below 2^53.
 */
export function numbersOf<Row extends object>(row: Row, textColumns: ReadonlyArray<keyof Row>): Row {
  const converted: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    converted[column] = textColumns.includes(column as keyof Row) || value === null ? value : Number(value);
  }
  return converted as Row;
}
