import type { FinishReason } from "../../../protocol/http/conversations";

/** OpenAI-style `finish_reason` as Groq sends it (docs/providers.md#groq-finish-reasons) → our finish reason. */
export function mapOpenAiFinishReason(finishReason: string | null | undefined): FinishReason {
  switch (finishReason) {
    case "stop":
      return "stop";
    case "length":
      return "length";
    case "tool_calls":
    case "function_call":
      return "tool-calls";
    case "content_filter":
      return "content-filter";
    default:
      return "other";
  }
}
