import crypto from "node:crypto";
import type { ContextRecord } from "../../../protocol/http/conversations";
import {
  IMPORT_MESSAGES_MAX,
  JUGGLER_EXPORT_FORMAT,
  JUGGLER_EXPORT_VERSION,
  jugglerExportSchema,
  type ImportResponse,
  type ImportSource,
} from "../../../protocol/http/export";
import type { z } from "zod";
import { AppError } from "../domain/app-error";
import type { Logger } from "../logger";
import { AttachmentRepository, type AttachmentContent, type AttachmentRow } from "../storage/attachment-repository";
import { ConversationRepository, type ConversationRow, type MessageRow } from "../storage/conversation-repository";
import { SummaryRepository, type NewSummary } from "../storage/summary-repository";
import { SystemPromptRepository } from "../storage/system-prompt-repository";
import { chatGptExportSchema, readChatGptExport } from "./chatgpt-import";
import type { ConversationToImport, MessageToImport, SkippedParts } from "./conversation-import";
import { toAttachmentRows } from "./attachment-rows";
import { estimateQuestionTokens } from "./context-builder";
import { decodeImageAttachment } from "./decode-image-attachment";
import { readJugglerExport } from "./juggler-import";
import type { ServiceContext } from "./service-context";
import { estimateMessageTokens } from "./token-estimate";

/**
 * Rows per INSERT: 21 columns each stays far below SQLite's 32,766 bound variables (and PostgreSQL's
 * 65,535). On SQLite a statement holds the server's thread while it runs (with the search index's
 * triggers, ≈ 0.1 ms a row): 100 rows keep each under ≈ 15 ms, and the import lets the event loop
 * run between them (better-sqlite3-client.ts), so streams and requests go on during an import.
 */
const INSERT_BATCH_SIZE = 100;
/** Attachment rows per INSERT (an image row carries up to its 700 KB). */
const ATTACHMENT_BATCH_SIZE = 20;

/** A conversation checked and given new ids, ready to be written. */
interface PreparedConversation {
  conversation: Omit<ConversationRow, "user_id">;
  /** Parents before children. */
  messages: MessageRow[];
  /** The questions' editor context (images decoded and checked). */
  attachments: AttachmentRow[];
  /** Stored (once per text) when the conversation is written; its id goes on the conversation. */
  systemPrompt: string | null;
  summaries: Array<{ key: string; summary: NewSummary }>;
  /** Context records naming a summary: written once the summary has its new id. */
  recordsAwaitingSummary: Array<{ messageId: string; record: ContextRecord; summaryKey: string }>;
}

/**
 * Imports a file of conversations — a Juggler export or ChatGPT's conversations.json — for one user.
 * The file is read and checked completely first (a malformed, hostile or inconsistent one is a 400
 * naming the problem, before anything is written); then everything is written in ONE transaction, so
 * an import either happens whole or not at all. Every conversation, message and summary gets a new
 * id (the file's ids only link its parts), so an import can never overwrite or collide with anything,
 * and importing the same file twice gives two copies.
 */
export class ImportService {
  private readonly logger: Logger;

  constructor(private readonly context: ServiceContext) {
    this.logger = context.logger.child({ service: "import" });
  }

