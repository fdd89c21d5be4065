import crypto from "node:crypto";
import type { Knex } from "knex";
import type { ProviderKind } from "../../protocol/http/providers";
import { ConversationRepository, type MessageRow } from "../../server/src/storage/conversation-repository";
import { estimateMessageTokens } from "../../server/src/services/token-estimate";

/** Rows per INSERT: 21 columns each stays far below SQLite's 32,766 bound variables (and PostgreSQL's 65,535). */
const INSERT_BATCH_SIZE = 400;

export interface LongConversationOptions {
  database: Knex;
  userId: string;
  /** An existing, empty conversation of that user. */
  conversationId: string;
  messageCount: number;
  /** Who wrote the answers. */
  answeredBy: { provider: ProviderKind; modelId: string };
  /** The text of message `index` (0-based; even indexes are the user's). */
  contentOf?: (index: number) => string;
  /** created_at of the first message (epoch ms); each next one is a millisecond later. */
  startAt?: number;
}

export interface LongConversation {
  /** Every message id, root first. */
  messageIds: string[];
  contents: string[];
}

/** About 200 characters (≈ 54 estimated tokens) saying which message it is. */
export function defaultLongConversationContent(index: number): string {
  const speaker = index % 2 === 0 ? "Question" : "Answer";
  return `${speaker} ${index + 1}: ${"the quick brown fox jumps over the lazy dog ".repeat(4)}(${index + 1})`;
}

/**
 * Builds a conversation of `messageCount` messages, one branch alternating question and complete
 * answer, through the storage layer (ConversationRepository.insertMessages, in batches): what a long
 * history looks like in the store, without sending thousands of messages through a provider.
 * The conversation's leaf moves to the last message.
 */
export async function buildLongConversation(options: LongConversationOptions): Promise<LongConversation> {
  const repository = new ConversationRepository(options.database, options.userId);
  const contentOf = options.contentOf ?? defaultLongConversationContent;
  const startAt = options.startAt ?? Date.now() - options.messageCount;
  const messageIds: string[] = [];
  const contents: string[] = [];
  let parentId: string | null = null;
  for (let batchStart = 0; batchStart < options.messageCount; batchStart += INSERT_BATCH_SIZE) {
    const rows: MessageRow[] = [];
    for (let index = batchStart; index < Math.min(options.messageCount, batchStart + INSERT_BATCH_SIZE); index += 1) {
      const isQuestion = index % 2 === 0;
      const content = contentOf(index);
      const id = crypto.randomUUID();
      rows.push({
        id,
        conversation_id: options.conversationId,
        parent_id: parentId,
        role: isQuestion ? "user" : "assistant",
        content,
        status: "complete",
        provider: isQuestion ? null : options.answeredBy.provider,
        model_id: isQuestion ? null : options.answeredBy.modelId,
        input_tokens: null,
        output_tokens: null,
        time_to_first_token_ms: null,
        duration_ms: null,
        finish_reason: isQuestion ? null : "stop",
        finish_reason_raw: null,
        error_code: null,
        error_message: null,
        context_snapshot: null,
        depth: index + 1,
        token_estimate: estimateMessageTokens(content),
        created_at: startAt + index,
        updated_at: startAt + index,
      });
      messageIds.push(id);
      contents.push(content);
      parentId = id;
    }
    await repository.insertMessages(rows);
  }
  const lastAt = startAt + options.messageCount - 1;
  await repository.updateConversation(options.conversationId, { leaf_message_id: parentId, last_message_at: lastAt, updated_at: lastAt });
  return { messageIds, contents };
}
