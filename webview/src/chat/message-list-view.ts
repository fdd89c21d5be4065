import type { Message } from "../../../protocol/http/conversations";
import { type CodeBlockAction, type CodeBlockSource, codeBlockActionFromElement, getCodeBlockSource } from "../markdown/code-block-view";
import { createIcon } from "../create-icon";
import { estimateMessageHeightPx } from "./estimate-message-height";
import { type BranchEntry, type BranchPage, LoadedBranch, type StreamStatus } from "./loaded-branch";
import { MessageView, type MessageViewActions } from "./message-view";
import { OlderMessagesView } from "./older-messages-view";

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
  /** The page of the branch above `cursor` (rejects with an Error whose message says what went wrong, in plain words). */
  loadOlder(cursor: string): Promise<BranchPage>;
  /** Messages were rendered or re-rendered (e.g. the find bar highlights its matches in them again). */
  onRendered?(): void;
}

/** Input that means the user is scrolling (programmatic scrolling fires none of these). */
const USER_SCROLL_EVENTS = ["wheel", "pointerdown", "keydown", "touchstart"] as const;

/** How close to the bottom still counts as "at the bottom" (sub-pixel scroll positions, rounding). */
const PINNED_THRESHOLD_PX = 8;

/** Messages are rendered this far beyond each edge of the viewport (at least), so scrolling shows no gap. */
const MINIMUM_OVERSCAN_PX = 200;

/** The next older page is requested while the reader is within this many viewports of the top of the loaded messages. */
const LOAD_AHEAD_VIEWPORTS = 2;
const MINIMUM_LOAD_AHEAD_PX = 800;

/** A pass re-measures and re-positions until what is rendered covers the viewport; this bounds it. */
const MAXIMUM_LAYOUT_ITERATIONS = 4;

/** For height estimates: the average width of a character of the editor's UI font. */
const AVERAGE_CHARACTER_WIDTH_PX = 7;

/**
 * The conversation's messages, virtualised, for conversations of any length:
 * - only the messages in and near the viewport have DOM (views are created when they come near and
 *   dropped when they leave); the rest is two spacers and, above, the estimated height of the
 *   messages not loaded yet, so the scrollbar tells where the reader is in the whole branch;
 * - each message's height is measured when it is rendered and remembered by id (estimated before);
 *   offsets come from a Fenwick tree (`HeightIndex`), so nothing per frame or per delta walks the
 *   conversation;
 * - older pages are requested (`loadOlder`) while the reader is still a couple of viewports below
 *   the top of what is loaded;
 * - what is on screen stays in place when a page arrives or an estimate above it is replaced by a
 *   measurement: the spacers are siblings of the messages (never their ancestors) and have
 *   `overflow-anchor: none`, so Chromium's scroll anchoring keeps the first visible message where
 *   it was, also during a smooth scroll (a scrollTop written by script would cancel it). At scroll
 *   offset 0 the browser does not anchor: a reader at the very top stays there while pages arrive,
 *   which is how Home reaches the first message;
 * - a streamed delta only appends to its message's text; that one message's markdown is rendered
 *   at most once per animation frame, however many deltas arrive, and only while it is rendered;
 * - it follows new text only while the user is at the bottom (`isPinnedToBottom`).
 */
export class MessageListView {
  readonly element: HTMLElement;
  private readonly content: HTMLElement;
  private readonly emptyState: HTMLElement;
  private readonly older: OlderMessagesView;
  private readonly spacerBefore: HTMLElement;
  private readonly spacerAfter: HTMLElement;
  private readonly branch: LoadedBranch;
  /** Rendered views: exactly the loaded messages with index in [renderedStart, renderedEnd), in order. */
  private readonly views = new Map<BranchEntry, MessageView>();
  private readonly viewsByElement = new WeakMap<Element, MessageView>();
  private renderedStart = 0;
  private renderedEnd = 0;
  private readonly viewsToRender = new Set<MessageView>();
  /** The compare shown side by side in the place of its first answer, if one is open. */
  private compare: { questionId: string; messages: Message[] } | null = null;
  private readonly messageResizeObserver: ResizeObserver;
  private isFrameRequested = false;
  private isPassRequested = false;
  private isPinned = true;
  /** scrollTop right after the last scrollToBottom(). */
  private followedScrollTop = 0;
  /** A saved position to go back to once its message is loaded (after a reload or a snapshot). */
  private restoreTarget: { messageId: string; offsetPx: number; fallbackScrollTop: number } | undefined;
  /** A revealMessage() waiting for its message to be rendered. */
  private reveal: { messageId: string; settle(element: HTMLElement | undefined): void } | undefined;
  /** Changes whenever the loaded messages are replaced: an older page asked for before is then dropped. */
  private generation = 0;
  private isLoadingOlder = false;
  private loadOlderError: string | undefined;
  private gapPx: number | undefined;
  private contentPaddingTopPx: number | undefined;
  private charactersPerLine = 60;
  private lastWidthPx = 0;

