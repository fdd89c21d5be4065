import type { Message } from "../../../protocol/http/conversations";
import { type CodeBlockAction, type CodeBlockSource, codeBlockActionFromElement, getCodeBlockSource } from "../markdown/code-block-view";
import { createIcon } from "../create-icon";
import { MessageView, type MessageViewActions } from "./message-view";

export interface ScrollPosition {
  scrollTop: number;
  isPinnedToBottom: boolean;
  /** The message at the top of the viewport and how far it is scrolled past its top. */
  anchor: { messageId: string; offsetPx: number } | null;
}

export interface MessageListOptions extends MessageViewActions {
  onLinkOpen(href: string): void;
  onCodeAction(action: CodeBlockAction, source: CodeBlockSource, button: HTMLElement): void;
  /** The user scrolled (or the list followed new text). */
  onScroll(): void;
}

/** Input that means the user is scrolling (programmatic scrolling fires none of these). */
const USER_SCROLL_EVENTS = ["wheel", "pointerdown", "keydown", "touchstart"] as const;

/** How close to the bottom still counts as "at the bottom" (sub-pixel scroll positions, rounding). */
const PINNED_THRESHOLD_PX = 8;

/**
 * The conversation's messages. Performance rules for long conversations:
 * - a streamed delta only appends to its message's text; that one message's markdown is rendered
 *   at most once per animation frame, however many deltas arrive;
 * - every message has `content-visibility: auto`, so off-screen messages cost no layout or paint;
 * - it follows new text only while the user is at the bottom (`isPinnedToBottom`).
 */
export class MessageListView {
  readonly element: HTMLElement;
  private readonly content: HTMLElement;
  private readonly emptyState: HTMLElement;
  private views: MessageView[] = [];
  private readonly viewsById = new Map<string, MessageView>();
  private readonly viewsToRender = new Set<MessageView>();
  private isFrameRequested = false;
  private isPinned = true;
  /** scrollTop right after the last scrollToBottom(). */
  private followedScrollTop = 0;
  private stopHoldingAnchor: (() => void) | undefined;

  constructor(private readonly options: MessageListOptions) {
    this.element = document.createElement("main");
    this.element.className = "message-list";
    this.element.setAttribute("aria-label", "Conversation");
    // Focusable so keyboard users can scroll the conversation.
    this.element.tabIndex = 0;
    this.content = document.createElement("div");
    this.content.className = "message-list__content";
    this.emptyState = createEmptyState();
    this.element.append(this.emptyState, this.content);

    this.element.addEventListener(
      "scroll",
      () => {
        this.isPinned = this.isAtBottom() || (this.isPinned && !this.hasMovedUpSinceFollowing());
        this.options.onScroll();
      },
      { passive: true },
    );
    // New text, a message measured for the first time, a resized view: stay at the bottom if there.
    new ResizeObserver(() => {
      if (this.isPinned) this.scrollToBottom();
    }).observe(this.content);
    this.content.addEventListener("click", (event) => this.onClick(event));
    // Middle-click would otherwise try to open the link in a new window.
    this.content.addEventListener("auxclick", (event) => this.onClick(event));
    this.updateEmptyState();
  }

  get isPinnedToBottom(): boolean {
    return this.isPinned;
  }

  get messageCount(): number {
    return this.views.length;
  }

  setEmptyStateText(heading: string, detail: string): void {
    this.emptyState.querySelector(".empty-state__heading")!.textContent = heading;
    this.emptyState.querySelector(".empty-state__detail")!.textContent = detail;
  }

  /** Replaces everything (a snapshot). */
  setMessages(messages: readonly Message[]): void {
    this.viewsToRender.clear();
    this.viewsById.clear();
    this.views = [];
    const fragment = document.createDocumentFragment();
    for (const message of messages) {
      if (message.role === "system") continue;
      const view = new MessageView(message, this.options);
      this.views.push(view);
      this.viewsById.set(message.id, view);
      fragment.append(view.element);
    }
    this.content.replaceChildren(fragment);
    this.updateEmptyState();
  }

  /**
   * Adds new messages, or updates ones already shown. A message whose parent already has a reply
   * here is a new branch (a retry or an edit): it replaces that reply and everything after it.
   */
  upsertMessages(messages: readonly Message[]): void {
    for (const message of messages) {
      if (message.role === "system") continue;
      const existing = this.viewsById.get(message.id);
      if (existing) {
        existing.update(message);
        this.viewsToRender.delete(existing);
        continue;
      }
      if (message.parentId !== null) {
        const siblingIndex = this.views.findIndex((view) => view.message.parentId === message.parentId);
        if (siblingIndex >= 0) this.removeFrom(siblingIndex);
      }
      const view = new MessageView(message, this.options);
      this.views.push(view);
      this.viewsById.set(message.id, view);
      this.content.append(view.element);
    }
    this.updateEmptyState();
  }

  /** A message's final state: shown at once (any pending frame for it is dropped). Returns false if it is not in the list. */
  updateMessage(message: Message): boolean {
    const view = this.viewsById.get(message.id);
    if (!view) return false;
    this.viewsToRender.delete(view);
    view.update(message);
    return true;
  }

  /** Appends streamed text to a message; it is rendered on the next animation frame. */
  appendDelta(messageId: string, text: string): boolean {
    const view = this.viewsById.get(messageId);
    if (!view) return false;
    view.appendText(text);
    this.viewsToRender.add(view);
    this.requestFrame();
    return true;
  }

  getView(messageId: string): MessageView | undefined {
    return this.viewsById.get(messageId);
  }

