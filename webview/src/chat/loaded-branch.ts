import type { Message } from "../../../protocol/http/conversations";
import type { ChatNotificationParams } from "../../../protocol/webview/chat-protocol";
import { HeightIndex } from "./height-index";

/** What `stream/status` says about an answer that has not started (e.g. older messages being summarised). */
export type StreamStatus = NonNullable<ChatNotificationParams<"stream/status">["status"]>;

/**
 * One loaded message and what the view keeps about it while it may not be on screen: its height
 * (measured or estimated), a pending or failed retry, and a status from `stream/status`.
 */
export interface BranchEntry {
  message: Message;
  /** Position among the loaded messages (changes when an older page is added above). */
  index: number;
  retry: { isPending: boolean; error?: string } | undefined;
  streamStatus: StreamStatus | undefined;
  /** A question being edited in place (Edit): the text so far, and why the last try failed. */
  edit?: { draft: string; isPending: boolean; error?: string } | undefined;
}

export interface BranchPage {
  /** Oldest first. */
  messages: readonly Message[];
  /** Cursor for the page before these messages; null when they start at the root. */
  olderCursor: string | null;
}

/** What appending a message did to the loaded messages. */
export type AppendResult = { kind: "updated"; entry: BranchEntry } | { kind: "appended"; entry: BranchEntry; removed: BranchEntry[] };

/** Height of a message not measured yet. */
export type HeightEstimator = (message: Message) => number;

/** Used for the messages not loaded yet until a few messages have been measured. */
const DEFAULT_MESSAGE_HEIGHT_PX = 100;

/**
 * The part of the open conversation's branch the view holds: a contiguous run of messages that ends
 * with the newest, the cursor for the page above it, how many messages are above it, and the height
 * of each message (measured once rendered, estimated before). System messages are not shown and not
 * kept. Views come and go as the reader scrolls; everything a message's view needs lives here.
 */
export class LoadedBranch {
  private entries: BranchEntry[] = [];
  private readonly entriesById = new Map<string, BranchEntry>();
  private heights = new HeightIndex();
  /** Heights measured so far, by message id: a message scrolled away and back, or kept across snapshots, is not estimated again. */
  private readonly measuredHeights = new Map<string, number>();
  private measuredTotalPx = 0;
  private cursor: string | null = null;
  private messagesAbove = 0;
  private estimatedHeightAbovePx = DEFAULT_MESSAGE_HEIGHT_PX;
  private readonly streaming = new Set<BranchEntry>();

  constructor(private readonly estimateHeight: HeightEstimator) {}

  get length(): number {
    return this.entries.length;
  }

  /** Cursor for the page above the loaded messages; null once they start at the root. */
  get olderCursor(): string | null {
    return this.cursor;
  }

  /** How many messages of the branch are above the loaded ones (from the branch's count; 0 at the root). */
  get unloadedCount(): number {
    return this.messagesAbove;
  }

  /** The estimated height of the messages not loaded yet: what keeps the scrollbar honest. */
  get unloadedHeightPx(): number {
    if (this.cursor === null) return 0;
    // A cursor with no count left (the count was stale): still leave room for one message.
    // Whole pixels: it is an element's height, and offsets computed from it must match the layout.
    return Math.round(Math.max(1, this.messagesAbove) * this.estimatedHeightAbovePx);
  }

  /** The height of the loaded messages. */
  get totalHeightPx(): number {
    return this.heights.total;
  }

  at(index: number): BranchEntry | undefined {
    return this.entries[index];
  }

  get(messageId: string): BranchEntry | undefined {
    return this.entriesById.get(messageId);
  }

  /** The newest streaming answer, if any. */
  streamingEntry(): BranchEntry | undefined {
    let newest: BranchEntry | undefined;
    for (const entry of this.streaming) if (!newest || entry.index > newest.index) newest = entry;
    return newest;
  }

  /**
   * Replaces everything with the newest page of a branch (a snapshot). With `keepOlder`, messages
   * already loaded above that page are kept if the page starts with one of them (the same branch,
   * seen again): a reader scrolled far up stays where they were when the view is shown again.
   * Says whether they were.
   */
  reset(page: BranchPage & { branchMessageCount: number }, options: { keepOlder: boolean }): { isOlderKept: boolean } {
    const shown = page.messages.filter((message) => message.role !== "system");
    const sameFirst = options.keepOlder && shown.length > 0 ? this.entriesById.get(shown[0]!.id) : undefined;
    // A page that says it starts at the root cannot have loaded messages above it.
    const firstKept = sameFirst && (page.olderCursor !== null || sameFirst.index === 0) ? sameFirst : undefined;
    if (!options.keepOlder) {
      this.measuredHeights.clear();
      this.measuredTotalPx = 0;
    }
    // What the view shows about a message besides the message itself (a retry in progress, a
    // summarising status) outlives the snapshot: the host does not repeat it.
    const removed = this.removeFrom(firstKept ? firstKept.index : 0);
    const carried = new Map(removed.filter((entry) => entry.retry || entry.streamStatus).map((entry) => [entry.message.id, entry]));
    if (!firstKept) {
      this.cursor = page.olderCursor;
      this.messagesAbove = page.olderCursor === null ? 0 : Math.max(0, page.branchMessageCount - page.messages.length);
    }
    // (When the older pages stay, so do their cursor and count: they are the same messages.)
    for (const message of shown) {
      const entry = this.appendEntry(message);
      const previous = carried.get(message.id);
      if (!previous) continue;
      entry.retry = previous.retry;
      if (message.status === "streaming") entry.streamStatus = previous.streamStatus;
    }
    if (!firstKept) this.estimatedHeightAbovePx = this.averageHeight();
    return { isOlderKept: firstKept !== undefined };
  }