  constructor(private readonly options: MessageListOptions) {
    this.element = document.createElement("main");
    this.element.className = "message-list";
    this.element.setAttribute("aria-label", "Conversation");
    // Focusable so keyboard users can scroll the conversation.
    this.element.tabIndex = 0;
    this.content = document.createElement("div");
    this.content.className = "message-list__content";
    this.emptyState = createEmptyState();
    this.older = new OlderMessagesView(() => {
      this.loadOlderError = undefined;
      this.pass();
    });
    this.spacerBefore = createSpacer();
    this.spacerAfter = createSpacer();
    this.content.append(this.older.element, this.spacerBefore, this.spacerAfter);
    this.element.append(this.emptyState, this.content);
    this.branch = new LoadedBranch((message) => estimateMessageHeightPx(message, this.measureCharactersPerLine()));

    this.element.addEventListener(
      "scroll",
      () => {
        // While a saved position waits for its page, the list is not where the reader will be.
        if (this.restoreTarget === undefined) {
          this.isPinned = this.isAtBottom() || (this.isPinned && !this.hasMovedUpSinceFollowing());
        }
        // Scroll events come at most once per frame: rendering what came into view here shows no gap.
        this.pass();
        this.options.onScroll();
      },
      { passive: true },
    );
    for (const type of USER_SCROLL_EVENTS) {
      // The reader took over: a position still waiting for its page to load is no longer wanted.
      this.element.addEventListener(type, () => (this.restoreTarget = undefined), { passive: true });
    }
    this.element.addEventListener("keydown", (event) => this.onKeyDown(event));
    // A message's size changed after it was rendered (its text, a retry line, fonts, the width).
    this.messageResizeObserver = new ResizeObserver((entries) => this.onMessagesResized(entries));
    // The viewport changed (the composer grew, the view was resized): stay at the bottom if there.
    new ResizeObserver(() => this.onViewportResized()).observe(this.element);
    this.content.addEventListener("click", (event) => this.onClick(event));
    // Middle-click would otherwise try to open the link in a new window.
    this.content.addEventListener("auxclick", (event) => this.onClick(event));
    this.updateEmptyState();
  }

  get isPinnedToBottom(): boolean {
    return this.isPinned;
  }

  /** Messages loaded (not all of them are rendered). */
  get messageCount(): number {
    return this.branch.length;
  }

  /** What an empty conversation says, and the button that helps (e.g. an admin's "Open Team Settings"). */
  setEmptyState(heading: string, detail: string, action?: { label: string; run(): void }): void {
    this.emptyState.querySelector(".empty-state__heading")!.textContent = heading;
    this.emptyState.querySelector(".empty-state__detail")!.textContent = detail;
    this.emptyState.querySelector(".empty-state__action")?.remove();
    if (!action) return;
    const button = document.createElement("vscode-button");
    button.className = "empty-state__action";
    button.textContent = action.label;
    button.addEventListener("click", () => action.run());
    this.emptyState.append(button);
  }

  /** The newest message of the reader's own on the loaded branch ("Up" in an empty composer brings it back). */
  lastUserMessage(): Message | undefined {
    for (let index = this.branch.length - 1; index >= 0; index--) {
      const message = this.branch.at(index)!.message;
      if (message.role === "user") return message;
    }
    return undefined;
  }

