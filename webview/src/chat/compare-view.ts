import type { Message } from "../../../protocol/http/conversations";
import { renderMarkdownInto } from "../markdown/safe-markdown";
import { createIcon } from "../create-icon";
import { describeAnswerProblem, formatAnswerMetadata, formatDuration } from "./answer-metadata";

export interface CompareActions {
  modelLabel(modelId: string | null): string | undefined;
  isAdmin(): boolean;
  /** "Continue with this one": that answer becomes the branch in view. */
  continueWith(messageId: string): void;
}

/**
 * A compare's answers side by side (stacked when the view is narrow: the grid's columns are at least
 * a readable width), each with its model, tokens, time to first token and duration, and "Continue
 * with this one". Rendered into the first answer's place in the list; re-rendered as text streams,
 * each column only when its own text or status changed.
 */
export class CompareView {
  readonly element: HTMLElement;
  private readonly columns = new Map<string, { element: HTMLElement; key: string | undefined }>();

  constructor(private readonly actions: CompareActions) {
    this.element = document.createElement("div");
    this.element.className = "compare";
    this.element.setAttribute("role", "group");
  }

  render(messages: readonly Message[]): void {
    this.element.setAttribute("aria-label", `Compare: ${messages.length} answers side by side`);
    const ids = new Set(messages.map((message) => message.id));
    for (const [id, column] of this.columns) {
      if (!ids.has(id)) {
        column.element.remove();
        this.columns.delete(id);
      }
    }
    messages.forEach((message, index) => {
      let column = this.columns.get(message.id);
      if (!column) {
        column = { element: document.createElement("section"), key: undefined };
        column.element.className = "compare__answer";
        column.element.dataset.messageId = message.id;
        this.columns.set(message.id, column);
      }
      if (this.element.children[index] !== column.element) this.element.insertBefore(column.element, this.element.children[index] ?? null);
      const label = this.actions.modelLabel(message.modelId);
      const key = JSON.stringify([message.content, message.status, message.error, message.outputTokens, message.durationMs, label]);
      if (key === column.key) return;
      column.key = key;
      this.renderColumn(column.element, message, label, index === 0);
    });
  }

  private renderColumn(element: HTMLElement, message: Message, label: string | undefined, isInView: boolean): void {
    const model = label ?? "the model";
    element.setAttribute("aria-label", `Answer from ${model}`);
    element.toggleAttribute("aria-busy", message.status === "streaming");
    const header = document.createElement("header");
    header.className = "compare__model";
    header.append(createIcon("hubot"), document.createTextNode(model));
    const body = document.createElement("div");
    body.className = "compare__body markdown-body";
    renderMarkdownInto(body, message.content);
    const status = document.createElement("div");
    status.className = "compare__status";
    if (message.status === "streaming") status.textContent = message.content.length === 0 ? "Thinking…" : "Generating…";
    else if (message.status === "stopped") status.textContent = "Stopped";
    else status.textContent = describeAnswerProblem(message, this.actions.isAdmin()) ?? "";
    const metadata = document.createElement("div");
    metadata.className = "compare__metadata";
    const parts = [formatAnswerMetadata({ ...message, modelId: null }, undefined)];
    if (message.durationMs !== null) parts.push(`${formatDuration(message.durationMs)} in all`);
    metadata.textContent = parts.filter((part) => part !== "").join(" · ");
    const choose = document.createElement("button");
    choose.type = "button";
    choose.className = "compare__continue";
    // the first is the branch in view already: choosing it keeps that branch and closes the compare
    choose.append(createIcon(isInView ? "check" : "arrow-right"), document.createTextNode("Continue with this one"));
    choose.title = `Continue the conversation with ${model}'s answer`;
    choose.setAttribute("aria-label", `Continue with the answer from ${model}`);
    choose.disabled = message.status === "streaming";
    choose.addEventListener("click", () => this.actions.continueWith(message.id));
    element.replaceChildren(header, body, status, metadata, choose);
  }
}