  async importFile(userId: string, body: Uint8Array): Promise<ImportResponse> {
    const value = parseJsonFile(body);
    const { source, read } = readAnyFormat(value, this.context.now());
    const messageCount = read.conversations.reduce((sum, conversation) => sum + conversation.messages.length, 0);
    if (messageCount > IMPORT_MESSAGES_MAX) {
      throw new AppError(
        413,
        "payload_too_large",
        `The file holds ${messageCount.toLocaleString("en")} messages; one import takes at most ${IMPORT_MESSAGES_MAX.toLocaleString("en")}. Import it in parts.`,
      );
    }
    const prepared = read.conversations.map((conversation) => prepare(conversation));
    await this.context.database.transaction(async (transaction) => {
      const conversations = new ConversationRepository(transaction, userId);
      const summaries = new SummaryRepository(transaction, userId);
      const attachments = new AttachmentRepository(transaction, userId);
      const prompts = new SystemPromptRepository(transaction);
      for (const entry of prepared) {
        const systemPromptId =
          entry.systemPrompt === null
            ? null
            : await prompts.store(entry.systemPrompt, estimateMessageTokens(entry.systemPrompt), this.context.now());
        await conversations.insertConversation({ ...entry.conversation, system_prompt_id: systemPromptId });
        for (let start = 0; start < entry.messages.length; start += INSERT_BATCH_SIZE) {
          await conversations.insertMessages(entry.messages.slice(start, start + INSERT_BATCH_SIZE));
        }
        // images make rows large: a few at a time
        for (let start = 0; start < entry.attachments.length; start += ATTACHMENT_BATCH_SIZE) {
          await attachments.insert(entry.attachments.slice(start, start + ATTACHMENT_BATCH_SIZE));
        }
        const summaryIds = new Map<string, string>();
        for (const { key, summary } of entry.summaries) summaryIds.set(key, (await summaries.insert(summary)).id);
        for (const { messageId, record, summaryKey } of entry.recordsAwaitingSummary) {
          const summary = record.summary ? { ...record.summary, id: summaryIds.get(summaryKey)! } : null;
          await conversations.updateMessage(messageId, { context_snapshot: JSON.stringify({ ...record, summary }) });
        }
      }
    });
    this.logger.info("conversations imported", { userId, source, conversations: prepared.length, messages: messageCount });
    return {
      source,
      conversations: prepared.map((entry) => ({
        id: entry.conversation.id,
        title: entry.conversation.title,
        messageCount: entry.messages.length,
      })),
      skipped: read.skipped.toList(),
    };
  }
}

function parseJsonFile(body: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new AppError(400, "validation_failed", "The file is not UTF-8 text: choose a Juggler export or ChatGPT's conversations.json");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? `: ${error.message.slice(0, 200)}` : "";
    throw new AppError(400, "validation_failed", `The file is not valid JSON${detail}`);
  }
  // JSON can carry U+0000 only escaped; no title or message needs it and PostgreSQL cannot store it.
  if (/\\u0000/i.test(text) && containsNul(value)) {
    throw new AppError(400, "validation_failed", "The file contains a NUL character (U+0000), which no field accepts");
  }
  return value;
}

function readAnyFormat(
  value: unknown,
  now: number,
): { source: ImportSource; read: { conversations: ConversationToImport[]; skipped: SkippedParts } } {
  if (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { format?: unknown }).format === JUGGLER_EXPORT_FORMAT
  ) {
    const version = (value as { version?: unknown }).version;
    // version 1 is version 2 without costs, attachments, prompts and settings
    if (version !== 1 && version !== JUGGLER_EXPORT_VERSION) {
      throw new AppError(
        400,
        "validation_failed",
        `This Juggler export has version ${JSON.stringify(version)}; this server reads versions 1 to ${JUGGLER_EXPORT_VERSION}. Update the team server to import it.`,
      );
    }
    return { source: "juggler", read: readJugglerExport(check(jugglerExportSchema, value)) };
  }
  if (Array.isArray(value)) return { source: "chatgpt", read: readChatGptExport(check(chatGptExportSchema, value), now) };
  throw new AppError(
    400,
    "validation_failed",
    "The file is neither a Juggler export nor ChatGPT's conversations.json (from ChatGPT: Settings → Data controls → Export data)",
  );
}

