import type { Knex } from "knex";

/**
 * Schema for conversations of any length (data is filled in by 0003 and 0004; schema and data
 * changes are kept apart so each migration does one thing and can be re-run safely).
 *
 * - messages.depth: position on its branch, root = 1, parent's depth + 1. Written with the message
 *   and never changed: "how many messages come before this one" without a counting walk.
 * - messages.token_estimate: the provider-neutral estimate of the message's text (with its role
 *   overhead), written with the text. The context walk sums it without reading the text.
 * - conversation_summaries: a summary of a branch's prefix root→X, keyed by X (the last message it
 *   covers), the summariser model and the prompt version, so later sends on the same prefix reuse it.
 *
 * Both columns stay nullable: SQLite cannot add a NOT NULL column without a default, and a default
 * would hide a write that forgot them. The repository always writes them; 0003 fills older rows.
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn("messages", "depth"))) {
    await knex.schema.alterTable("messages", (table) => {
      table.integer("depth").nullable();
    });
  }
  if (!(await knex.schema.hasColumn("messages", "token_estimate"))) {
    await knex.schema.alterTable("messages", (table) => {
      table.integer("token_estimate").nullable();
    });
  }
  if (!(await knex.schema.hasTable("conversation_summaries"))) {
    await knex.schema.createTable("conversation_summaries", (table) => {
      table.string("id", 36).primary();
      // deleting the message (with its conversation) deletes the summary of the prefix it ends
      table.string("covers_through_message_id", 36).notNullable().references("id").inTable("messages").onDelete("CASCADE");
      table.string("summariser_model_id", 300).notNullable();
      table.string("prompt_version", 32).notNullable();
      table.text("content").notNullable();
      table.integer("token_estimate").notNullable();
      // messages root→X the summary stands for, and the older ones it could not cover (sum = depth of X)
      table.integer("message_count").notNullable();
      table.integer("left_out_count").notNullable();
      table.bigInteger("created_at").notNullable();
      // the context walk left-joins on exactly this key; at most one summary per key
      table.unique(["covers_through_message_id", "summariser_model_id", "prompt_version"]);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("conversation_summaries");
  // Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL): knex's SQLite helper would copy
  // and recreate the whole messages table instead.
  for (const column of ["token_estimate", "depth"]) {
    if (await knex.schema.hasColumn("messages", column)) await knex.raw(`ALTER TABLE messages DROP COLUMN ${column}`);
  }
}
