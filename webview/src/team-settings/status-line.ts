import { createIcon } from "../create-icon";

export type StatusKind = "success" | "error" | "info" | "progress";

const ICONS: Record<StatusKind, string> = { success: "pass", error: "error", info: "info", progress: "loading" };

/** A line that tells the result of the last action in plain words (announced to screen readers). */
export class StatusLine {
  readonly element: HTMLElement;

  constructor(className = "status-line") {
    this.element = document.createElement("div");
    this.element.className = className;
    this.element.setAttribute("role", "status");
    this.element.setAttribute("aria-live", "polite");
    this.element.hidden = true;
  }

  show(kind: StatusKind, text: string): void {
    this.element.hidden = false;
    this.element.dataset.kind = kind;
    const icon = createIcon(ICONS[kind], kind === "progress" ? "codicon-modifier-spin" : undefined);
    const label = document.createElement("span");
    label.textContent = text;
    this.element.replaceChildren(icon, label);
  }

  clear(): void {
    this.element.hidden = true;
    this.element.replaceChildren();
  }
}
