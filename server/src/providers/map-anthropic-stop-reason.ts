import type { FinishReason } from "../../../protocol/http/conversations";

/**
 * Anthropic `stop_reason` (SDK `StopReason`, docs/providers.md#anthropic-usage-and-stop-reasons) → our finish reason; the raw value
 * is kept beside it. Unknown future values become "other" rather than failing the answer.
 */
export function mapAnthropicStopReason(stopReason: string | null | undefined): FinishReason {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    // model_context_window_exceeded: the model ran out of context window while answering: cut short, like max_tokens
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool-calls";
    case "refusal":
      return "content-filter";
    default:
      return "other";
  }
}
