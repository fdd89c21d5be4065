import { MESSAGE_PAGE_MAX, type AnswerContextResponse, type ContextMessage } from "../../../protocol/http/conversations";
import { providerLabels } from "../../../protocol/http/providers";
import { EventEmitter, type Disposable, type Event } from "../server-client/event-emitter";
import type { TeamServerClient } from "../server-client/team-server-client";
import { isTeamServerError } from "../server-client/team-server-error";

export interface AnswerContextDocumentOptions {
  client: TeamServerClient;
  messageId: string;
  /** The conversation's title when the caller knows it (the open conversation's); else it is read from the server. */
  knownConversationTitle?: (conversationId: string) => string | undefined;
  /** Messages per page of GET /messages/:id/context (tests make it small to cross pages). */
  pageLimit?: number;
}

/** Who wrote the answer and when, for the document's first lines and the editor tab's title. */
export interface AnswerContextTitle {
  conversationTitle: string;
  /** The model's name part, e.g. "claude-sonnet-4-5". */
  modelName: string;
  /** "2026-12-07 14:02", local time. */
  answeredAt: string;
}

type LoadState = { kind: "loading" } | { kind: "complete" } | { kind: "failed"; reason: string };

const numberFormat = new Intl.NumberFormat("en-US");

/**
 * "Show Context" of one answer as a Markdown document: the request's model, provider, settings and
 * token figures, the system prompt, the summary that stood for older messages, what was left out,
 * the adjustments, then every message exactly as sent, read page by page from
 * GET /messages/:id/context. The text grows as pages arrive (`onDidChange`); no vscode import, so
 * surfaces/ shows it in an editor tab and tests read it as it is.
 */
export class AnswerContextDocument implements Disposable {
  private readonly client: TeamServerClient;
  readonly messageId: string;
  private readonly pageLimit: number;
  private readonly knownConversationTitle: (conversationId: string) => string | undefined;
  private readonly controller = new AbortController();
  private readonly changed = new EventEmitter<void>();
  private titleValue: AnswerContextTitle | undefined;
  private header = "";
  /** One Markdown block per message received so far, oldest first. */
  private readonly messageBlocks: string[] = [];
  private includedMessageCount = 0;
  private nextCursor: string | null = null;
  private state: LoadState = { kind: "loading" };

  /** More messages arrived, or loading ended (completely or not). */
  readonly onDidChange: Event<void> = this.changed.event;

  constructor(options: AnswerContextDocumentOptions) {
    this.client = options.client;
    this.messageId = options.messageId;
    this.pageLimit = options.pageLimit ?? MESSAGE_PAGE_MAX;
    this.knownConversationTitle = options.knownConversationTitle ?? (() => undefined);
  }

  /** Set once the first page is loaded. */
  get title(): AnswerContextTitle | undefined {
    return this.titleValue;
  }

  get isComplete(): boolean {
    return this.state.kind === "complete";
  }

  get text(): string {
    if (!this.titleValue) {
      return this.state.kind === "failed"
        ? `# Context of an answer\n\nJuggler could not show the context of this answer: ${this.state.reason}\n`
        : "Loading the context of this answer…\n";
    }
    const shown = this.messageBlocks.length;
    let footer = "";
    if (this.state.kind === "loading") {
      footer = `\n_Loading messages ${numberFormat.format(shown + 1)}–${numberFormat.format(this.includedMessageCount)} of ${numberFormat.format(this.includedMessageCount)}…_\n`;
    } else if (this.state.kind === "failed") {
      footer = `\n> **Messages ${numberFormat.format(shown + 1)}–${numberFormat.format(this.includedMessageCount)} could not be loaded:** ${this.state.reason} Close this tab and run Show Context again to retry.\n`;
    }
    return `${this.header}${this.messageBlocks.join("")}${footer}`;
  }

