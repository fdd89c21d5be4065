import type { JugglerExport } from "../../../protocol/http/export";
import { SkippedParts, type ConversationToImport } from "./conversation-import";

/**
 * A Juggler export (protocol/http/export.ts), already checked against its schema, as conversations
 * to import. Everything is kept; only an answer that was still streaming when exported becomes
 * `interrupted` (no job here will ever finish it), as a restart would make it.
 */
export function readJugglerExport(file: JugglerExport): { conversations: ConversationToImport[]; skipped: SkippedParts } {
  const skipped = new SkippedParts();
  const conversations = file.conversations.map((conversation, index): ConversationToImport => ({
    title: conversation.title,
    modelId: conversation.modelId,
    isPinned: conversation.isPinned,
    isArchived: conversation.isArchived,
    workspaceHint: conversation.workspaceHint,
    createdAt: Date.parse(conversation.createdAt),
    updatedAt: Date.parse(conversation.updatedAt),
    lastMessageAt: Date.parse(conversation.lastMessageAt),
    leafKey: conversation.leafMessageId,
    systemPrompt: conversation.systemPrompt ?? null,
    temperature: conversation.temperature ?? null,
    maxOutputTokens: conversation.maxOutputTokens ?? null,
    path: `conversations[${index}]`,
    messages: conversation.messages.map((message) => ({
      key: message.id,
      parentKey: message.parentId,
      role: message.role,
      content: message.content,
      status: message.status === "streaming" ? "interrupted" : message.status,
      provider: message.provider,
      modelId: message.modelId,
      inputTokens: message.inputTokens,
      outputTokens: message.outputTokens,
      timeToFirstTokenMs: message.timeToFirstTokenMs,
      durationMs: message.durationMs,
      finishReason: message.finishReason,
      finishReasonRaw: message.finishReasonRaw,
      error: message.error,
      context: message.context,
      costMicroUsd: message.costMicroUsd ?? null,
      attachments: message.attachments ?? [],
      createdAt: Date.parse(message.createdAt),
      updatedAt: Date.parse(message.updatedAt),
    })),
    summaries: conversation.summaries.map((summary) => ({
      key: summary.id,
      coversThroughKey: summary.coversThroughMessageId,
      summariserModelId: summary.summariserModelId,
      promptVersion: summary.promptVersion,
      content: summary.content,
      tokenEstimate: summary.tokenEstimate,
      messageCount: summary.messageCount,
      leftOutCount: summary.leftOutCount,
      createdAt: Date.parse(summary.createdAt),
    })),
  }));
  return { conversations, skipped };
}