  /** Whether an answer is loaded and still streaming (before its final state arrives). */
  isStreaming(messageId: string): boolean {
    return this.branch.get(messageId)?.message.status === "streaming";
  }

  /** Re-renders the status and metadata of the rendered answers (their model's label or the reader's role changed). */
  refreshMessageStatus(): void {
    for (const view of this.views.values()) view.renderStatus();
  }

  /**
   * Replaces the messages with the newest page of a branch (a snapshot) and goes to `scrollPosition`
   * (see restoreScrollPosition). With `keepOlder` (the same conversation again), older pages already
   * loaded stay when the page starts inside them.
   */
  setMessages(page: BranchPage & { branchMessageCount: number }, options: { keepOlder: boolean; scrollPosition: ScrollPosition }): void {
    this.generation += 1;
    this.isLoadingOlder = false;
    this.loadOlderError = undefined;
    const position = options.scrollPosition;
    const loadedAnchor = position.anchor ? this.describeLoadedAnchor(position.anchor) : undefined;
    this.removeAllViews();
    const { isOlderKept } = this.branch.reset(page, options);
    let anchor = position.anchor;
    // An anchor that was loaded is, if still on the branch, in the older pages kept or in this page
    // (when it was no higher up than the page's first message). Not there, a retry or an edit took
    // it off the branch: looking for it in older pages would load all of history. The message that
    // was above it stays where it was instead.
    const pageFirstDepth = page.branchMessageCount - page.messages.length;
    if (anchor && loadedAnchor && (isOlderKept || loadedAnchor.depth >= pageFirstDepth) && !this.branch.get(anchor.messageId)) {
      anchor = loadedAnchor.above && this.branch.get(loadedAnchor.above.messageId) ? loadedAnchor.above : null;
    }
    // One pass, for the position the reader will be at (not for the old one, then again).
    this.restoreScrollPosition({ ...position, anchor });
  }

  /** Where a loaded anchor message is in the branch, and the same position told by the message above it. */
  private describeLoadedAnchor(
    anchor: NonNullable<ScrollPosition["anchor"]>,
  ): { depth: number; above: NonNullable<ScrollPosition["anchor"]> | null } | undefined {
    const entry = this.branch.get(anchor.messageId);
    if (!entry) return undefined;
    const above = this.branch.at(entry.index - 1);
    return {
      depth: this.branch.unloadedCount + entry.index,
      above: above ? { messageId: above.message.id, offsetPx: anchor.offsetPx + this.branch.heightOf(above) } : null,
    };
  }

  /**
   * Adds new messages, or updates ones already shown. A message whose parent already has a reply
   * here is a new branch (a retry or an edit): it replaces that reply and everything after it.
   */
  upsertMessages(messages: readonly Message[]): void {
    let isStructureChanged = false;
    for (const message of messages) {
      const result = this.branch.upsert(message);
      if (!result) continue;
      if (result.kind === "updated") {
        this.renderEntry(result.entry);
        continue;
      }
      isStructureChanged = true;
      for (const removed of result.removed) this.removeView(removed);
      this.renderedEnd = Math.min(this.renderedEnd, result.entry.index);
      this.renderedStart = Math.min(this.renderedStart, this.renderedEnd);
    }
    if (isStructureChanged) this.pass();
  }

  /**
   * Opens (or closes, with null) a compare: its answers are shown side by side in the place of the
   * first of them, which is the answer on the branch in view.
   */
  setCompare(compare: { questionId: string; messages: readonly Message[] } | null): void {
    const previous = this.compareHost();
    this.compare = compare === null ? null : { questionId: compare.questionId, messages: [...compare.messages] };
    for (const entry of new Set([previous, this.compareHost()])) if (entry) this.renderEntry(entry);
  }

  /** The answers of the open compare, when `entry` is the one standing for them. */
  compareFor(entry: BranchEntry): readonly Message[] | undefined {
    const compare = this.compare;
    if (!compare || entry.message.parentId !== compare.questionId || entry.message.role !== "assistant") return undefined;
    // the entry's own message is the freshest copy of that answer
    return compare.messages.map((message) => (message.id === entry.message.id ? entry.message : message));
  }

