import type { Conversation, ConversationListQuery, ConversationListResponse } from "../../../protocol/http/conversations";
import { EventEmitter, type Event } from "../server-client/event-emitter";

/** "This Workspace": only the conversations started in (or moved to) the open folder; "All": every one. */
export type ConversationScope = "workspace" | "all";

/** What the model asks the server (ChatSession.listConversations, typed by the protocol). */
export type ListConversations = (query: Partial<ConversationListQuery>) => Promise<ConversationListResponse>;

/** The first page of the list, and each page "Load More" adds. */
export const FIRST_PAGE_SIZE = 50;
export const MORE_PAGE_SIZE = 100;
/** Pinned conversations are few by nature; the list shows up to this many. */
export const PINNED_MAX = 200;

/**
 * What the Conversations tree shows, without VS Code: the pinned conversations, the others newest
 * first, loaded a page at a time, and the archived ones (loaded when that node is opened), all within
 * the scope (this workspace folder or all) and the title filter. Conversations being deleted (an undo
 * is still possible) are hidden.
 *
 * Keeping it cheap at 10,000 conversations: a refresh after a send or an answer reads the first page
 * again and puts it in front of the pages already loaded (a conversation only ever moves up, to the
 * top, when a message is added), rather than reading every loaded page again.
 */
export class ConversationListModel {
  private pinnedValue: Conversation[] = [];
  private recentValue: Conversation[] = [];
  private recentCursor: string | null = null;
  private archivedValue: Conversation[] | undefined;
  private archivedCursor: string | null = null;
  private hasArchivedValue = false;
  private scopeValue: ConversationScope;
  private filterValue: string | undefined;
  private readonly hidden = new Set<string>();
  private generation = 0;
  private readonly changed = new EventEmitter<void>();
  /** Something the tree shows changed. */
  readonly onDidChange: Event<void> = this.changed.event;

  constructor(
    private readonly list: ListConversations,
    /** The open workspace folder (a URI), if any: "This Workspace" needs one. */
    private readonly workspaceHint: () => string | undefined,
    scope: ConversationScope = "all",
  ) {
    this.scopeValue = scope;
  }

  get scope(): ConversationScope {
    return this.scopeValue;
  }

  /** The scope that applies: "This Workspace" without a folder open is "All". */
  get effectiveScope(): ConversationScope {
    return this.scopeValue === "workspace" && this.workspaceHint() !== undefined ? "workspace" : "all";
  }

  get filter(): string | undefined {
    return this.filterValue;
  }

  get pinned(): readonly Conversation[] {
    return this.pinnedValue.filter((conversation) => !this.hidden.has(conversation.id));
  }

  get recent(): readonly Conversation[] {
    return this.recentValue.filter((conversation) => !this.hidden.has(conversation.id));
  }

  get hasMoreRecent(): boolean {
    return this.recentCursor !== null;
  }

  /** undefined until the Archived node is opened. */
  get archived(): readonly Conversation[] | undefined {
    return this.archivedValue?.filter((conversation) => !this.hidden.has(conversation.id));
  }

  get hasMoreArchived(): boolean {
    return this.archivedCursor !== null;
  }

  get hasArchived(): boolean {
    return this.hasArchivedValue;
  }

  get isEmpty(): boolean {
    return this.pinned.length === 0 && this.recent.length === 0 && !this.hasArchivedValue;
  }

  setScope(scope: ConversationScope): Promise<void> {
    this.scopeValue = scope;
    return this.reload();
  }

  /** Only conversations whose title contains `text` (case-insensitive); undefined or blank: all. */
  setFilter(text: string | undefined): Promise<void> {
    const trimmed = text?.trim();
    this.filterValue = trimmed ? trimmed : undefined;
    return this.reload();
  }

