import { buildPath, generationStreamPath } from "../../../protocol/http/endpoints";
import type { GenerationEvent } from "../../../protocol/http/generation-events";
import { AnswerEventBody } from "./answer-event-body";
import { abortedError, readJson, throwIfAborted, toTeamServerError, type HttpTransport } from "./http-transport";
import type { SessionKeeper } from "./session-keeper";
import { isTeamServerError, TeamServerError } from "./team-server-error";

export interface StreamRetryOptions {
  /** Reconnections in a row without a new event before giving up. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_STREAM_RETRY: StreamRetryOptions = { maxAttempts: 6, initialDelayMs: 250, maxDelayMs: 4_000 };

export interface StreamGenerationOptions {
  /** Resume after this event sequence (the `id:` of the last event received). */
  lastEventId?: number;
  signal?: AbortSignal;
  /**
   * The answer's stream already open: the reply of the POST that started it, its `reply` event read.
   * It is read first; after a break the reader resumes with GET and Last-Event-ID, as always.
   */
  opened?: AnswerEventBody;
}

export interface GenerationStreamReaderOptions {
  transport: HttpTransport;
  sessions: SessionKeeper;
  /** How long to wait for the stream's response head. */
  requestTimeoutMs: number;
  /** A stream silent for this long (no event, no heartbeat) is treated as dropped and resumed. */
  idleTimeoutMs: number;
  retry: StreamRetryOptions;
}

/**
 * Reads one answer's generation events (GET /messages/:id/stream) and resumes by sequence: after a
 * dropped, reset or silent connection it reconnects with Last-Event-ID = the last sequence received
 * (bounded retries with backoff, at least the server's `retry:`), so the server replays exactly the
 * missed events. It never yields an event twice and ends after generation-end or generation-error.
 */
export class GenerationStreamReader {
  constructor(private readonly options: GenerationStreamReaderOptions) {}

  async *read(messageId: string, streamOptions: StreamGenerationOptions = {}): AsyncGenerator<GenerationEvent, void, undefined> {
    const { retry } = this.options;
    const { signal } = streamOptions;
    const path = buildPath(generationStreamPath, { messageId });
    let lastSequence = streamOptions.lastEventId ?? 0;
    let failuresInRow = 0;
    let serverDelayMs: number | undefined;
    // a POST's reply that is this answer's stream is read first; every later connection is a GET
    let opened = streamOptions.opened;
    try {
      for (;;) {
        throwIfAborted(signal);
        const body = opened ?? (await this.connect(path, lastSequence, failuresInRow, signal));
        opened = undefined;
        if (body) {
          try {
            for await (const event of body.events(signal)) {
              if (event.sequence <= lastSequence) continue; // a duplicate after resuming
              lastSequence = event.sequence;
              failuresInRow = 0;
              yield event;
              if (event.event === "generation-end" || event.event === "generation-error") return;
            }
          } catch (error) {
            if (signal?.aborted) throw abortedError();
            if (isTeamServerError(error)) throw error; // a malformed event: resuming would not help
            // Otherwise the connection broke mid-stream ("terminated", reset, idle timeout): resume below.
          } finally {
            body.close();
          }
          serverDelayMs = body.reconnectDelayMs;
        }
        // The stream ended before its terminal event: the connection dropped. Resume after the last event received.
        if (failuresInRow >= retry.maxAttempts) {
          throw new TeamServerError(
            0,
            "offline",
            "The connection to the Juggler server broke while the answer was streaming, and reconnecting did not work. The answer continues on the server; open the conversation again to see it.",
            true,
          );
        }
        failuresInRow++;
        const backoffMs = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (failuresInRow - 1));
        await sleep(Math.max(backoffMs, serverDelayMs ?? 0), signal);
      }
    } finally {
      // a caller that stopped before the opened reply was read
      opened?.close();
    }
  }

  /**
   * GET /messages/:id/stream after `lastSequence`: the body to read, or undefined when this attempt
   * failed in a way worth retrying (the caller backs off and tries again while attempts are left).
   */
  private async connect(
    path: string,
    lastSequence: number,
    failuresInRow: number,
    signal: AbortSignal | undefined,
  ): Promise<AnswerEventBody | undefined> {
    const { transport, sessions, retry } = this.options;
    const connection = new AbortController();
    const connectionSignal = signal ? AbortSignal.any([signal, connection.signal]) : connection.signal;
    let response: Response;
    try {
      response = await sessions.sendAuthorized(
        (token) =>
          transport.send("GET", path, {
            token,
            signal: connectionSignal,
            timeoutMs: this.options.requestTimeoutMs,
            headers: { accept: "text/event-stream", ...(lastSequence > 0 ? { "last-event-id": String(lastSequence) } : {}) },
          }),
        signal,
      );
    } catch (error) {
      if (!isRetryableStreamFailure(error) || failuresInRow >= retry.maxAttempts) throw error;
      return undefined;
    }
    if (!response.ok) {
      const error = toTeamServerError(response, await readJson(response));
      if (!error.retryable || failuresInRow >= retry.maxAttempts) throw error;
      return undefined;
    }
    return new AnswerEventBody(response, connection, this.options.idleTimeoutMs);
  }
}

function isRetryableStreamFailure(error: unknown): boolean {
  return isTeamServerError(error) && error.code !== "aborted" && error.retryable;
}

function sleep(durationMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, durationMs);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
