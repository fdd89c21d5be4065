import type { Knex } from "knex";

/**
 * Schema for branches, system prompts and presets (issue 10). Immutable once shipped.
 * - `messages (conversation_id, parent_id)`: the siblings of a message (the chat's ‹ 2/3 ›) and the
 *   positions of a page's messages among theirs, root messages included, read by this index alone.
 * - `system_prompts`: every system prompt text once, keyed by the SHA-256 of its text, never changed
 *   or deleted, so a context record names the exact text an answer saw by id (Show Context serves it).
 * - `conversations.system_prompt_id` (null: the owner's default), `temperature` and
 *   `max_output_tokens` (null: the model's own): what a preset started the conversation with, or
 *   PATCH set. `users.default_system_prompt_id` (null: Juggler's built-in prompt).
 * - `team_presets`: the admin's named starting points (system prompt, model, temperature, output limit).
 *
 * The new columns of existing tables carry no foreign-key constraint on purpose: adding one to a
 * SQLite table makes knex copy and recreate the table, and dropping the old `conversations` would
 * cascade to every message. The prompts they name are never deleted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("CREATE INDEX IF NOT EXISTS messages_conversation_id_parent_id_index ON messages (conversation_id, parent_id)");

  if (!(await knex.schema.hasTable("system_prompts"))) {
    await knex.schema.createTable("system_prompts", (table) => {
      // hex SHA-256 of the text
      table.string("id", 64).primary();
      table.text("content").notNullable();
      table.integer("token_estimate").notNullable();
      table.bigInteger("created_at").notNullable();
    });
  }

  if (!(await knex.schema.hasColumn("conversations", "system_prompt_id"))) {
    await knex.schema.alterTable("conversations", (table) => {
      table.string("system_prompt_id", 64).nullable();
      table.float("temperature").nullable();
      table.integer("max_output_tokens").nullable();
    });
  }

  if (!(await knex.schema.hasColumn("users", "default_system_prompt_id"))) {
    await knex.schema.alterTable("users", (table) => {
      table.string("default_system_prompt_id", 64).nullable();
    });
  }

  if (!(await knex.schema.hasTable("team_presets"))) {
    await knex.schema.createTable("team_presets", (table) => {
      table.string("id", 36).primary();
      table.string("name", 100).notNullable();
      // lower-cased name: names are unique case-insensitively on SQLite and PostgreSQL alike
      table.string("name_lower", 100).notNullable().unique();
      table.string("system_prompt_id", 64).nullable().references("id").inTable("system_prompts");
      table.string("model_id", 300).nullable();
      table.float("temperature").nullable();
      table.integer("max_output_tokens").nullable();
      table.bigInteger("created_at").notNullable();
      table.bigInteger("updated_at").notNullable();
      table.index(["system_prompt_id"]);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("team_presets");
  // Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL): knex's SQLite helper would recreate the tables.
  if (await knex.schema.hasColumn("users", "default_system_prompt_id"))
    await knex.raw("ALTER TABLE users DROP COLUMN default_system_prompt_id");
  for (const column of ["system_prompt_id", "temperature", "max_output_tokens"]) {
    if (await knex.schema.hasColumn("conversations", column)) await knex.raw(`ALTER TABLE conversations DROP COLUMN ${column}`);
  }
  await knex.schema.dropTableIfExists("system_prompts");
  await knex.raw("DROP INDEX IF EXISTS messages_conversation_id_parent_id_index");
}