  /** Everything from the first page on (a new scope or filter, the Refresh command, a pin or an archive). */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    const wasArchivedOpen = this.archivedValue !== undefined;
    const [pinned, recent, archived] = await Promise.all([
      this.list(this.query({ pinned: true, limit: PINNED_MAX })),
      this.list(this.query({ pinned: false, limit: FIRST_PAGE_SIZE })),
      this.list(this.query({ archived: true, limit: wasArchivedOpen ? FIRST_PAGE_SIZE : 1 })),
    ]);
    if (generation !== this.generation) return; // a newer reload (another scope or filter) wins
    this.pinnedValue = pinned.conversations;
    this.recentValue = recent.conversations;
    this.recentCursor = recent.nextCursor;
    this.hasArchivedValue = archived.conversations.length > 0;
    this.archivedValue = wasArchivedOpen ? archived.conversations : undefined;
    this.archivedCursor = wasArchivedOpen ? archived.nextCursor : null;
    this.changed.fire();
  }

  /**
   * A message was added somewhere or a title changed: the first page is read again and put in front
   * of the pages loaded after it; those keep their place, minus what moved into the first page.
   */
  async refreshHead(): Promise<void> {
    const generation = ++this.generation;
    const [pinned, head] = await Promise.all([
      this.list(this.query({ pinned: true, limit: PINNED_MAX })),
      this.list(this.query({ pinned: false, limit: FIRST_PAGE_SIZE })),
    ]);
    if (generation !== this.generation) return;
    this.pinnedValue = pinned.conversations;
    const last = head.conversations.at(-1);
    if (head.nextCursor === null || last === undefined || this.recentValue.length <= head.conversations.length) {
      this.recentValue = head.conversations;
      this.recentCursor = head.nextCursor;
    } else {
      const inHead = new Set(head.conversations.map((conversation) => conversation.id));
      // what was loaded below the new first page, in the same order (newest interaction, then id)
      const older = this.recentValue.filter((conversation) => !inHead.has(conversation.id) && isOlder(conversation, last));
      this.recentValue = [...head.conversations, ...older];
    }
    this.changed.fire();
  }

  async loadMoreRecent(): Promise<void> {
    if (this.recentCursor === null) return;
    const generation = this.generation;
    const page = await this.list(this.query({ pinned: false, limit: MORE_PAGE_SIZE, cursor: this.recentCursor }));
    if (generation !== this.generation) return;
    const known = new Set(this.recentValue.map((conversation) => conversation.id));
    this.recentValue.push(...page.conversations.filter((conversation) => !known.has(conversation.id)));
    this.recentCursor = page.nextCursor;
    this.changed.fire();
  }

  /** The Archived node was opened (or asks for more). */
  async loadArchived(more = false): Promise<void> {
    if (more && this.archivedCursor === null) return;
    const generation = this.generation;
    const page = await this.list(
      this.query({ archived: true, limit: more ? MORE_PAGE_SIZE : FIRST_PAGE_SIZE, ...(more ? { cursor: this.archivedCursor! } : {}) }),
    );
    if (generation !== this.generation) return;
    this.archivedValue = more ? [...(this.archivedValue ?? []), ...page.conversations] : page.conversations;
    this.archivedCursor = page.nextCursor;
    this.hasArchivedValue = this.archivedValue.length > 0;
    this.changed.fire();
  }

  find(conversationId: string): Conversation | undefined {
    return [...this.pinnedValue, ...this.recentValue, ...(this.archivedValue ?? [])].find(
      (conversation) => conversation.id === conversationId,
    );
  }

  /** Hides a conversation (its deletion can still be undone) or shows it again. */
  setHidden(conversationId: string, isHidden: boolean): void {
    if (isHidden) this.hidden.add(conversationId);
    else this.hidden.delete(conversationId);
    this.changed.fire();
  }

  /** Forget a deleted conversation. */
  remove(conversationId: string): void {
    this.hidden.delete(conversationId);
    this.pinnedValue = this.pinnedValue.filter((conversation) => conversation.id !== conversationId);
    this.recentValue = this.recentValue.filter((conversation) => conversation.id !== conversationId);
    this.archivedValue = this.archivedValue?.filter((conversation) => conversation.id !== conversationId);
    this.changed.fire();
  }

  /** Nothing loaded (signed out). */
  clear(): void {
    this.generation++;
    this.pinnedValue = [];
    this.recentValue = [];
    this.recentCursor = null;
    this.archivedValue = undefined;
    this.archivedCursor = null;
    this.hasArchivedValue = false;
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  private query(base: Partial<ConversationListQuery>): Partial<ConversationListQuery> {
    const workspace = this.effectiveScope === "workspace" ? this.workspaceHint() : undefined;
    return { ...base, ...(workspace ? { workspace } : {}), ...(this.filterValue ? { titleContains: this.filterValue } : {}) };
  }
}

/** Whether `conversation` comes after `other` in the list's order (newest interaction first, then id descending). */
function isOlder(conversation: Conversation, other: Conversation): boolean {
  const left = Date.parse(conversation.lastMessageAt);
  const right = Date.parse(other.lastMessageAt);
  return left < right || (left === right && conversation.id < other.id);
}
