import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import type { Message } from "../../../protocol/http/conversations";
import { renderMarkdownInto } from "../markdown/safe-markdown";
import { describeAnswerProblem, describeContextFit, formatAnswerMetadata, formatDuration, modelLabelFromId } from "./answer-metadata";
import { createIcon } from "../create-icon";

export interface MessageViewActions {
  retry(view: MessageView): void;
}

/**
 * One message of the list. The element is created once; while the answer streams only its body
 * is re-rendered (by the list, at most once per animation frame), and its status line and footer
 * change only when the message's status or metadata does.
 */
export class MessageView {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly statusLine: HTMLElement;
  private readonly footer: HTMLElement;
  private renderedContent: string | undefined;
  private renderedStatusKey: string | undefined;
  private retryError: string | undefined;
  private isRetryPending = false;

  constructor(
    private current: Message,
    private readonly actions: MessageViewActions,
  ) {
    this.element = document.createElement("article");
    this.element.dataset.messageId = current.id;
    this.body = document.createElement("div");
    this.body.className = "message__body markdown-body";
    this.statusLine = document.createElement("div");
    this.statusLine.className = "message__status";
    this.footer = document.createElement("div");
    this.footer.className = "message__meta";
    if (current.role === "user") {
      const author = document.createElement("div");
      author.className = "message__author";
      author.append(createIcon("account"), document.createTextNode("You"));
      this.element.append(author, this.body);
    } else {
      // Status (progress, "Stopped", a problem) and metadata share one line under the answer.
      const end = document.createElement("div");
      end.className = "message__end";
      end.append(this.statusLine, this.footer);
      this.element.append(this.body, end);
    }
    this.update(current);
  }

  get message(): Message {
    return this.current;
  }

  get id(): string {
    return this.current.id;
  }

  get isStreaming(): boolean {
    return this.current.status === "streaming";
  }

  /** Replaces the message (a final `message/updated`, or a snapshot) and renders it now. */
  update(message: Message): void {
    this.current = message;
    this.retryError = undefined;
    this.isRetryPending = false;
    this.renderContent();
    this.renderStatus();
  }

  /** Adds streamed text; the list calls renderContent() on the next animation frame. */
  appendText(text: string): void {
    this.current = { ...this.current, content: this.current.content + text };
  }

  /** Renders the markdown if the text changed since the last render. */
  renderContent(): void {
    if (this.renderedContent === this.current.content) return;
    this.renderedContent = this.current.content;
    renderMarkdownInto(this.body, this.current.content);
    this.renderStatus();
    // Off-screen messages are skipped by layout (content-visibility: auto); this estimate keeps the
    // scrollbar honest until the browser has measured the message once (then "auto" remembers it).
    this.element.style.setProperty("contain-intrinsic-height", `auto ${estimateHeightPx(this.current.content)}px`);
  }

  setRetryState(isPending: boolean, error?: string): void {
    this.isRetryPending = isPending;
    this.retryError = error;
    this.renderedStatusKey = undefined;
    this.renderStatus();
  }

  private renderStatus(): void {
    const message = this.current;
    const role = message.role === "user" ? "user" : "assistant";
    this.element.className = `message message--${role} message--${message.status}`;
    if (role === "user") {
      this.element.setAttribute("aria-label", "Your message");
      return;
    }
    this.element.setAttribute("aria-label", `Answer from ${modelLabelFromId(message.modelId) ?? "the model"}`);
    this.element.toggleAttribute("aria-busy", message.status === "streaming");
    const statusKey = JSON.stringify([
      message.status,
      message.modelId,
      message.inputTokens,
      message.outputTokens,
      message.timeToFirstTokenMs,
      message.durationMs,
      message.error,
      message.context?.leftOutMessageCount ?? 0,
      message.context?.summary?.messageCount ?? 0,
      this.isRetryPending,
      this.retryError,
      message.content.length === 0,
    ]);
    if (statusKey === this.renderedStatusKey) return;
    this.renderedStatusKey = statusKey;
    this.statusLine.replaceChildren(...this.createStatusContent());
    this.footer.replaceChildren(...this.createFooterContent());
  }

  private createStatusContent(): Node[] {
    const message = this.current;
    if (message.status === "streaming") {
      const ring = document.createElement("vscode-progress-ring");
      ring.className = "message__progress";
      ring.setAttribute("aria-label", "Answer is being generated");
      const label = document.createElement("span");
      label.textContent = message.content.length === 0 ? "Thinking…" : "Generating…";
      return [ring, label];
    }
    if (message.status === "stopped") {
      const label = document.createElement("span");
      label.className = "message__stopped";
      label.append(createIcon("debug-stop"), document.createTextNode("Stopped"));
      return [label];
    }
    const problem = describeAnswerProblem(message);
    if (!problem) return [];
    const box = document.createElement("div");
    box.className = `message__problem message__problem--${message.status}`;
    const text = document.createElement("span");
    text.className = "message__problem-text";
    text.textContent = problem;
    box.append(createIcon(message.status === "error" ? "error" : "warning"), text);
    const retry = document.createElement("vscode-button");
    retry.setAttribute("secondary", "");
    retry.setAttribute("icon", "refresh");
    retry.setAttribute("aria-label", "Retry this answer");
    retry.className = "message__retry";
    retry.textContent = this.isRetryPending ? "Retrying…" : "Retry";
    retry.toggleAttribute("disabled", this.isRetryPending);
    retry.addEventListener("click", () => {
      if (!this.isRetryPending) this.actions.retry(this);
    });
    box.append(retry);
    const nodes: Node[] = [box];
    if (this.retryError) {
      const retryError = document.createElement("div");
      retryError.className = "message__retry-error";
      retryError.setAttribute("role", "alert");
      retryError.textContent = `Retry failed: ${this.retryError}`;
      nodes.push(retryError);
    }
    return nodes;
  }

  private createFooterContent(): Node[] {
    const message = this.current;
    const metadata = formatAnswerMetadata(message);
    const nodes: Node[] = [];
    if (metadata) {
      const line = document.createElement("span");
      line.className = "message__metadata";
      line.textContent = metadata;
      if (message.durationMs !== null) line.title = `Answered in ${formatDuration(message.durationMs)}`;
      nodes.push(line);
    }
    const fit = describeContextFit(message);
    if (fit) {
      const note = document.createElement("span");
      note.className = "message__context-note";
      note.append(createIcon("fold"), document.createTextNode(fit));
      nodes.push(note);
    }
    return nodes;
  }
}

/** A rough rendered height for a message's text: ~90 characters a line, code lines a little shorter. */
function estimateHeightPx(content: string): number {
  let lines = 0;
  for (const line of content.split("\n")) lines += Math.max(1, Math.ceil(line.length / 90));
  const codeBlocks = (content.match(/^```/gm)?.length ?? 0) / 2;
  return Math.min(20_000, Math.round(40 + lines * 20 + codeBlocks * 44));
}
