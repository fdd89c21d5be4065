import type { Knex } from "knex";
import { OWNER_KEY_SHIFT } from "../search-owner-range";

/**
 * The library: conversations listed by pin, archive and workspace, and full-text search over a user's
 * messages and titles (docs/decisions/0022-library-search-and-organisation.md). Existing rows are
 * indexed by 0010; from here on the database keeps the index in step itself (triggers), whatever
 * writes a message: a send, an answer's final text, a delete (by cascade), an import, a harness.
 *
 * - `search_owners` gives each user with conversations a small number, their owner key.
 * - `search_documents` is one searchable text: a message (`message_id`) or a conversation's title
 *   (`message_id` null). Its id is `owner key × 2^36 + a sequence`, so one user's documents are one
 *   range of ids: a search reads only the searcher's range (no join over everyone's matches), and
 *   newest first is descending id.
 * - SQLite: an FTS5 index over those ids, contentless (the text stays in `messages` and
 *   `conversations` only), `detail=none` (which documents contain a word, not where: snippets are
 *   made from the page's texts), a prefix index for 3-character prefixes (the word being typed).
 * - PostgreSQL: a `tsvector` column with a GIN index.
 *
 * Indexed: messages that are not system prompts, have text and are not being streamed (an answer is
 * indexed when its text is final, also a stopped, failed or interrupted one, with what it kept).
 * Words are runs of letters and digits, compared case-insensitively; ASCII punctuation separates
 * words on both databases (PostgreSQL's parser would otherwise keep `a.b@c.com`, `v1.2.3` or
 * `src/app.ts` whole, and "app" would not find them).
 */

/** Every document id of one owner lies in [key × 2^36, (key + 1) × 2^36) (search-owner-range.ts). */
const OWNER_RANGE = `${2 ** OWNER_KEY_SHIFT - 1}`;

const messageIsIndexed = (row: string) => `(${row}.role <> 'system' AND ${row}.status <> 'streaming' AND ${row}.content <> '')`;

/** SQLite: the next id in the owner's range of the conversation `conversationId` (an SQL expression), for `INSERT … SELECT … FROM search_owners o`. */
const sqliteNextIdOfOwner = `coalesce((SELECT max(d.id) FROM search_documents d WHERE d.id BETWEEN (o.id << ${OWNER_KEY_SHIFT}) AND (o.id << ${OWNER_KEY_SHIFT}) + ${OWNER_RANGE}), o.id << ${OWNER_KEY_SHIFT}) + 1`;

const sqliteStatements = [
  `CREATE TABLE search_owners (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     user_id varchar(36) NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE
   )`,
  // INTEGER PRIMARY KEY: the table's rowid itself, which is also the FTS5 rowid of the document.
  `CREATE TABLE search_documents (
     id INTEGER PRIMARY KEY,
     conversation_id varchar(36) NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     message_id varchar(36) NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE
   )`,
  `CREATE INDEX search_documents_conversation_id_index ON search_documents (conversation_id)`,
  `CREATE UNIQUE INDEX search_documents_title_index ON search_documents (conversation_id) WHERE message_id IS NULL`,
  `CREATE VIRTUAL TABLE search_index USING fts5(
     text, content = '', contentless_delete = 1, detail = none, prefix = '3', tokenize = 'unicode61 remove_diacritics 0'
   )`,
  // A document deleted (directly, or by the cascade from its message or conversation) leaves the index.
  `CREATE TRIGGER search_document_deleted AFTER DELETE ON search_documents BEGIN
     DELETE FROM search_index WHERE rowid = OLD.id;
   END`,
  `CREATE TRIGGER search_conversation_inserted AFTER INSERT ON conversations BEGIN
     INSERT OR IGNORE INTO search_owners (user_id) VALUES (NEW.user_id);
     INSERT INTO search_documents (id, conversation_id, message_id)
       SELECT ${sqliteNextIdOfOwner}, NEW.id, NULL FROM search_owners o WHERE o.user_id = NEW.user_id;
     INSERT INTO search_index (rowid, text)
       SELECT id, NEW.title FROM search_documents WHERE conversation_id = NEW.id AND message_id IS NULL;
   END`,
  `CREATE TRIGGER search_conversation_renamed AFTER UPDATE OF title ON conversations WHEN OLD.title IS NOT NEW.title BEGIN
     DELETE FROM search_index WHERE rowid = (SELECT id FROM search_documents WHERE conversation_id = NEW.id AND message_id IS NULL);
     INSERT INTO search_index (rowid, text)
       SELECT id, NEW.title FROM search_documents WHERE conversation_id = NEW.id AND message_id IS NULL;
   END`,
  `CREATE TRIGGER search_message_inserted AFTER INSERT ON messages WHEN ${messageIsIndexed("NEW")} BEGIN
     INSERT OR IGNORE INTO search_owners (user_id) SELECT user_id FROM conversations WHERE id = NEW.conversation_id;
     INSERT INTO search_documents (id, conversation_id, message_id)
       SELECT ${sqliteNextIdOfOwner}, NEW.conversation_id, NEW.id
         FROM conversations c JOIN search_owners o ON o.user_id = c.user_id WHERE c.id = NEW.conversation_id;
     INSERT INTO search_index (rowid, text) SELECT id, NEW.content FROM search_documents WHERE message_id = NEW.id;
   END`,
  // A streamed answer's periodic flushes change neither side of the WHEN: they cost nothing here.
  `CREATE TRIGGER search_message_updated AFTER UPDATE OF content, status, role ON messages
   WHEN ${messageIsIndexed("OLD")} OR ${messageIsIndexed("NEW")} BEGIN
     DELETE FROM search_index WHERE rowid = (SELECT id FROM search_documents WHERE message_id = NEW.id);
     DELETE FROM search_documents WHERE message_id = NEW.id AND NOT ${messageIsIndexed("NEW")};
     INSERT OR IGNORE INTO search_owners (user_id) SELECT user_id FROM conversations WHERE id = NEW.conversation_id AND ${messageIsIndexed("NEW")};
     INSERT INTO search_documents (id, conversation_id, message_id)
       SELECT ${sqliteNextIdOfOwner}, NEW.conversation_id, NEW.id
         FROM conversations c JOIN search_owners o ON o.user_id = c.user_id
        WHERE c.id = NEW.conversation_id AND ${messageIsIndexed("NEW")}
          AND NOT EXISTS (SELECT 1 FROM search_documents WHERE message_id = NEW.id);
     INSERT INTO search_index (rowid, text) SELECT id, NEW.content FROM search_documents WHERE message_id = NEW.id AND ${messageIsIndexed("NEW")};
   END`,
];

