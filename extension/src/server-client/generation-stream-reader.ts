import { buildPath, generationStreamPath } from "../../../protocol/http/endpoints";
import type { GenerationEvent } from "../../../protocol/http/generation-events";
import { GenerationEventDecoder } from "./generation-event-decoder";
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
    const { transport, sessions, retry } = this.options;
    const { signal } = streamOptions;
    const path = buildPath(generationStreamPath, { messageId });
    let lastSequence = streamOptions.lastEventId ?? 0;
    let failuresInRow = 0;
    let serverDelayMs: number | undefined;
    for (;;) {
      throwIfAborted(signal);
      const connection = new AbortController();
      const connectionSignal = signal ? AbortSignal.any([signal, connection.signal]) : connection.signal;
      let response: Response | undefined;
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
      }
      if (response && !response.ok) {
        const error = toTeamServerError(response, await readJson(response));
        if (!error.retryable || failuresInRow >= retry.maxAttempts) throw error;
        response = undefined;
      }
      if (response) {
        if (!(response.headers.get("content-type") ?? "").includes("text/event-stream") || !response.body) {
          throw new TeamServerError(response.status, "invalid_response", "The Juggler server did not answer with an event stream.");
        }
        const events = new GenerationEventDecoder();
        const text = new TextDecoder();
        const reader = response.body.getReader();
        let idleTimer: ReturnType<typeof setTimeout> | undefined;
        // A half-open connection (a laptop that slept, a proxy that forgot us) never errors: notice the silence instead.
        const armIdleTimer = () => {
          clearTimeout(idleTimer);
          idleTimer = setTimeout(() => connection.abort(), this.options.idleTimeoutMs);
        };
        try {
          armIdleTimer();
          for (;;) {
            const chunk = await reader.read();
            if (chunk.done) break;
            armIdleTimer();
            for (const event of events.push(text.decode(chunk.value, { stream: true }))) {
              // One chunk can carry several events: none is handed out once the caller has aborted.
              throwIfAborted(signal);
              if (event.sequence <= lastSequence) continue; // a duplicate after resuming
              lastSequence = event.sequence;
              failuresInRow = 0;
              yield event;
              if (event.event === "generation-end" || event.event === "generation-error") return;
            }
          }
        } catch (error) {
          if (signal?.aborted) throw abortedError();
          if (isTeamServerError(error)) throw error; // a malformed event: resuming would not help
          // Otherwise the connection broke mid-stream ("terminated", reset, idle timeout): resume below.
        } finally {
          clearTimeout(idleTimer);
          connection.abort();
          reader.cancel().catch(() => undefined);
        }
        serverDelayMs = events.reconnectDelayMs;
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
