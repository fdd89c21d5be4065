import type { AnswerContextResponse, ContextMessage, ContextPageQuery } from "../../../protocol/http/conversations";
import { AppError } from "../domain/app-error";
import { ConversationRepository, toMessage, type MessageRow } from "../storage/conversation-repository";
import { SummaryRepository } from "../storage/summary-repository";
import { SystemPromptRepository } from "../storage/system-prompt-repository";
import { AttachmentRepository, toAttachmentContent, type AttachmentContent } from "../storage/attachment-repository";
import { isSentAsTurn, sentTextOf, systemPromptText, type BranchMessage } from "./context-builder";
import { describeCutOff } from "./partial-answer-note";
import type { ServiceContext } from "./service-context";

/**
 * Show Context: exactly what one answer's request carried, read back from its compact record. The
 * record names the first and last message sent; the messages between them are re-read from the
 * branch a page at a time (oldest first), each as it was sent: with the note of a cut-off answer,
 * and answers that were left out for having no text marked as not sent.
 */
export class AnswerContextService {
  constructor(private readonly context: ServiceContext) {}

  async get(userId: string, messageId: string, query: ContextPageQuery): Promise<AnswerContextResponse> {
    const repository = new ConversationRepository(this.context.database, userId);
    const answer = await repository.requireMessage(messageId);
    if (answer.role !== "assistant") {
      throw new AppError(400, "validation_failed", "Only an answer has a context: this message is a question");
    }
    const record = toMessage(answer).context;
    if (record === null) {
      if (answer.status === "streaming") {
        throw new AppError(409, "conflict", "This answer's context is still being prepared; try again in a moment", true);
      }
      throw new AppError(404, "not_found", "No context was recorded for this answer (it ended before its request was prepared)");
    }

    let messages: ContextMessage[] = [];
    let nextCursor: string | null = null;
    if (record.firstMessageId !== null && record.lastMessageId !== null) {
      const depths = await repository.findDepths([record.firstMessageId, record.lastMessageId]);
      const firstDepth = depths.get(record.firstMessageId);
      const lastDepth = depths.get(record.lastMessageId);
      if (firstDepth !== undefined && lastDepth !== undefined) {
        const startDepth = query.cursor === undefined ? firstDepth : decodeContextCursor(query.cursor, messageId, firstDepth, lastDepth);
        const endDepth = Math.min(lastDepth, startDepth + query.limit - 1);
        const rows = await repository.loadStretch(record.lastMessageId, startDepth, endDepth);
        const shown = rows.filter((row) => row.role === "user" || row.role === "assistant");
        // a question's files and selections were sent after its text: Show Context lists them the same way
        const attachments = await new AttachmentRepository(this.context.database, userId).findForMessages(
          shown.filter((row) => row.role === "user").map((row) => row.id),
          true,
        );
        messages = shown.map((row) => toContextMessage(row, (attachments.get(row.id) ?? []).map(toAttachmentContent)));
        nextCursor = endDepth < lastDepth ? encodeContextCursor(messageId, endDepth + 1) : null;
      }
    }

    const summary =
      record.summary === null ? undefined : await new SummaryRepository(this.context.database, userId).findById(record.summary.id);
    return {
      record,
      // the built-in prompt by its name, any other by the hash it was stored under (never changed)
      systemPrompt:
        systemPromptText(record.systemPromptId) ??
        (await new SystemPromptRepository(this.context.database).findContent(record.systemPromptId)) ??
        null,
      summary:
        summary === undefined
          ? null
          : {
              id: summary.id,
              content: summary.content,
              messageCount: summary.messageCount,
              modelId: summary.summariserModelId,
              createdAt: new Date(summary.createdAt).toISOString(),
            },
      tokens: { estimatedInput: record.estimatedInputTokens, reportedInput: answer.input_tokens, reportedOutput: answer.output_tokens },
      messages,
      nextCursor,
    };
  }
}

function toContextMessage(row: MessageRow, attachments: AttachmentContent[]): ContextMessage {
  const message: BranchMessage = {
    id: row.id,
    role: row.role as BranchMessage["role"],
    content: row.content,
    status: row.status as BranchMessage["status"],
    finishReason: toMessage(row).finishReason,
    depth: row.depth,
    attachments,
  };
  const isSent = isSentAsTurn(message);
  const cutOff = message.role === "assistant" ? describeCutOff(message) : undefined;
  return {
    messageId: row.id,
    role: message.role === "user" ? "user" : "assistant",
    status: message.status,
    modelId: message.role === "assistant" ? row.model_id : null,
    content: isSent ? sentTextOf(message) : message.content,
    isSent,
    note: !isSent
      ? "Not sent: this answer has no text (it failed or was stopped before its first word)"
      : cutOff === undefined
        ? null
        : `Sent with a note that it was cut off: ${cutOff}`,
  };
}

/** Show Context cursors are opaque: base64url of ["c", answer id, depth of the page's first message]. */
function encodeContextCursor(answerId: string, depth: number): string {
  return Buffer.from(JSON.stringify(["c", answerId, depth])).toString("base64url");
}

function decodeContextCursor(cursor: string, answerId: string, firstDepth: number, lastDepth: number): number {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== 3 || value[0] !== "c" || !Number.isSafeInteger(value[2])) {
    throw new AppError(400, "validation_failed", "cursor: not a cursor from a previous page");
  }
  const depth = value[2] as number;
  if (value[1] !== answerId || depth < firstDepth || depth > lastDepth) {
    throw new AppError(400, "validation_failed", "cursor: not a cursor of this answer's context");
  }
  return depth;
}
