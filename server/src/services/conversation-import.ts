import type { ContextRecord, FinishReason, MessageRole, MessageStatus } from "../../../protocol/http/conversations";
import type { ExportedAttachment } from "../../../protocol/http/export";
import type { ErrorDetail } from "../../../protocol/http/error-codes";
import type { ProviderKind } from "../../../protocol/http/providers";

/**
 * A conversation read from an import file, before it gets ids: messages and summaries are named by
 * the file's own keys, which only have to be unique within the conversation. Both importers (Juggler
 * and ChatGPT) produce this; ImportService checks the tree and writes it.
 */
export interface ConversationToImport {
  title: string;
  modelId: string | null;
  isPinned: boolean;
  isArchived: boolean;
  workspaceHint: string | null;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
  lastMessageAt: number;
  /** The message the current branch ends at (null: the newest message without a reply). */
  leafKey: string | null;
  /** Its own system prompt and settings (null: the defaults). */
  systemPrompt: string | null;
  temperature: number | null;
  maxOutputTokens: number | null;
  messages: MessageToImport[];
  summaries: SummaryToImport[];
  /** Where this conversation is in the file, for error messages ("conversations[3]"). */
  path: string;
}

export interface MessageToImport {
  key: string;
  parentKey: string | null;
  role: MessageRole;
  content: string;
  status: Exclude<MessageStatus, "streaming">;
  provider: ProviderKind | null;
  modelId: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  timeToFirstTokenMs: number | null;
  durationMs: number | null;
  finishReason: FinishReason | null;
  finishReasonRaw: string | null;
  error: ErrorDetail | null;
  /** Message and summary ids in it are the file's keys; the importer maps them to the new ids. */
  context: ContextRecord | null;
  /** An answer's cost, in millionths of a dollar (null: not known). */
  costMicroUsd: number | null;
  /** A question's editor context, in order (images checked again when written). */
  attachments: ExportedAttachment[];
  createdAt: number;
  updatedAt: number;
}

export interface SummaryToImport {
  key: string;
  coversThroughKey: string;
  summariserModelId: string;
  promptVersion: string;
  content: string;
  tokenEstimate: number;
  messageCount: number;
  leftOutCount: number;
  createdAt: number;
}

/** What an importer left out on purpose, counted by reason (shown to the user). */
export class SkippedParts {
  private readonly counts = new Map<string, number>();

  add(reason: string, count = 1): void {
    if (count > 0) this.counts.set(reason, (this.counts.get(reason) ?? 0) + count);
  }

  toList(): Array<{ reason: string; count: number }> {
    return [...this.counts].map(([reason, count]) => ({ reason, count }));
  }
}
