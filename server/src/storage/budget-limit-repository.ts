import type { Knex } from "knex";

/** The limits a budget can set. */
export type BudgetLimitKind = "monthly_cost_micro_usd" | "monthly_tokens" | "requests_per_minute";

/** The subject of the team's defaults; any other subject is a user id. */
export const TEAM_BUDGET_SUBJECT = "team";

/** One `budget_limits` row: a limit of the team (its default) or of one user (an override). */
export interface BudgetLimitRow {
  subject: string;
  limit_kind: BudgetLimitKind;
  /** null: no limit (for a user, this lifts the team's limit). */
  value: number | null;
  updated_by: string | null;
  updated_at: number;
}

/** Budget limits. Small (a few rows per user with an override); the budget service keeps them in memory. */
export class BudgetLimitRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  async listAll(): Promise<BudgetLimitRow[]> {
    const rows: BudgetLimitRow[] = await this.database("budget_limits").orderBy([{ column: "subject" }, { column: "limit_kind" }]);
    return rows.map((row) => ({ ...row, value: row.value === null ? null : Number(row.value), updated_at: Number(row.updated_at) }));
  }

  /** Sets a limit (insert or replace). */
  async set(row: BudgetLimitRow): Promise<void> {
    await this.database("budget_limits").insert(row).onConflict(["subject", "limit_kind"]).merge(["value", "updated_by", "updated_at"]);
  }

  /** Removes a user's override of one limit: the team's default applies again. */
  async remove(subject: string, kind: BudgetLimitKind): Promise<void> {
    await this.database("budget_limits").where({ subject, limit_kind: kind }).delete();
  }
}
