import { Readable } from "node:stream";
import type { User } from "../../../protocol/http/accounts";
import type { Message } from "../../../protocol/http/conversations";
import {
  JUGGLER_EXPORT_FORMAT,
  JUGGLER_EXPORT_VERSION,
  type ExportFormat,
  type ExportedAttachment,
  type ExportedConversation,
  type ExportedMessage,
} from "../../../protocol/http/export";
import type { Logger } from "../logger";
import { AttachmentRepository, type AttachmentRow } from "../storage/attachment-repository";
import { ConversationRepository, toMessage, type ConversationRow } from "../storage/conversation-repository";
import { SummaryRepository } from "../storage/summary-repository";
import { SystemPromptRepository } from "../storage/system-prompt-repository";
import type { ServiceContext } from "./service-context";

/** A file to download. */
export interface ExportFile {
  fileName: string;
  contentType: string;
  body: string | Readable;
}

/** Conversations read per page while streaming a whole account's export. */
const EXPORT_PAGE_SIZE = 50;

/**
 * Export of one conversation (Juggler JSON: the whole tree, lossless; or Markdown: the current
 * branch, to read) and of everything a user has (Juggler JSON, streamed a conversation at a time, so
 * memory holds one conversation however many there are).
 */
export class ExportService {
  private readonly logger: Logger;

  constructor(
    private readonly context: ServiceContext,
    private readonly accounts: { getUser(userId: string): Promise<User> },
  ) {
    this.logger = context.logger.child({ service: "export" });
  }

  async exportConversation(userId: string, conversationId: string, format: ExportFormat): Promise<ExportFile> {
    const repository = new ConversationRepository(this.context.database, userId);
    const row = await repository.requireConversation(conversationId);
    const exportedAt = new Date(this.context.now()).toISOString();
    if (format === "markdown") {
      const leafId = row.leaf_message_id;
      // the whole branch, root to leaf: its length is the leaf's depth
      const length = leafId === null ? 0 : ((await repository.findDepths([leafId])).get(leafId) ?? 0);
      const branch = leafId === null ? [] : await repository.loadBranchPage(conversationId, leafId, length);
      return {
        fileName: `${fileNameOf(row.title)}.md`,
        contentType: "text/markdown; charset=utf-8",
        body: toMarkdown(row, branch.map(toMessage), exportedAt),
      };
    }
    const conversation = await this.readConversation(userId, row);
    const file = { format: JUGGLER_EXPORT_FORMAT, version: JUGGLER_EXPORT_VERSION, exportedAt, conversations: [conversation] };
    return {
      fileName: `${fileNameOf(row.title)}.juggler.json`,
      contentType: "application/json; charset=utf-8",
      body: JSON.stringify(file, null, 2),
    };
  }

  /** Everything the user has: every conversation (archived ones too), newest first, as one Juggler export, streamed. */
  async exportUser(userId: string): Promise<ExportFile> {
    const user = await this.accounts.getUser(userId);
    const exportedAt = new Date(this.context.now()).toISOString();
    const header = { format: JUGGLER_EXPORT_FORMAT, version: JUGGLER_EXPORT_VERSION, exportedAt, user: { name: user.name } };
    const body = Readable.from(this.streamUser(userId, header), { objectMode: false });
    return {
      fileName: `juggler-${fileNameOf(user.name)}-${exportedAt.slice(0, 10)}.juggler.json`,
      contentType: "application/json; charset=utf-8",
      body,
    };
  }

  private async *streamUser(userId: string, header: object): AsyncGenerator<string> {
    const repository = new ConversationRepository(this.context.database, userId);
    // The header's fields, then the conversations array written one conversation at a time.
    yield `${JSON.stringify(header, null, 2).slice(0, -2)},\n  "conversations": [`;
    let after: { lastMessageAt: number; id: string } | undefined;
    let isFirst = true;
    try {
      for (;;) {
        const page = await repository.listConversations(EXPORT_PAGE_SIZE, after);
        for (const row of page) {
          const conversation = await this.readConversation(userId, row);
          yield `${isFirst ? "\n" : ",\n"}${indent(JSON.stringify(conversation, null, 2), "    ")}`;
          isFirst = false;
        }
        const last = page.at(-1);
        if (!last || page.length < EXPORT_PAGE_SIZE) break;
        after = { lastMessageAt: last.last_message_at, id: last.id };
      }
    } catch (error) {
      // The response has started: the file ends early (not valid JSON, so an import refuses it).
      this.logger.error("exporting a user's conversations failed", { userId, error });
      throw error;
    }
    yield `${isFirst ? "" : "\n  "}]\n}\n`;
  }