/** ASCII punctuation, as code-point ranges (no locale-dependent character class): it separates words. */
const ASCII_PUNCTUATION_PATTERN = "[!-/:-@[-`{-~]+";

const postgresStatements = [
  `CREATE TABLE search_owners (
     id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
     user_id varchar(36) NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE
   )`,
  `CREATE SEQUENCE search_document_sequence`,
  `CREATE TABLE search_documents (
     id bigint PRIMARY KEY,
     conversation_id varchar(36) NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     message_id varchar(36) NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
     document tsvector NOT NULL
   )`,
  `CREATE INDEX search_documents_conversation_id_index ON search_documents (conversation_id)`,
  `CREATE UNIQUE INDEX search_documents_title_index ON search_documents (conversation_id) WHERE message_id IS NULL`,
  `CREATE INDEX search_documents_document_index ON search_documents USING gin (document)`,
  // The planner weighs "newest first, filtered" against "every match, then sorted" by how common a
  // word is: with more statistics it knows more of the common words.
  `ALTER TABLE search_documents ALTER COLUMN document SET STATISTICS 1000`,
  `CREATE FUNCTION search_document_of(text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
     AS $$ SELECT to_tsvector('simple', regexp_replace($1, '${ASCII_PUNCTUATION_PATTERN}', ' ', 'g')) $$`,
  // A global sequence after the owner key: ids grow within each owner's range, and concurrent
  // transactions of the same user never take the same one.
  `CREATE FUNCTION search_new_document_id(conversation varchar) RETURNS bigint LANGUAGE plpgsql AS $$
   DECLARE owner_key bigint;
   BEGIN
     SELECT o.id INTO owner_key FROM conversations c JOIN search_owners o ON o.user_id = c.user_id WHERE c.id = conversation;
     IF owner_key IS NULL THEN
       INSERT INTO search_owners (user_id) SELECT user_id FROM conversations WHERE id = conversation ON CONFLICT (user_id) DO NOTHING;
       SELECT o.id INTO owner_key FROM conversations c JOIN search_owners o ON o.user_id = c.user_id WHERE c.id = conversation;
     END IF;
     RETURN (owner_key << ${OWNER_KEY_SHIFT}) + nextval('search_document_sequence');
   END $$`,
  `CREATE FUNCTION search_index_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'INSERT' THEN
       INSERT INTO search_documents (id, conversation_id, message_id, document)
         VALUES (search_new_document_id(NEW.id), NEW.id, NULL, search_document_of(NEW.title));
     ELSE
       UPDATE search_documents SET document = search_document_of(NEW.title) WHERE conversation_id = NEW.id AND message_id IS NULL;
     END IF;
     RETURN NULL;
   END $$`,
  `CREATE TRIGGER search_conversation_inserted AFTER INSERT ON conversations
     FOR EACH ROW EXECUTE PROCEDURE search_index_conversation()`,
  `CREATE TRIGGER search_conversation_renamed AFTER UPDATE OF title ON conversations
     FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE PROCEDURE search_index_conversation()`,
  // Inserts are indexed a statement at a time (a transition table): a batch of messages, as an import or
  // a long history brings them, is one set-based INSERT here instead of one function call per row.
  `CREATE FUNCTION search_index_inserted_messages() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO search_owners (user_id)
       SELECT DISTINCT c.user_id FROM inserted i JOIN conversations c ON c.id = i.conversation_id
       ON CONFLICT (user_id) DO NOTHING;
     INSERT INTO search_documents (id, conversation_id, message_id, document)
       SELECT (o.id << ${OWNER_KEY_SHIFT}) + nextval('search_document_sequence'), i.conversation_id, i.id, search_document_of(i.content)
         FROM inserted i JOIN conversations c ON c.id = i.conversation_id JOIN search_owners o ON o.user_id = c.user_id
        WHERE ${messageIsIndexed("i")};
     RETURN NULL;
   END $$`,
  `CREATE TRIGGER search_messages_inserted AFTER INSERT ON messages
     REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE PROCEDURE search_index_inserted_messages()`,
  // An update (an answer's final text, a change of status) re-indexes one row, or drops it.
  `CREATE FUNCTION search_index_message() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF NOT ${messageIsIndexed("NEW")} THEN
       DELETE FROM search_documents WHERE message_id = NEW.id;
       RETURN NULL;
     END IF;
     UPDATE search_documents SET document = search_document_of(NEW.content) WHERE message_id = NEW.id;
     IF NOT FOUND THEN
       INSERT INTO search_documents (id, conversation_id, message_id, document)
         VALUES (search_new_document_id(NEW.conversation_id), NEW.conversation_id, NEW.id, search_document_of(NEW.content));
     END IF;
     RETURN NULL;
   END $$`,
  `CREATE TRIGGER search_message_updated AFTER UPDATE OF content, status, role ON messages
     FOR EACH ROW WHEN (${messageIsIndexed("OLD")} OR ${messageIsIndexed("NEW")}) EXECUTE PROCEDURE search_index_message()`,
];

