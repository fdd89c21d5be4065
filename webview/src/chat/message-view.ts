import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import type { Message } from "../../../protocol/http/conversations";
import { renderMarkdownInto } from "../markdown/safe-markdown";
import {
  describeAnswerProblem,
  describeContextFit,
  describeContextFitBriefly,
  describeFallback,
  describeStreamStatus,
  formatAnswerMetadata,
  formatDuration,
} from "./answer-metadata";
import { createIcon } from "../create-icon";
import type { BranchEntry } from "./loaded-branch";

export interface MessageViewActions {
  /** Regenerate the answer; `modelId`: on that model alone ("Rerun on …" after a fallback). */
  retry(messageId: string, modelId?: string): void;
  /** "Show Context": what the answer's request carried, opened by the host. */
  showContext(messageId: string): void;
  /** How an answer names its model: the display name the picker and the status bar show. */
  modelLabel(modelId: string | null): string | undefined;
  /** Whether the reader is an admin: problems only an admin can fix are worded for whoever reads them. */
  isAdmin(): boolean;
}

/**
 * One rendered message of the list. Views exist only while their message is on screen (or near
 * it); everything that must outlive a view (the text, a retry in progress, a status) lives in its
 * `BranchEntry`. While the answer streams only its body is re-rendered (by the list, at most once
 * per animation frame), and its status line and footer change only when the message's status or
 * metadata does.
 */
export class MessageView {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly statusLine: HTMLElement;
  private readonly footer: HTMLElement;
  private renderedContent: string | undefined;
  private renderedStatusKey: string | undefined;

