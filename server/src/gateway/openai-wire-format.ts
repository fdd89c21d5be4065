import type { Model } from "../../../protocol/http/models";
import type { ProviderKind } from "../../../protocol/http/providers";
import type { ChatStreamEvent } from "../providers/chat-provider";
import type { AnswerFinish, CollectedAnswer } from "./collect-answer";
import type { GatewayError, GatewayErrorKind } from "./gateway-error";
import type { ReportedUsage } from "./gateway-service";

/**
 * The OpenAI chat completions wire format, as the gateway writes it (docs/gateway.md#openai-chat-completions):
 * completion objects, `chat.completion.chunk` server-sent events ending in `data: [DONE]`, usage only
 * with `stream_options.include_usage` (then `usage: null` on every chunk and a last chunk with empty
 * `choices`, as OpenAI's recorded stream shows), and `{ error: { message, type, param, code } }`.
 */

/** What every chunk and completion of one answer shares. */
export interface OpenAiAnswerIdentity {
  id: string;
  /** Unix seconds. */
  created: number;
  /** Juggler's model id, as the client named it. */
  model: string;
  provider: ProviderKind;
}

export function openAiFinishReason(finish: AnswerFinish | undefined, provider: ProviderKind): string {
  // Groq speaks this format already: its own value goes through
  if (provider === "groq" && finish?.finishReasonRaw) return finish.finishReasonRaw;
  switch (finish?.finishReason) {
    case "length":
      return "length";
    case "tool-calls":
      return "tool_calls";
    case "content-filter":
      return "content_filter";
    default:
      return "stop";
  }
}

/** Counts as reported; one the provider did not report is null, not 0. */
export function openAiUsage(usage: ReportedUsage): Record<string, unknown> {
  const input = usage.inputTokens ?? null;
  const output = usage.outputTokens ?? null;
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input === null || output === null ? null : input + output,
    ...(usage.cachedInputTokens === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cachedInputTokens } }),
  };
}

/** Writes one answer's events as chunks, as they come; each call returns the text to write now. */
export class OpenAiStreamWriter {
  private hasRole = false;
  private readonly toolIndexes = new Map<string, number>();
  private finish: AnswerFinish | undefined;
  /** What every chunk of this answer starts and (but the last) ends with: serialised once, not per token. */
  private readonly chunkStart: string;
  private readonly usageField: string;
  private readonly chunkEnd: string;

  constructor(
    private readonly identity: OpenAiAnswerIdentity,
    private readonly includeUsage: boolean,
  ) {
    const base = JSON.stringify(this.base());
    this.chunkStart = `data: ${base.slice(0, -1)},"choices":[{"index":0,"delta":`;
    this.usageField = includeUsage ? ',"usage":null' : "";
    this.chunkEnd = `,"logprobs":null,"finish_reason":null}]${this.usageField}}\n\n`;
  }

  write(event: ChatStreamEvent): string {
    switch (event.type) {
      case "text-delta":
        return this.chunk(this.withRole({ content: event.text }));
      case "tool-call-start": {
        const index = this.toolIndexes.size;
        this.toolIndexes.set(event.toolCallId, index);
        const call = { index, id: event.toolCallId, type: "function", function: { name: event.toolName, arguments: "" } };
        return this.chunk(this.withRole({ content: null, tool_calls: [call] }));
      }
      case "tool-call-delta": {
        const index = this.toolIndexes.get(event.toolCallId);
        return index === undefined ? "" : this.chunk({ tool_calls: [{ index, function: { arguments: event.argumentsDelta } }] });
      }
      case "finish":
        this.finish = { finishReason: event.finishReason, finishReasonRaw: event.finishReasonRaw };
        return "";
      case "usage":
        return "";
    }
  }

  /** The finish chunk, the usage chunk when asked for, and `[DONE]`. */
  end(usage: ReportedUsage): string {
    let text = this.hasRole ? "" : this.chunk(this.withRole({ content: "" }));
    text += this.chunk({}, openAiFinishReason(this.finish, this.identity.provider));
    if (this.includeUsage) text += sseData({ ...this.base(), choices: [], usage: openAiUsage(usage) });
    return `${text}data: [DONE]\n\n`;
  }

