import type { Knex } from "knex";

/**
 * Schema for a question's editor context (issue 10). Immutable once shipped.
 * - `message_attachments`: the files, selections and images sent with a user message, in their own
 *   table so that history pages and context walks never carry their text or bytes; read only for the
 *   messages a context sends (by `message_id`), deleted with their message. An image's bytes are in
 *   `data` (its `content` is empty).
 */
export async function up(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable("message_attachments")) return;
  await knex.schema.createTable("message_attachments", (table) => {
    table.string("id", 36).primary();
    table.string("message_id", 36).notNullable().references("id").inTable("messages").onDelete("CASCADE");
    // 0, 1, 2 …: the order they were attached in
    table.integer("position").notNullable();
    // file | selection | image
    table.string("kind", 16).notNullable();
    table.string("path", 1000).notNullable();
    table.string("language", 64).nullable();
    table.integer("start_line").nullable();
    table.integer("end_line").nullable();
    table.text("content").notNullable();
    table.string("media_type", 32).nullable();
    table.binary("data").nullable();
    table.integer("character_count").notNullable();
    table.integer("token_estimate").notNullable();
    table.bigInteger("created_at").notNullable();
    table.unique(["message_id", "position"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("message_attachments");
}