  private compareHost(): BranchEntry | undefined {
    const first = this.compare?.messages[0];
    return first === undefined ? undefined : this.branch.get(first.id);
  }

  /** A compare answer that is not on the branch in view: kept in the compare, its column re-rendered. */
  private updateCompared(messageId: string, change: (message: Message) => Message): boolean {
    const compare = this.compare;
    const index = compare?.messages.findIndex((message) => message.id === messageId) ?? -1;
    if (!compare || index === -1) return false;
    compare.messages[index] = change(compare.messages[index]!);
    const host = this.compareHost();
    const view = host ? this.views.get(host) : undefined;
    if (view) {
      this.viewsToRender.add(view);
      this.requestFrame();
    }
    return true;
  }

  /** A message's final (or updated) state, shown at once (any pending frame for it is dropped). Returns false if it is not loaded and does not follow the loaded ones. */
  updateMessage(message: Message): boolean {
    const entry = this.branch.get(message.id);
    if (!entry && this.updateCompared(message.id, () => message)) return true;
    if (!entry) {
      const before = this.branch.length;
      this.upsertMessages([message]);
      return this.branch.length !== before || this.branch.get(message.id) !== undefined;
    }
    this.branch.replaceMessage(entry, message);
    this.renderEntry(entry);
    return true;
  }

  /** Appends streamed text to a message; it is rendered on the next animation frame (if it is on screen at all). */
  appendDelta(messageId: string, text: string): boolean {
    const entry = this.branch.get(messageId);
    if (!entry) return this.updateCompared(messageId, (message) => ({ ...message, content: message.content + text }));
    this.branch.appendText(entry, text);
    const view = this.views.get(entry);
    if (view) {
      this.viewsToRender.add(view);
      this.requestFrame();
    }
    return true;
  }

  /** What an answer is waiting for before its first token (null: nothing any more). */
  setStreamStatus(messageId: string, status: StreamStatus | null): boolean {
    const entry = this.branch.get(messageId);
    if (!entry) return false;
    entry.streamStatus = status !== null && entry.message.status === "streaming" ? status : undefined;
    this.views.get(entry)?.renderStatus();
    return true;
  }

  /** A retry of this answer is in progress, or failed (undefined: neither). */
  setRetryState(messageId: string, retry: BranchEntry["retry"]): void {
    const entry = this.branch.get(messageId);
    if (!entry) return;
    entry.retry = retry;
    this.views.get(entry)?.renderStatus();
  }

  /** An edit of this question could not be sent: its editor stays open and says why. */
  setEditError(messageId: string, error: string): void {
    const entry = this.branch.get(messageId);
    if (!entry?.edit) return;
    entry.edit = { ...entry.edit, isPending: false, error };
    this.views.get(entry)?.render();
  }

  streamingMessageId(): string | undefined {
    return this.branch.streamingEntry()?.message.id;
  }

  getScrollPosition(): ScrollPosition {
    return { scrollTop: this.element.scrollTop, isPinnedToBottom: this.isPinned, anchor: this.findAnchor() };
  }

  /**
   * Goes back to a saved position: to the bottom, or to the anchor message at its offset (loading
   * older pages until it is there, after a reload), or else to the raw scrollTop.
   */
  restoreScrollPosition(position: Omit<ScrollPosition, "anchor"> & { anchor?: ScrollPosition["anchor"] }): void {
    this.restoreTarget = undefined;
    if (position.isPinnedToBottom) {
      this.isPinned = true;
      this.pass();
      return;
    }
    this.isPinned = false;
    if (position.anchor) {
      this.restoreTarget = { ...position.anchor, fallbackScrollTop: position.scrollTop };
      this.pass();
      return;
    }
    this.element.scrollTop = position.scrollTop;
    this.isPinned = this.isAtBottom();
    this.pass();
  }

  scrollToBottom(): void {
    this.element.scrollTop = this.element.scrollHeight;
    this.followedScrollTop = this.element.scrollTop;
  }