  /** One conversation as the export file carries it. */
  async readConversation(userId: string, row: ConversationRow): Promise<ExportedConversation> {
    const messages = await new ConversationRepository(this.context.database, userId).listAllMessages(row.id);
    const summaries = await new SummaryRepository(this.context.database, userId).listForConversation(row.id);
    const attachments = await new AttachmentRepository(this.context.database, userId).findForConversation(row.id);
    const systemPromptId = row.system_prompt_id ?? null;
    const systemPrompt =
      systemPromptId === null ? null : ((await new SystemPromptRepository(this.context.database).findContent(systemPromptId)) ?? null);
    return {
      id: row.id,
      title: row.title,
      modelId: row.model_id,
      isPinned: row.is_pinned,
      isArchived: row.is_archived,
      workspaceHint: row.workspace_hint,
      leafMessageId: row.leaf_message_id,
      systemPrompt,
      temperature: row.temperature ?? null,
      maxOutputTokens: row.max_output_tokens ?? null,
      createdAt: isoTime(row.created_at),
      updatedAt: isoTime(row.updated_at),
      lastMessageAt: isoTime(row.last_message_at),
      messages: messages.map((message) => toExportedMessage(toMessage(message), attachments.get(message.id) ?? [])),
      summaries: summaries.map((summary) => ({
        id: summary.id,
        coversThroughMessageId: summary.coversThroughMessageId,
        summariserModelId: summary.summariserModelId,
        promptVersion: summary.promptVersion,
        content: summary.content,
        tokenEstimate: summary.tokenEstimate,
        messageCount: summary.messageCount,
        leftOutCount: summary.leftOutCount,
        createdAt: isoTime(summary.createdAt),
      })),
    };
  }
}

function toExportedMessage(message: Message, attachments: readonly AttachmentRow[]): ExportedMessage {
  return {
    id: message.id,
    parentId: message.parentId,
    role: message.role,
    content: message.content,
    status: message.status,
    provider: message.provider,
    modelId: message.modelId,
    inputTokens: message.inputTokens,
    outputTokens: message.outputTokens,
    timeToFirstTokenMs: message.timeToFirstTokenMs,
    durationMs: message.durationMs,
    finishReason: message.finishReason,
    finishReasonRaw: message.finishReasonRaw,
    error: message.error === null ? null : { code: message.error.code, message: message.error.message },
    context: message.context,
    costMicroUsd: message.costMicroUsd ?? null,
    ...(attachments.length === 0 ? {} : { attachments: attachments.map(toExportedAttachment) }),
    createdAt: message.createdAt,
    updatedAt: message.updatedAt,
  };
}

function toExportedAttachment(row: AttachmentRow): ExportedAttachment {
  const isImage = row.kind === "image";
  return {
    kind: row.kind as ExportedAttachment["kind"],
    path: row.path,
    language: row.language,
    startLine: row.start_line,
    endLine: row.end_line,
    content: row.content,
    mediaType: isImage ? (row.media_type as ExportedAttachment["mediaType"]) : null,
    data: isImage && row.data ? row.data.toString("base64") : null,
  };
}

/** The current branch to read: a heading per message (who, when), the text as written, notes for answers that did not finish. */
export function toMarkdown(conversation: ConversationRow, branch: readonly Message[], exportedAt: string): string {
  const lines = [
    `# ${conversation.title}`,
    "",
    `_Exported from Juggler on ${exportedAt.slice(0, 10)}: the current branch, ${countOf(branch.length)}._`,
    "",
  ];
  for (const message of branch) {
    if (message.role === "system") continue;
    const who = message.role === "user" ? "You" : modelNameOf(message.modelId);
    lines.push("---", "", `## ${who} · ${message.createdAt.slice(0, 16).replace("T", " ")} UTC`, "", message.content, "");
    const note = statusNote(message);
    if (note) lines.push(`_${note}_`, "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function statusNote(message: Message): string | undefined {
  if (message.status === "stopped") return "Stopped before it was finished.";
  if (message.status === "interrupted") return "Interrupted: the server stopped while it was being written.";
  if (message.status === "error") return `Failed: ${message.error?.message ?? "the provider returned an error"}.`;
  if (message.status === "streaming") return "Still being written when exported.";
  if (message.finishReason === "length") return "Cut off at the output limit.";
  return undefined;
}

function modelNameOf(modelId: string | null): string {
  if (modelId === null) return "Assistant";
  const separator = modelId.indexOf(":");
  return separator === -1 ? modelId : modelId.slice(separator + 1);
}

function countOf(messages: number): string {
  return messages === 1 ? "1 message" : `${messages.toLocaleString("en")} messages`;
}

/** A title as a file name: letters, digits and dashes, at most 60 characters. */
export function fileNameOf(title: string): string {
  const name = title
    .normalize("NFKD")
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/, "")
    .toLowerCase();
  return name || "conversation";
}

function indent(text: string, prefix: string): string {
  return text.replace(/^/gm, prefix);
}

const isoTime = (epochMs: number) => new Date(epochMs).toISOString();
