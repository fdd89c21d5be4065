import type { ErrorDetail } from "../../../protocol/http/error-codes";
import type {
  ChatNotificationName,
  ChatNotificationParams,
  ChatSnapshot,
  HostToWebviewEnvelope,
} from "../../../protocol/webview/chat-protocol";

/** What a surface gives the chat session for one webview (the sidebar view or an editor panel). */
export interface ChatViewConnection {
  /** Posts one envelope. VS Code drops it when the webview is hidden; that is why snapshots exist. */
  postMessage(message: HostToWebviewEnvelope): void;
  readonly isVisible: boolean;
}

export const DELTA_FLUSH_INTERVAL_MS = 40;

/**
 * The host's side of one attached webview: posts notifications and responses, and batches text
 * deltas per message so the webview gets at most one `stream/delta` per message every ~40 ms,
 * never a message per token. Each view has its own batch, so a snapshot sent to one view can
 * drop exactly the deltas it already contains.
 */
export class ChatViewChannel {
  private readonly pendingDeltas = new Map<string, string>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private isDisposed = false;

  constructor(
    private readonly connection: ChatViewConnection,
    private readonly flushIntervalMs = DELTA_FLUSH_INTERVAL_MS,
  ) {}

  get isVisible(): boolean {
    return this.connection.isVisible;
  }

  queueDelta(messageId: string, text: string): void {
    if (this.isDisposed || text.length === 0) return;
    // A hidden webview would drop the delta anyway; it gets a full snapshot when it shows again.
    if (!this.connection.isVisible) return;
    this.pendingDeltas.set(messageId, (this.pendingDeltas.get(messageId) ?? "") + text);
    this.flushTimer ??= setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  /** Posts the batched deltas now. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.isDisposed) return;
    const deltas = [...this.pendingDeltas];
    this.pendingDeltas.clear();
    for (const [messageId, text] of deltas) this.post({ kind: "notification", method: "stream/delta", params: { messageId, text } });
  }

  notify<Name extends ChatNotificationName>(method: Name, params: ChatNotificationParams<Name>): void {
    if (method === "state/snapshot") {
      this.sendSnapshot(params as ChatSnapshot);
      return;
    }
    if (method === "message/updated") {
      // The update carries the full text: deltas still waiting for that message would be appended twice.
      this.pendingDeltas.delete((params as ChatNotificationParams<"message/updated">).message.id);
    }
    // Keep the order the webview sees equal to the order things happened.
    this.flush();
    this.post({ kind: "notification", method, params });
  }

  /** A full snapshot replaces everything the view shows, including text still batched. */
  sendSnapshot(snapshot: ChatSnapshot): void {
    this.pendingDeltas.clear();
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.post({ kind: "notification", method: "state/snapshot", params: snapshot });
  }

  respond(id: number, outcome: { ok: true; result: unknown } | { ok: false; error: ErrorDetail }): void {
    this.flush();
    this.post(
      outcome.ok ? { kind: "response", id, ok: true, result: outcome.result } : { kind: "response", id, ok: false, error: outcome.error },
    );
  }

  dispose(): void {
    this.isDisposed = true;
    clearTimeout(this.flushTimer);
    this.pendingDeltas.clear();
  }

  private post(message: HostToWebviewEnvelope): void {
    if (this.isDisposed) return;
    try {
      this.connection.postMessage(message);
    } catch {
      // The webview was disposed between our check and the post; nothing to deliver to.
    }
  }
}
