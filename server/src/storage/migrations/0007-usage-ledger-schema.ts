import type { Knex } from "knex";

/**
 * Schema for the team gateway, personal API keys, the usage ledger, prices and budgets
 * (docs/decisions/0021-usage-ledger-and-daily-rollups.md). 0008 fills the ledger from earlier answers.
 *
 * - api_keys: a member's personal keys for the gateway. Only the SHA-256 of a key is stored (keys are
 *   high-entropy random strings: a slow hash would buy nothing); `key_prefix` is what lists show.
 * - usage_ledger: one row per answer, from the chat or the gateway, with tokens exactly as reported
 *   (null when not reported) and its cost in micro-dollars at the price in force when it was written.
 *   Rows are history: they name users, conversations, keys and models but hold no foreign keys, so
 *   they outlive what they name.
 * - usage_daily: the ledger summed per UTC day × user × client × provider × model, upserted in the
 *   same transaction as each ledger row; usage queries read these. Each sum has a count of the
 *   answers that reported it, so "not reported" stays distinguishable from 0. `week` (its Monday)
 *   and `month` are derived from `day` when written, so grouping by them needs no date arithmetic
 *   that SQLite and PostgreSQL spell differently.
 * - usage_weekly: the same sums per week (its Monday) × user × client × provider × model, upserted
 *   beside the daily ones. A range is read as its whole weeks from here and its edge days from
 *   usage_daily: a 30-day range is at most 3 weeks and 9 days, not 30 days, of groups.
 * - model_prices: prices an admin set, per million tokens in micro-dollars, each effective from a
 *   time; the price in force is the latest that has begun. Defaults live in code (price-defaults.ts).
 * - budget_limits: per-user limits. `subject` is `team` (the defaults) or a user id (an override);
 *   a null `value` means "no limit" (an override row with null lifts the team's limit for that user).
 * - budget_request_counts (PostgreSQL only): rate-limiter-flexible's store for requests per minute,
 *   in the shape that library creates (key, points, expire); SQLite servers count in memory.
 * - messages.cost_micro_usd: the cost of an answer, copied from its ledger row when it is written, so
 *   the conversation's pages show it without a join in their recursive walks.
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable("api_keys"))) {
    await knex.schema.createTable("api_keys", (table) => {
      table.string("id", 36).primary();
      table.string("user_id", 36).notNullable().references("id").inTable("users").onDelete("CASCADE");
      table.string("name", 64).notNullable();
      table.string("key_prefix", 16).notNullable();
      table.string("key_hash", 64).notNullable().unique();
      table.bigInteger("created_at").notNullable();
      table.bigInteger("last_used_at").nullable();
      table.bigInteger("revoked_at").nullable();
      // a user's keys, newest first
      table.index(["user_id", "created_at"]);
    });
  }

  if (!(await knex.schema.hasTable("usage_ledger"))) {
    await knex.schema.createTable("usage_ledger", (table) => {
      table.string("id", 36).primary();
      table.string("user_id", 36).notNullable();
      // chat | gateway
      table.string("client_kind", 16).notNullable();
      // "chat", or the name of the gateway key used
      table.string("client_name", 64).notNullable();
      table.string("api_key_id", 36).nullable();
      table.string("provider", 16).notNullable();
      table.string("model_id", 300).notNullable();
      table.string("conversation_id", 36).nullable();
      // the chat's answer message; at most one ledger row each
      table.string("message_id", 36).nullable().unique();
      // complete | stopped | error | interrupted
      table.string("status", 16).notNullable();
      table.integer("input_tokens").nullable();
      table.integer("output_tokens").nullable();
      table.integer("cached_input_tokens").nullable();
      table.bigInteger("cost_micro_usd").nullable();
      table.integer("time_to_first_token_ms").nullable();
      table.integer("duration_ms").nullable();
      table.bigInteger("finished_at").notNullable();
      // UTC date of finished_at, YYYY-MM-DD
      table.string("day", 10).notNullable();
      table.index(["user_id", "finished_at"]);
      table.index(["finished_at"]);
      table.index(["conversation_id"]);
    });
  }

  if (!(await knex.schema.hasTable("usage_daily"))) {
    await knex.schema.createTable("usage_daily", (table) => {
      table.string("day", 10).notNullable();
      // the Monday of the day's week, YYYY-MM-DD
      table.string("week", 10).notNullable();
      // YYYY-MM
      table.string("month", 7).notNullable();
      table.string("user_id", 36).notNullable();
      table.string("client_kind", 16).notNullable();
      table.string("client_name", 64).notNullable();
      table.string("provider", 16).notNullable();
      table.string("model_id", 300).notNullable();
      table.integer("answers").notNullable();
      table.bigInteger("input_tokens").notNullable();
      table.integer("answers_with_input_tokens").notNullable();
      table.bigInteger("output_tokens").notNullable();
      table.integer("answers_with_output_tokens").notNullable();
      table.bigInteger("cached_input_tokens").notNullable();
      table.integer("answers_with_cached_input_tokens").notNullable();
      table.bigInteger("cost_micro_usd").notNullable();
      table.integer("answers_with_cost").notNullable();
      table.bigInteger("time_to_first_token_ms").notNullable();
      table.integer("answers_with_time_to_first_token").notNullable();
      table.bigInteger("duration_ms").notNullable();
      table.integer("answers_with_duration").notNullable();
      // the upsert's conflict target; its leading `day` serves the team-wide range scans
      table.primary(["day", "user_id", "client_kind", "client_name", "provider", "model_id"]);
      // one member's range (their own usage, their month against a budget)
      table.index(["user_id", "day"]);
    });
  }

  if (!(await knex.schema.hasTable("usage_weekly"))) {
    await knex.schema.createTable("usage_weekly", (table) => {
      // the Monday, YYYY-MM-DD
      table.string("week", 10).notNullable();
      table.string("user_id", 36).notNullable();
      table.string("client_kind", 16).notNullable();
      table.string("client_name", 64).notNullable();
      table.string("provider", 16).notNullable();
      table.string("model_id", 300).notNullable();
      table.integer("answers").notNullable();
      table.bigInteger("input_tokens").notNullable();
      table.integer("answers_with_input_tokens").notNullable();
      table.bigInteger("output_tokens").notNullable();
      table.integer("answers_with_output_tokens").notNullable();
      table.bigInteger("cached_input_tokens").notNullable();
      table.integer("answers_with_cached_input_tokens").notNullable();
      table.bigInteger("cost_micro_usd").notNullable();
      table.integer("answers_with_cost").notNullable();
      table.bigInteger("time_to_first_token_ms").notNullable();
      table.integer("answers_with_time_to_first_token").notNullable();
      table.bigInteger("duration_ms").notNullable();
      table.integer("answers_with_duration").notNullable();
      table.primary(["week", "user_id", "client_kind", "client_name", "provider", "model_id"]);
      table.index(["user_id", "week"]);
    });
  }

  if (!(await knex.schema.hasTable("model_prices"))) {
    await knex.schema.createTable("model_prices", (table) => {
      table.string("id", 36).primary();
      table.string("model_id", 300).notNullable();
      table.bigInteger("input_micro_usd_per_million").notNullable();
      table.bigInteger("output_micro_usd_per_million").notNullable();
      // null: cached input costs the input price
      table.bigInteger("cached_input_micro_usd_per_million").nullable();
      table.bigInteger("effective_from").notNullable();
      table.string("created_by", 36).nullable();
      table.bigInteger("created_at").notNullable();
      table.index(["model_id", "effective_from"]);
    });
  }

  if (!(await knex.schema.hasTable("budget_limits"))) {
    await knex.schema.createTable("budget_limits", (table) => {
      // "team" or a user id
      table.string("subject", 36).notNullable();
      // monthly_cost_micro_usd | monthly_tokens | requests_per_minute
      table.string("limit_kind", 32).notNullable();
      table.bigInteger("value").nullable();
      table.string("updated_by", 36).nullable();
      table.bigInteger("updated_at").notNullable();
      table.primary(["subject", "limit_kind"]);
    });
  }

  if (knex.client.config.client === "pg" && !(await knex.schema.hasTable("budget_request_counts"))) {
    await knex.schema.createTable("budget_request_counts", (table) => {
      table.string("key", 255).primary();
      table.integer("points").notNullable().defaultTo(0);
      table.bigInteger("expire").nullable();
    });
  }

  if (!(await knex.schema.hasColumn("messages", "cost_micro_usd"))) {
    await knex.schema.alterTable("messages", (table) => {
      table.bigInteger("cost_micro_usd").nullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    "budget_request_counts",
    "budget_limits",
    "model_prices",
    "usage_weekly",
    "usage_daily",
    "usage_ledger",
    "api_keys",
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  // Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL), as in 0002.
  if (await knex.schema.hasColumn("messages", "cost_micro_usd")) await knex.raw("ALTER TABLE messages DROP COLUMN cost_micro_usd");
}