  /**
   * Brings the DOM in line with the scroll position: renders the messages in and near the viewport,
   * drops the others, sizes the spacers, measures what was just rendered, then goes where the list
   * must be (the bottom when following, a position being restored). Repeats while measuring changed
   * which messages are in view. Costs O(rendered messages + log n).
   */
  private pass(): void {
    this.isPassRequested = false;
    this.updateEmptyState();
    // A hidden view (VS Code hides a webview it keeps) has no size: measuring now would record
    // every message as empty. The pass runs again when it is shown (the viewport observer).
    if (this.element.clientWidth === 0) return;
    // Sizes first, with the rendered messages still in place: the layout this forces lets scroll
    // anchoring keep the visible message where it was (a page arrived above, an estimate changed)
    // before the scroll position is read to decide what to render.
    const isOlderResized = this.updateOlder();
    const areSpacersResized = this.updateSpacers();
    if (isOlderResized || areSpacersResized) void this.content.offsetHeight;
    for (let iteration = 0; iteration < MAXIMUM_LAYOUT_ITERATIONS; iteration++) {
      const [start, end] = this.rangeAround(this.intendedViewportTop());
      const isChanged = this.reconcile(start, end);
      this.goToIntendedPosition();
      const [nextStart, nextEnd] = this.rangeAround(this.viewportTop());
      if (!isChanged || (nextStart === this.renderedStart && nextEnd === this.renderedEnd)) break;
    }
    this.settleReveal();
    if (this.restoreTarget && this.branch.get(this.restoreTarget.messageId)) this.restoreTarget = undefined;
    else if (this.restoreTarget && this.branch.olderCursor === null) {
      // Its message is not on this branch any more: the raw position is the best there is.
      this.element.scrollTop = this.restoreTarget.fallbackScrollTop;
      this.restoreTarget = undefined;
      this.isPinned = this.isAtBottom();
    }
    this.updatePositions();
    this.loadOlderIfNeeded();
    this.options.onRendered?.();
  }

  /**
   * Brings a message of the branch into view, a third of the viewport below its top, loading older
   * pages until it is there (the way a saved position is restored); resolves with its rendered element,
   * or undefined when it is not on the branch (or another reveal, or the reader, took over).
   */
  revealMessage(messageId: string): Promise<HTMLElement | undefined> {
    this.reveal?.settle(undefined);
    return new Promise((resolve) => {
      this.reveal = { messageId, settle: resolve };
      this.isPinned = false;
      this.restoreTarget = { messageId, offsetPx: -Math.round(this.element.clientHeight / 3), fallbackScrollTop: this.element.scrollTop };
      this.pass();
    });
  }

  /** The loaded messages, oldest first, each with its place on the whole branch (root = 1). */
  loadedMessages(): Array<{ message: Message; position: number }> {
    const loaded: Array<{ message: Message; position: number }> = [];
    for (let index = 0; index < this.branch.length; index++) {
      loaded.push({ message: this.branch.at(index)!.message, position: this.branch.unloadedCount + index + 1 });
    }
    return loaded;
  }

  /** How many messages of the branch are above the loaded ones. */
  get unloadedCount(): number {
    return this.branch.unloadedCount;
  }

  /** The rendered text of a message, when it is rendered now. */
  renderedBody(messageId: string): HTMLElement | undefined {
    const entry = this.branch.get(messageId);
    const view = entry ? this.views.get(entry) : undefined;
    return view?.element.querySelector<HTMLElement>(".message__body") ?? undefined;
  }

  private settleReveal(): void {
    const reveal = this.reveal;
    if (!reveal) return;
    const entry = this.branch.get(reveal.messageId);
    const view = entry ? this.views.get(entry) : undefined;
    if (view) {
      this.reveal = undefined;
      reveal.settle(view.element);
    } else if ((!entry && this.branch.olderCursor === null) || this.restoreTarget?.messageId !== reveal.messageId) {
      // not on this branch, or the reader scrolled away meanwhile
      this.reveal = undefined;
      reveal.settle(undefined);
    }
  }

  private requestPass(): void {
    if (this.isPassRequested) return;
    this.isPassRequested = true;
    requestAnimationFrame(() => {
      if (this.isPassRequested) this.pass();
    });
  }

  /** The viewport's top, from the top of the first loaded message. */
  private viewportTop(): number {
    return this.element.scrollTop - this.itemsOriginPx();
  }

