import crypto from "node:crypto";
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
import type { AttachmentContent } from "./attachment-repository";

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
  /** Library state (migration 0001; used since 0009): pinned ones are listed apart, archived ones only when asked for. */
  is_pinned: boolean;
  is_archived: boolean;
  workspace_hint: string | null;
  /** Migration 0013: the conversation's own system prompt (system_prompts.id; null: the owner's default) and sampling settings. */
  system_prompt_id?: string | null;
  temperature?: number | null;
  max_output_tokens?: number | null;
  created_at: number;
  updated_at: number;
  last_message_at: number;
}

/** The library columns a new conversation may leave out (not pinned, not archived, no workspace). */
type LibraryColumn = "is_pinned" | "is_archived" | "workspace_hint";

/** Which conversations a page of the list holds (all of them when nothing is given). */
export interface ConversationListFilter {
  isArchived?: boolean;
  isPinned?: boolean;
  workspaceHint?: string;
  /** Case-insensitive part of the title. */
  titleContains?: string;
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
  /** Position on its branch: root = 1, parent's depth + 1. Written with the message, never changed. */
  depth: number;
  /** estimateMessageTokens of `content`, written whenever the text is. */
  token_estimate: number;
  /** An answer's cost in micro-dollars, copied from its ledger row when that is written (absent in inserts). */
  cost_micro_usd?: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * A summary of the branch prefix root→`coversThroughMessageId`, as the context walk finds it.
 * `messageCount + leftOutCount` is the depth of the covered message.
 */
export interface StoredSummary {
  id: string;
  coversThroughMessageId: string;
  summariserModelId: string;
  content: string;
  tokenEstimate: number;
  messageCount: number;
  leftOutCount: number;
  createdAt: number;
}

/** Which summaries a walk looks for: those made by this summariser with this prompt version. */
export interface SummaryKey {
  summariserModelId: string;
  promptVersion: string;
}

/** A stored summary as the context walk meets it: enough to send it (its key is the walk's). */
export interface WalkedSummary {
  id: string;
  content: string;
  messageCount: number;
  leftOutCount: number;
}

/**
 * One message met by a context walk: only what a context needs. Few columns on purpose: the walk
 * returns hundreds of rows inside a send's transaction, and turning each value into a JavaScript
 * value is most of its cost (20 columns took ≈ 1.8× as long as these 11 for 550 rows).
 */
export interface ContextWalkRow {
  id: string;
  parentId: string | null;
  role: MessageRole;
  status: MessageStatus;
  content: string;
  finishReason: FinishReason | null;
  depth: number;
  /** The walk's running token total, from its first message up to and including this one. */
  totalTokens: number;
  /** A question's files and selections, added by the service for the messages a context may send. */
  attachments?: AttachmentContent[];
  /** A summary of root→this message under the walk's key, if one is stored. */
  summary: WalkedSummary | null;
}

/** Position in the conversation list: the last row of a page. */
export interface ConversationListPosition {
  lastMessageAt: number;
  id: string;
}

export type ConversationChanges = Partial<
  Pick<ConversationRow, "title" | "model_id" | "leaf_message_id" | "updated_at" | "last_message_at" | LibraryColumn>
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
    | "cost_micro_usd"
    | "finish_reason"
    | "finish_reason_raw"
    | "error_code"
    | "error_message"
    | "context_snapshot"
    | "token_estimate"
    | "provider"
    | "model_id"
    | "updated_at"
  >
>;

/** What a message row carries to a client (toMessage), named so no query selects `messages.*`. */
const messageColumnList = [
  "id",
  "conversation_id",
  "parent_id",
  "role",
  "content",
  "status",
  "provider",
  "model_id",
  "input_tokens",
  "output_tokens",
  "time_to_first_token_ms",
  "duration_ms",
  "finish_reason",
  "finish_reason_raw",
  "error_code",
  "error_message",
  "context_snapshot",
  "depth",
  "token_estimate",
  "cost_micro_usd",
  "created_at",
  "updated_at",
];
const messageColumnsOf = (alias: string) => messageColumnList.map((column) => `${alias}.${column}`).join(", ");

/** A message's share of a context walk's budget: an answer still being written is not context yet. */
const walkCostOf = (alias: string) => `CASE WHEN ${alias}.status = 'streaming' THEN 0 ELSE ${alias}.token_estimate END`;

const walkColumns = `m.id, m.parent_id, m.role, m.status, m.content, m.finish_reason, m.depth, walk.total,
  s.id AS summary_id, s.content AS summary_content, s.message_count AS summary_message_count, s.left_out_count AS summary_left_out_count`;

/**
 * The context walk: from a message up its branch, carrying a running token total, and stopping once
 * the budget is spent (the row that crosses it is included, so the caller knows the branch goes on).
 * Each step is one primary-key lookup; the cost is proportional to what fits, not to the branch.
 * One statement walks at most WALK_STEPS_PER_STATEMENT messages from a running total given to it
 * (the first `?`); the caller goes on from where it stopped (walkInStretches). The summaries under
 * the given key are left-joined on the rows walked. (No ORDER BY: the caller
 * sorts the few hundred rows by depth, cheaper than SQLite's sorter copying every text.)
 */
const contextWalkSql = `WITH RECURSIVE walk (id, parent_id, total, step) AS (
    SELECT m.id, m.parent_id, ? + ${walkCostOf("m")}, 1
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.id = ? AND m.conversation_id = ? AND c.user_id = ?
    UNION ALL
    SELECT p.id, p.parent_id, walk.total + ${walkCostOf("p")}, walk.step + 1
      FROM messages p JOIN walk ON p.id = walk.parent_id
     WHERE walk.total < ? AND walk.step < ?
  )
  SELECT ${walkColumns}, walk.step
    FROM walk JOIN messages m ON m.id = walk.id
    LEFT JOIN conversation_summaries s
      ON s.covers_through_message_id = m.id AND s.summariser_model_id = ? AND s.prompt_version = ?`;

/**
 * The walk for a summariser's input: like the context walk, but it also stops at the first message
 * that already has a summary under the key (that summary rolls into the new one), so it never reads
 * past what an earlier summary covers.
 */
const summaryWalkSql = `WITH RECURSIVE walk (id, parent_id, total, summary_id, step) AS (
    SELECT m.id, m.parent_id, ? + ${walkCostOf("m")}, s.id, 1
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
      LEFT JOIN conversation_summaries s
        ON s.covers_through_message_id = m.id AND s.summariser_model_id = ? AND s.prompt_version = ?
     WHERE m.id = ? AND m.conversation_id = ? AND c.user_id = ?
    UNION ALL
    SELECT p.id, p.parent_id, walk.total + ${walkCostOf("p")}, s.id, walk.step + 1
      FROM messages p JOIN walk ON p.id = walk.parent_id
      LEFT JOIN conversation_summaries s
        ON s.covers_through_message_id = p.id AND s.summariser_model_id = ? AND s.prompt_version = ?
     WHERE walk.total < ? AND walk.summary_id IS NULL AND walk.step < ?
  )
  SELECT ${walkColumns}, walk.step
    FROM walk JOIN messages m ON m.id = walk.id
    LEFT JOIN conversation_summaries s ON s.id = walk.summary_id`;

/**
 * A page of a branch: from a message of the conversation up at most `limit` messages (the first
 * one included), returned oldest first. Bounded by the page size whatever the length of the branch.
 */
const branchPageSql = `WITH RECURSIVE page (id, parent_id, n) AS (
    SELECT m.id, m.parent_id, 1
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.id = ? AND m.conversation_id = ? AND c.user_id = ?
    UNION ALL
    SELECT p.id, p.parent_id, page.n + 1
      FROM messages p JOIN page ON p.id = page.parent_id
     WHERE page.n < ?
  )
  SELECT ${messageColumnsOf("m")} FROM page JOIN messages m ON m.id = page.id ORDER BY page.n DESC`;

/**
 * A stretch of a branch by depth: walks up from the last message over ids only down to `fromDepth`, then
 * reads the rows whose depth is at most `toDepth`, oldest first (Show Context's pages).
 */
const stretchSql = `WITH RECURSIVE stretch (id, parent_id, depth) AS (
    SELECT m.id, m.parent_id, m.depth
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.id = ? AND c.user_id = ?
    UNION ALL
    SELECT p.id, p.parent_id, p.depth
      FROM messages p JOIN stretch ON p.id = stretch.parent_id
     WHERE stretch.depth > ?
  )
  SELECT ${messageColumnsOf("m")} FROM stretch JOIN messages m ON m.id = stretch.id
   WHERE stretch.depth >= ? AND stretch.depth <= ?
   ORDER BY stretch.depth`;

const conversationColumns: string[] = [
  "id",
  "user_id",
  "title",
  "model_id",
  "leaf_message_id",
  "is_pinned",
  "is_archived",
  "workspace_hint",
  "system_prompt_id",
  "temperature",
  "max_output_tokens",
  "created_at",
  "updated_at",
  "last_message_at",
];

export class ConversationRepository {
  constructor(
    readonly database: Knex | Knex.Transaction,
    readonly userId: string,
  ) {}

