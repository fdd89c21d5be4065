import type { Knex } from "knex";
import { OWNER_KEY_SHIFT } from "../search-owner-range";

/**
 * Indexes the conversations and messages written before 0009 (data only; the schema is 0009's).
 * It rebuilds the index from scratch, so running it again gives the same index. Documents are
 * numbered within each owner's range in the order they were written (newest = highest id), titles
 * and messages alike. Set-based: one statement per step, whatever the number of rows.
 */

/** Every conversation's title and every indexed message, with its owner key, in the order they were written. */
const documentsToIndex = `
  SELECT o.id AS owner_key, c.id AS conversation_id, NULL AS message_id, c.created_at AS written_at, c.id AS tie
    FROM conversations c JOIN search_owners o ON o.user_id = c.user_id
  UNION ALL
  SELECT o.id, m.conversation_id, m.id, m.created_at, m.id
    FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN search_owners o ON o.user_id = c.user_id
   WHERE m.role <> 'system' AND m.status <> 'streaming' AND m.content <> ''`;

export async function up(knex: Knex): Promise<void> {
  const isPostgres = knex.client.config.client === "pg";
  if (isPostgres) {
    await knex.raw("TRUNCATE search_documents");
    // owners numbered from 1 again, so that a second run gives the very same ids
    await knex.raw("TRUNCATE search_owners RESTART IDENTITY");
    await knex.raw("INSERT INTO search_owners (user_id) SELECT DISTINCT user_id FROM conversations ORDER BY user_id");
    // One global numbering (the sequence the triggers continue from), in the order written.
    await knex.raw(`
      INSERT INTO search_documents (id, conversation_id, message_id, document)
      SELECT (numbered.owner_key << ${OWNER_KEY_SHIFT}) + numbered.position, numbered.conversation_id, numbered.message_id,
             search_document_of(coalesce(m.content, c.title))
        FROM (SELECT documents.*, ROW_NUMBER() OVER (ORDER BY written_at, tie) AS position FROM (${documentsToIndex}) documents) numbered
        JOIN conversations c ON c.id = numbered.conversation_id
        LEFT JOIN messages m ON m.id = numbered.message_id`);
    await knex.raw(`SELECT setval('search_document_sequence', (SELECT count(*) + 1 FROM search_documents), false)`);
    await knex.raw("ANALYZE search_documents");
    return;
  }
  // Empty the index first: the delete trigger then has nothing left to remove one row at a time.
  await knex.raw("INSERT INTO search_index (search_index) VALUES ('delete-all')");
  await knex.raw("DELETE FROM search_documents");
  await knex.raw("DELETE FROM search_owners");
  // owners numbered from 1 again, so that a second run gives the very same ids
  await knex.raw("DELETE FROM sqlite_sequence WHERE name = 'search_owners'");
  await knex.raw("INSERT INTO search_owners (user_id) SELECT DISTINCT user_id FROM conversations ORDER BY user_id");
  await knex.raw(`
    INSERT INTO search_documents (id, conversation_id, message_id)
    SELECT (owner_key << ${OWNER_KEY_SHIFT}) + ROW_NUMBER() OVER (PARTITION BY owner_key ORDER BY written_at, tie), conversation_id, message_id
      FROM (${documentsToIndex})`);
  await knex.raw(`
    INSERT INTO search_index (rowid, text)
    SELECT d.id, coalesce(m.content, c.title)
      FROM search_documents d JOIN conversations c ON c.id = d.conversation_id LEFT JOIN messages m ON m.id = d.message_id
     ORDER BY d.id`);
  // One segment instead of the many a bulk insert leaves: the fastest index to read.
  await knex.raw("INSERT INTO search_index (search_index) VALUES ('optimize')");
}

/** The index is 0009's; its rows go with its tables. */
export async function down(): Promise<void> {}