  /** Where the viewport's top will be once the list is where it must be. */
  private intendedViewportTop(): number {
    if (this.isPinned) return this.branch.totalHeightPx - this.element.clientHeight;
    const target = this.restoreTarget ? this.branch.get(this.restoreTarget.messageId) : undefined;
    if (target && this.restoreTarget) return this.branch.offsetOf(target.index) + this.restoreTarget.offsetPx;
    return this.viewportTop();
  }

  private goToIntendedPosition(): void {
    if (this.isPinned) {
      this.scrollToBottom();
      return;
    }
    const target = this.restoreTarget ? this.branch.get(this.restoreTarget.messageId) : undefined;
    if (target && this.restoreTarget) {
      this.element.scrollTop = this.itemsOriginPx() + this.branch.offsetOf(target.index) + this.restoreTarget.offsetPx;
    }
  }

  /** The loaded messages to render for a viewport whose top is at `viewportTop`: [start, end). */
  private rangeAround(viewportTop: number): [number, number] {
    if (this.branch.length === 0) return [0, 0];
    const viewportHeight = this.element.clientHeight;
    const overscan = Math.max(MINIMUM_OVERSCAN_PX, viewportHeight / 2);
    const start = this.branch.indexAt(viewportTop - overscan);
    const end = this.branch.indexAt(viewportTop + viewportHeight + overscan) + 1;
    return [start, Math.max(end, start + 1)];
  }

  /** Makes exactly the messages in [start, end) rendered, in order; returns whether anything changed. */
  private reconcile(start: number, end: number): boolean {
    const isChanged = start !== this.renderedStart || end !== this.renderedEnd;
    if (isChanged) {
      for (const [entry] of this.views) if (entry.index < start || entry.index >= end) this.removeView(entry);
      const keptStart = Math.max(start, this.renderedStart);
      const keptEnd = Math.min(end, this.renderedEnd);
      const hasKept = keptStart < keptEnd && this.views.size > 0;
      const created: MessageView[] = [];
      const head = this.createViews(start, hasKept ? keptStart : end, created);
      const tail = hasKept ? this.createViews(keptEnd, end, created) : document.createDocumentFragment();
      this.spacerBefore.after(head);
      this.spacerAfter.before(tail);
      this.renderedStart = start;
      this.renderedEnd = end;
      this.updateSpacers();
      this.measure(created);
      for (const view of created) this.messageResizeObserver.observe(view.element);
      return true;
    }
    this.updateSpacers();
    return false;
  }

  private createViews(start: number, end: number, created: MessageView[]): DocumentFragment {
    const fragment = document.createDocumentFragment();
    for (let index = start; index < end; index++) {
      const entry = this.branch.at(index)!;
      const view = new MessageView(entry, this.options);
      this.views.set(entry, view);
      this.viewsByElement.set(view.element, view);
      created.push(view);
      fragment.append(view.element);
    }
    return fragment;
  }

  private removeView(entry: BranchEntry): void {
    const view = this.views.get(entry);
    if (!view) return;
    // Focus inside a message that leaves would fall back to the page, where the keyboard cannot scroll the list.
    if (view.element.contains(document.activeElement)) this.element.focus({ preventScroll: true });
    this.messageResizeObserver.unobserve(view.element);
    view.element.remove();
    this.views.delete(entry);
    this.viewsToRender.delete(view);
  }

  private removeAllViews(): void {
    for (const [entry] of this.views) this.removeView(entry);
    this.renderedStart = 0;
    this.renderedEnd = 0;
  }

  /** The spacers stand for the loaded messages that are not rendered, at their measured or estimated heights. Returns whether either changed. */
  private updateSpacers(): boolean {
    const before = this.branch.length === 0 ? 0 : this.branch.offsetOf(this.renderedStart);
    const after = this.branch.length === 0 ? 0 : this.branch.totalHeightPx - this.branch.offsetOf(this.renderedEnd);
    const isBeforeChanged = setHeight(this.spacerBefore, before);
    return setHeight(this.spacerAfter, after) || isBeforeChanged;
  }

  /** Returns whether the region of messages not loaded yet changed height. */
  private updateOlder(): boolean {
    return this.older.update(this.branch.unloadedHeightPx, {
      unloadedCount: this.branch.unloadedCount,
      isLoading: this.isLoadingOlder,
      error: this.loadOlderError,
    });
  }

