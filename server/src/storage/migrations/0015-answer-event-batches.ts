import type { Knex } from "knex";

/**
 * PostgreSQL only (several instances): an answer's published events are stored one row per write
 * instead of one row per event (decision 0033). `generation_events` took a row, an index entry and
 * a foreign-key check per token, about 70 per answer; `generation_event_batches` takes one per
 * answer per write, the events as the JSON array a reader parses at once. Both tables only hold
 * answers being written and those ended within the last minute, so the old one is dropped, not
 * copied: every instance is upgraded together (docs/load-balancer.md). Immutable once shipped.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== "pg") return;
  await knex.schema.createTable("generation_event_batches", (table) => {
    // the order of the writes: of two that carry the same sequence, the first is kept
    table.bigIncrements("id").primary();
    table.string("message_id", 36).notNullable().references("id").inTable("messages").onDelete("CASCADE");
    table.integer("last_sequence").notNullable();
    // [{"sequence":n,"event":name,"data":{…}}, …], by sequence
    table.text("events").notNullable();
    table.index(["message_id", "last_sequence"]);
  });
  await knex.schema.dropTableIfExists("generation_events");
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== "pg") return;
  await knex.schema.dropTableIfExists("generation_event_batches");
  await knex.schema.createTable("generation_events", (table) => {
    table.string("message_id", 36).notNullable().references("id").inTable("messages").onDelete("CASCADE");
    table.integer("sequence").notNullable();
    table.string("event", 32).notNullable();
    table.text("data").notNullable();
    table.primary(["message_id", "sequence"]);
  });
}
