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
import { CompareView } from "./compare-view";
import type { BranchEntry } from "./loaded-branch";

export interface MessageViewActions {
  /** Regenerate the answer; `modelId`: on that model alone ("Rerun on …" after a fallback). */
  retry(messageId: string, modelId?: string): void;
  /** "Rerun with…": the host asks which model, then answers the same question again with it (a sibling answer). */
  rerunWith(messageId: string): void;
  /** Edit a question: a sibling question with a fresh answer. Resolves false (the editor stays open) when it failed. */
  submitEdit(messageId: string, content: string): Promise<boolean>;
  /** The sibling navigator (‹ 2/3 ›): show the previous or next sibling's branch. */
  switchSibling(messageId: string, direction: "previous" | "next"): void;
  /** The answers of an open compare this answer stands for (it is the first of them), or undefined. */
  compareFor(entry: BranchEntry): readonly Message[] | undefined;
  /** "Continue with this one" in a compare. */
  continueWith(messageId: string): void;
  /** "Show Context": what the answer's request carried, opened by the host. */
  showContext(messageId: string): void;
  /** A file, selection or image sent with a question, opened by the host as it was stored. */
  openAttachment(messageId: string, attachmentId: string, path: string): void;
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
  /** A question's Edit button and sibling navigator (answers have theirs in the footer). */
  private questionActions: HTMLElement | undefined;
  private editor: HTMLElement | undefined;
  private compareView: CompareView | undefined;

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
      this.questionActions = document.createElement("div");
      this.questionActions.className = "message__actions";
      author.append(createIcon("account"), document.createTextNode("You"), this.questionActions);
      this.element.append(author, this.body);
      // the files and selections sent with it (their text is in Show Context of its answers)
      const attachments = message.attachments ?? [];
      if (attachments.length > 0) {
        const list = document.createElement("ul");
        list.className = "message__attachments";
        list.setAttribute("aria-label", "Context sent with this message");
        for (const attachment of attachments) {
          const item = document.createElement("li");
          const lines = attachment.startLine === null ? "" : `:${attachment.startLine}–${attachment.endLine ?? attachment.startLine}`;
          // a button: it opens what was sent, as the server stored it, in an editor tab
          const open = document.createElement("button");
          open.type = "button";
          open.className = "message__attachment";
          open.title = `Open ${attachment.path}${lines} as it was sent (about ${attachment.tokenEstimate.toLocaleString("en-US")} tokens)`;
          open.setAttribute("aria-label", `Open ${attachment.path}${lines} as it was sent`);
          const icon = attachment.kind === "file" ? "file" : attachment.kind === "image" ? "file-media" : "selection";
          open.append(createIcon(icon), document.createTextNode(`${attachment.path}${lines}`));
          open.addEventListener("click", () => this.actions.openAttachment(message.id, attachment.id, attachment.path));
          item.append(open);
          list.append(item);
        }
        this.element.append(list);
      }
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
    const compared = this.entry.message.role === "assistant" ? this.actions.compareFor(this.entry) : undefined;
    if (compared !== undefined) {
      this.compareView ??= new CompareView(this.actions);
      this.compareView.render(compared);
      if (this.body.firstChild !== this.compareView.element || this.body.childNodes.length !== 1)
        this.body.replaceChildren(this.compareView.element);
      this.renderedContent = undefined;
      this.renderStatus();
      return;
    }
    if (this.compareView) {
      this.compareView = undefined;
      this.body.replaceChildren();
    }
    if (this.entry.edit !== undefined) {
      this.renderEditor();
      return;
    }
    this.editor?.remove();
    this.editor = undefined;
    this.body.hidden = false;
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
      this.element.setAttribute("aria-label", describeWithSiblings("Your message", message));
      const questionKey = JSON.stringify([message.siblings, this.entry.edit === undefined]);
      if (questionKey !== this.renderedStatusKey && this.questionActions) {
        this.renderedStatusKey = questionKey;
        this.questionActions.replaceChildren(...this.createSiblingNavigator(), ...this.createEditButton());
      }
      return;
    }
    if (this.compareView) {
      // each column of the compare shows its own model, status and metadata
      this.element.className = "message message--assistant message--compare";
      this.element.setAttribute("aria-label", "Compare");
      this.element.toggleAttribute("aria-busy", false);
      this.renderedStatusKey = undefined;
      this.statusLine.replaceChildren();
      this.footer.replaceChildren();
      return;
    }
    const modelLabel = this.actions.modelLabel(message.modelId);
    const isAdmin = this.actions.isAdmin();
    this.element.setAttribute("aria-label", describeWithSiblings(`Answer from ${modelLabel ?? "the model"}`, message));
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
      message.siblings,
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
      return [label, ...this.createRetryError()];
    }
    const problem = describeAnswerProblem(message, isAdmin);
    if (!problem) return this.createRetryError();
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
    return [box, ...this.createRetryError()];
  }

  /** Why the last Retry, Regenerate or Rerun of this answer failed, if it did. */
  private createRetryError(): Node[] {
    const retryError = this.entry.retry?.error;
    if (!retryError) return [];
    const line = document.createElement("div");
    line.className = "message__retry-error";
    line.setAttribute("role", "alert");
    line.textContent = `Retry failed: ${retryError}`;
    return [line];
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

  /** Regenerate and "Rerun with…" on every finished answer (complete, stopped, failed), beside its sibling navigator. */
  private createAnswerActions(): HTMLElement {
    const actions = document.createElement("span");
    actions.className = "message__actions";
    const isPending = this.entry.retry?.isPending ?? false;
    const regenerate = createActionButton("refresh", "Regenerate", "Regenerate: a new answer from the same model, beside this one");
    regenerate.classList.add("message__regenerate");
    regenerate.disabled = isPending;
    regenerate.addEventListener("click", () => {
      if (!this.entry.retry?.isPending) this.actions.retry(this.id);
    });
    const rerun = createActionButton("arrow-swap", "Rerun with…", "Rerun with…: answer this question again with another model");
    rerun.classList.add("message__rerun-with");
    rerun.disabled = isPending;
    rerun.addEventListener("click", () => {
      if (!this.entry.retry?.isPending) this.actions.rerunWith(this.id);
    });
    actions.append(...this.createSiblingNavigator(), regenerate, rerun);
    return actions;
  }

  /** ‹ 2/3 ›: which of the siblings (edits of a question, answers to it) is in view, and the way to the others. */
  private createSiblingNavigator(): HTMLElement[] {
    const siblings = this.entry.message.siblings;
    if (siblings === undefined || siblings.count < 2) return [];
    const what = this.entry.message.role === "user" ? "version of this message" : "answer";
    const navigator = document.createElement("span");
    navigator.className = "message__siblings";
    navigator.setAttribute("role", "group");
    navigator.setAttribute("aria-label", `${capitalise(what)} ${siblings.position} of ${siblings.count}`);
    const previous = createActionButton("chevron-left", undefined, `Previous ${what}`);
    previous.classList.add("message__sibling-previous");
    previous.disabled = siblings.position <= 1;
    previous.addEventListener("click", () => this.actions.switchSibling(this.id, "previous"));
    const position = document.createElement("span");
    position.className = "message__sibling-position";
    position.textContent = `${siblings.position}/${siblings.count}`;
    position.setAttribute("aria-hidden", "true");
    const next = createActionButton("chevron-right", undefined, `Next ${what}`);
    next.classList.add("message__sibling-next");
    next.disabled = siblings.position >= siblings.count;
    next.addEventListener("click", () => this.actions.switchSibling(this.id, "next"));
    navigator.append(previous, position, next);
    return [navigator];
  }

  private createEditButton(): HTMLElement[] {
    if (this.entry.edit !== undefined) return [];
    const edit = createActionButton("edit", undefined, "Edit: send a changed version of this message (a new branch)");
    edit.classList.add("message__edit");
    edit.addEventListener("click", () => {
      this.entry.edit = { draft: this.entry.message.content, isPending: false };
      this.render();
      this.editor?.querySelector("textarea")?.focus();
    });
    return [edit];
  }

  /** The question's text in a text area with Send and Cancel (Ctrl/Cmd+Enter sends, Escape cancels). */
  private renderEditor(): void {
    const edit = this.entry.edit;
    if (edit === undefined) return;
    this.body.hidden = true;
    if (!this.editor) {
      this.editor = document.createElement("div");
      this.editor.className = "message__editor";
      const input = document.createElement("textarea");
      input.className = "message__editor-input";
      input.setAttribute("aria-label", "Edit your message");
      input.rows = Math.min(12, Math.max(3, edit.draft.split("\n").length));
      input.value = edit.draft;
      input.addEventListener("input", () => {
        if (this.entry.edit) this.entry.edit.draft = input.value;
      });
      const buttons = document.createElement("div");
      buttons.className = "message__editor-buttons";
      const cancel = document.createElement("vscode-button");
      cancel.setAttribute("secondary", "");
      cancel.className = "message__editor-cancel";
      cancel.textContent = "Cancel";
      const save = document.createElement("vscode-button");
      save.className = "message__editor-send";
      save.textContent = "Send";
      const submit = async () => {
        const current = this.entry.edit;
        if (!current || current.isPending || current.draft.trim() === "") return;
        current.isPending = true;
        current.error = undefined;
        this.renderEditorState();
        const isSent = await this.actions.submitEdit(this.id, current.draft);
        if (isSent) this.entry.edit = undefined;
        else if (this.entry.edit) this.entry.edit.isPending = false;
        this.render();
      };
      const close = () => {
        this.entry.edit = undefined;
        this.render();
        this.questionActions?.querySelector<HTMLElement>(".message__edit")?.focus();
      };
      save.addEventListener("click", () => void submit());
      cancel.addEventListener("click", close);
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          void submit();
        } else if (event.key === "Escape") {
          // Escape here closes the editor; it must not also stop the answer being written
          event.preventDefault();
          event.stopPropagation();
          close();
        }
      });
      const error = document.createElement("div");
      error.className = "message__editor-error";
      error.setAttribute("role", "alert");
      buttons.append(cancel, save);
      this.editor.append(input, error, buttons);
      this.element.append(this.editor);
    }
    this.renderEditorState();
  }

  private renderEditorState(): void {
    const edit = this.entry.edit;
    if (!this.editor || edit === undefined) return;
    this.editor.querySelector(".message__editor-send")?.toggleAttribute("disabled", edit.isPending);
    const error = this.editor.querySelector<HTMLElement>(".message__editor-error");
    if (error) error.textContent = edit.error === undefined ? "" : `Not sent: ${edit.error}`;
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
    if (message.status === "streaming") return nodes;
    nodes.push(this.createAnswerActions());
    // Only a finished answer has a complete record of what its request carried.
    if (message.context === null) return nodes;
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

function createActionButton(icon: string, text: string | undefined, title: string): HTMLButtonElement {
  const button = document.createElement("button");
  button.type = "button";
  button.className = text === undefined ? "icon-button message__action" : "message__action message__action--text";
  button.title = title;
  if (text === undefined) button.setAttribute("aria-label", title.split(":")[0]!);
  button.append(createIcon(icon));
  if (text !== undefined) button.append(document.createTextNode(text));
  return button;
}

function describeWithSiblings(label: string, message: Message): string {
  const siblings = message.siblings;
  return siblings === undefined || siblings.count < 2 ? label : `${label}, ${siblings.position} of ${siblings.count}`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