  /** Reads the height of views just rendered (one layout for all of them) into the height index. */
  private measure(views: readonly MessageView[]): void {
    if (views.length === 0) return;
    const gap = this.messageGapPx(views[0]!.element);
    for (const view of views) {
      if (!this.views.has(view.entry)) continue;
      this.branch.setMeasuredHeight(view.entry, view.element.getBoundingClientRect().height + gap);
    }
  }

  private onMessagesResized(entries: readonly ResizeObserverEntry[]): void {
    if (this.element.clientWidth === 0) return; // hidden: nothing has its real size
    let isChanged = false;
    for (const entry of entries) {
      const view = this.viewsByElement.get(entry.target);
      if (!view || !this.views.has(view.entry)) continue;
      const size = entry.borderBoxSize[0];
      const height = (size ? size.blockSize : entry.target.getBoundingClientRect().height) + this.messageGapPx(entry.target);
      if (Math.abs(height - this.branch.heightOf(view.entry)) < 0.5) continue;
      this.branch.setMeasuredHeight(view.entry, height);
      isChanged = true;
    }
    if (!isChanged) return;
    // New text, a message measured for the first time: stay at the bottom if there. Scroll
    // anchoring already kept the rest in place; the next pass renders what came into view.
    if (this.isPinned) this.scrollToBottom();
    this.requestPass();
  }

  private onViewportResized(): void {
    this.lastWidthPx = 0;
    if (this.isPinned) this.scrollToBottom();
    this.requestPass();
  }

  /** How many characters fit on a line of a message, for height estimates (read from the layout once per width). */
  private measureCharactersPerLine(): number {
    if (this.lastWidthPx === 0) {
      const width = this.content.clientWidth;
      if (width > 0) {
        this.lastWidthPx = width;
        this.charactersPerLine = Math.max(20, (width - 40) / AVERAGE_CHARACTER_WIDTH_PX);
      }
    }
    return this.charactersPerLine;
  }

  /** aria-posinset/aria-setsize of the rendered messages: their place in the whole branch, not only in the DOM. */
  private updatePositions(): void {
    const setSize = this.branch.unloadedCount + this.branch.length;
    for (const [entry, view] of this.views) view.setPosition(this.branch.unloadedCount + entry.index + 1, setSize);
  }

  /** Requests the page above while the reader nears the top of what is loaded, or while a saved position waits for its message. */
  private loadOlderIfNeeded(): void {
    const cursor = this.branch.olderCursor;
    if (cursor === null || this.isLoadingOlder || this.loadOlderError !== undefined) return;
    const loadAheadPx = Math.max(MINIMUM_LOAD_AHEAD_PX, LOAD_AHEAD_VIEWPORTS * this.element.clientHeight);
    if (this.restoreTarget === undefined && this.viewportTop() > loadAheadPx) return;
    void this.loadOlderPage(cursor);
  }

  private async loadOlderPage(cursor: string): Promise<void> {
    const generation = this.generation;
    this.isLoadingOlder = true;
    this.updateOlder();
    let page: BranchPage;
    try {
      page = await this.options.loadOlder(cursor);
    } catch (error) {
      if (generation !== this.generation) return;
      this.isLoadingOlder = false;
      this.loadOlderError = error instanceof Error ? error.message : String(error);
      this.updateOlder();
      return;
    }
    // A snapshot replaced the messages meanwhile: this page belongs to what was shown before.
    if (generation !== this.generation || this.branch.olderCursor !== cursor) return;
    this.isLoadingOlder = false;
    const added = this.branch.prepend(page);
    this.renderedStart += added;
    this.renderedEnd += added;
    this.pass();
  }

