import type { Model } from "../../../protocol/http/models";
import type { ProviderKind } from "../../../protocol/http/providers";
import type { ChatStreamEvent } from "../providers/chat-provider";
import { argumentsObject, type AnswerFinish, type CollectedAnswer } from "./collect-answer";
import type { GatewayError, GatewayErrorKind } from "./gateway-error";
import type { ReportedUsage } from "./gateway-service";

/**
 * The Anthropic Messages wire format, as the gateway writes it (docs/gateway.md#anthropic-messages and
 * docs/providers.md#anthropic-streaming-events): message objects, named server-sent events
 * (`message_start`, content blocks, `message_delta` with cumulative usage, `message_stop`, no
 * `[DONE]`), and `{ type: "error", error: { type, message } }`.
 */

export interface AnthropicAnswerIdentity {
  id: string;
  /** Juggler's model id, as the client named it. */
  model: string;
  provider: ProviderKind;
}

export function anthropicStopReason(finish: AnswerFinish | undefined, provider: ProviderKind): string {
  // from Anthropic itself, its own value goes through (stop_sequence, pause_turn, refusal …)
  if (provider === "anthropic" && finish?.finishReasonRaw) return finish.finishReasonRaw;
  switch (finish?.finishReason) {
    case "length":
      return "max_tokens";
    case "tool-calls":
      return "tool_use";
    case "content-filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/**
 * Usage as Anthropic reports it: `input_tokens` without what was read from the prompt cache
 * (`cache_read_input_tokens`). A count the provider did not report is null.
 */
export function anthropicUsage(usage: ReportedUsage): Record<string, unknown> {
  const cached = usage.cachedInputTokens ?? 0;
  return {
    input_tokens: usage.inputTokens === undefined ? null : usage.inputTokens - cached,
    output_tokens: usage.outputTokens ?? null,
    cache_creation_input_tokens: null,
    cache_read_input_tokens: usage.cachedInputTokens ?? null,
  };
}

/** Writes one answer's events as Anthropic's named events, as they come; each call returns the text to write now. */
export class AnthropicStreamWriter {
  private hasStarted = false;
  private blockCount = 0;
  /** The block being written: only the last one is open. */
  private openBlock: { index: number; type: "text" | "tool_use"; toolCallId?: string } | undefined;
  private readonly toolBlocks = new Map<string, number>();
  private finish: AnswerFinish | undefined;

  constructor(private readonly identity: AnthropicAnswerIdentity) {}

  write(event: ChatStreamEvent, usage: ReportedUsage): string {
    let text = this.hasStarted ? "" : this.start(usage);
    switch (event.type) {
      case "text-delta":
        if (this.openBlock?.type !== "text") text += this.openNewBlock({ type: "text", text: "" }, "text");
        // the one event of every token, written without building its object
        text += `event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.openBlock!.index},"delta":{"type":"text_delta","text":${JSON.stringify(event.text)}}}\n\n`;
        return text;
      case "tool-call-start":
        text += this.openNewBlock(
          { type: "tool_use", id: event.toolCallId, name: event.toolName, input: {} },
          "tool_use",
          event.toolCallId,
        );
        this.toolBlocks.set(event.toolCallId, this.openBlock!.index);
        return text;
      case "tool-call-delta": {
        const index = this.toolBlocks.get(event.toolCallId);
        if (index === undefined) return text;
        return (
          text + sseEvent({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: event.argumentsDelta } })
        );
      }
      case "finish":
        this.finish = { finishReason: event.finishReason, finishReasonRaw: event.finishReasonRaw };
        return text;
      case "usage":
        return text;
    }
  }

  /** Closes the open block, then `message_delta` (stop reason, the whole usage) and `message_stop`. */
  end(usage: ReportedUsage): string {
    let text = this.hasStarted ? "" : this.start(usage);
    text += this.closeBlock();
    text += sseEvent({
      type: "message_delta",
      delta: { stop_reason: anthropicStopReason(this.finish, this.identity.provider), stop_sequence: null },
      usage: anthropicUsage(usage),
    });
    return text + sseEvent({ type: "message_stop" });
  }

  /** An error after the stream began: an `error` event, then the stream closes without `message_stop`. */
  error(error: GatewayError): string {
    return sseEvent({ type: "error", ...anthropicErrorBody(error) });
  }

  private start(usage: ReportedUsage): string {
    this.hasStarted = true;
    return sseEvent({
      type: "message_start",
      message: {
        id: this.identity.id,
        type: "message",
        role: "assistant",
        model: this.identity.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        // what is known now (Anthropic tells the input first; others only at the end, in message_delta)
        usage: { ...anthropicUsage(usage), output_tokens: usage.outputTokens ?? 0 },
      },
    });
  }

  private openNewBlock(contentBlock: Record<string, unknown>, type: "text" | "tool_use", toolCallId?: string): string {
    const text = this.closeBlock();
    this.openBlock = { index: this.blockCount, type, ...(toolCallId === undefined ? {} : { toolCallId }) };
    this.blockCount += 1;
    return text + sseEvent({ type: "content_block_start", index: this.openBlock.index, content_block: contentBlock });
  }

  private closeBlock(): string {
    if (this.openBlock === undefined) return "";
    const { index } = this.openBlock;
    this.openBlock = undefined;
    return sseEvent({ type: "content_block_stop", index });
  }
}

/** A whole answer as a `message`. */
export function toAnthropicMessage(
  identity: AnthropicAnswerIdentity,
  answer: CollectedAnswer,
  usage: ReportedUsage,
): Record<string, unknown> {
  return {
    id: identity.id,
    type: "message",
    role: "assistant",
    model: identity.model,
    content: answer.blocks.map((block) =>
      block.type === "text"
        ? { type: "text", text: block.text }
        : { type: "tool_use", id: block.toolCallId, name: block.toolName, input: argumentsObject(block.argumentsText) },
    ),
    stop_reason: anthropicStopReason(answer.finish, identity.provider),
    stop_sequence: null,
    usage: anthropicUsage(usage),
  };
}

/** A model as `GET /anthropic/v1/models` lists it (the date is unknown: epoch, as the API allows). */
export function toAnthropicModel(model: Model): Record<string, unknown> {
  return {
    type: "model",
    id: model.id,
    display_name: model.displayName,
    created_at: "1970-01-01T00:00:00Z",
    max_input_tokens: model.contextWindow,
    max_tokens: model.maxOutputTokens,
  };
}

const anthropicTypes: Record<GatewayErrorKind, string> = {
  invalid_request: "invalid_request_error",
  request_too_large: "request_too_large",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  method_not_allowed: "invalid_request_error",
  model_not_found: "not_found_error",
  budget_monthly: "rate_limit_error",
  budget_rate: "rate_limit_error",
  rate_limited: "rate_limit_error",
  overloaded: "overloaded_error",
  context_too_long: "invalid_request_error",
  upstream: "api_error",
  unavailable: "api_error",
  internal: "api_error",
};

export function anthropicErrorBody(error: GatewayError, requestId?: string): Record<string, unknown> {
  return {
    type: "error",
    error: { type: anthropicTypes[error.kind], message: error.message },
    ...(requestId === undefined ? {} : { request_id: requestId }),
  };
}

function sseEvent(data: { type: string; [field: string]: unknown }): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}
