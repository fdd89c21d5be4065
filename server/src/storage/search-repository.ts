import type { Knex } from "knex";
import type { MessageRole } from "../../../protocol/http/conversations";
import { isPostgresConnection, rawRows } from "./raw-rows";
import { ownerDocumentRange } from "./search-owner-range";

/**
 * The search index of ONE user (tables search_owners, search_documents and, on SQLite, the FTS5 table
 * search_index; migration 0009). The database's triggers write it; this only reads. Every query is
 * confined to the user's range of document ids and joined to their conversations.
 */

/** What the index is asked for: every one of `words`, and a word starting with `prefix`. */
export interface IndexQuery {
  words: readonly string[];
  prefix: string | null;
}

/** A document the index found, with what ranking and snippets need. */
export interface SearchCandidate {
  documentId: number;
  conversationId: string;
  /** null: the conversation's title. */
  messageId: string | null;
  role: MessageRole | null;
  /** The message's text (its first TEXT_FOR_RANKING_MAX characters) or the title. */
  text: string;
  /** The message's time, or the conversation's creation for a title (epoch ms). */
  createdAt: number;
}

/** Texts are ranked and cut into snippets from at most this much of their start (an answer can be huge). */
export const TEXT_FOR_RANKING_MAX = 20_000;

interface CandidateRecord {
  id: number | string;
  conversation_id: string;
  message_id: string | null;
  role: string | null;
  text: string | null;
  title: string | null;
  created_at: number | string | null;
  conversation_created_at: number | string | null;
}

/** A message on a branch that contains what find looks for (before counting). */
export interface BranchTextRow {
  id: string;
  depth: number;
  content: string;
}

export class SearchRepository {
  constructor(
    private readonly database: Knex | Knex.Transaction,
    readonly userId: string,
  ) {}

  /** The user's owner key; undefined while they have no conversation (nothing to search). */
  async findOwnerKey(): Promise<number | undefined> {
    const row = await this.database("search_owners").select("id").where("user_id", this.userId).first();
    return row === undefined ? undefined : Number(row.id);
  }

  /**
   * The newest `limit` documents of the user, with ids at most `upToId`, that contain every word of
   * the query: newest first. The index hands them over in id order, so the cost is bounded by `limit`
   * (and the words' lists), not by how many documents match.
   */
  async findNewestMatches(ownerKey: number, query: IndexQuery, upToId: number, limit: number): Promise<SearchCandidate[]> {
    const range = ownerDocumentRange(ownerKey);
    const upper = Math.min(upToId, range.last);
    if (upper < range.first) return [];
    const isPostgres = isPostgresConnection(this.database);
    const hits = isPostgres
      ? `SELECT id FROM search_documents WHERE id BETWEEN ? AND ? AND document @@ to_tsquery('simple', ?) ORDER BY id DESC LIMIT ?`
      : `SELECT rowid AS id FROM search_index WHERE search_index MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rowid DESC LIMIT ?`;
    const bindings = isPostgres ? [range.first, upper, toTsQuery(query), limit] : [toFts5Query(query), range.first, upper, limit];
    const textOf = isPostgres ? `left(m.content, ${TEXT_FOR_RANKING_MAX})` : `substr(m.content, 1, ${TEXT_FOR_RANKING_MAX})`;
    // The owner's range of ids already holds only their documents: the conversation is read for
    // titles only (who owns it is checked again for the page shown, findConversationTitles).
    const records = await rawRows<CandidateRecord>(
      this.database,
      `SELECT d.id, d.conversation_id, d.message_id, m.role, ${textOf} AS text, m.created_at, c.title, c.created_at AS conversation_created_at
         FROM (${hits}) hits
         JOIN search_documents d ON d.id = hits.id
         LEFT JOIN messages m ON m.id = d.message_id
         LEFT JOIN conversations c ON d.message_id IS NULL AND c.id = d.conversation_id
        ORDER BY d.id DESC`,
      bindings,
    );
    return records.map((record) => ({
      documentId: Number(record.id),
      conversationId: record.conversation_id,
      messageId: record.message_id,
      role: record.role as MessageRole | null,
      text: (record.message_id === null ? record.title : record.text) ?? "",
      createdAt: Number(record.message_id === null ? record.conversation_created_at : record.created_at),
    }));
  }

  /** The titles of some of the user's conversations (another user's are simply not there). */
  async findConversationTitles(conversationIds: readonly string[]): Promise<Map<string, string>> {
    if (conversationIds.length === 0) return new Map();
    const rows: Array<{ id: string; title: string }> = await this.database("conversations")
      .select("id", "title")
      .whereIn("id", [...new Set(conversationIds)])
      .andWhere("user_id", this.userId);
    return new Map(rows.map((row) => [row.id, row.title]));
  }

  /**
   * The messages (not system prompts) of the branch ending at `leafId` of the user's conversation
   * whose text may contain `needle`, root first: a walk up the branch over ids, then the texts of
   * those that pass `LIKE`. LIKE ignores case for ASCII letters only (SQLite), so a needle with other
   * letters is checked by the caller alone (every message of the branch is returned).
   */
  async findBranchTexts(conversationId: string, leafId: string, needle: string): Promise<BranchTextRow[]> {
    const isPostgres = isPostgresConnection(this.database);
    const isAscii = /^[\x20-\x7e]*$/.test(needle);
    const pattern = `%${needle.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    const filter = isPostgres ? `AND m.content ILIKE ? ESCAPE '\\'` : isAscii ? `AND m.content LIKE ? ESCAPE '\\'` : "";
    const rows = await rawRows<{ id: string; depth: number | string; content: string }>(
      this.database,
      `WITH RECURSIVE branch (id, parent_id) AS (
         SELECT m.id, m.parent_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.id = ? AND m.conversation_id = ? AND c.user_id = ?
         UNION ALL
         SELECT p.id, p.parent_id FROM messages p JOIN branch ON p.id = branch.parent_id
       )
       SELECT m.id, m.depth, m.content FROM branch JOIN messages m ON m.id = branch.id
        WHERE m.role <> 'system' ${filter}
        ORDER BY m.depth`,
      filter === "" ? [leafId, conversationId, this.userId] : [leafId, conversationId, this.userId, pattern],
    );
    return rows.map((row) => ({ id: row.id, depth: Number(row.depth), content: row.content }));
  }
}

/**
 * FTS5's query language with each word quoted (a quoted string is only ever a word to FTS5) and the
 * prefix as `"…"*`. The words hold only letters and digits, so there is nothing to escape; quoting
 * is the guarantee anyway.
 */
export function toFts5Query(query: IndexQuery): string {
  const parts = query.words.map((word) => `"${word.replace(/"/g, '""')}"`);
  if (query.prefix !== null) parts.push(`"${query.prefix.replace(/"/g, '""')}"*`);
  return parts.join(" AND ");
}

/** PostgreSQL's tsquery syntax: words joined with `&`, the prefix as `…:*` (letters and digits only; see parseSearchTerms). */
export function toTsQuery(query: IndexQuery): string {
  const parts = query.words.map((word) => quoteLexeme(word));
  if (query.prefix !== null) parts.push(`${quoteLexeme(query.prefix)}:*`);
  return parts.join(" & ");
}

/** A tsquery operand in quotes, so that no character of it is an operator to to_tsquery. */
function quoteLexeme(word: string): string {
  return `'${word.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}
