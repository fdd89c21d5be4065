import type { Knex } from "knex";

/**
 * Puts every answer the chat finished before the ledger existed into it, then rebuilds the daily and
 * weekly rollups from the whole ledger, so usage views and budgets count the history too.
 *
 * A backfilled row takes its answer's id (an answer has at most one ledger row), its tokens as they
 * were stored (null stays null), and no cost: no price was in force when those answers were written,
 * and the ledger never prices history afterwards. Answers still `streaming` are skipped (their end
 * records them), as are those of a provider or model no longer named.
 *
 * One INSERT … SELECT and one rebuild, so it runs inside the database whatever the number of
 * answers. Safe to run again: answers already in the ledger are not inserted twice, and the rollups
 * are derived data, rebuilt whole. Self-contained on purpose: a migration must not change meaning
 * when the application code it would import changes later.
 */
export async function up(knex: Knex): Promise<void> {
  const isPg = knex.client.config.client === "pg";
  const day = isPg
    ? "to_char(to_timestamp(m.updated_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    : "strftime('%Y-%m-%d', m.updated_at / 1000, 'unixepoch')";
  await knex.raw(`
    INSERT INTO usage_ledger (id, user_id, client_kind, client_name, api_key_id, provider, model_id, conversation_id, message_id,
                              status, input_tokens, output_tokens, cached_input_tokens, cost_micro_usd,
                              time_to_first_token_ms, duration_ms, finished_at, day)
    SELECT m.id, c.user_id, 'chat', 'chat', NULL, m.provider, m.model_id, m.conversation_id, m.id,
           m.status, m.input_tokens, m.output_tokens, NULL, NULL,
           m.time_to_first_token_ms, m.duration_ms, m.updated_at, ${day}
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.role = 'assistant' AND m.status <> 'streaming' AND m.provider IS NOT NULL AND m.model_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM usage_ledger l WHERE l.message_id = m.id)`);
  await rebuildRollups(knex, isPg);
}

/** The rollups of the whole ledger, grouped the way the server upserts them as answers end. */
async function rebuildRollups(knex: Knex, isPg: boolean): Promise<void> {
  // the Monday of `day`: SQLite steps back six days then forward to a Monday; PostgreSQL truncates to the ISO week
  const week = isPg ? "to_char(date_trunc('week', to_date(day, 'YYYY-MM-DD')), 'YYYY-MM-DD')" : "date(day, '-6 days', 'weekday 1')";
  await knex("usage_daily").delete();
  await knex.raw(`
    INSERT INTO usage_daily (day, week, month, user_id, client_kind, client_name, provider, model_id, answers,
                             input_tokens, answers_with_input_tokens, output_tokens, answers_with_output_tokens,
                             cached_input_tokens, answers_with_cached_input_tokens, cost_micro_usd, answers_with_cost,
                             time_to_first_token_ms, answers_with_time_to_first_token, duration_ms, answers_with_duration)
    SELECT day, ${week}, substr(day, 1, 7), user_id, client_kind, client_name, provider, model_id, COUNT(*),
           COALESCE(SUM(input_tokens), 0), COUNT(input_tokens), COALESCE(SUM(output_tokens), 0), COUNT(output_tokens),
           COALESCE(SUM(cached_input_tokens), 0), COUNT(cached_input_tokens), COALESCE(SUM(cost_micro_usd), 0), COUNT(cost_micro_usd),
           COALESCE(SUM(time_to_first_token_ms), 0), COUNT(time_to_first_token_ms), COALESCE(SUM(duration_ms), 0), COUNT(duration_ms)
      FROM usage_ledger
     GROUP BY day, user_id, client_kind, client_name, provider, model_id`);
  await knex("usage_weekly").delete();
  await knex.raw(`
    INSERT INTO usage_weekly (week, user_id, client_kind, client_name, provider, model_id, answers,
                              input_tokens, answers_with_input_tokens, output_tokens, answers_with_output_tokens,
                              cached_input_tokens, answers_with_cached_input_tokens, cost_micro_usd, answers_with_cost,
                              time_to_first_token_ms, answers_with_time_to_first_token, duration_ms, answers_with_duration)
    SELECT week, user_id, client_kind, client_name, provider, model_id, SUM(answers),
           SUM(input_tokens), SUM(answers_with_input_tokens), SUM(output_tokens), SUM(answers_with_output_tokens),
           SUM(cached_input_tokens), SUM(answers_with_cached_input_tokens), SUM(cost_micro_usd), SUM(answers_with_cost),
           SUM(time_to_first_token_ms), SUM(answers_with_time_to_first_token), SUM(duration_ms), SUM(answers_with_duration)
      FROM usage_daily
     GROUP BY week, user_id, client_kind, client_name, provider, model_id`);
}

export async function down(knex: Knex): Promise<void> {
  // backfilled rows are the ones whose id is their answer's (rows recorded live have ids of their own)
  await knex.raw("DELETE FROM usage_ledger WHERE id = message_id");
  await rebuildRollups(knex, knex.client.config.client === "pg");
}
