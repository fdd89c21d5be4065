import type { Knex } from "knex";
import {
  contextRecordSchema,
  type ContextRecord,
  type Conversation,
  type FinishReason,
  type Message,
  type MessageRole,
  type MessageStatus,
} from "../../../protocol/http/conversations";
import { errorCodeSchema, type ErrorCode } from "../../../protocol/http/error-codes";
import type { ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";

/**
 * Conversations and messages of ONE user. Every query is filtered by that user's id (messages
 * through their conversation), so another user's id behaves exactly like an id that does not
 * exist: 404 not_found, never 403, and nothing about the row leaks.
 */

export interface ConversationRow {
  id: string;
  user_id: string;
  title: string;
  model_id: string | null;
  leaf_message_id: string | null;
  created_at: number;
  updated_at: number;
  last_message_at: number;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  role: string;
  content: string;
  status: string;
  provider: string | null;
  model_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  time_to_first_token_ms: number | null;
  duration_ms: number | null;
  finish_reason: string | null;
  finish_reason_raw: string | null;
  error_code: string | null;
  error_message: string | null;
  context_snapshot: string | null;
  created_at: number;
  updated_at: number;
}

/** Position in the conversation list: the last row of a page. */
export interface ConversationListPosition {
  lastMessageAt: number;
  id: string;
}

export type ConversationChanges = Partial<
  Pick<ConversationRow, "title" | "model_id" | "leaf_message_id" | "updated_at" | "last_message_at">
>;

export type MessageChanges = Partial<
  Pick<
    MessageRow,
    | "content"
    | "status"
    | "input_tokens"
    | "output_tokens"
    | "time_to_first_token_ms"
    | "duration_ms"
    | "finish_reason"
    | "finish_reason_raw"
    | "error_code"
    | "error_message"
    | "context_snapshot"
    | "updated_at"
  >
>;

const conversationColumns: string[] = [
  "id",
  "user_id",
  "title",
  "model_id",
  "leaf_message_id",
  "created_at",
  "updated_at",
  "last_message_at",
];

export class ConversationRepository {
  constructor(
    private readonly database: Knex | Knex.Transaction,
    readonly userId: string,
  ) {}

  /**
   * Newest interaction first, keyset-paged on (last_message_at, id) so each page is one range
   * scan of the (user_id, last_message_at, id) index however many conversations the user has.
   * The redundant `last_message_at <= ?` bounds the scan on SQLite and PostgreSQL alike.
   */
  async listConversations(limit: number, after: ConversationListPosition | undefined): Promise<ConversationRow[]> {
    const query = this.database<ConversationRow>("conversations")
      .select<ConversationRow[]>(conversationColumns)
      .where("user_id", this.userId)
      .orderBy([
        { column: "last_message_at", order: "desc" },
        { column: "id", order: "desc" },
      ])
      .limit(limit);
    if (after) {
      query.andWhere("last_message_at", "<=", after.lastMessageAt).andWhere((inner) => {
        inner.where("last_message_at", "<", after.lastMessageAt).orWhere("id", "<", after.id);
      });
    }
    return (await query).map(normaliseConversationRow);
  }

  async findConversation(conversationId: string): Promise<ConversationRow | undefined> {
    const row = await this.database<ConversationRow>("conversations")
      .select<ConversationRow[]>(conversationColumns)
      .where({ id: conversationId, user_id: this.userId })
      .first();
    return row ? normaliseConversationRow(row) : undefined;
  }

  async requireConversation(conversationId: string): Promise<ConversationRow> {
    const row = await this.findConversation(conversationId);
    if (!row) throw new AppError(404, "not_found", "Conversation not found");
    return row;
  }

  async insertConversation(row: Omit<ConversationRow, "user_id">): Promise<ConversationRow> {
    const full: ConversationRow = { ...row, user_id: this.userId };
    await this.database("conversations").insert(full);
    return full;
  }

  async updateConversation(conversationId: string, changes: ConversationChanges): Promise<void> {
    await this.database("conversations").where({ id: conversationId, user_id: this.userId }).update(changes);
  }

  /** Messages go with it (ON DELETE CASCADE). false when the user has no such conversation. */
  async deleteConversation(conversationId: string): Promise<boolean> {
    const count = await this.database("conversations").where({ id: conversationId, user_id: this.userId }).delete();
    return count > 0;
  }

  async findMessage(messageId: string): Promise<MessageRow | undefined> {
    const row = await this.database<MessageRow>("messages")
      .select("messages.*")
      .join("conversations", "conversations.id", "messages.conversation_id")
      .where("messages.id", messageId)
      .andWhere("conversations.user_id", this.userId)
      .first();
    return row ? normaliseMessageRow(row) : undefined;
  }

  async requireMessage(messageId: string): Promise<MessageRow> {
    const row = await this.findMessage(messageId);
    if (!row) throw new AppError(404, "not_found", "Message not found");
    return row;
  }

  /** Callers check the conversation belongs to this user first (in the same transaction). */
  async insertMessages(rows: MessageRow[]): Promise<void> {
    await this.database("messages").insert(rows);
  }

  async updateMessage(messageId: string, changes: MessageChanges): Promise<boolean> {
    const count = await this.database("messages")
      .where("id", messageId)
      .whereIn("conversation_id", this.database("conversations").select("id").where("user_id", this.userId))
      .update(changes);
    return count > 0;
  }

  /**
   * The branch from the root down to `messageId`, oldest first: ONE recursive query walking
   * parent_id through the primary key (WITH RECURSIVE works on SQLite and PostgreSQL), so the
   * cost of sending does not grow with the rest of the conversation tree.
   */
  async loadBranch(messageId: string): Promise<MessageRow[]> {
    const result: unknown = await this.database.raw(
      `WITH RECURSIVE branch (id, parent_id, depth) AS (
         SELECT m.id, m.parent_id, 0
           FROM messages m
           JOIN conversations c ON c.id = m.conversation_id
          WHERE m.id = ? AND c.user_id = ?
         UNION ALL
         SELECT parent.id, parent.parent_id, branch.depth + 1
           FROM messages parent
           JOIN branch ON parent.id = branch.parent_id
       )
       SELECT messages.* FROM messages JOIN branch ON branch.id = messages.id ORDER BY branch.depth DESC`,
      [messageId, this.userId],
    );
    // knex.raw answers with the driver's shape: an array on SQLite, { rows } on PostgreSQL
    const rows = Array.isArray(result) ? result : (result as { rows: MessageRow[] }).rows;
    return (rows as MessageRow[]).map(normaliseMessageRow);
  }
}

/**
 * Crash recovery, across every user: answers a previous process left `streaming` become
 * `interrupted`, keeping the partial text last flushed. Runs once at start, before any job exists.
 */
export async function markStreamingMessagesInterrupted(
  database: Knex,
  options: { errorCode: ErrorCode; errorMessage: string; now: number },
): Promise<number> {
  return database("messages").where("status", "streaming").update({
    status: "interrupted",
    error_code: options.errorCode,
    error_message: options.errorMessage,
    updated_at: options.now,
  });
}

// ---- row → protocol ----

function normaliseConversationRow(row: ConversationRow): ConversationRow {
  return {
    ...row,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    last_message_at: Number(row.last_message_at),
  };
}

function normaliseMessageRow(row: MessageRow): MessageRow {
  return { ...row, created_at: Number(row.created_at), updated_at: Number(row.updated_at) };
}

const isoTime = (epochMs: number) => new Date(epochMs).toISOString();

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    modelId: row.model_id,
    leafMessageId: row.leaf_message_id,
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
    lastMessageAt: isoTime(row.last_message_at),
  };
}

function parseSnapshot(text: string | null): ContextRecord | null {
  if (text === null) return null;
  try {
    const parsed = contextRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function toMessage(row: MessageRow): Message {
  const code = row.error_code === null ? undefined : errorCodeSchema.safeParse(row.error_code);
  return {
    id: row.id,
    conversationId: row.conversation_id,
    parentId: row.parent_id,
    role: row.role as MessageRole,
    content: row.content,
    status: row.status as MessageStatus,
    provider: row.provider as ProviderKind | null,
    modelId: row.model_id,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    timeToFirstTokenMs: row.time_to_first_token_ms,
    durationMs: row.duration_ms,
    finishReason: row.finish_reason as FinishReason | null,
    finishReasonRaw: row.finish_reason_raw,
    error:
      code === undefined ? null : { code: code.success ? code.data : "internal_error", message: row.error_message ?? "The answer failed" },
    context: parseSnapshot(row.context_snapshot),
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}
