import type { Knex } from "knex";
import { numbersOf, ROWS_PER_STATEMENT, sumColumns, type ReportedSumsRow } from "./usage-ledger-repository";

/** What usage can be grouped by, as stored in the rollups. */
export type UsageDimension = "day" | "week" | "month" | "provider" | "model" | "client" | "user";

/** A rollup table: per day (`usage_daily`) or per week (`usage_weekly`, keyed by its Monday). */
export type RollupPeriod = "day" | "week";

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
}

/** A month's use by one user, for budgets. */
export interface MonthUseRow {
  answers: number;
  input_tokens: number;
  output_tokens: number;
  cost_micro_usd: number;
}

/** One day's group and what answers add to its sums (the week and month go with the day). */
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

const tables: Record<RollupPeriod, { name: string; key: string[] }> = {
  day: { name: "usage_daily", key: ["day", "user_id", "client_kind", "client_name", "provider", "model_id"] },
  week: { name: "usage_weekly", key: ["week", "user_id", "client_kind", "client_name", "provider", "model_id"] },
};

/** The columns each dimension groups by (a model goes with its provider; a client is kind and name). */
const dimensionColumns: Record<UsageDimension, string[]> = {
  day: ["day"],
  week: ["week"],
  month: ["month"],
  provider: ["provider"],
  model: ["provider", "model_id"],
  client: ["client_kind", "client_name"],
  user: ["user_id"],
};

const sums = sumColumns.map((column) => `SUM(${column}) AS ${column}`).join(", ");
const textColumns: Array<keyof UsageSumRow> = ["day", "week", "month", "provider", "model_id", "client_kind", "client_name", "user_id"];

/**
 * The rollups: per UTC day (or week) × user × client × provider × model, the sums of the ledger's
 * answers. Upserted in the same transaction as the ledger rows they sum; read by every usage query
 * over days, weeks or months, so a query reads periods × groups rows whatever the number of answers
 * (docs/decisions/0021-usage-ledger-and-daily-rollups.md).
 */
export class UsageRollupRepository {
  private readonly table: { name: string; key: string[] };

  constructor(
    private readonly database: Knex | Knex.Transaction,
    private readonly period: RollupPeriod,
  ) {
    this.table = tables[period];
  }

  /**
   * Adds answers' sums to their groups: one upsert for all of them (the conflict target is the
   * table's primary key). Days of one week are summed first here: a statement may touch a row once.
   */
  async add(groups: readonly DailyGroupAddition[]): Promise<void> {
    const rows = this.period === "day" ? groups : weeklyRowsOf(groups);
    if (rows.length === 0) return;
    const merge = Object.fromEntries(
      sumColumns.map((column) => [column, this.database.raw(`${this.table.name}.${column} + excluded.${column}`)]),
    );
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      await this.database(this.table.name)
        .insert(rows.slice(start, start + ROWS_PER_STATEMENT))
        .onConflict(this.table.key)
        .merge(merge);
    }
  }

  /**
   * Sums over the periods [from, to] (both included: days, or the Mondays of weeks), grouped by
   * `dimensions`, for everyone or one user; at most `limit` groups. The team-wide query scans the
   * primary key's period prefix, one user's the (user_id, period) index.
   */
  async sum(options: {
    from: string;
    to: string;
    userId: string | undefined;
    dimensions: UsageDimension[];
    limit: number;
  }): Promise<UsageSumRow[]> {
    const columns = [...new Set(options.dimensions.flatMap((dimension) => dimensionColumns[dimension]))];
    const query = this.database(this.table.name).where(this.period, ">=", options.from).andWhere(this.period, "<=", options.to);
    if (options.userId !== undefined) query.andWhere("user_id", options.userId);
    if (columns.length > 0) query.groupBy(columns).orderBy(columns);
    const rows: UsageSumRow[] = await query.select(...columns, this.database.raw(sums)).limit(options.limit);
    // with no group at all, SUM over no rows is one row of nulls
    return rows.filter((row) => row.answers !== null).map((row) => numbersOf(row, textColumns));
  }

  /** One user's use in one month (YYYY-MM), from the daily rollups. */
  async monthUse(userId: string, month: string): Promise<MonthUseRow> {
    const row: Partial<MonthUseRow> | undefined = await this.database("usage_daily")
      .where("user_id", userId)
      .andWhere("day", ">=", `${month}-01`)
      .andWhere("day", "<=", `${month}-31`)
      .first(
        this.database.raw(
          "SUM(answers) AS answers, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_micro_usd) AS cost_micro_usd",
        ),
      );
    return {
      answers: Number(row?.answers ?? 0),
      input_tokens: Number(row?.input_tokens ?? 0),
      output_tokens: Number(row?.output_tokens ?? 0),
      cost_micro_usd: Number(row?.cost_micro_usd ?? 0),
    };
  }

  /** The names of accounts by id (for groups by user), read after the sums rather than joined into them. */
  async userNames(userIds: readonly string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (let start = 0; start < userIds.length; start += ROWS_PER_STATEMENT) {
      const rows: Array<{ id: string; name: string }> = await this.database("users")
        .whereIn("id", userIds.slice(start, start + ROWS_PER_STATEMENT))
        .select("id", "name");
      for (const row of rows) names.set(row.id, row.name);
    }
    return names;
  }
}

/** Daily additions summed per week group. */
function weeklyRowsOf(groups: readonly DailyGroupAddition[]): Array<Record<string, string | number>> {
  const weeks = new Map<string, Record<string, string | number>>();
  for (const group of groups) {
    const key = JSON.stringify([group.week, group.user_id, group.client_kind, group.client_name, group.provider, group.model_id]);
    let row = weeks.get(key);
    if (row === undefined) {
      row = {
        week: group.week,
        user_id: group.user_id,
        client_kind: group.client_kind,
        client_name: group.client_name,
        provider: group.provider,
        model_id: group.model_id,
        ...Object.fromEntries(sumColumns.map((column) => [column, 0])),
      };
      weeks.set(key, row);
    }
    for (const column of sumColumns) row[column] = (row[column] as number) + group[column];
  }
  return [...weeks.values()];
}
