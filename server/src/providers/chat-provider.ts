import type { FinishReason } from "../../../protocol/http/conversations";
import type { ErrorCode } from "../../../protocol/http/error-codes";
import type { ProviderKind } from "../../../protocol/http/providers";

/**
 * The contract between the generation service and one provider kind (Anthropic, Groq, Ollama).
 * Adapters wrap the official SDKs; they never retry (the generation job retries, and only
 * before the first token) and they turn every failure into a ProviderError with a code.
 */

/** One turn of the conversation in a provider-neutral shape. */
export interface ChatTurn {
  role: "user" | "assistant";
  content: string;
  /** The stored message this turn came from (several ids when turns were merged). */
  messageIds: string[];
}

/** Turns after a provider's own rules were applied (e.g. Anthropic: user first, roles alternating). */
export interface PreparedConversation {
  system: string | undefined;
  turns: ChatTurn[];
  /** Plain-words notes of what had to change, recorded in the answer's context snapshot. */
  adjustments: string[];
}

export interface ChatRequest {
  /** The provider's own model name, e.g. `claude-sonnet-4-5` (not our `anthropic:` id). */
  model: string;
  conversation: PreparedConversation;
  maxOutputTokens: number;
  signal: AbortSignal;
  /**
   * Called when the response headers arrive and then for every chunk the provider sends (text or
   * not: pings, empty deltas, usage), so the caller can tell a slow answer from a stalled one.
   */
  onActivity?: () => void;
}

export type ChatStreamEvent =
  | { type: "text-delta"; text: string }
  /**
   * Usage as reported, as soon as the provider tells it (Anthropic gives the input side at the start);
   * a later event fills what an earlier one lacked. A field not reported stays undefined, never a fake 0.
   */
  | { type: "usage"; inputTokens: number | undefined; outputTokens: number | undefined }
  | { type: "finish"; finishReason: FinishReason; finishReasonRaw: string | undefined };

/** A model as a provider's list endpoint describes it. */
export interface DiscoveredModel {
  name: string;
  displayName: string;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  supportsVision: boolean | null;
}

export interface ChatProvider {
  readonly kind: ProviderKind;
  /** Pure: applies this provider's message rules. */
  prepareConversation(system: string | undefined, turns: ChatTurn[]): PreparedConversation;
  /**
   * Streams one answer. Throws ProviderError; ends after a `finish` event. Aborting the signal closes
   * the provider request; the stream then throws an AbortError (a DOMException named "AbortError",
   * see abort-error.ts), never a ProviderError. Stopping iteration early also closes the request.
   */
  streamChat(request: ChatRequest): AsyncIterable<ChatStreamEvent>;
  /** Chat models only (e.g. Groq's whisper/tts/guard models are dropped). */
  listModels(signal?: AbortSignal): Promise<DiscoveredModel[]>;
  /**
   * Proves the base URL and key work and counts the chat models exactly as `listModels` does (for
   * Ollama that takes its /api/show per model: an embedding model is not counted). Throws
   * ProviderError like the others.
   */
  checkConnection(signal?: AbortSignal): Promise<{ modelCount: number }>;
}

export type ProviderErrorCode = Extract<
  ErrorCode,
  | "provider_invalid_key"
  | "provider_rate_limited"
  | "provider_overloaded"
  | "provider_model_not_found"
  | "provider_unreachable"
  | "provider_context_too_long"
  | "provider_bad_request"
  | "provider_error"
  | "provider_stream_broken"
  | "provider_stalled"
>;

export class ProviderError extends Error {
  constructor(
    readonly code: ProviderErrorCode,
    /** Plain words for a person, naming the provider. */
    message: string,
    readonly retryable: boolean,
    readonly options: {
      status?: number;
      /** From the provider's retry-after header, when it sent one. */
      retryAfterMs?: number;
      /** The provider's own message, kept for the log. */
      providerMessage?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message);
    this.name = "ProviderError";
  }
}