  constructor(
    readonly entry: BranchEntry,
    private readonly actions: MessageViewActions,
  ) {
    const message = entry.message;
    this.element = document.createElement("article");
    this.element.dataset.messageId = message.id;
    this.body = document.createElement("div");
    this.body.className = "message__body markdown-body";
    this.statusLine = document.createElement("div");
    this.statusLine.className = "message__status";
    this.footer = document.createElement("div");
    this.footer.className = "message__meta";
    if (message.role === "user") {
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
    this.render();
  }

  get message(): Message {
    return this.entry.message;
  }

  get id(): string {
    return this.entry.message.id;
  }

  /** Renders what changed in the entry since the last render: text, status, metadata. */
  render(): void {
    this.renderContent();
    this.renderStatus();
  }

  /** Renders the markdown if the text changed since the last render. */
  renderContent(): void {
    const content = this.entry.message.content;
    if (this.renderedContent === content) return;
    this.renderedContent = content;
    renderMarkdownInto(this.body, content);
    this.renderStatus();
  }

  /** Where the list shows this message among all of the branch's (for screen readers: "5,001 of 10,000"). */
  setPosition(position: number, setSize: number): void {
    const positionText = String(position);
    const setSizeText = String(setSize);
    if (this.element.getAttribute("aria-posinset") !== positionText) this.element.setAttribute("aria-posinset", positionText);
    if (this.element.getAttribute("aria-setsize") !== setSizeText) this.element.setAttribute("aria-setsize", setSizeText);
  }

  renderStatus(): void {
    const message = this.entry.message;
    const role = message.role === "user" ? "user" : "assistant";
    this.element.className = `message message--${role} message--${message.status}`;
    if (role === "user") {
      this.element.setAttribute("aria-label", "Your message");
      return;
    }
    const modelLabel = this.actions.modelLabel(message.modelId);
    const isAdmin = this.actions.isAdmin();
    this.element.setAttribute("aria-label", `Answer from ${modelLabel ?? "the model"}`);
    this.element.toggleAttribute("aria-busy", message.status === "streaming");
    const statusKey = JSON.stringify([
      message.status,
      message.modelId,
      modelLabel,
      isAdmin,
      message.inputTokens,
      message.outputTokens,
      message.timeToFirstTokenMs,
      message.durationMs,
      message.error,
      message.context?.leftOutMessageCount ?? 0,
      message.context?.summary?.messageCount ?? 0,
      message.context === null,
      message.context?.fallback?.requestedModelId,
      this.entry.retry,
      this.entry.streamStatus,
      message.content.length === 0,
    ]);
    if (statusKey === this.renderedStatusKey) return;
    this.renderedStatusKey = statusKey;
    this.statusLine.replaceChildren(...this.createStatusContent(isAdmin));
    this.footer.replaceChildren(...this.createFooterContent(modelLabel));
  }

  private createStatusContent(isAdmin: boolean): Node[] {
    const message = this.entry.message;
    if (message.status === "streaming") {
      const ring = document.createElement("vscode-progress-ring");
      ring.className = "message__progress";
      ring.setAttribute("aria-label", "Answer is being generated");
      const label = document.createElement("span");
      label.className = "message__progress-label";
      const streamStatus = this.entry.streamStatus;
      if (streamStatus) label.textContent = describeStreamStatus(streamStatus);
      else label.textContent = message.content.length === 0 ? "Thinking…" : "Generating…";
      return [ring, label];
    }
    if (message.status === "stopped") {
      const label = document.createElement("span");
      label.className = "message__stopped";
      label.append(createIcon("debug-stop"), document.createTextNode("Stopped"));
      return [label];
    }
    const problem = describeAnswerProblem(message, isAdmin);
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
    const isRetryPending = this.entry.retry?.isPending ?? false;
    retry.textContent = isRetryPending ? "Retrying…" : "Retry";
    retry.toggleAttribute("disabled", isRetryPending);
    retry.addEventListener("click", () => {
      if (!this.entry.retry?.isPending) this.actions.retry(this.id);
    });
    box.append(retry);
    const nodes: Node[] = [box];
    const retryError = this.entry.retry?.error;
    if (retryError) {
      const line = document.createElement("div");
      line.className = "message__retry-error";
      line.setAttribute("role", "alert");
      line.textContent = `Retry failed: ${retryError}`;
      nodes.push(line);
    }
    return nodes;
  }

  /** "Answered by X because Y was overloaded", and a button to ask Y itself again. */
  private createFallbackNote(fallback: { text: string; requestedModelId: string }): HTMLElement {
    const note = document.createElement("span");
    note.className = "message__fallback";
    const text = document.createElement("span");
    text.className = "message__fallback-text";
    text.textContent = fallback.text;
    const requested = this.actions.modelLabel(fallback.requestedModelId) ?? fallback.requestedModelId;
    const rerun = document.createElement("button");
    rerun.type = "button";
    rerun.className = "message__fallback-rerun";
    rerun.append(createIcon("refresh"), document.createTextNode(`Rerun on ${requested}`));
    rerun.title = `Answer this again with ${requested} (a new answer beside this one)`;
    rerun.disabled = this.entry.retry?.isPending ?? false;
    rerun.addEventListener("click", () => {
      if (!this.entry.retry?.isPending) this.actions.retry(this.id, fallback.requestedModelId);
    });
    note.append(createIcon("arrow-swap"), text, rerun);
    return note;
  }

  private createFooterContent(modelLabel: string | undefined): Node[] {
    const message = this.entry.message;
    const metadata = formatAnswerMetadata(message, modelLabel);
    const nodes: Node[] = [];
    if (metadata) {
      const line = document.createElement("span");
      line.className = "message__metadata";
      line.textContent = metadata;
      if (message.durationMs !== null) line.title = `Answered in ${formatDuration(message.durationMs)}`;
      nodes.push(line);
    }
    // Only a finished answer has a complete record of what its request carried.
    if (message.status === "streaming" || message.context === null) return nodes;
    const fallback = describeFallback(message);
    if (fallback) nodes.push(this.createFallbackNote(fallback));
    const fit = describeContextFitBriefly(message);
    if (fit) {
      // The note says what the answer did not see verbatim; Show Context says what it did.
      const note = document.createElement("button");
      note.type = "button";
      note.className = "message__context-note";
      note.title = `${describeContextFit(message)}. Show Context: what this answer's request carried`;
      note.append(createIcon("fold"), document.createTextNode(fit));
      note.addEventListener("click", () => this.actions.showContext(this.id));
      nodes.push(note);
    }
    const showContext = document.createElement("button");
    showContext.type = "button";
    showContext.className = "icon-button message__show-context";
    showContext.setAttribute("aria-label", "Show Context");
    showContext.title = "Show Context: what this answer's request carried";
    showContext.append(createIcon("layers"));
    showContext.addEventListener("click", () => this.actions.showContext(this.id));
    nodes.push(showContext);
    return nodes;
  }
}