  /** An error after the stream began: a data line with an `error` key (the SDKs throw it), and no `[DONE]`. */
  error(error: GatewayError): string {
    return sseData(openAiErrorBody(error));
  }

  private withRole(delta: Record<string, unknown>): Record<string, unknown> {
    if (this.hasRole) return delta;
    this.hasRole = true;
    return { role: "assistant", ...delta };
  }

  /** `{ …base, choices: [{ index: 0, delta, logprobs: null, finish_reason }], usage? }` as one data line. */
  private chunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
    const end =
      finishReason === null ? this.chunkEnd : `,"logprobs":null,"finish_reason":${JSON.stringify(finishReason)}}]${this.usageField}}\n\n`;
    return `${this.chunkStart}${JSON.stringify(delta)}${end}`;
  }

  private base(): Record<string, unknown> {
    return { id: this.identity.id, object: "chat.completion.chunk", created: this.identity.created, model: this.identity.model };
  }
}

/** A whole answer as a `chat.completion`. */
export function toOpenAiCompletion(identity: OpenAiAnswerIdentity, answer: CollectedAnswer, usage: ReportedUsage): Record<string, unknown> {
  const text = answer.blocks.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("");
  const toolCalls = answer.blocks.flatMap((block) =>
    block.type === "tool-call"
      ? [{ id: block.toolCallId, type: "function", function: { name: block.toolName, arguments: block.argumentsText } }]
      : [],
  );
  return {
    id: identity.id,
    object: "chat.completion",
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text === "" && toolCalls.length > 0 ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          refusal: null,
        },
        logprobs: null,
        finish_reason: openAiFinishReason(answer.finish, identity.provider),
      },
    ],
    usage: openAiUsage(usage),
  };
}

/** A model as `GET /openai/v1/models` lists it, with Juggler's extras (limits and display name) beside OpenAI's fields. */
export function toOpenAiModel(model: Model, created: number): Record<string, unknown> {
  return {
    id: model.id,
    object: "model",
    created,
    owned_by: model.provider,
    display_name: model.displayName,
    context_window: model.contextWindow,
    max_completion_tokens: model.maxOutputTokens,
  };
}

const openAiTypes: Record<GatewayErrorKind, { type: string; code: string | null }> = {
  invalid_request: { type: "invalid_request_error", code: null },
  request_too_large: { type: "invalid_request_error", code: "request_too_large" },
  authentication: { type: "invalid_request_error", code: "invalid_api_key" },
  permission: { type: "permission_error", code: "account_not_active" },
  not_found: { type: "invalid_request_error", code: "unknown_url" },
  method_not_allowed: { type: "invalid_request_error", code: "method_not_supported" },
  model_not_found: { type: "invalid_request_error", code: "model_not_found" },
  // OpenAI's own words for a spent quota and a rate limit; the code says it is Juggler's budget
  budget_monthly: { type: "insufficient_quota", code: "budget_exceeded" },
  budget_rate: { type: "requests", code: "budget_exceeded" },
  rate_limited: { type: "requests", code: "rate_limit_exceeded" },
  overloaded: { type: "server_error", code: "overloaded" },
  context_too_long: { type: "invalid_request_error", code: "context_length_exceeded" },
  upstream: { type: "api_error", code: "upstream_error" },
  unavailable: { type: "server_error", code: "service_unavailable" },
  internal: { type: "server_error", code: null },
};

export function openAiErrorBody(error: GatewayError): Record<string, unknown> {
  const { type, code } = openAiTypes[error.kind];
  return { error: { message: error.message, type, param: error.options.param ?? null, code } };
}

/** OpenAI has no 529: an overloaded provider is a 503 here. */
export function openAiErrorStatus(error: GatewayError): number {
  return error.status === 529 ? 503 : error.status;
}

function sseData(payload: unknown): string {
  // JSON.stringify never writes a raw newline, so each payload is one `data:` line
  return `data: ${JSON.stringify(payload)}\n\n`;
}