  /**
   * Newest interaction first, keyset-paged on (last_message_at, id) so each page is one range
   * scan of the (user_id, last_message_at, id) index however many conversations the user has —
   * or, filtered by archive and pin state (and workspace), of the library indexes of migration 0009,
   * which have the same columns after those. The redundant `last_message_at <= ?` bounds the scan on
   * SQLite and PostgreSQL alike. A title filter reads on through the range until the page is full.
   */
  async listConversations(
    limit: number,
    after: ConversationListPosition | undefined,
    filter: ConversationListFilter = {},
  ): Promise<ConversationRow[]> {
    const query = this.database<ConversationRow>("conversations")
      .select<ConversationRow[]>(conversationColumns)
      .where("user_id", this.userId)
      .orderBy([
        { column: "last_message_at", order: "desc" },
        { column: "id", order: "desc" },
      ])
      .limit(limit);
    if (filter.workspaceHint !== undefined) query.andWhere("workspace_hint", filter.workspaceHint);
    if (filter.isArchived !== undefined) query.andWhere("is_archived", filter.isArchived);
    if (filter.isPinned !== undefined) query.andWhere("is_pinned", filter.isPinned);
    if (filter.titleContains !== undefined) {
      const pattern = `%${filter.titleContains.toLowerCase().replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
      // lower() on both sides: SQLite's LIKE ignores case only for ASCII, PostgreSQL's not at all.
      query.andWhereRaw("lower(title) LIKE ? ESCAPE '\\'", [pattern]);
    }
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

  async insertConversation(
    row: Omit<ConversationRow, "user_id" | LibraryColumn> & Partial<Pick<ConversationRow, LibraryColumn>>,
  ): Promise<ConversationRow> {
    const full: ConversationRow = { is_pinned: false, is_archived: false, workspace_hint: null, ...row, user_id: this.userId };
    await this.database("conversations").insert(full);
    return full;
  }

  async updateConversation(conversationId: string, changes: ConversationChanges): Promise<void> {
    await this.database("conversations").where({ id: conversationId, user_id: this.userId }).update(changes);
  }

  /**
   * Messages (and their summaries) go with it (ON DELETE CASCADE). false when the user has no such
   * conversation. Run it in a transaction: the messages' parent links are cut first, because
   * SQLite carries out ON DELETE CASCADE as nested triggers, and along a branch of more than 1,000
   * messages the parent_id cascade would nest deeper than SQLite allows ("too many levels of
   * trigger recursion"). Without the links each message goes by its conversation_id alone.
   */
  async deleteConversation(conversationId: string): Promise<boolean> {
    await this.inOwnConversation(this.database("messages").where("conversation_id", conversationId))
      .whereNotNull("parent_id")
      .update({ parent_id: null });
    const count = await this.database("conversations").where({ id: conversationId, user_id: this.userId }).delete();
    return count > 0;
  }

  /**
   * Only messages of this user's conversations: each row looks up its own conversation. (An IN list
   * of the user's conversations costs as much as they have conversations, on every write of an
   * answer: 450 µs at 3,000 conversations against 7 µs for the lookup.)
   */
  private inOwnConversation(query: Knex.QueryBuilder): Knex.QueryBuilder {
    const userId = this.userId;
    return query.whereExists(function () {
      void this.select(1)
        .from("conversations")
        .whereRaw("conversations.id = messages.conversation_id")
        .andWhere("conversations.user_id", userId);
    });
  }

  async findMessage(messageId: string): Promise<MessageRow | undefined> {
    const row = await this.database<MessageRow>("messages")
      .select(messageColumnList.map((column) => `messages.${column}`))
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

  /**
   * Every message of one of the user's conversations, every branch, a parent before its children
   * (by depth, then time): an export. Bounded by the conversation, not by a page.
   */
  async listAllMessages(conversationId: string): Promise<MessageRow[]> {
    const rows = await this.database<MessageRow>("messages")
      .select(messageColumnList.map((column) => `messages.${column}`))
      .join("conversations", "conversations.id", "messages.conversation_id")
      .where("messages.conversation_id", conversationId)
      .andWhere("conversations.user_id", this.userId)
      .orderBy([
        { column: "messages.depth", order: "asc" },
        { column: "messages.created_at", order: "asc" },
        { column: "messages.id", order: "asc" },
      ]);
    return rows.map(normaliseMessageRow);
  }

  /** The conversation's answers being written (on any instance). */
  async findStreamingAnswerIds(conversationId: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.inOwnConversation(
      this.database("messages").where({ conversation_id: conversationId, status: "streaming" }),
    ).select("id");
    return rows.map((row) => row.id);
  }

  /**
   * PostgreSQL, inside a send's transaction: this user's answers being written on every instance,
   * and whether `conversationId` has one. The transaction first takes a lock per user (released at
   * its end), so that two sends racing on two instances count one after the other and cannot both
   * pass a cap; the count is a statement of its own after the lock, so its snapshot sees what the
   * sends before it committed.
   *
   * The count starts from the team's answers being written (the partial index
   * `messages_streaming_index`: a few per member) and keeps this user's. Started from the user's
   * conversations, as the planner chose for a plain join, it read every one of them (1.4 ms with
   * 800, growing with the history) while holding the lock every send of the user waits on.
   */
  async countStreamingAnswersLocked(conversationId: string): Promise<{ ofUser: number; isConversationBusy: boolean }> {
    await this.database.raw("SELECT pg_advisory_xact_lock(?::bigint)", [answersLockKey(this.userId).toString()]);
    const result = await this.database.raw(
      `SELECT (SELECT count(*)::int FROM messages m
               WHERE m.status = 'streaming' AND (SELECT c.user_id FROM conversations c WHERE c.id = m.conversation_id) = ?) AS of_user,
              EXISTS (SELECT 1 FROM messages WHERE conversation_id = ? AND status = 'streaming') AS is_conversation_busy`,
      [this.userId, conversationId],
    );
    const row = (result.rows as Array<{ of_user: number; is_conversation_busy: boolean }>)[0];
    return { ofUser: row?.of_user ?? 0, isConversationBusy: row?.is_conversation_busy ?? false };
  }

  /** Callers check the conversation belongs to this user first (in the same transaction). */
  async insertMessages(rows: MessageRow[]): Promise<void> {
    await this.database("messages").insert(rows);
  }

  /**
   * `onlyWhileStreaming`: the answer's writer saves its progress and result only while the answer is
   * still `streaming`; another instance may have interrupted it meanwhile, taking its writer for gone.
   */
  async updateMessage(messageId: string, changes: MessageChanges, options: { onlyWhileStreaming?: boolean } = {}): Promise<boolean> {
    const query = this.database("messages").where("id", messageId);
    if (options.onlyWhileStreaming) query.andWhere("status", "streaming");
    const count = await this.inOwnConversation(query).update(changes);
    return count > 0;
  }

  /**
   * The context walk from `messageId` up its branch (newest first), until `budgetTokens` is spent
   * or the root is reached; empty when the message is not in this user's conversation
   * `conversationId`. See contextWalkSql.
   */
  async walkForContext(
    conversationId: string,
    messageId: string,
    budgetTokens: number,
    summaryKey: SummaryKey | null,
  ): Promise<ContextWalkRow[]> {
    const key = summaryKey ?? noSummaryKey;
    const rows = await walkInStretches(messageId, budgetTokens, false, (fromId, totalSoFar) =>
      this.rawRows<ContextWalkRecord>(contextWalkSql, [
        totalSoFar,
        fromId,
        conversationId,
        this.userId,
        budgetTokens,
        WALK_STEPS_PER_STATEMENT,
        key.summariserModelId,
        key.promptVersion,
      ]),
    );
    return toNewestFirst(rows);
  }

  /** The walk for a summariser's input: stops at the budget or at the first message already summarised under `summaryKey`. */
  async walkForSummary(conversationId: string, messageId: string, budgetTokens: number, summaryKey: SummaryKey): Promise<ContextWalkRow[]> {
    const { summariserModelId, promptVersion } = summaryKey;
    const rows = await walkInStretches(messageId, budgetTokens, true, (fromId, totalSoFar) =>
      this.rawRows<ContextWalkRecord>(summaryWalkSql, [
        totalSoFar,
        summariserModelId,
        promptVersion,
        fromId,
        conversationId,
        this.userId,
        summariserModelId,
        promptVersion,
        budgetTokens,
        WALK_STEPS_PER_STATEMENT,
      ]),
    );
    return toNewestFirst(rows);
  }

  /**
   * Up to `limit` messages of a branch, from `messageId` (included) towards the root, oldest first.
   * Empty when the message is not in this user's conversation `conversationId`.
   */
  async loadBranchPage(conversationId: string, messageId: string, limit: number): Promise<MessageRow[]> {
    const rows = await this.rawRows<MessageRow>(branchPageSql, [messageId, conversationId, this.userId, limit]);
    return rows.map(normaliseMessageRow);
  }

  /**
   * The messages of the branch ending at `lastMessageId` whose depth is between `fromDepth` and
   * `toDepth` (both included), oldest first. The walk reads ids only above the stretch it returns.
   */
  async loadStretch(lastMessageId: string, fromDepth: number, toDepth: number): Promise<MessageRow[]> {
    const rows = await this.rawRows<MessageRow>(stretchSql, [lastMessageId, this.userId, fromDepth, fromDepth, toDepth]);
    return rows.map(normaliseMessageRow);
  }

  /**
   * Below a message of the user's conversation (itself included): the newest message that has no
   * reply (newest by time, then depth), and whether `leafId` is one of them. One walk down the
   * subtree by parent_id. undefined when the message is not in that conversation.
   */
  async findNewestLeafBelow(
    conversationId: string,
    messageId: string,
    leafId: string | null,
  ): Promise<{ newestLeafId: string; containsLeaf: boolean } | undefined> {
    const rows = await this.rawRows<{ newest_leaf_id: string | null; leaf_count: number | string }>(
      `WITH RECURSIVE below (id, created_at, depth) AS (
         SELECT m.id, m.created_at, m.depth FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.id = ? AND m.conversation_id = ? AND c.user_id = ?
         UNION ALL
         SELECT child.id, child.created_at, child.depth FROM messages child JOIN below ON child.parent_id = below.id
       )
       SELECT (SELECT b.id FROM below b WHERE NOT EXISTS (SELECT 1 FROM messages reply WHERE reply.parent_id = b.id)
                ORDER BY b.created_at DESC, b.depth DESC, b.id DESC LIMIT 1) AS newest_leaf_id,
              (SELECT count(*) FROM below WHERE id = ?) AS leaf_count`,
      [messageId, conversationId, this.userId, leafId ?? ""],
    );
    const row = rows[0];
    if (!row || row.newest_leaf_id === null) return undefined;
    return { newestLeafId: row.newest_leaf_id, containsLeaf: Number(row.leaf_count) > 0 };
  }

  /**
   * The messages with the same parent as `message` in its conversation (itself included), oldest
   * first: the edits of a question, or the answers to one. Uses the (conversation_id, parent_id) index.
   */
  async listSiblings(message: Pick<MessageRow, "conversation_id" | "parent_id">): Promise<MessageRow[]> {
    const query = this.database<MessageRow>("messages")
      .select(messageColumnList.map((column) => `messages.${column}`))
      .join("conversations", "conversations.id", "messages.conversation_id")
      .where("messages.conversation_id", message.conversation_id)
      .andWhere("conversations.user_id", this.userId);
    if (message.parent_id === null) query.whereNull("messages.parent_id");
    else query.andWhere("messages.parent_id", message.parent_id);
    const rows = await query.orderBy([
      { column: "messages.created_at", order: "asc" },
      { column: "messages.id", order: "asc" },
    ]);
    return rows.map(normaliseMessageRow);
  }

  /**
   * For each of some messages of one conversation (a page of a branch), its position among its
   * siblings and how many there are. One query over the children of the page's parents only.
   */
  async findSiblingPositions(
    conversationId: string,
    messages: ReadonlyArray<{ id: string; parentId: string | null }>,
  ): Promise<Map<string, { position: number; count: number }>> {
    if (messages.length === 0) return new Map();
    const parentIds = [...new Set(messages.flatMap((message) => (message.parentId === null ? [] : [message.parentId])))];
    const hasRoot = messages.some((message) => message.parentId === null);
    const wanted = new Set(messages.map((message) => message.id));
    const rows: Array<{ id: string; parent_id: string | null; created_at: number | string }> = await this.database("messages")
      .select("messages.id", "messages.parent_id", "messages.created_at")
      .join("conversations", "conversations.id", "messages.conversation_id")
      .where("messages.conversation_id", conversationId)
      .andWhere("conversations.user_id", this.userId)
      .andWhere((where) => {
        if (parentIds.length > 0) where.whereIn("messages.parent_id", parentIds);
        if (hasRoot) where.orWhereNull("messages.parent_id");
      })
      .orderBy([
        { column: "messages.created_at", order: "asc" },
        { column: "messages.id", order: "asc" },
      ]);
    const byParent = new Map<string | null, string[]>();
    for (const row of rows) {
      const group = byParent.get(row.parent_id) ?? [];
      group.push(row.id);
      byParent.set(row.parent_id, group);
    }
    const positions = new Map<string, { position: number; count: number }>();
    for (const group of byParent.values()) {
      group.forEach((id, index) => {
        if (wanted.has(id)) positions.set(id, { position: index + 1, count: group.length });
      });
    }
    return positions;
  }

  /**
   * The system prompt a send in this conversation uses (its own, else the owner's default; undefined
   * when neither: the built-in one) and its sampling settings, in one query. undefined when the
   * conversation is not this user's.
   */
  async findSettings(conversationId: string): Promise<StoredConversationSettings | undefined> {
    const row: StoredSettingsRecord | undefined = await this.settingsQuery(conversationId).first(...settingsColumns);
    return row ? toStoredSettings(row) : undefined;
  }

  /**
   * The conversation and its settings in one read, for a send: the same rows as requireConversation
   * and findSettings, one query fewer on the path to the provider.
   */
  async requireConversationWithSettings(
    conversationId: string,
  ): Promise<{ conversation: ConversationRow; settings: StoredConversationSettings }> {
    const row: (ConversationRow & StoredSettingsRecord) | undefined = await this.settingsQuery(conversationId).first(
      ...conversationColumnsOfC,
      ...settingsColumns,
    );
    if (!row) throw new AppError(404, "not_found", "Conversation not found");
    const { prompt_id: _promptId, prompt_content: _promptContent, ...conversation } = row;
    return { conversation: normaliseConversationRow(conversation), settings: toStoredSettings(row) };
  }

  /** This user's conversation, joined to the prompt that applies: its own, else the owner's default. */
  private settingsQuery(conversationId: string): Knex.QueryBuilder {
    return this.database("conversations as c")
      .join("users as u", "u.id", "c.user_id")
      .leftJoin("system_prompts as p", "p.id", this.database.raw("coalesce(c.system_prompt_id, u.default_system_prompt_id)"))
      .where("c.id", conversationId)
      .andWhere("c.user_id", this.userId);
  }

  /** Depths of some of this user's messages (e.g. the two ends of a context record). */
  async findDepths(messageIds: string[]): Promise<Map<string, number>> {
    if (messageIds.length === 0) return new Map();
    const rows: Array<{ id: string; depth: number | null }> = await this.database("messages")
      .select("messages.id", "messages.depth")
      .join("conversations", "conversations.id", "messages.conversation_id")
      .whereIn("messages.id", messageIds)
      .andWhere("conversations.user_id", this.userId);
    return new Map(rows.filter((row) => row.depth !== null).map((row) => [row.id, Number(row.depth)]));
  }

  private async rawRows<Row>(sql: string, bindings: Array<string | number>): Promise<Row[]> {
    const result: unknown = await this.database.raw(sql, bindings);
    // knex.raw answers with the driver's shape: an array on SQLite, { rows } on PostgreSQL
    return Array.isArray(result) ? (result as Row[]) : (result as { rows: Row[] }).rows;
  }
}

/** A conversation's stored prompt and settings (see findSettings). */
export interface StoredConversationSettings {
  systemPrompt: { id: string; content: string } | undefined;
  temperature: number | null;
  maxOutputTokens: number | null;
}

interface StoredSettingsRecord {
  temperature: number | string | null;
  max_output_tokens: number | string | null;
  prompt_id: string | null;
  prompt_content: string | null;
}

const settingsColumns = ["c.temperature", "c.max_output_tokens", "p.id as prompt_id", "p.content as prompt_content"];
/** The conversation's columns in a query that names the table `c` (settingsQuery). */
const conversationColumnsOfC = conversationColumns.map((column) => `c.${column}`);

/**
 * PostgreSQL: the key of the advisory lock on a user's answers being written (a signed 64-bit
 * integer from a hash of the id). Computed here, not by the database, so that a grouped transaction
 * can take several users' locks in the order of their keys (GroupedWrites' `lockOrder`).
 */
export function answersLockKey(userId: string): bigint {
  return crypto.createHash("sha256").update(`answers-being-written:${userId}`).digest().readBigInt64BE(0);
}

function toStoredSettings(row: StoredSettingsRecord): StoredConversationSettings {
  return {
    systemPrompt: row.prompt_id === null ? undefined : { id: row.prompt_id, content: row.prompt_content ?? "" },
    temperature: row.temperature === null ? null : Number(row.temperature),
    maxOutputTokens: row.max_output_tokens === null ? null : Number(row.max_output_tokens),
  };
}

/** Matches no summary: walks made without a summariser still run the one SQL shape. */
const noSummaryKey: SummaryKey = { summariserModelId: "", promptVersion: "" };

interface ContextWalkRecord {
  id: string;
  parent_id: string | null;
  role: string;
  status: string;
  content: string;
  finish_reason: string | null;
  depth: number | string;
  total: number | string;
  summary_id: string | null;
  summary_content: string | null;
  summary_message_count: number | string | null;
  summary_left_out_count: number | string | null;
  /** 1 for the message the statement started from, counting up towards the root. */
  step: number | string;
}

/**
 * Messages one walk statement reads at most. On SQLite a statement holds the server's thread while
 * it runs (≈ 5 µs a message): a context walk of a long conversation reads a few thousand, so it is
 * read in stretches of this many, and the event loop runs between them (better-sqlite3-client.ts).
 */
const WALK_STEPS_PER_STATEMENT = 400;

/**
 * A walk read in stretches: each statement goes on from the parent of the last message the one
 * before it read, with the running total so far, until the budget is spent, the root is reached or
 * (a summary walk) the statement stopped by itself.
 */
async function walkInStretches(
  messageId: string,
  budgetTokens: number,
  stopsAtSummary: boolean,
  readStretch: (fromId: string, totalSoFar: number) => Promise<ContextWalkRecord[]>,
): Promise<ContextWalkRecord[]> {
  const rows: ContextWalkRecord[] = [];
  let fromId: string | null = messageId;
  let totalSoFar = 0;
  while (fromId !== null) {
    const stretch = await readStretch(fromId, totalSoFar);
    rows.push(...stretch);
    if (stretch.length < WALK_STEPS_PER_STATEMENT) break;
    // a full stretch: the statement stopped at its step limit, on the oldest message it read; it
    // would have gone on only below the budget and (a summary walk) above a summary
    const last = stretch.find((row) => Number(row.step) === WALK_STEPS_PER_STATEMENT)!;
    if (Number(last.total) >= budgetTokens) break;
    if (stopsAtSummary && last.summary_id !== null) break;
    fromId = last.parent_id;
    totalSoFar = Number(last.total);
  }
  return rows;
}

function toNewestFirst(rows: ContextWalkRecord[]): ContextWalkRow[] {
  return rows.map(toContextWalkRow).sort((left, right) => right.depth - left.depth);
}

function toContextWalkRow(row: ContextWalkRecord): ContextWalkRow {
  return {
    id: row.id,
    parentId: row.parent_id,
    role: row.role as MessageRole,
    status: row.status as MessageStatus,
    content: row.content,
    finishReason: row.finish_reason as FinishReason | null,
    depth: Number(row.depth),
    totalTokens: Number(row.total),
    summary:
      row.summary_id === null
        ? null
        : {
            id: row.summary_id,
            content: row.summary_content as string,
            messageCount: Number(row.summary_message_count),
            leftOutCount: Number(row.summary_left_out_count),
          },
  };
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

/**
 * Another instance's answer whose writer is gone (PostgreSQL, several instances): `interrupted`
 * with the partial text given (what the writer had published), unless it ended meanwhile
 * (undefined then). Across every user, like the crash recovery.
 */
export async function interruptOrphanedAnswer(
  database: Knex,
  messageId: string,
  fields: { content: string; tokenEstimate: number; errorCode: ErrorCode; errorMessage: string; now: number },
): Promise<Message | undefined> {
  const rows: MessageRow[] = await database("messages").where({ id: messageId, status: "streaming" }).update(
    {
      status: "interrupted",
      content: fields.content,
      token_estimate: fields.tokenEstimate,
      error_code: fields.errorCode,
      error_message: fields.errorMessage,
      updated_at: fields.now,
    },
    "*",
  );
  const row = rows[0];
  return row === undefined ? undefined : toMessage(normaliseMessageRow(row));
}

// ---- row → protocol ----

function normaliseConversationRow(row: ConversationRow): ConversationRow {
  return {
    ...row,
    // SQLite answers 0 / 1
    is_pinned: Boolean(row.is_pinned),
    is_archived: Boolean(row.is_archived),
    system_prompt_id: row.system_prompt_id ?? null,
    temperature: row.temperature === undefined || row.temperature === null ? null : Number(row.temperature),
    max_output_tokens: row.max_output_tokens === undefined || row.max_output_tokens === null ? null : Number(row.max_output_tokens),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    last_message_at: Number(row.last_message_at),
  };
}

function normaliseMessageRow(row: MessageRow): MessageRow {
  return {
    ...row,
    depth: Number(row.depth),
    token_estimate: Number(row.token_estimate),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
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
    isPinned: row.is_pinned,
    isArchived: row.is_archived,
    workspaceHint: row.workspace_hint,
    // only when set, so that conversations without them read as before
    ...(row.temperature === undefined || row.temperature === null ? {} : { temperature: row.temperature }),
    ...(row.max_output_tokens === undefined || row.max_output_tokens === null ? {} : { maxOutputTokens: row.max_output_tokens }),
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
    costMicroUsd: row.cost_micro_usd === undefined || row.cost_micro_usd === null ? null : Number(row.cost_micro_usd),
    finishReason: row.finish_reason as FinishReason | null,
    finishReasonRaw: row.finish_reason_raw,
    error:
      code === undefined ? null : { code: code.success ? code.data : "internal_error", message: row.error_message ?? "The answer failed" },
    context: parseSnapshot(row.context_snapshot),
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}
