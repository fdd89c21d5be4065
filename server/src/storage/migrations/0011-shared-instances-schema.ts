import type { Knex } from "knex";

/**
 * Schema for several server instances on one PostgreSQL (issue 9). Immutable once shipped.
 * PostgreSQL only: a SQLite server is one process and keeps all of this in memory.
 * - `server_instances`: every running instance and its heartbeat (the database's clock, epoch ms).
 * - `generation_leases`: which instance writes which answer; an answer whose instance stopped
 *   beating is interrupted by another one. `finished_at` set: the answer ended, its events are
 *   pruned a minute later.
 * - `generation_events`: every event of an answer being written, by sequence, so that a stream
 *   opened on another instance replays and follows it (`data` is the event's JSON, as sent).
 * - `scheduled_tasks`: work that one instance of the team does per interval (the catalog refresh).
 * One send at a time per conversation, and the per-user cap, hold across instances without an
 * index: a send's transaction takes a lock on the user's answers and counts them (a compare writes
 * several answers under one question at once, which a unique index on streaming answers would refuse).
 * - `messages_streaming_index`: the answers being written, by conversation (a partial index).
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== "pg") return;
  await knex.schema.createTable("server_instances", (table) => {
    table.string("id", 36).primary();
    table.bigInteger("started_at").notNullable();
    table.bigInteger("heartbeat_at").notNullable();
  });
  await knex.schema.createTable("generation_leases", (table) => {
    table.string("message_id", 36).primary().references("id").inTable("messages").onDelete("CASCADE");
    table.string("instance_id", 36).notNullable();
    table.bigInteger("started_at").notNullable();
    table.bigInteger("finished_at").nullable();
    table.index(["instance_id"]);
    table.index(["finished_at"]);
  });
  await knex.schema.createTable("generation_events", (table) => {
    table.string("message_id", 36).notNullable().references("id").inTable("messages").onDelete("CASCADE");
    table.integer("sequence").notNullable();
    table.string("event", 32).notNullable();
    table.text("data").notNullable();
    table.primary(["message_id", "sequence"]);
  });
  await knex.schema.createTable("scheduled_tasks", (table) => {
    table.string("name", 64).primary();
    table.bigInteger("next_run_at").notNullable();
  });
  // the answers being written, found without reading a long conversation's history
  await knex.raw("CREATE INDEX messages_streaming_index ON messages (conversation_id) WHERE status = 'streaming'");
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== "pg") return;
  await knex.raw("DROP INDEX IF EXISTS messages_streaming_index");
  for (const table of ["scheduled_tasks", "generation_events", "generation_leases", "server_instances"]) {
    await knex.schema.dropTableIfExists(table);
  }
}
