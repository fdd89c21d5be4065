import type { Knex } from "knex";

/**
 * The first schema. Immutable once shipped: later changes get a new migration.
 * Times are epoch milliseconds (bigint); ids are random UUID strings so that ids of
 * other users' rows cannot be guessed (ownership is still checked on every query).
 * Every foreign key has an index (the original Juggler's missing one made listing
 * 1,000 conversations take 2.2 s).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("users", (table) => {
    table.string("id", 36).primary();
    table.string("name", 64).notNullable();
    // lower-cased name: names are unique case-insensitively on SQLite and PostgreSQL alike
    table.string("name_key", 64).notNullable().unique();
    table.string("password_hash", 255).notNullable();
    table.string("role", 16).notNullable();
    table.string("status", 16).notNullable();
    table.string("last_model_id", 300).nullable();
    table.bigInteger("password_changed_at").notNullable();
    table.bigInteger("created_at").notNullable();
    table.bigInteger("updated_at").notNullable();
  });

  await knex.schema.createTable("refresh_tokens", (table) => {
    table.string("id", 36).primary();
    table.string("user_id", 36).notNullable().references("id").inTable("users").onDelete("CASCADE");
    table.string("family_id", 36).notNullable();
    table.string("token_hash", 64).notNullable().unique();
    // active | rotated | revoked
    table.string("status", 16).notNullable();
    table.bigInteger("expires_at").notNullable();
    table.bigInteger("created_at").notNullable();
    table.bigInteger("used_at").nullable();
    table.index(["user_id"]);
    table.index(["family_id"]);
  });

  await knex.schema.createTable("providers", (table) => {
    table.string("kind", 16).primary();
    table.boolean("is_active").notNullable().defaultTo(false);
    table.string("base_url", 2048).notNullable();
    // AES-256-GCM ciphertext (base64 iv.tag.data); the plain key is never stored
    table.text("encrypted_key").nullable();
    table.string("key_last4", 4).nullable();
    table.bigInteger("last_refreshed_at").nullable();
    table.text("last_error").nullable();
    table.bigInteger("updated_at").notNullable();
  });

  await knex.schema.createTable("models", (table) => {
    table.string("id", 300).primary();
    table.string("provider", 16).notNullable().references("kind").inTable("providers").onDelete("CASCADE");
    table.string("name", 255).notNullable();
    table.string("display_name", 255).notNullable();
    table.integer("context_window").nullable();
    table.integer("max_output_tokens").nullable();
    table.boolean("supports_vision").nullable();
    table.boolean("is_visible").notNullable().defaultTo(false);
    table.boolean("is_available").notNullable().defaultTo(true);
    table.bigInteger("created_at").notNullable();
    table.bigInteger("updated_at").notNullable();
    table.unique(["provider", "name"]);
    table.index(["provider"]);
  });

  await knex.schema.createTable("conversations", (table) => {
    table.string("id", 36).primary();
    table.string("user_id", 36).notNullable().references("id").inTable("users").onDelete("CASCADE");
    table.string("title", 200).notNullable();
    table.string("model_id", 300).nullable();
    table.string("leaf_message_id", 36).nullable();
    table.boolean("is_pinned").notNullable().defaultTo(false);
    table.boolean("is_archived").notNullable().defaultTo(false);
    table.string("workspace_hint", 500).nullable();
    table.bigInteger("created_at").notNullable();
    table.bigInteger("updated_at").notNullable();
    table.bigInteger("last_message_at").notNullable();
    // the conversation list: a user's conversations, newest interaction first, paged by (time, id)
    table.index(["user_id", "last_message_at", "id"]);
  });

  await knex.schema.createTable("messages", (table) => {
    table.string("id", 36).primary();
    table.string("conversation_id", 36).notNullable().references("id").inTable("conversations").onDelete("CASCADE");
    table.string("parent_id", 36).nullable().references("id").inTable("messages").onDelete("CASCADE");
    table.string("role", 16).notNullable();
    table.text("content").notNullable();
    table.string("status", 16).notNullable();
    table.string("provider", 16).nullable();
    table.string("model_id", 300).nullable();
    table.integer("input_tokens").nullable();
    table.integer("output_tokens").nullable();
    table.integer("time_to_first_token_ms").nullable();
    table.integer("duration_ms").nullable();
    table.string("finish_reason", 32).nullable();
    table.string("finish_reason_raw", 64).nullable();
    table.string("error_code", 64).nullable();
    table.text("error_message").nullable();
    table.text("context_snapshot").nullable();
    table.bigInteger("created_at").notNullable();
    table.bigInteger("updated_at").notNullable();
    table.index(["conversation_id"]);
    table.index(["parent_id"]);
    // crash recovery finds answers left streaming
    table.index(["status"]);
  });

  await knex.schema.createTable("settings", (table) => {
    table.string("key", 100).primary();
    table.text("value").notNullable();
    table.bigInteger("updated_at").notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["settings", "messages", "conversations", "models", "providers", "refresh_tokens", "users"]) {
    await knex.schema.dropTableIfExists(table);
  }
}