  /**
   * Reads the answer, its conversation's title and the first page of its context. Throws
   * TeamServerError when there is nothing to show (see describeShowContextError).
   */
  async loadFirstPage(): Promise<void> {
    const signal = this.controller.signal;
    const [{ message }, page] = await Promise.all([
      this.client.call("getMessage", { params: { messageId: this.messageId }, signal }),
      this.readPage(undefined),
    ]);
    const conversationTitle =
      this.knownConversationTitle(message.conversationId) ??
      // limit 1: only the title is needed, not the branch
      (await this.client.call("getConversation", { params: { conversationId: message.conversationId }, query: { limit: 1 }, signal }))
        .conversation.title;
    const modelId = page.record.modelId;
    this.titleValue = {
      conversationTitle,
      modelName: modelNameOf(modelId),
      answeredAt: formatLocalDateTime(message.createdAt),
    };
    this.header = formatContextHeader(page, this.titleValue, this.messageId);
    this.includedMessageCount = Math.max(page.record.includedMessageCount, page.messages.length);
    this.appendMessages(page);
  }

  /** The first page, then the others; a failure is in the text instead of thrown (a tab restored after a reload). */
  async load(): Promise<void> {
    try {
      await this.loadFirstPage();
      this.changed.fire();
    } catch (error) {
      if (this.controller.signal.aborted) return;
      this.state = { kind: "failed", reason: describeShowContextError(error) };
      this.changed.fire();
      return;
    }
    await this.loadRemainingPages();
  }

  /** Reads the remaining pages, one after the other; the text says so if one fails. */
  async loadRemainingPages(): Promise<void> {
    const seenCursors = new Set<string>();
    try {
      while (this.nextCursor !== null) {
        const cursor = this.nextCursor;
        if (seenCursors.has(cursor)) throw new Error("The server returned the same page twice.");
        seenCursors.add(cursor);
        this.appendMessages(await this.readPage(cursor));
        this.changed.fire();
      }
      this.state = { kind: "complete" };
    } catch (error) {
      if (this.controller.signal.aborted) return;
      this.state = { kind: "failed", reason: describeShowContextError(error) };
    }
    this.changed.fire();
  }

  /** Stops loading (the tab was closed). */
  dispose(): void {
    this.controller.abort();
    this.changed.dispose();
  }

  private readPage(cursor: string | undefined): Promise<AnswerContextResponse> {
    return this.client.call("getAnswerContext", {
      params: { messageId: this.messageId },
      query: { limit: this.pageLimit, ...(cursor === undefined ? {} : { cursor }) },
      signal: this.controller.signal,
    });
  }

  private appendMessages(page: AnswerContextResponse): void {
    for (const message of page.messages) {
      this.messageBlocks.push(formatContextMessage(message, this.messageBlocks.length + 1));
    }
    this.includedMessageCount = Math.max(this.includedMessageCount, this.messageBlocks.length);
    this.nextCursor = page.nextCursor;
    if (page.nextCursor === null) this.state = { kind: "complete" };
  }
}

/** The editor tab's title: the conversation and the answer. */
export function formatContextTitle(title: AnswerContextTitle): string {
  return `Context of ${title.modelName}'s answer (${title.answeredAt}) in “${title.conversationTitle}”`;
}

