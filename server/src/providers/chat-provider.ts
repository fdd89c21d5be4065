import type { FinishReason } from "../../../protocol/http/conversations";
import type { ErrorCode } from "../../../protocol/http/error-codes";
import type { ProviderKind } from "../../../protocol/http/providers";

/**
 * The contract between the generation service and one provider kind (Anthropic, Groq, Ollama).
 * Adapters wrap the official SDKs; they never retry (the generation job retries, and only
 * before the first token) and they turn every failure into a ProviderError with a code.
 */

/**
 * One piece of a turn's content (docs/providers.md#tools-across-providers). The chat sends text only,
 * as a turn's `content`; the gateway also carries tool calls and their results. A closed union: a new
 * kind (images, later) is a new member that every adapter maps, or refuses with a ProviderError.
 */
export type ChatContentPart = ChatTextPart | ChatImagePart | ChatToolCallPart | ChatToolResultPart;

/** In a user turn: an image, for a model that sees images (each adapter sends it in its provider's form). */
export interface ChatImagePart {
  type: "image";
  mediaType: "image/png" | "image/jpeg" | "image/gif" | "image/webp";
  /** The bytes, base64. */
  data: string;
}

export interface ChatTextPart {
  type: "text";
  text: string;
}

/** In an assistant turn: the model asked the caller to run a tool. */
export interface ChatToolCallPart {
  type: "tool-call";
  /** The id the provider (or the client) gave the call; the result names it. */
  toolCallId: string;
  toolName: string;
  /** The arguments, a JSON object. */
  input: Record<string, unknown>;
}

/** In a user turn: what the caller's tool returned for a call of the assistant turn before. */
export interface ChatToolResultPart {
  type: "tool-result";
  toolCallId: string;
  /** The called tool's name when known (Ollama wants it; OpenAI and Anthropic go by the id). */
  toolName: string | undefined;
  output: string;
  /** The tool failed; `output` says how. */
  isError: boolean;
}

/** One turn of the conversation in a provider-neutral shape. */
export interface ChatTurn {
  role: "user" | "assistant";
  /**
   * The turn's text. A turn with `parts` has here its text parts joined (what estimates and empty-turn
   * checks read); the adapters then send the parts.
   */
  content: string;
  /** The turn's content in order, when it is more than text (tool calls, tool results). Absent: `content` is all of it. */
  parts?: ChatContentPart[];
  /** The stored message this turn came from (several ids when turns were merged). */
  messageIds: string[];
}

/** A turn's content as parts: its own, or one text part made of `content`. */
export function partsOfTurn(turn: Pick<ChatTurn, "content" | "parts">): ChatContentPart[] {
  if (turn.parts !== undefined) return turn.parts;
  return turn.content === "" ? [] : [{ type: "text", text: turn.content }];
}

/** The text parts of `parts` joined, as a turn's `content`. */
export function textOfParts(parts: readonly ChatContentPart[]): string {
  return parts
    .filter((part): part is ChatTextPart => part.type === "text")
    .map((part) => part.text)
    .join("\n\n");
}

/** A tool the model may call: a name, what it does and the JSON Schema of its arguments. */
export interface ChatToolDefinition {
  name: string;
  description: string | undefined;
  inputSchema: Record<string, unknown>;
}

/** auto: the model decides; none: no tool; required: some tool; tool: that one. */
export type ChatToolChoice = { type: "auto" } | { type: "none" } | { type: "required" } | { type: "tool"; toolName: string };

/** Sampling settings a gateway client asked for; the chat sends none (the model's defaults). */
export interface ChatSampling {
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
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
  /** Tools the model may call (gateway requests only); the adapter maps them to its provider's form. */
  tools?: ChatToolDefinition[];
  toolChoice?: ChatToolChoice;
  /** false: at most one tool call per answer (where the provider can be told). */
  allowParallelToolCalls?: boolean;
  sampling?: ChatSampling;
  signal: AbortSignal;
  /**
   * Called when the response headers arrive and then for every chunk the provider sends (text or
   * not: pings, empty deltas, usage), so the caller can tell a slow answer from a stalled one.
   */
  onActivity?: () => void;
}

export type ChatStreamEvent =
  | { type: "text-delta"; text: string }
  /** The model starts a tool call; its arguments follow as `tool-call-delta` pieces of JSON text. */
  | { type: "tool-call-start"; toolCallId: string; toolName: string }
  | { type: "tool-call-delta"; toolCallId: string; argumentsDelta: string }
  /**
   * Usage as reported, as soon as the provider tells it (Anthropic gives the input side at the start);
   * a later event fills what an earlier one lacked. A field not reported stays undefined, never a fake 0.
   * `inputTokens` is the whole input; `cachedInputTokens` the part of it read from the provider's prompt cache.
   */
  | { type: "usage"; inputTokens: number | undefined; outputTokens: number | undefined; cachedInputTokens?: number | undefined }
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
    /**
     * Plain words for a person, naming the provider. Members read it (an answer's error, a note in
     * its context record), so it never holds the provider's address: that is `adminMessage`.
     */
    message: string,
    readonly retryable: boolean,
    readonly options: {
      status?: number;
      /** From the provider's retry-after header, when it sent one. */
      retryAfterMs?: number;
      /** The provider's own message, kept for the log. */
      providerMessage?: string;
      /** The same words with what only an admin may see (the base URL it tried), for Team Settings and the log. */
      adminMessage?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message);
    this.name = "ProviderError";
  }

  /** What an admin is told (Team Settings: test connection, a refresh's error): the address included. */
  get adminMessage(): string {
    return this.options.adminMessage ?? this.message;
  }
}