  streamingMessageId(): string | undefined {
    for (let index = this.views.length - 1; index >= 0; index--) {
      if (this.views[index]!.isStreaming) return this.views[index]!.id;
    }
    return undefined;
  }

  getScrollPosition(): ScrollPosition {
    return { scrollTop: this.element.scrollTop, isPinnedToBottom: this.isPinned, anchor: this.findAnchor() };
  }

  restoreScrollPosition(position: Omit<ScrollPosition, "anchor"> & { anchor?: ScrollPosition["anchor"] }): void {
    this.stopHoldingAnchor?.();
    if (position.isPinnedToBottom) {
      this.isPinned = true;
      this.scrollToBottom();
      return;
    }
    this.isPinned = false;
    const anchorView = position.anchor ? this.viewsById.get(position.anchor.messageId) : undefined;
    if (!anchorView || !position.anchor) {
      this.element.scrollTop = position.scrollTop;
      this.isPinned = this.isAtBottom();
      return;
    }
    this.holdAnchor(anchorView, position.anchor.offsetPx);
  }

  /**
   * Puts the anchor message at its saved offset, and keeps it there for a few frames: scrolling
   * makes the browser lay out messages near the viewport for the first time (content-visibility),
   * and the ones just above the anchor then change from their estimated to their real height.
   * Any input from the user ends the correction at once.
   */
  private holdAnchor(view: MessageView, offsetPx: number): void {
    this.stopHoldingAnchor?.();
    let framesLeft = 30;
    let stableFrames = 0;
    let frame = 0;
    const apply = (): boolean => {
      const target = view.element.offsetTop + offsetPx;
      if (Math.abs(this.element.scrollTop - target) <= 1) return false;
      this.element.scrollTop = target;
      return true;
    };
    const stop = () => {
      cancelAnimationFrame(frame);
      for (const type of USER_SCROLL_EVENTS) this.element.removeEventListener(type, stop);
      this.stopHoldingAnchor = undefined;
    };
    const step = () => {
      stableFrames = apply() ? 0 : stableFrames + 1;
      this.isPinned = false;
      if (--framesLeft <= 0 || stableFrames >= 3) stop();
      else frame = requestAnimationFrame(step);
    };
    for (const type of USER_SCROLL_EVENTS) this.element.addEventListener(type, stop, { passive: true });
    this.stopHoldingAnchor = stop;
    apply();
    frame = requestAnimationFrame(step);
  }

  scrollToBottom(): void {
    this.element.scrollTop = this.element.scrollHeight;
    this.followedScrollTop = this.element.scrollTop;
  }

  /**
   * Whether the list was scrolled up from where following put it. Only that unpins: a list that is
   * merely no longer at the bottom because messages below got taller after the scroll (laid out
   * for the first time: content-visibility) must keep following. Seen in VS Code: a long answer
   * arriving right after the question left the reader 400 px above its end.
   */
  private hasMovedUpSinceFollowing(): boolean {
    return this.element.scrollTop < this.followedScrollTop - 1;
  }

  private removeFrom(index: number): void {
    for (const view of this.views.splice(index)) {
      view.element.remove();
      this.viewsById.delete(view.id);
      this.viewsToRender.delete(view);
    }
  }

  private requestFrame(): void {
    if (this.isFrameRequested) return;
    this.isFrameRequested = true;
    requestAnimationFrame(() => {
      this.isFrameRequested = false;
      for (const view of this.viewsToRender) view.renderContent();
      this.viewsToRender.clear();
      if (this.isPinned) this.scrollToBottom();
    });
  }

  private isAtBottom(): boolean {
    const { scrollTop, scrollHeight, clientHeight } = this.element;
    return scrollHeight - scrollTop - clientHeight <= PINNED_THRESHOLD_PX;
  }

  /** Binary search: messages are laid out top to bottom, so their offsets are sorted. */
  private findAnchor(): ScrollPosition["anchor"] {
    if (this.views.length === 0) return null;
    const scrollTop = this.element.scrollTop;
    let low = 0;
    let high = this.views.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      const element = this.views[middle]!.element;
      if (element.offsetTop + element.offsetHeight <= scrollTop) low = middle + 1;
      else high = middle;
    }
    const view = this.views[low]!;
    return { messageId: view.id, offsetPx: scrollTop - view.element.offsetTop };
  }

  private updateEmptyState(): void {
    this.emptyState.hidden = this.views.length > 0;
  }

  private onClick(event: MouseEvent): void {
    if (!(event.target instanceof Element)) return;
    const link = event.target.closest("a");
    if (link && this.content.contains(link)) {
      // Never navigate the webview: the host opens links (with VS Code's own confirmation).
      event.preventDefault();
      if (link.classList.contains("markdown-link") && (event.type === "click" || event.button === 1)) {
        this.options.onLinkOpen(link.href);
      }
      return;
    }
    if (event.type !== "click") return;
    const button = event.target.closest<HTMLElement>("[data-code-action]");
    const action = button ? codeBlockActionFromElement(button) : undefined;
    const block = button?.closest(".code-block");
    const source = block ? getCodeBlockSource(block) : undefined;
    if (button && action && source) this.options.onCodeAction(action, source, button);
  }
}

function createEmptyState(): HTMLElement {
  const emptyState = document.createElement("div");
  emptyState.className = "empty-state";
  const heading = document.createElement("h2");
  heading.className = "empty-state__heading";
  heading.textContent = "Start a conversation";
  const detail = document.createElement("p");
  detail.className = "empty-state__detail";
  detail.textContent = "Ask anything. You can switch models at any time: the next model sees the whole conversation.";
  emptyState.append(createIcon("comment-discussion", "empty-state__icon"), heading, detail);
  return emptyState;
}