/** The schema's verdict, or a 400 naming the first problems by their place in the file. */
function check<Schema extends z.ZodType>(schema: Schema, value: unknown): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 3)
    .map((issue) => `${pathText(issue.path)}: ${issue.message}`)
    .join("; ");
  throw new AppError(400, "validation_failed", `The file is not a valid export: ${problems}`);
}

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return (
    path.map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`)).join("") || "file"
  );
}

/**
 * Checks one conversation's tree and gives everything new ids: every parent is a message of the
 * conversation, no loops, ids unique, the leaf and every context record and summary name messages of
 * it. Depths come from the tree (never from the file); parents are ordered before children.
 */
function prepare(source: ConversationToImport): PreparedConversation {
  const fail = (where: string, problem: string): never => {
    throw new AppError(400, "validation_failed", `The file is not a valid export: ${source.path}${where}: ${problem}`);
  };
  const byKey = new Map<string, MessageToImport>();
  const positions = new Map<MessageToImport, number>();
  source.messages.forEach((message, index) => {
    if (byKey.has(message.key)) fail(`.messages[${index}].id`, "the same id appears twice");
    byKey.set(message.key, message);
    positions.set(message, index);
  });
  const children = new Map<string | null, MessageToImport[]>();
  source.messages.forEach((message, index) => {
    if (message.parentKey !== null && !byKey.has(message.parentKey))
      fail(`.messages[${index}].parentId`, "not a message of this conversation");
    const siblings = children.get(message.parentKey);
    if (siblings) siblings.push(message);
    else children.set(message.parentKey, [message]);
  });
  // Breadth first from the roots: parents first, and every message reached exactly once unless the links loop.
  const ids = new Map<string, string>();
  const depths = new Map<string, number>();
  const ordered: MessageToImport[] = [];
  const queue: MessageToImport[] = [...(children.get(null) ?? [])];
  for (const root of queue) depths.set(root.key, 1);
  for (let head = 0; head < queue.length; head++) {
    const message = queue[head]!;
    ids.set(message.key, crypto.randomUUID());
    ordered.push(message);
    for (const child of children.get(message.key) ?? []) {
      depths.set(child.key, depths.get(message.key)! + 1);
      queue.push(child);
    }
  }
  if (ordered.length !== source.messages.length) fail(".messages", "the parent links form a loop");

  const summaryKeys = new Set<string>();
  const summaries = source.summaries.map((summary, index) => {
    if (summaryKeys.has(summary.key)) fail(`.summaries[${index}].id`, "the same id appears twice");
    summaryKeys.add(summary.key);
    const coversThroughMessageId =
      ids.get(summary.coversThroughKey) ?? fail(`.summaries[${index}].coversThroughMessageId`, "not a message of this conversation");
    return {
      key: summary.key,
      summary: {
        coversThroughMessageId,
        summariserModelId: summary.summariserModelId,
        promptVersion: summary.promptVersion,
        content: summary.content,
        tokenEstimate: summary.tokenEstimate,
        messageCount: summary.messageCount,
        leftOutCount: summary.leftOutCount,
        createdAt: summary.createdAt,
      },
    };
  });

  // each question's attachments as a send sees them (for its token estimate) and as rows to write
  const attachmentsByKey = new Map(
    ordered.map((message) => {
      const imageBytes = new Map<number, Buffer>();
      const sent = message.attachments.map((attachment, position): AttachmentContent => {
        if (attachment.kind !== "image") {
          const { kind, path, language, startLine, endLine, content } = attachment;
          return { kind, path, language, startLine, endLine, content };
        }
        try {
          const bytes = decodeImageAttachment(attachment.data!, attachment.mediaType!, position);
          imageBytes.set(position, bytes);
          const image = { mediaType: attachment.mediaType!, data: attachment.data!, byteSize: bytes.length };
          return { kind: "image", path: attachment.path, language: null, startLine: null, endLine: null, content: "", image };
        } catch {
          return fail(`.messages[${positions.get(message)}].attachments[${position}]`, `not a valid ${attachment.mediaType} image`);
        }
      });
      const rows = toAttachmentRows(sent, imageBytes, ids.get(message.key)!, message.createdAt);
      return [message.key, { sent, rows }] as const;
    }),
  );
  const attachments = [...attachmentsByKey.values()].flatMap((entry) => entry.rows);

  const conversationId = crypto.randomUUID();
  const recordsAwaitingSummary: PreparedConversation["recordsAwaitingSummary"] = [];
  const messages = ordered.map((message): MessageRow => {
    const id = ids.get(message.key)!;
    const where = `.messages[${positions.get(message)}].context`;
    let record: ContextRecord | null = null;
    if (message.context !== null) {
      const mapId = (key: string | null, field: string) =>
        key === null ? null : (ids.get(key) ?? fail(`${where}.${field}`, "not a message of this conversation"));
      record = {
        ...message.context,
        firstMessageId: mapId(message.context.firstMessageId, "firstMessageId"),
        lastMessageId: mapId(message.context.lastMessageId, "lastMessageId"),
      };
      const summaryKey = message.context.summary?.id;
      if (summaryKey !== undefined) {
        if (!summaryKeys.has(summaryKey)) fail(`${where}.summary.id`, "not a summary of this conversation");
        recordsAwaitingSummary.push({ messageId: id, record, summaryKey });
        record = null;
      }
    }
    return {
      id,
      conversation_id: conversationId,
      parent_id: message.parentKey === null ? null : ids.get(message.parentKey)!,
      role: message.role,
      content: message.content,
      status: message.status,
      provider: message.provider,
      model_id: message.modelId,
      input_tokens: message.inputTokens,
      output_tokens: message.outputTokens,
      time_to_first_token_ms: message.timeToFirstTokenMs,
      duration_ms: message.durationMs,
      finish_reason: message.finishReason,
      finish_reason_raw: message.finishReasonRaw,
      error_code: message.error?.code ?? null,
      error_message: message.error?.message ?? null,
      context_snapshot: record === null ? null : JSON.stringify(record),
      cost_micro_usd: message.costMicroUsd,
      depth: depths.get(message.key)!,
      token_estimate: estimateQuestionTokens(message.content, attachmentsByKey.get(message.key)!.sent),
      created_at: message.createdAt,
      updated_at: message.updatedAt,
    };
  });

  let leafId: string | null = null;
  if (source.leafKey !== null) leafId = ids.get(source.leafKey) ?? fail(".leafMessageId", "not a message of this conversation");
  else if (messages.length > 0) leafId = newestLeaf(messages);
  return {
    conversation: {
      id: conversationId,
      title: source.title,
      model_id: source.modelId,
      leaf_message_id: leafId,
      is_pinned: source.isPinned && !source.isArchived,
      is_archived: source.isArchived,
      workspace_hint: source.workspaceHint,
      temperature: source.temperature,
      max_output_tokens: source.maxOutputTokens,
      created_at: source.createdAt,
      updated_at: source.updatedAt,
      last_message_at: source.lastMessageAt,
    },
    messages,
    attachments,
    systemPrompt: source.systemPrompt,
    summaries,
    recordsAwaitingSummary,
  };
}

/** The newest message that has no reply (by time, then depth): where a branch without a named leaf ends. */
function newestLeaf(messages: readonly MessageRow[]): string {
  const parents = new Set(messages.map((message) => message.parent_id));
  let newest: MessageRow | undefined;
  for (const message of messages) {
    if (parents.has(message.id)) continue;
    if (!newest || message.created_at > newest.created_at || (message.created_at === newest.created_at && message.depth > newest.depth)) {
      newest = message;
    }
  }
  return newest!.id;
}

function containsNul(value: unknown): boolean {
  // iterative, so a deeply nested file cannot overflow the stack
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === "string") {
      if (item.includes("\u0000")) return true;
    } else if (Array.isArray(item)) {
      for (const entry of item) pending.push(entry);
    } else if (item !== null && typeof item === "object") {
      for (const [key, entry] of Object.entries(item)) {
        if (key.includes("\u0000")) return true;
        pending.push(entry);
      }
    }
  }
  return false;
}
