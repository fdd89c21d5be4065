import crypto from "node:crypto";
import type { Knex } from "knex";
import type { StoredSummary, SummaryKey } from "./conversation-repository";

/** A summary about to be stored (see conversation_summaries in migration 0002). */
export interface NewSummary extends SummaryKey {
  coversThroughMessageId: string;
  content: string;
  tokenEstimate: number;
  messageCount: number;
  leftOutCount: number;
  createdAt: number;
}

interface SummaryRow {
  id: string;
  covers_through_message_id: string;
  summariser_model_id: string;
  prompt_version: string;
  content: string;
  token_estimate: number | string;
  message_count: number | string;
  left_out_count: number | string;
  created_at: number | string;
}

const summaryColumns = [
  "conversation_summaries.id",
  "conversation_summaries.covers_through_message_id",
  "conversation_summaries.summariser_model_id",
  "conversation_summaries.prompt_version",
  "conversation_summaries.content",
  "conversation_summaries.token_estimate",
  "conversation_summaries.message_count",
  "conversation_summaries.left_out_count",
  "conversation_summaries.created_at",
];

/**
 * Summaries of ONE user's branches. A summary belongs to the message it ends at, so every read joins
 * through that message's conversation to the user: another user's summary id is simply not found.
 * Callers check the covered message is the user's before storing (the summariser walk did).
 */
export class SummaryRepository {
  constructor(
    private readonly database: Knex | Knex.Transaction,
    readonly userId: string,
  ) {}

  /**
   * Stores a summary, or keeps the one already stored under the same key (two answers summarising
   * the same prefix at once: the first one written wins and both use it).
   */
  async insert(summary: NewSummary): Promise<StoredSummary> {
    await this.database("conversation_summaries")
      .insert({
        id: crypto.randomUUID(),
        covers_through_message_id: summary.coversThroughMessageId,
        summariser_model_id: summary.summariserModelId,
        prompt_version: summary.promptVersion,
        content: summary.content,
        token_estimate: summary.tokenEstimate,
        message_count: summary.messageCount,
        left_out_count: summary.leftOutCount,
        created_at: summary.createdAt,
      })
      .onConflict(["covers_through_message_id", "summariser_model_id", "prompt_version"])
      .ignore();
    const stored = await this.scoped()
      .where("conversation_summaries.covers_through_message_id", summary.coversThroughMessageId)
      .andWhere("conversation_summaries.summariser_model_id", summary.summariserModelId)
      .andWhere("conversation_summaries.prompt_version", summary.promptVersion)
      .first();
    if (!stored) throw new Error("The summary just stored cannot be read back");
    return toStoredSummary(stored);
  }

  /** Every summary of one of the user's conversations, oldest first, with its key (an export). */
  async listForConversation(conversationId: string): Promise<Array<StoredSummary & { promptVersion: string }>> {
    const rows = (await this.scoped()
      .andWhere("messages.conversation_id", conversationId)
      .orderBy([
        { column: "conversation_summaries.created_at", order: "asc" },
        { column: "conversation_summaries.id", order: "asc" },
      ])) as unknown as SummaryRow[];
    return rows.map((row) => ({ ...toStoredSummary(row), promptVersion: row.prompt_version }));
  }

  async findById(summaryId: string): Promise<StoredSummary | undefined> {
    const row = await this.scoped().where("conversation_summaries.id", summaryId).first();
    return row ? toStoredSummary(row) : undefined;
  }

  private scoped(): Knex.QueryBuilder<SummaryRow, SummaryRow | undefined> {
    return this.database<SummaryRow>("conversation_summaries")
      .select(summaryColumns)
      .join("messages", "messages.id", "conversation_summaries.covers_through_message_id")
      .join("conversations", "conversations.id", "messages.conversation_id")
      .where("conversations.user_id", this.userId) as unknown as Knex.QueryBuilder<SummaryRow, SummaryRow | undefined>;
  }
}

function toStoredSummary(row: SummaryRow): StoredSummary {
  return {
    id: row.id,
    coversThroughMessageId: row.covers_through_message_id,
    summariserModelId: row.summariser_model_id,
    content: row.content,
    tokenEstimate: Number(row.token_estimate),
    messageCount: Number(row.message_count),
    leftOutCount: Number(row.left_out_count),
    createdAt: Number(row.created_at),
  };
}
