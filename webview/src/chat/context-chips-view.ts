import type { ComposerAttachment } from "../../../protocol/webview/chat-protocol";
import { ATTACHMENTS_PER_MESSAGE_MAX } from "../../../protocol/http/attachments";
import { createIcon } from "../create-icon";

/**
 * The composer's context: one removable chip per file or selection the next message carries, with
 * its size in tokens. Each chip is a button group: its label says what it is, its × removes it
 * (keyboard: Tab to it, Enter or Delete).
 */
export class ContextChipsView {
  readonly element: HTMLElement;
  private chips: ComposerAttachment[] = [];

  constructor(private readonly onChanged: (announcement: string) => void) {
    this.element = document.createElement("div");
    this.element.className = "context-chips";
    this.element.setAttribute("role", "list");
    this.element.setAttribute("aria-label", "Context sent with your message");
    this.element.hidden = true;
  }

  get attachments(): ComposerAttachment[] {
    return [...this.chips];
  }

  /** Adds a chip (the same file or selection twice counts once); false when the message has no room for more. */
  add(chip: ComposerAttachment): boolean {
    const key = keyOf(chip);
    if (this.chips.some((existing) => keyOf(existing) === key)) return true;
    if (this.chips.length >= ATTACHMENTS_PER_MESSAGE_MAX) return false;
    this.chips.push(chip);
    this.render();
    this.onChanged(`Added ${describe(chip)} to the context`);
    return true;
  }

  clear(): void {
    this.chips = [];
    this.render();
  }

  private remove(index: number): void {
    const [removed] = this.chips.splice(index, 1);
    this.render();
    if (removed) this.onChanged(`Removed ${describe(removed)} from the context`);
    const next = this.element.querySelectorAll<HTMLElement>(".context-chip__remove")[Math.min(index, this.chips.length - 1)];
    next?.focus();
  }

  private render(): void {
    this.element.hidden = this.chips.length === 0;
    this.element.replaceChildren(
      ...this.chips.map((chip, index) => {
        const item = document.createElement("span");
        item.className = "context-chip";
        item.setAttribute("role", "listitem");
        const label = document.createElement("span");
        label.className = "context-chip__label";
        label.textContent = labelOf(chip);
        label.title = `${describe(chip)}: about ${chip.tokenEstimate.toLocaleString("en-US")} tokens`;
        const size = document.createElement("span");
        size.className = "context-chip__size";
        size.textContent = formatTokens(chip.tokenEstimate);
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "icon-button context-chip__remove";
        remove.setAttribute("aria-label", `Remove ${describe(chip)}`);
        remove.title = "Remove from the context";
        remove.append(createIcon("close"));
        remove.addEventListener("click", () => this.remove(index));
        remove.addEventListener("keydown", (event) => {
          if (event.key === "Delete" || event.key === "Backspace") {
            event.preventDefault();
            this.remove(index);
          }
        });
        const icon = chip.attachment.kind === "file" ? "file" : chip.attachment.kind === "image" ? "file-media" : "selection";
        item.append(createIcon(icon), label, size, remove);
        return item;
      }),
    );
  }
}

function keyOf(chip: ComposerAttachment): string {
  const attachment = chip.attachment;
  if (attachment.kind === "selection") return `selection:${attachment.path}:${attachment.startLine}-${attachment.endLine}`;
  // two pasted images may share a name: their bytes tell them apart
  return attachment.kind === "image"
    ? `image:${attachment.path}:${attachment.data.length}:${attachment.data.slice(-32)}`
    : `file:${attachment.path}`;
}

function labelOf(chip: ComposerAttachment): string {
  const attachment = chip.attachment;
  const name = attachment.path.split("/").at(-1) ?? attachment.path;
  return attachment.kind === "selection" ? `${name}:${attachment.startLine}–${attachment.endLine}` : name;
}

function describe(chip: ComposerAttachment): string {
  const attachment = chip.attachment;
  if (attachment.kind === "selection") return `selection ${attachment.path} lines ${attachment.startLine}–${attachment.endLine}`;
  return `${attachment.kind} ${attachment.path}`;
}

/** "1.2K tokens". */
function formatTokens(tokens: number): string {
  const text = tokens < 1000 ? String(tokens) : `${(tokens / 1000).toFixed(tokens < 10_000 ? 1 : 0)}K`;
  return `${text} tokens`;
}
