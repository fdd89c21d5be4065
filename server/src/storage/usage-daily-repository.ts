import type { Knex } from "knex";
import { numbersOf, ROWS_PER_STATEMENT, type ReportedSumsRow } from "./usage-ledger-repository";

/** What usage can be grouped by, as stored in `usage_daily`. */
export type UsageDimension = "day" | "week" | "month" | "provider" | "model" | "client" | "user";

/** One group of a usage query: its dimension values (those grouped by) and its sums. */
export interface UsageSumRow extends ReportedSumsRow {
  day?: string;
  week?: string;
  month?: string;
  provider?: string;
  model_id?: string;
  client_kind?: string;
  client_name?: string;
  user_id?: string;
  user_name?: string | null;
}

/** A month's use by one user, for budgets. */
export interface MonthUseRow {
  answers: number;
  input_tokens: number;
  output_tokens: number;
  cost_micro_usd: number;
}

/** One group's key and what answers add to its sums. */
export interface DailyGroupAddition extends ReportedSumsRow {
  day: string;
  week: string;
  month: string;
  user_id: string;
  client_kind: string;
  client_name: string;
  provider: string;
  model_id: string;
}

/** The sums an upsert adds to (every column but the key). */
const addedColumns: ReadonlyArray<keyof ReportedSumsRow> = [
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
];

/** The columns each dimension groups by (a model goes with its provider; a client is kind and name). */
const dimensionColumns: Record<UsageDimension, string[]> = {
  day: ["d.day"],
  week: ["d.week"],
  month: ["d.month"],
  provider: ["d.provider"],
  model: ["d.provider", "d.model_id"],
  client: ["d.client_kind", "d.client_name"],
  user: ["d.user_id"],
};

const sums = `SUM(d.answers) AS answers,
  SUM(d.input_tokens) AS input_tokens, SUM(d.answers_with_input_tokens) AS answers_with_input_tokens,
  SUM(d.output_tokens) AS output_tokens, SUM(d.answers_with_output_tokens) AS answers_with_output_tokens,
  SUM(d.cached_input_tokens) AS cached_input_tokens, SUM(d.answers_with_cached_input_tokens) AS answers_with_cached_input_tokens,
  SUM(d.cost_micro_usd) AS cost_micro_usd, SUM(d.answers_with_cost) AS answers_with_cost,
  SUM(d.time_to_first_token_ms) AS time_to_first_token_ms, SUM(d.answers_with_time_to_first_token) AS answers_with_time_to_first_token,
  SUM(d.duration_ms) AS duration_ms, SUM(d.answers_with_duration) AS answers_with_duration`;

/**
 * The daily rollups: per UTC day × user × client × provider × model, the sums of the ledger's
 * answers. Written in the same transaction as each ledger row (an upsert that adds), read by every
 * usage query: a 30-day range reads at most days × groups rows, whatever the number of answers.
 */
export class UsageDailyRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  /**
   * Adds answers to their days' groups: one upsert for all of them (the conflict target is the table's
   * primary key). The caller sums answers of one group first: a statement may touch a row only once.
   */
  async add(groups: readonly DailyGroupAddition[]): Promise<void> {
    if (groups.length === 0) return;
    const merge = Object.fromEntries(
      addedColumns.map((column) => [column, this.database.raw(`usage_daily.${column} + excluded.${column}`)]),
    );
    for (let start = 0; start < groups.length; start += ROWS_PER_STATEMENT) {
      await this.database("usage_daily")
        .insert(groups.slice(start, start + ROWS_PER_STATEMENT))
        .onConflict(["day", "user_id", "client_kind", "client_name", "provider", "model_id"])
        .merge(merge);
    }
  }

  /**
   * Sums over the days [fromDay, toDay] (both included), grouped by `dimensions`, for everyone or one
   * user; at most `limit` groups, ordered by the dimensions. The team-wide query scans the primary
   * key's `day` prefix, one user's the (user_id, day) index.
   */
  async sum(options: {
    fromDay: string;
    toDay: string;
    userId: string | undefined;
    dimensions: UsageDimension[];
    limit: number;
  }): Promise<UsageSumRow[]> {
    const columns = [...new Set(options.dimensions.flatMap((dimension) => dimensionColumns[dimension]))];
    const query = this.database("usage_daily as d").where("d.day", ">=", options.fromDay).andWhere("d.day", "<=", options.toDay);
    if (options.userId !== undefined) query.andWhere("d.user_id", options.userId);
    const isByUser = options.dimensions.includes("user");
    if (isByUser) query.leftJoin("users as u", "u.id", "d.user_id");
    const groupColumns = isByUser ? [...columns, "u.name"] : columns;
    if (groupColumns.length > 0) query.groupBy(groupColumns).orderBy(columns);
    const rows: UsageSumRow[] = await query
      .select(...columns, ...(isByUser ? ["u.name as user_name"] : []), this.database.raw(sums))
      .limit(options.limit);
    const textColumns: Array<keyof UsageSumRow> = [
      "day",
      "week",
      "month",
      "provider",
      "model_id",
      "client_kind",
      "client_name",
      "user_id",
      "user_name",
    ];
    // with no group at all, SUM over no rows is one row of nulls
    return rows.filter((row) => row.answers !== null).map((row) => numbersOf(row, textColumns));
  }

  /** One user's use in one month (YYYY-MM). */
  async monthUse(userId: string, month: string, fromDay: string, toDay: string): Promise<MonthUseRow> {
    const row: Partial<MonthUseRow> | undefined = await this.database("usage_daily as d")
      .where("d.user_id", userId)
      .andWhere("d.day", ">=", fromDay)
      .andWhere("d.day", "<=", toDay)
      .andWhere("d.month", month)
      .first(
        this.database.raw(
          "SUM(d.answers) AS answers, SUM(d.input_tokens) AS input_tokens, SUM(d.output_tokens) AS output_tokens, SUM(d.cost_micro_usd) AS cost_micro_usd",
        ),
      );
    return {
      answers: Number(row?.answers ?? 0),
      input_tokens: Number(row?.input_tokens ?? 0),
      output_tokens: Number(row?.output_tokens ?? 0),
      cost_micro_usd: Number(row?.cost_micro_usd ?? 0),
    };
  }
}