export async function up(knex: Knex): Promise<void> {
  // The conversation list by library state: pinned ones apart, archived ones apart, per workspace folder,
  // each newest interaction first and keyset-paged on (last_message_at, id) like the plain list.
  if (!(await hasIndex(knex, "conversations_library_index"))) {
    await knex.schema.alterTable("conversations", (table) => {
      table.index(["user_id", "is_archived", "is_pinned", "last_message_at", "id"], "conversations_library_index");
      table.index(["user_id", "workspace_hint", "is_archived", "is_pinned", "last_message_at", "id"], "conversations_workspace_index");
    });
  }
  if (await knex.schema.hasTable("search_documents")) return;
  const isPostgres = knex.client.config.client === "pg";
  for (const statement of isPostgres ? postgresStatements : sqliteStatements) await knex.raw(statement);
}

export async function down(knex: Knex): Promise<void> {
  const isPostgres = knex.client.config.client === "pg";
  if (isPostgres) {
    await knex.raw("DROP TRIGGER IF EXISTS search_message_updated ON messages");
    await knex.raw("DROP TRIGGER IF EXISTS search_messages_inserted ON messages");
    await knex.raw("DROP TRIGGER IF EXISTS search_conversation_renamed ON conversations");
    await knex.raw("DROP TRIGGER IF EXISTS search_conversation_inserted ON conversations");
    await knex.raw("DROP FUNCTION IF EXISTS search_index_message()");
    await knex.raw("DROP FUNCTION IF EXISTS search_index_inserted_messages()");
    await knex.raw("DROP FUNCTION IF EXISTS search_index_conversation()");
    await knex.raw("DROP FUNCTION IF EXISTS search_new_document_id(varchar)");
    await knex.raw("DROP FUNCTION IF EXISTS search_document_of(text)");
    await knex.raw("DROP TABLE IF EXISTS search_documents");
    await knex.raw("DROP SEQUENCE IF EXISTS search_document_sequence");
  } else {
    for (const trigger of [
      "search_message_updated",
      "search_message_inserted",
      "search_conversation_renamed",
      "search_conversation_inserted",
      "search_document_deleted",
    ]) {
      await knex.raw(`DROP TRIGGER IF EXISTS ${trigger}`);
    }
    await knex.raw("DROP TABLE IF EXISTS search_index");
    await knex.raw("DROP TABLE IF EXISTS search_documents");
  }
  await knex.raw("DROP TABLE IF EXISTS search_owners");
  if (await hasIndex(knex, "conversations_library_index")) {
    await knex.schema.alterTable("conversations", (table) => {
      table.dropIndex([], "conversations_library_index");
      table.dropIndex([], "conversations_workspace_index");
    });
  }
}

async function hasIndex(knex: Knex, name: string): Promise<boolean> {
  const isPostgres = knex.client.config.client === "pg";
  const result: unknown = isPostgres
    ? await knex.raw("SELECT 1 FROM pg_indexes WHERE indexname = ?", [name])
    : await knex.raw("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", [name]);
  const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
  return rows.length > 0;
}
