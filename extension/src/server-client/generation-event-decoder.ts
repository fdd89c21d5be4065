import { createParser, type EventSourceParser } from "eventsource-parser";
import { REPLY_EVENT, type GenerationEvent } from "../../../protocol/http/generation-events";
import { parseGenerationEvent } from "./parse-generation-event";
import { TeamServerError } from "./team-server-error";

/**
 * The most text one event may hold before the stream counts as broken. The largest event is the
 * final one, which carries the whole answer as JSON: well under this even for a model's longest output.
 */
export const EVENT_TEXT_MAX_CHARACTERS = 16 * 1024 * 1024;

/**
 * Decoded text/event-stream text in, typed generation events out. The format itself (line ends,
 * events split across chunks, comments, `retry:`) is parsed by eventsource-parser; this checks each
 * event against the protocol. Every event the server sends carries its `id:` (the sequence), so an
 * event without one is a protocol error, as is a known event with bad data; unknown event names are
 * skipped (a newer server may add some).
 */
export class GenerationEventDecoder {
  private readonly parser: EventSourceParser;
  private completed: GenerationEvent[] = [];
  private failure: TeamServerError | undefined;
  /** Milliseconds the server asked to wait before reconnecting (`retry:` field), if it did. */
  reconnectDelayMs: number | undefined;
  /**
   * The `reply` event of a request that answered with its answer's events (protocol/http/generation-events.ts):
   * its JSON, unchecked (the request knows its shape). It must come before any generation event.
   */
  reply: unknown;
  private hasGenerationEvent = false;

  constructor(options: { maxEventCharacters?: number } = {}) {
    this.parser = createParser({
      onEvent: (event) => {
        if (this.failure) return;
        if (event.event === REPLY_EVENT) {
          this.takeReply(event.data);
          return;
        }
        try {
          const parsed = parseGenerationEvent(event);
          if (parsed) {
            this.hasGenerationEvent = true;
            this.completed.push(parsed);
          }
        } catch (error) {
          this.failure = error instanceof TeamServerError ? error : new TeamServerError(0, "invalid_response", String(error));
        }
      },
      onRetry: (delayMs) => {
        this.reconnectDelayMs = delayMs;
      },
      onError: (error) => {
        // Unknown fields and malformed `retry:` values are ignored, as the format says; only a runaway event is fatal.
        if (error.type === "max-buffer-size-exceeded") {
          this.failure = new TeamServerError(
            0,
            "invalid_response",
            "The Juggler server sent an event too large to be an answer's.",
            false,
            {
              cause: error,
            },
          );
        }
      },
      maxBufferSize: options.maxEventCharacters ?? EVENT_TEXT_MAX_CHARACTERS,
    });
  }

  /** Whether the stream has given its `reply` event (JSON is never `undefined`). */
  get isReplied(): boolean {
    return this.reply !== undefined;
  }

  private takeReply(data: string): void {
    if (this.isReplied || this.hasGenerationEvent) {
      this.failure = new TeamServerError(
        0,
        "invalid_response",
        "The Juggler server sent its reply in the wrong place of an answer's stream.",
      );
      return;
    }
    try {
      this.reply = JSON.parse(data);
    } catch (error) {
      this.failure = new TeamServerError(0, "invalid_response", "The Juggler server sent a reply that is not JSON.", false, {
        cause: error,
      });
    }
  }

  /** Parses the text and returns the events it completed; throws TeamServerError invalid_response for a malformed event. */
  push(text: string): GenerationEvent[] {
    if (!this.failure) this.parser.feed(text);
    if (this.failure) throw this.failure;
    const completed = this.completed;
    this.completed = [];
    return completed;
  }
}
