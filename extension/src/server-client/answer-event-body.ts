import type { GenerationEvent } from "../../../protocol/http/generation-events";
import { GenerationEventDecoder } from "./generation-event-decoder";
import { throwIfAborted } from "./http-transport";
import { TeamServerError } from "./team-server-error";

/**
 * The body of one response that is an answer's event stream — a GET /messages/:id/stream, or the
 * reply of a POST that started the answer — read chunk by chunk. A silent connection (a laptop that
 * slept, a proxy that forgot us) never errors, so reading arms an idle timer that aborts
 * `connection`; the read then fails and the caller resumes elsewhere.
 */
export class AnswerEventBody {
  private readonly decoder = new GenerationEventDecoder();
  private readonly text = new TextDecoder();
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Decoded along with the reply, not handed out yet. */
  private buffered: GenerationEvent[] = [];

  /** The response must be a successful text/event-stream with a body. */
  constructor(
    response: Response,
    private readonly connection: AbortController,
    private readonly idleTimeoutMs: number,
  ) {
    if (!(response.headers.get("content-type") ?? "").includes("text/event-stream") || !response.body) {
      throw new TeamServerError(response.status, "invalid_response", "The Juggler server did not answer with an event stream.");
    }
    this.reader = response.body.getReader();
  }

  /** Milliseconds the server asked to wait before reconnecting (`retry:`), if it did. */
  get reconnectDelayMs(): number | undefined {
    return this.decoder.reconnectDelayMs;
  }

  /**
   * The `reply` event a POST's stream starts with (its JSON, unchecked). A stream that ends or
   * breaks before it is an error: the caller cannot know which answer it was about.
   */
  async readReply(): Promise<unknown> {
    const idleTimer = this.armIdleTimer(undefined);
    try {
      while (!this.decoder.isReplied) {
        const chunk = await this.reader.read();
        if (chunk.done) throw new TeamServerError(0, "invalid_response", "The Juggler server ended the answer's stream before its reply.");
        this.buffered.push(...this.decode(chunk.value));
      }
    } finally {
      clearTimeout(idleTimer);
    }
    return this.decoder.reply;
  }

  /**
   * The generation events, as they arrive, until the body ends (it returns) or breaks (it throws:
   * a TeamServerError for a malformed event, anything else for the connection). `signal` aborts the
   * connection too: none is handed out once it has aborted, and a read waiting for data ends.
   */
  async *events(signal: AbortSignal | undefined): AsyncGenerator<GenerationEvent, void, undefined> {
    throwIfAborted(signal);
    // an abort must also end a read that waits for the next chunk
    const onAbort = () => this.connection.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    let idleTimer = this.armIdleTimer(undefined);
    try {
      for (;;) {
        for (const event of this.buffered.splice(0)) {
          throwIfAborted(signal);
          yield event;
        }
        const chunk = await this.reader.read();
        if (chunk.done) return;
        idleTimer = this.armIdleTimer(idleTimer);
        this.buffered.push(...this.decode(chunk.value));
      }
    } finally {
      clearTimeout(idleTimer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Closes the connection (what was not read is dropped). */
  close(): void {
    this.connection.abort();
    this.reader.cancel().catch(() => undefined);
  }

  private decode(bytes: Uint8Array): GenerationEvent[] {
    return this.decoder.push(this.text.decode(bytes, { stream: true }));
  }

  private armIdleTimer(previous: ReturnType<typeof setTimeout> | undefined): ReturnType<typeof setTimeout> {
    clearTimeout(previous);
    return setTimeout(() => this.connection.abort(), this.idleTimeoutMs);
  }
}