/** Everything above the messages: what the request was and what it carried besides them. */
export function formatContextHeader(page: AnswerContextResponse, title: AnswerContextTitle, messageId: string): string {
  const { record, tokens, summary } = page;
  const provider = providerLabels[record.provider];
  const lines: string[] = [
    "# Context of an answer",
    "",
    `**${escapeInline(title.modelName)}**'s answer of ${title.answeredAt} in **${escapeInline(title.conversationTitle)}** (message \`${messageId}\`): what its request carried, as the Juggler server recorded it.`,
    "",
    "## Request",
    "",
    "| | |",
    "|---|---|",
    `| Model | ${escapeCell(title.modelName)} (\`${escapeCell(record.modelId)}\`) |`,
    `| Provider | ${provider} |`,
    `| Context window | ${record.contextWindowTokens === null ? "unknown" : `${numberFormat.format(record.contextWindowTokens)} tokens`} |`,
    `| Output limit | ${numberFormat.format(record.settings.maxOutputTokens)} tokens |`,
    `| Temperature | ${record.settings.temperature === null ? "the provider's default" : String(record.settings.temperature)} |`,
    `| Input tokens, estimated by Juggler | ${numberFormat.format(tokens.estimatedInput)} |`,
    `| Input tokens, reported by ${provider} | ${formatReported(tokens.reportedInput)} |`,
    `| Output tokens, reported by ${provider} | ${formatReported(tokens.reportedOutput)} |`,
    "",
    "## What was sent",
    "",
    `- The system prompt (\`${record.systemPromptId}\`).`,
  ];
  if (record.summary) {
    lines.push(
      `- A summary standing for the ${countMessages(record.summary.messageCount)} before the first one sent, written by \`${record.summary.modelId}\`.`,
    );
  }
  lines.push(
    `- ${countMessages(record.includedMessageCount)} as they were written, ${record.summary || record.leftOutMessageCount > 0 ? "from the first one sent" : "from the start of the conversation"} to the question.`,
  );
  if (record.leftOutMessageCount > 0) {
    lines.push(`- ${capitalise(countMessages(record.leftOutMessageCount))} older than those were left out: neither sent nor summarised.`);
  }
  lines.push("", "## Adjustments", "");
  if (record.adjustments.length === 0) lines.push("None: the conversation was sent as it is.");
  else for (const adjustment of record.adjustments) lines.push(`- ${adjustment}`);
  lines.push("", "## System prompt", "");
  lines.push(page.systemPrompt === null ? "_The server no longer knows this system prompt's text._" : fenced(page.systemPrompt));
  if (summary) {
    lines.push(
      "",
      `## Summary of the ${countMessages(summary.messageCount)} before the first one sent`,
      "",
      `Written by \`${summary.modelId}\` on ${formatLocalDateTime(summary.createdAt)}.`,
      "",
      fenced(summary.content),
    );
  } else if (record.summary) {
    lines.push("", "## Summary", "", "_The summary this answer used is no longer stored._");
  }
  lines.push("", `## Messages as sent (${numberFormat.format(record.includedMessageCount)})`, "");
  return `${lines.join("\n")}\n`;
}

/** One message as the request carried it; one that was on the branch but not sent says why. */
export function formatContextMessage(message: ContextMessage, position: number): string {
  const parts = [`${numberFormat.format(position)} · ${message.role === "user" ? "User" : "Assistant"}`];
  if (message.modelId) parts.push(modelNameOf(message.modelId));
  if (!message.isSent) parts.push("not sent");
  const lines = [`### ${parts.join(" · ")}`, ""];
  if (message.note) lines.push(`> ${message.note.replace(/\n/g, " ")}`, "");
  if (message.isSent || message.content.length > 0) lines.push(fenced(message.content), "");
  return `${lines.join("\n")}\n`;
}

/** Why Show Context cannot show an answer, in plain words. */
export function describeShowContextError(error: unknown): string {
  if (isTeamServerError(error)) {
    switch (error.code) {
      case "not_found":
        return "That answer is not on the Juggler server (any more): its conversation may have been deleted.";
      case "conflict":
        return "The context of this answer is still being prepared. Try again in a moment.";
      case "validation_failed":
        return `Only answers have a context. ${error.message}`;
      case "not_signed_in":
      case "unauthenticated":
        return "Sign in to Juggler to see what an answer's request carried.";
      default:
        return error.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

/** "anthropic:claude-sonnet-4-5" → "claude-sonnet-4-5". */
function modelNameOf(modelId: string): string {
  const separator = modelId.indexOf(":");
  return separator === -1 ? modelId : modelId.slice(separator + 1);
}

function formatReported(tokens: number | null): string {
  return tokens === null ? "not reported" : numberFormat.format(tokens);
}

function countMessages(count: number): string {
  return `${numberFormat.format(count)} message${count === 1 ? "" : "s"}`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Text shown verbatim: a fence longer than any backtick run inside, so Markdown in the text stays text. */
function fenced(text: string): string {
  const longestBacktickRun = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = "`".repeat(Math.max(3, longestBacktickRun + 1));
  return `${fence}text\n${text.endsWith("\n") ? text.slice(0, -1) : text}\n${fence}`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function escapeInline(text: string): string {
  return text.replace(/([\\`*_[\]<>|])/g, "\\$1");
}

/** "2026-12-07 14:02" in local time, like the rest of the editor's UI. */
export function formatLocalDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
