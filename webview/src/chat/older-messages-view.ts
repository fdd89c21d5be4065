import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import { createIcon } from "../create-icon";

const numberFormat = new Intl.NumberFormat("en-US");

/**
 * The space above the loaded messages that stands for the ones not loaded yet: as tall as they are
 * estimated to be, so the scrollbar shows where the reader is in the whole conversation. Its label
 * stays at the top of the viewport while it is in view: loading, or what went wrong with a Retry.
 */
export class OlderMessagesView {
  readonly element: HTMLElement;
  private readonly status: HTMLElement;
  private renderedHeightPx = -1;
  private renderedStatusKey = "";

  constructor(private readonly onRetry: () => void) {
    this.element = document.createElement("div");
    this.element.className = "message-list__older";
    this.status = document.createElement("div");
    this.status.className = "message-list__older-status";
    this.status.setAttribute("role", "status");
    this.element.append(this.status);
    this.element.hidden = true;
  }

  /** Height 0 hides it (the loaded messages start at the root). Returns whether its height changed. */
  update(heightPx: number, state: { unloadedCount: number; isLoading: boolean; error: string | undefined }): boolean {
    const height = Math.round(heightPx);
    const isResized = height !== this.renderedHeightPx;
    if (isResized) {
      this.renderedHeightPx = height;
      this.element.hidden = height === 0;
      this.element.style.setProperty("height", `${height}px`);
    }
    const statusKey = JSON.stringify(state);
    if (statusKey !== this.renderedStatusKey) {
      this.renderedStatusKey = statusKey;
      this.status.replaceChildren(...this.createStatusContent(state));
    }
    return isResized;
  }

  private createStatusContent(state: { unloadedCount: number; isLoading: boolean; error: string | undefined }): Node[] {
    if (state.error !== undefined) {
      const text = document.createElement("span");
      text.textContent = `Could not load older messages: ${state.error}`;
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "message-list__older-retry";
      retry.textContent = "Retry";
      retry.setAttribute("aria-label", "Retry loading older messages");
      retry.addEventListener("click", () => this.onRetry());
      return [createIcon("warning"), text, retry];
    }
    const label = document.createElement("span");
    if (state.isLoading) {
      const ring = document.createElement("vscode-progress-ring");
      ring.className = "message-list__older-progress";
      ring.setAttribute("aria-label", "Loading older messages");
      label.textContent = "Loading older messages…";
      return [ring, label];
    }
    if (state.unloadedCount === 0) label.textContent = "Older messages";
    else label.textContent = `${numberFormat.format(state.unloadedCount)} older message${state.unloadedCount === 1 ? "" : "s"}`;
    return [createIcon("history"), label];
  }
}