  /** Adds the page above the loaded messages. Returns how many messages were added. */
  prepend(page: BranchPage): number {
    const fresh = page.messages.filter((message) => message.role !== "system" && !this.entriesById.has(message.id));
    this.cursor = page.olderCursor;
    this.messagesAbove = page.olderCursor === null ? 0 : Math.max(0, this.messagesAbove - page.messages.length);
    const added = fresh.map((message, index) => this.createEntry(message, index));
    for (const entry of this.entries) entry.index += added.length;
    this.entries = [...added, ...this.entries];
    this.heights.prepend(added.map((entry) => this.initialHeight(entry)));
    this.estimatedHeightAbovePx = this.averageHeight();
    return added.length;
  }

  /**
   * A new or updated message. A message whose parent is loaded and already has a reply here starts
   * a new branch (a retry or an edit): it replaces that reply and everything after it. A message
   * that does not connect to the loaded ones is ignored (it belongs to a page not loaded, and a
   * snapshot follows any change of branch there).
   */
  upsert(message: Message): AppendResult | undefined {
    const existing = this.entriesById.get(message.id);
    if (existing) {
      this.replaceMessage(existing, message);
      return { kind: "updated", entry: existing };
    }
    if (message.role === "system") return undefined;
    let removed: BranchEntry[] = [];
    if (message.parentId === null) {
      // A new root: the first message of a conversation, or an edit of it when the root is loaded.
      if (this.entries.length > 0 && this.cursor !== null) return undefined;
      removed = this.removeFrom(0);
    } else if (this.entries.length > 0) {
      const parent = this.entriesById.get(message.parentId);
      if (!parent) return undefined;
      removed = this.removeFrom(parent.index + 1);
    }
    return { kind: "appended", entry: this.appendEntry(message), removed };
  }

  /** A message's new state (text, status, metadata), in place; a retry shown on it is over. */
  replaceMessage(entry: BranchEntry, message: Message): void {
    // a stream's final message does not say where it stands among its siblings: the view still knows
    entry.message =
      message.siblings === undefined && entry.message.siblings !== undefined ? { ...message, siblings: entry.message.siblings } : message;
    entry.retry = undefined;
    if (message.status === "streaming") this.streaming.add(entry);
    else {
      this.streaming.delete(entry);
      entry.streamStatus = undefined;
    }
  }

  /** Streamed text for an answer: it has started, so whatever it was waiting for is over. */
  appendText(entry: BranchEntry, text: string): void {
    entry.message = { ...entry.message, content: entry.message.content + text };
    entry.streamStatus = undefined;
  }

  /** Records a rendered message's height. */
  setMeasuredHeight(entry: BranchEntry, heightPx: number): void {
    const previous = this.measuredHeights.get(entry.message.id);
    if (previous !== undefined) this.measuredTotalPx -= previous;
    this.measuredHeights.set(entry.message.id, heightPx);
    this.measuredTotalPx += heightPx;
    this.heights.set(entry.index, heightPx);
  }

  heightOf(entry: BranchEntry): number {
    return this.heights.heightAt(entry.index);
  }

  /** Top of a loaded message, from the top of the first loaded one. */
  offsetOf(index: number): number {
    return this.heights.offsetOf(index);
  }

  /** The loaded message at an offset from the top of the first loaded one (clamped to the first and last). */
  indexAt(offsetPx: number): number {
    return this.heights.indexAt(offsetPx);
  }

  private appendEntry(message: Message): BranchEntry {
    const entry = this.createEntry(message, this.entries.length);
    this.entries.push(entry);
    this.heights.push(this.initialHeight(entry));
    return entry;
  }

  private createEntry(message: Message, index: number): BranchEntry {
    const entry: BranchEntry = { message, index, retry: undefined, streamStatus: undefined };
    this.entriesById.set(message.id, entry);
    if (message.status === "streaming") this.streaming.add(entry);
    return entry;
  }

  private initialHeight(entry: BranchEntry): number {
    return this.measuredHeights.get(entry.message.id) ?? this.estimateHeight(entry.message);
  }

  /** Removes the messages from `index` on; returns them. */
  private removeFrom(index: number): BranchEntry[] {
    const removed = this.entries.splice(index);
    for (const entry of removed) {
      this.entriesById.delete(entry.message.id);
      this.streaming.delete(entry);
    }
    this.heights.truncate(this.entries.length);
    return removed;
  }

  /** The mean height of a message: measured ones when there are a few, else the loaded ones' estimates. */
  private averageHeight(): number {
    if (this.measuredHeights.size >= 8) return this.measuredTotalPx / this.measuredHeights.size;
    if (this.entries.length > 0) return this.heights.total / this.entries.length;
    return DEFAULT_MESSAGE_HEIGHT_PX;
  }
}
