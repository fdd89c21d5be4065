import type { FinishReason } from "../../../protocol/http/conversations";

/** Ollama `done_reason` on the `done: true` line (docs/providers.md#ollama-ndjson-stream-and-the-done-line) → our finish reason. */
export function mapOllamaDoneReason(doneReason: string | null | undefined): FinishReason {
  switch (doneReason) {
    case "stop":
      return "stop";
    case "length":
      return "length";
    // Servers older than the `done_reason` field ended every normal answer with a bare `done: true`.
    case undefined:
    case null:
    case "":
      return "stop";
    default:
      // "load" / "unload" are not answers to a chat request; anything newer we do not know
      return "other";
  }
}