  private onKeyDown(event: KeyboardEvent): void {
    // The list holds no text inputs: Home and End mean the conversation's ends from anywhere in it.
    if (event.altKey || event.shiftKey || event.metaKey || event.defaultPrevented) return;
    if (event.key === "Home") {
      // At scroll offset 0 the browser does not anchor, so the list stays at the top while the
      // pages above arrive, until the first message is there. Instant, not animated: a page
      // arriving during the animation would move its end.
      event.preventDefault();
      this.isPinned = false;
      this.restoreTarget = undefined;
      this.element.scrollTop = 0;
      this.pass();
    } else if (event.key === "End") {
      event.preventDefault();
      this.isPinned = true;
      this.restoreTarget = undefined;
      this.pass();
    }
  }

  /**
   * Whether the list was scrolled up from where following put it. Only that unpins: a list that is
   * merely no longer at the bottom because messages below got taller after the scroll (rendered and
   * measured for the first time) must keep following. Seen in VS Code: a long answer arriving right
   * after the question left the reader 400 px above its end.
   */
  private hasMovedUpSinceFollowing(): boolean {
    return this.element.scrollTop < this.followedScrollTop - 1;
  }

  private requestFrame(): void {
    if (this.isFrameRequested) return;
    this.isFrameRequested = true;
    requestAnimationFrame(() => {
      this.isFrameRequested = false;
      for (const view of this.viewsToRender) view.renderContent();
      this.viewsToRender.clear();
      if (this.isPinned) this.scrollToBottom();
      this.options.onRendered?.();
    });
  }

  /** Re-renders a loaded message's view now, if it has one. */
  private renderEntry(entry: BranchEntry): void {
    const view = this.views.get(entry);
    if (!view) return;
    this.viewsToRender.delete(view);
    view.render();
  }

  private isAtBottom(): boolean {
    const { scrollTop, scrollHeight, clientHeight } = this.element;
    return scrollHeight - scrollTop - clientHeight <= PINNED_THRESHOLD_PX;
  }

  /** The first rendered message whose bottom is below the viewport's top, and how far the viewport's top is past its top. */
  private findAnchor(): ScrollPosition["anchor"] {
    const first = this.branch.at(0);
    if (!first) return null;
    const listTop = this.element.getBoundingClientRect().top;
    for (let index = this.renderedStart; index < this.renderedEnd; index++) {
      const view = this.views.get(this.branch.at(index)!);
      if (!view) continue;
      const box = view.element.getBoundingClientRect();
      if (box.bottom > listTop) return { messageId: view.id, offsetPx: listTop - box.top };
    }
    // The viewport is above the loaded messages (among the ones not loaded yet): keep its distance to the first.
    return { messageId: first.message.id, offsetPx: this.viewportTop() };
  }

  /** Where the first loaded message starts, in the list's scroll coordinates. */
  private itemsOriginPx(): number {
    this.contentPaddingTopPx ??= parseFloat(getComputedStyle(this.content).paddingTop) || 0;
    return this.contentPaddingTopPx + this.branch.unloadedHeightPx;
  }

  /** The space below each message (its margin), counted in its height so that heights add up to offsets. */
  private messageGapPx(element: Element): number {
    this.gapPx ??= parseFloat(getComputedStyle(element).marginBottom) || 0;
    return this.gapPx;
  }

  private updateEmptyState(): void {
    this.emptyState.hidden = this.branch.length > 0 || this.branch.olderCursor !== null;
  }

  private onClick(event: MouseEvent): void {
    if (!(event.target instanceof Element)) return;
    const link = event.target.closest("a");
    if (link && this.content.contains(link)) {
      // Never navigate the webview: the host opens links (with VS Code's own confirmation). The
      // event must not reach the window either: VS Code's webview frame listens there for link
      // clicks and opens them itself, as coming from the workspace, so in a trusted workspace
      // without asking: the tab opened before (and despite) the confirmation our host asked for.
      event.preventDefault();
      event.stopPropagation();
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

function createSpacer(): HTMLElement {
  const spacer = document.createElement("div");
  spacer.className = "message-list__spacer";
  spacer.setAttribute("aria-hidden", "true");
  return spacer;
}

/** Sets an element's height through the CSSOM (allowed by the page's CSP, unlike style attributes in markup); returns whether it changed. */
function setHeight(element: HTMLElement, heightPx: number): boolean {
  const value = `${Math.max(0, heightPx)}px`;
  if (element.style.getPropertyValue("height") === value) return false;
  element.style.setProperty("height", value);
  return true;
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
