import type { Conversation, ConversationDetailResponse, Message } from "../../../protocol/http/conversations";
import { MESSAGE_PAGE_DEFAULT } from "../../../protocol/http/message-page-sizes";

/** Messages of the open conversation's newest page asked for when opening it. */
export const NEWEST_PAGE_MESSAGES = MESSAGE_PAGE_DEFAULT;
/**
 * Past this many held messages (the newest page plus what was appended since) the newest page is
 * read again once no answer of the conversation streams, so a long session stays bounded.
 */
export const HELD_MESSAGES_MAX = 2 * MESSAGE_PAGE_DEFAULT;

/** Gives the object the session shares for a message (an answer still streaming keeps its tracked one). */
export type ResolveMessage = (message: Message) => Message;

/**
 * The open conversation as the extension host holds it: the newest page of its current branch
 * (oldest first) plus what was appended since, the cursor of the page above, and how many messages
 * the branch has in all. Older pages live only in the view that scrolled to them, so this stays
 * bounded however long the conversation is. No I/O: the session reads pages and hands them in.
 */
export class HeldBranch {
  private conversationValue: Conversation | undefined;
  private messagesValue: Message[] = [];
  private olderCursorValue: string | null = null;
  private branchMessageCountValue = 0;
  /**
   * Whether the server answered the last read of the newest page with at most the messages asked
   * for. A server that returns the whole branch in one page gains nothing from being asked again.
   */
  private isServerPaging = false;

  get conversation(): Conversation | undefined {
    return this.conversationValue;
  }

  get conversationId(): string | null {
    return this.conversationValue?.id ?? null;
  }

  /** The held messages, oldest first (the same objects, not copies). */
  get messages(): readonly Message[] {
    return this.messagesValue;
  }

  get olderCursor(): string | null {
    return this.olderCursorValue;
  }

  get branchMessageCount(): number {
    return this.branchMessageCountValue;
  }

  /** The newest answer held (Show Context of the last answer). */
  get lastAnswerId(): string | null {
    return this.messagesValue.findLast((message) => message.role === "assistant")?.id ?? null;
  }

  /** Whether it holds more than HELD_MESSAGES_MAX and a new read of the newest page would shorten it. */
  get needsTrimming(): boolean {
    return this.isServerPaging && this.messagesValue.length > HELD_MESSAGES_MAX;
  }

  /** A conversation opened: the server's newest page, asked for with `requestedLimit`. */
  hold(detail: ConversationDetailResponse, requestedLimit: number, resolve: ResolveMessage): void {
    this.conversationValue = detail.conversation;
    this.messagesValue = detail.messages.map(resolve);
    this.olderCursorValue = detail.olderCursor;
    this.branchMessageCountValue = detail.branchMessageCount;
    this.isServerPaging = detail.messages.length <= requestedLimit;
  }

  /** A conversation the first send just created: nothing above what will be appended. */
  startNew(conversation: Conversation): void {
    this.conversationValue = conversation;
    this.messagesValue = [];
    this.olderCursorValue = null;
    this.branchMessageCountValue = 0;
    this.isServerPaging = true;
  }

  /** No conversation open (a new chat, signed out). */
  clear(): void {
    this.conversationValue = undefined;
    this.messagesValue = [];
    this.olderCursorValue = null;
    this.branchMessageCountValue = 0;
    this.isServerPaging = false;
  }

  /** The open conversation's own fields changed (title, model); its messages did not. */
  updateConversation(conversation: Conversation): void {
    if (conversation.id === this.conversationValue?.id) this.conversationValue = conversation;
  }

  /** New messages at the end of the branch (a send: the question and its answer). */
  append(messages: readonly Message[]): void {
    this.messagesValue.push(...messages);
    this.branchMessageCountValue += messages.length;
  }

  /**
   * A retry: the new answer replaces `retriedAnswerId` and everything after it. Done here when the
   * retried answer's question is held too; false when it is not (the retried answer is in an older
   * page, or opens this one): how long the new branch is, and the cursor above it, only the server
   * knows, so the caller reads the newest page again.
   */
  replaceAnswer(retriedAnswerId: string, answer: Message): boolean {
    const index = this.messagesValue.findIndex((message) => message.id === retriedAnswerId);
    if (index <= 0) return false;
    this.branchMessageCountValue -= this.messagesValue.length - index - 1;
    this.messagesValue.splice(index, this.messagesValue.length - index, answer);
    return true;
  }

  /**
   * Adopts a new read of the newest page (to trim what is held), keeping what was appended after the
   * page's last message while it was read. False, and nothing changes, when that message is no
   * longer held (a retry replaced it, another conversation opened): the read is out of date.
   */
  adoptNewerRead(detail: ConversationDetailResponse, requestedLimit: number, resolve: ResolveMessage): boolean {
    const pageLeafId = detail.messages.at(-1)?.id;
    const leafIndex = this.messagesValue.findIndex((message) => message.id === pageLeafId);
    if (detail.conversation.id !== this.conversationValue?.id || leafIndex === -1) return false;
    const appendedSince = this.messagesValue.slice(leafIndex + 1);
    this.hold(detail, requestedLimit, resolve);
    this.messagesValue.push(...appendedSince);
    this.branchMessageCountValue += appendedSince.length;
    return true;
  }
}
