import type { Message } from "../../../protocol/http/conversations";
import {
  chatCommands,
  chatNotifications,
  chatRequests,
  type ChatNotificationName,
  type ChatNotificationParams,
  type ChatSnapshot,
  type HostToWebviewEnvelope,
} from "../../../protocol/webview/chat-protocol";
import { WebviewChannel, type CommandHandlers, type RequestHandlers } from "../webview-channel/webview-channel";

/** The chat's protocol for the channel; built on first use, not when the bundle loads (see tools/build.mjs, lazy protocol). */
function chatProtocol() {
  return { requests: chatRequests, commands: chatCommands, notifications: chatNotifications };
}
export type ChatProtocol = ReturnType<typeof chatProtocol>;

/** What a surface gives the chat session for one webview (the sidebar view or an editor panel). */
export interface ChatViewConnection {
  /** Posts one envelope. VS Code drops it when the webview is hidden; that is why snapshots exist. */
  postMessage(message: HostToWebviewEnvelope): void;
  readonly isVisible: boolean;
}

/** What the chat session does with the webview's requests and commands. */
export interface ChatViewHandlers {
  requests: RequestHandlers<ChatProtocol>;
  commands: CommandHandlers<ChatProtocol>;
  log?(message: string, error?: unknown): void;
  onCommandFailed?(name: string, error: unknown): void;
}

export const DELTA_FLUSH_INTERVAL_MS = 40;

/**
 * The chat's side of one attached webview: its WebviewChannel (validation, requests answered by
 * id, typed notifications) plus batching of streamed text per message, so the webview gets at most
 * one `stream/delta` (or one replacement) per message every ~40 ms, never a message per token.
 * Text that arrives when nothing was posted for a whole interval (an answer's first text above all)
 * goes out at once; only what follows it within the interval waits for the batch (the first text
 * used to wait up to 40 ms for nothing). Each view has its own batch, so a snapshot sent to one
 * view can drop exactly what it contains.
 */
export class ChatViewChannel {
  private readonly channel: WebviewChannel<ChatProtocol>;
  private readonly pendingDeltas = new Map<string, string>();
  /** Answers whose whole text is posted at the next flush (as it is then), instead of deltas. */
  private readonly pendingReplacements = new Map<string, Message>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** When streamed text was last posted (performance.now()). */
  private lastPostedAtMs = Number.NEGATIVE_INFINITY;
  private isDisposed = false;

  constructor(
    private readonly connection: ChatViewConnection,
    private readonly flushIntervalMs = DELTA_FLUSH_INTERVAL_MS,
    handlers?: ChatViewHandlers,
  ) {
    this.channel = new WebviewChannel({
      protocol: chatProtocol(),
      post: (envelope) => this.connection.postMessage(envelope),
      requests: handlers?.requests ?? unhandledRequests(),
      commands: handlers?.commands ?? ignoredCommands(),
      log: handlers?.log,
      onCommandFailed: handlers?.onCommandFailed,
      // Keep the order the webview sees equal to the order things happened.
      beforePost: () => this.flush(),
    });
  }

  get isVisible(): boolean {
    return this.connection.isVisible;
  }

  /** Everything the webview posts; validated by the channel. */
  handleMessage(message: unknown): Promise<void> {
    return this.channel.handleMessage(message);
  }

  queueDelta(messageId: string, text: string): void {
    if (this.isDisposed || text.length === 0) return;
    // A hidden webview would drop the delta anyway; it gets a full snapshot when it shows again.
    if (!this.connection.isVisible) return;
    // A replacement waiting for this message carries its whole text, this delta included.
    if (this.pendingReplacements.has(messageId)) return;
    this.pendingDeltas.set(messageId, (this.pendingDeltas.get(messageId) ?? "") + text);
    if (this.flushTimer !== undefined) return;
    const waitMs = this.lastPostedAtMs + this.flushIntervalMs - performance.now();
    if (waitMs <= 0) this.flush();
    else this.flushTimer = setTimeout(() => this.flush(), waitMs);
  }

  /**
   * At the next flush the view gets the message's whole text as it is then (`message/updated`),
   * replacing what it shows. Never at once: a replayed answer's events arrive in one burst, and the
   * flush an interval later carries all of it.
   */
  queueReplacement(message: Message): void {
    if (this.isDisposed || !this.connection.isVisible) return;
    this.pendingDeltas.delete(message.id);
    this.pendingReplacements.set(message.id, message);
    this.flushTimer ??= setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  /** Posts the batched text now. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.isDisposed) return;
    const replacements = [...this.pendingReplacements.values()];
    const deltas = [...this.pendingDeltas];
    this.pendingReplacements.clear();
    this.pendingDeltas.clear();
    if (replacements.length + deltas.length > 0) this.lastPostedAtMs = performance.now();
    for (const message of replacements) this.channel.notifyAsIs("message/updated", { message: { ...message } });
    for (const [messageId, text] of deltas) this.channel.notifyAsIs("stream/delta", { messageId, text });
  }

  notify<Name extends ChatNotificationName>(method: Name, params: ChatNotificationParams<Name>): void {
    if (method === "state/snapshot") {
      this.sendSnapshot(params as ChatSnapshot);
      return;
    }
    if (method === "message/updated") {
      // The update carries the full text: text still waiting for that message would be shown twice.
      const { id } = (params as ChatNotificationParams<"message/updated">).message;
      this.pendingDeltas.delete(id);
      this.pendingReplacements.delete(id);
    }
    this.channel.notify(method, params);
  }

  /** A full snapshot replaces everything the view shows, including text still batched. */
  sendSnapshot(snapshot: ChatSnapshot): void {
    this.pendingDeltas.clear();
    this.pendingReplacements.clear();
    this.channel.notify("state/snapshot", snapshot);
  }

  dispose(): void {
    this.isDisposed = true;
    clearTimeout(this.flushTimer);
    this.pendingDeltas.clear();
    this.pendingReplacements.clear();
    this.channel.dispose();
  }
}

/** Without handlers (a channel only posted to, as in the batching tests) every request fails and commands do nothing. */
function unhandledRequests(): RequestHandlers<ChatProtocol> {
  const refuse = () => Promise.reject(new Error("This view handles no requests"));
  return Object.fromEntries(Object.keys(chatRequests).map((name) => [name, refuse])) as unknown as RequestHandlers<ChatProtocol>;
}

function ignoredCommands(): CommandHandlers<ChatProtocol> {
  return Object.fromEntries(Object.keys(chatCommands).map((name) => [name, () => undefined])) as unknown as CommandHandlers<ChatProtocol>;
}
