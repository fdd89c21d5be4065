/**
 * A local fake of the Anthropic Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`,
 * `GET /v1/models[/{id}]`) speaking
 * the real wire format: see docs/providers.md#anthropic-messages-api and the recordings in `fixtures/anthropic/`.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { flattenContentParts, isRecord, type EchoInput, type EchoMessage } from "./echo-reply";
import type { FaultSpec } from "./fault-plan";
import { playDeltaStream, type StreamFrame } from "./play-delta-stream";
import { randomIdentifier } from "./random-identifier";
import { readFixtureJson, readFixtureLines } from "./read-fixture";
import { composeAnswer, type Answer } from "./reply-mode";
import { respondWithFault, respondWithPlannedFault, type FaultResponder, type ProviderErrorResponse } from "./respond-with-fault";
import {
  startFakeServer,
  type CommonFakeOptions,
  type FakeExchange,
  type FakeProviderHandle,
  type FakeServerRuntime,
} from "./start-fake-server";
import { estimateTokenCount } from "./token-chunks";

export interface FakeAnthropicModel {
  id: string;
  displayName: string;
  /** RFC 3339 release date. */
  createdAt: string;
  maxInputTokens: number;
  /** Largest `max_tokens` the model accepts. */
  maxTokens: number;
  /** `retired` models stay in the catalogue but inference fails (ModelInfo.lifecycle in SDK 1.14). */
  lifecycle: "active" | "deprecated" | "retired";
  line: "haiku" | "sonnet" | "opus" | null;
  deprecatedAt?: string;
  retiresAt?: string;
}

/**
 * Newest first, as the real `GET /v1/models` lists them. Ids are those of SDK 1.14's `Model` union
 * (plus one retired model); release dates and limits are plausible, not authoritative.
 * `claude-sonnet-4-5-20250929` is the model of the recorded fixtures, deprecated per the SDK.
 */
export const defaultAnthropicModels: readonly FakeAnthropicModel[] = [
  {
    id: "claude-sonnet-5-5",
    displayName: "Claude Sonnet 5.5",
    createdAt: "2026-09-15T00:00:00Z",
    maxInputTokens: 200000,
    maxTokens: 64000,
    lifecycle: "active",
    line: "sonnet",
  },
  {
    id: "claude-opus-5-5",
    displayName: "Claude Opus 5.5",
    createdAt: "2026-09-15T00:00:00Z",
    maxInputTokens: 200000,
    maxTokens: 64000,
    lifecycle: "active",
    line: "opus",
  },
  {
    id: "claude-haiku-5-5",
    displayName: "Claude Haiku 5.5",
    createdAt: "2026-09-01T00:00:00Z",
    maxInputTokens: 200000,
    maxTokens: 64000,
    lifecycle: "active",
    line: "haiku",
  },
  {
    id: "claude-opus-4-8",
    displayName: "Claude Opus 4.8",
    createdAt: "2026-06-10T00:00:00Z",
    maxInputTokens: 200000,
    maxTokens: 64000,
    lifecycle: "active",
    line: "opus",
  },
  {
    id: "claude-sonnet-4-6",
    displayName: "Claude Sonnet 4.6",
    createdAt: "2026-02-17T00:00:00Z",
    maxInputTokens: 200000,
    maxTokens: 64000,
    lifecycle: "active",
    line: "sonnet",
  },
  {
    id: "claude-haiku-4-5-20251001",
    displayName: "Claude Haiku 4.5",
    createdAt: "2025-10-01T00:00:00Z",
    maxInputTokens: 200000,
    maxTokens: 64000,
    lifecycle: "active",
    line: "haiku",
  },
  {
    id: "claude-sonnet-4-5-20250929",
    displayName: "Claude Sonnet 4.5",
    createdAt: "2025-09-29T00:00:00Z",
    maxInputTokens: 200000,
    maxTokens: 64000,
    lifecycle: "deprecated",
    line: "sonnet",
    deprecatedAt: "2026-08-31T00:00:00Z",
    retiresAt: "2026-11-30T00:00:00Z",
  },
  {
    id: "claude-3-5-haiku-20241022",
    displayName: "Claude Haiku 3.5",
    createdAt: "2024-10-22T00:00:00Z",
    maxInputTokens: 200000,
    maxTokens: 8192,
    lifecycle: "retired",
    line: "haiku",
    deprecatedAt: "2025-08-13T00:00:00Z",
    retiresAt: "2026-02-19T00:00:00Z",
  },
];

export interface FakeAnthropicOptions extends CommonFakeOptions {
  /** The one key accepted, as `x-api-key` or `Authorization: Bearer`; default `fake-anthropic-key`. */
  apiKey?: string;
  models?: readonly FakeAnthropicModel[];
  /**
   * Reject consecutive same-role turns with the pre-Oct-2024 400. Default false: the current API
   * merges them ("Consecutive user or assistant turns … will be combined into a single turn").
   */
  requiresAlternatingRoles?: boolean;
}

export interface FakeAnthropic extends FakeProviderHandle {
  readonly apiKey: string;
  setModels(models: readonly FakeAnthropicModel[]): void;
  setRequiresAlternatingRoles(requiresAlternatingRoles: boolean): void;
  /**
   * How many input tokens each answer reports as read from the prompt cache (`cache_read_input_tokens`;
   * `input_tokens` is then the rest). Default 0, reported as 0 like uncached real traffic.
   */
  setCacheReadInputTokens(tokens: number): void;
}

interface AnthropicState {
  apiKey: string;
  models: readonly FakeAnthropicModel[];
  requiresAlternatingRoles: boolean;
  cacheReadInputTokens: number;
}

const jsonContentType = "application/json";
const replayChunksFixture = "anthropic/anthropic-text.chunks.txt";
const replayMessageFixture = "anthropic/anthropic-text.json";

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const initialState = (): AnthropicState => ({
    apiKey: options.apiKey ?? "fake-anthropic-key",
    models: [...(options.models ?? defaultAnthropicModels)],
    requiresAlternatingRoles: options.requiresAlternatingRoles ?? false,
    cacheReadInputTokens: 0,
  });
  const state = initialState();
  const handle = await startFakeServer({
    ...options,
    provider: "anthropic",
    handleRequest: (exchange, runtime) => handleAnthropicRequest(exchange, runtime, state),
    onReset: () => Object.assign(state, initialState()),
  });
  return {
    ...handle,
    apiKey: state.apiKey,
    setModels: (models) => {
      state.models = [...models];
    },
    setRequiresAlternatingRoles: (requiresAlternatingRoles) => {
      state.requiresAlternatingRoles = requiresAlternatingRoles;
    },
    setCacheReadInputTokens: (tokens) => {
      state.cacheReadInputTokens = tokens;
    },
  };
}

async function handleAnthropicRequest(exchange: FakeExchange, runtime: FakeServerRuntime, state: AnthropicState): Promise<void> {
  const requestId = randomIdentifier("req_01");
  const send = (error: ProviderErrorResponse): void => exchange.sendJson(error.status, error.body, error.headers, jsonContentType);
  const modelPath = /^\/v1\/models\/([^/]+)$/.exec(exchange.pathname);
  const route = `${exchange.method} ${modelPath ? "/v1/models/{id}" : exchange.pathname}`;

  const knownRoutes = ["POST /v1/messages", "POST /v1/messages/count_tokens", "GET /v1/models", "GET /v1/models/{id}"];
  if (!knownRoutes.includes(route)) {
    send(anthropicError(404, "not_found_error", "Not Found", requestId));
    return;
  }
  const authenticationError = checkAuthentication(exchange, state, requestId);
  if (authenticationError) {
    send(authenticationError);
    return;
  }
  if (route === "POST /v1/messages") {
    await handleCreateMessage(exchange, runtime, state, requestId);
    return;
  }
  if (route === "POST /v1/messages/count_tokens") {
    // Same validation as a message (count_tokens takes no max_tokens), same estimate as the usage.
    const parsed = parseCreateMessage(isRecord(exchange.body) ? { ...exchange.body, max_tokens: 1 } : exchange.body, state, requestId);
    if ("error" in parsed) send(parsed.error);
    else exchange.sendJson(200, { input_tokens: parsed.inputTokens }, { "request-id": requestId }, jsonContentType);
    return;
  }

  if (
    (await respondWithPlannedFault(exchange, runtime.faults, "models", undefined, faultResponder(requestId, undefined, state))).isAnswered
  )
    return;
  if (modelPath) {
    const model = findModel(state, decodeURIComponent(modelPath[1]));
    if (!model) send(anthropicError(404, "not_found_error", `model: ${decodeURIComponent(modelPath[1])}`, requestId));
    else exchange.sendJson(200, toModelInfo(model), { "request-id": requestId }, jsonContentType);
    return;
  }
  const page = listModelsPage(exchange, state, requestId);
  if ("error" in page) send(page.error);
  else exchange.sendJson(200, page.body, { "request-id": requestId }, jsonContentType);
}

/**
 * Real messages [T]: "x-api-key header is required", "invalid x-api-key",
 * "anthropic-version: header is required". The SDK we use (1.14) sends the key as
 * `Authorization: Bearer` and `anthropic-version: 2026-10-21`; older clients send `x-api-key` and
 * `2023-06-01`: both are accepted (docs/providers.md#anthropic-requests-and-headers).
 */
function checkAuthentication(exchange: FakeExchange, state: AnthropicState, requestId: string): ProviderErrorResponse | undefined {
  const apiKey = exchange.header("x-api-key");
  const bearer = /^Bearer (.+)$/i.exec(exchange.header("authorization") ?? "")?.[1];
  if (apiKey === undefined && bearer === undefined) {
    return anthropicError(401, "authentication_error", "x-api-key header is required", requestId);
  }
  if (apiKey !== state.apiKey && bearer !== state.apiKey) {
    return anthropicError(401, "authentication_error", "invalid x-api-key", requestId);
  }
  const version = exchange.header("anthropic-version");
  if (version === undefined) {
    return anthropicError(400, "invalid_request_error", "anthropic-version: header is required", requestId);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) {
    return anthropicError(400, "invalid_request_error", `anthropic-version: ${JSON.stringify(version)} is not a valid version`, requestId);
  }
  return undefined;
}

async function handleCreateMessage(
  exchange: FakeExchange,
  runtime: FakeServerRuntime,
  state: AnthropicState,
  requestId: string,
): Promise<void> {
  const body = exchange.body;
  const requestedModel = isRecord(body) && typeof body.model === "string" ? body.model : undefined;
  const responder = faultResponder(requestId, requestedModel, state);

  const planned = await respondWithPlannedFault(exchange, runtime.faults, "chat", requestedModel, responder);
  if (planned.isAnswered) return;
  const fault = planned.midStreamFault;
  const parsed = parseCreateMessage(body, state, requestId);
  if ("error" in parsed) {
    exchange.sendJson(parsed.error.status, parsed.error.body, parsed.error.headers, jsonContentType);
    return;
  }
  if (fault) runtime.faults.consume(fault);

  const { reply, tokenDelayMs } = runtime.settings;
  const headers: OutgoingHttpHeaders = { "request-id": requestId, ...rateLimitHeaders(false, 0) };
  if (typeof reply === "object" && "toolCall" in reply && !parsed.declaredToolNames.includes(reply.toolCall.name)) {
    // the fake's own guard, not an API message: a model only calls tools the request gave it
    const error = anthropicError(
      400,
      "invalid_request_error",
      `fake: asked to call "${reply.toolCall.name}", which the request does not declare`,
      requestId,
    );
    exchange.sendJson(error.status, error.body, error.headers, jsonContentType);
    return;
  }
  const usage = splitCachedInput(parsed.inputTokens, state.cacheReadInputTokens);

  if (!parsed.isStream) {
    if (fault) {
      await respondWithFault(exchange, fault, responder);
      return;
    }
    if (reply === "replay") {
      exchange.sendJson(200, readFixtureJson(replayMessageFixture), headers, jsonContentType);
      return;
    }
    const answer = composeAnswer(reply, parsed.echoInput, parsed.maxTokens, "toolu_01");
    const content: unknown[] = answer.text === "" && answer.toolCall ? [] : [{ type: "text", text: answer.text }];
    if (answer.toolCall)
      content.push({ type: "tool_use", id: answer.toolCall.id, name: answer.toolCall.name, input: answer.toolCall.arguments });
    exchange.sendJson(
      200,
      {
        model: parsed.model.id,
        id: randomIdentifier("msg_01"),
        type: "message",
        role: "assistant",
        content,
        stop_reason: stopReasonOf(answer),
        stop_sequence: null,
        usage: usageFields(usage, answer.outputTokens),
      },
      headers,
      jsonContentType,
    );
    return;
  }

  const frames =
    reply === "replay"
      ? replayFrames()
      : answerStreamFrames(parsed.model.id, usage, composeAnswer(reply, parsed.echoInput, parsed.maxTokens, "toolu_01"));
  exchange.startStream({ "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...headers });
  await playDeltaStream({
    exchange,
    frames,
    tokenDelayMs,
    fault,
    faultWires: {
      midStreamError: sseEvent({
        type: "error",
        error: { details: null, type: "overloaded_error", message: "Overloaded" },
        request_id: requestId,
      }),
      malformedChunk: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n',
    },
  });
}

interface ParsedCreateMessage {
  model: FakeAnthropicModel;
  maxTokens: number;
  isStream: boolean;
  inputTokens: number;
  echoInput: EchoInput;
  /** `tools[].name`, for a tool-call reply. */
  declaredToolNames: string[];
}

/** Validation in the order the real API reports problems, with its real messages where known. */
function parseCreateMessage(
  body: unknown,
  state: AnthropicState,
  requestId: string,
): ParsedCreateMessage | { error: ProviderErrorResponse } {
  const invalid = (message: string): { error: ProviderErrorResponse } => ({
    error: anthropicError(400, "invalid_request_error", message, requestId),
  });
  if (!isRecord(body)) return invalid("Request body must be a JSON object"); // [U] wording
  if (typeof body.model !== "string") return invalid("model: Field required");
  if (typeof body.max_tokens !== "number") return invalid("max_tokens: Field required");
  if (body.messages === undefined) return invalid("messages: Field required");
  if (!Array.isArray(body.messages)) return invalid("messages: Input should be a valid list");

  const model = findModel(state, body.model);
  // A retired model answers like an unknown one ([U]: the exact retired-model message is not recorded).
  if (!model || model.lifecycle === "retired") return { error: anthropicError(404, "not_found_error", `model: ${body.model}`, requestId) };

  const messages: unknown[] = body.messages;
  if (messages.length === 0) return invalid("messages: at least one message is required");

  const echoMessages: EchoMessage[] = [];
  for (const [index, message] of messages.entries()) {
    if (!isRecord(message)) return invalid(`messages.${index}: Input should be a valid dictionary`);
    if (message.role === "system") {
      return invalid(
        'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.',
      );
    }
    if (message.role !== "user" && message.role !== "assistant") {
      return invalid(`messages.${index}.role: Input should be 'user' or 'assistant'`);
    }
    const { content } = message;
    const isFinalAssistant = index === messages.length - 1 && message.role === "assistant";
    if ((content === "" || (Array.isArray(content) && content.length === 0)) && !isFinalAssistant) {
      return invalid(`messages.${index}: all messages must have non-empty content except for the optional final assistant message`);
    }
    if (typeof content !== "string" && !Array.isArray(content)) {
      return invalid(`messages.${index}.content: Input should be a valid string or list`);
    }
    if (Array.isArray(content)) {
      for (const block of content) {
        if (isRecord(block) && block.type === "text" && typeof block.text === "string") {
          if (block.text === "") return invalid("messages: text content blocks must be non-empty");
          if (block.text.trim() === "") return invalid("messages: text content blocks must contain non-whitespace text");
        }
      }
    }
    echoMessages.push({ role: message.role, text: typeof content === "string" ? content : flattenContentParts(content) });
  }

  if (echoMessages[0].role !== "user") return invalid('messages: first message must use the "user" role');
  const toolPairingProblem = checkToolPairing(messages as Array<Record<string, unknown>>);
  if (toolPairingProblem !== undefined) return invalid(toolPairingProblem);
  if (state.requiresAlternatingRoles) {
    for (let index = 1; index < echoMessages.length; index += 1) {
      const { role } = echoMessages[index];
      if (role === echoMessages[index - 1].role) {
        return invalid(`messages: roles must alternate between "user" and "assistant", but found multiple "${role}" roles in a row`);
      }
    }
  }
  const last = echoMessages[echoMessages.length - 1];
  if (last.role === "assistant" && /\s$/.test(last.text)) {
    return invalid("messages: final assistant content cannot end with trailing whitespace");
  }

  let system: string | undefined;
  if (typeof body.system === "string") system = body.system;
  else if (Array.isArray(body.system)) system = flattenContentParts(body.system);
  else if (body.system !== undefined) return invalid("system: Input should be a valid string or list");

  if (body.max_tokens > model.maxTokens) {
    return invalid(
      `max_tokens: ${body.max_tokens} > ${model.maxTokens}, which is the maximum allowed number of output tokens for ${model.id}`,
    );
  }
  const inputTokens = estimateTokenCount((system ?? "") + echoMessages.map((message) => message.text).join(""));
  if (inputTokens > model.maxInputTokens) {
    return invalid(`prompt is too long: ${inputTokens} tokens > ${model.maxInputTokens} maximum`);
  }
  const declaredToolNames = Array.isArray(body.tools)
    ? body.tools.flatMap((tool) => (isRecord(tool) && typeof tool.name === "string" ? [tool.name] : []))
    : [];
  return {
    model,
    maxTokens: body.max_tokens,
    isStream: body.stream === true,
    inputTokens: Math.max(inputTokens, 1),
    echoInput: { model: body.model, system, messages: echoMessages },
    declaredToolNames,
  };
}

/**
 * How the API pairs tool use with results: each `tool_result` answers a `tool_use` of the assistant
 * message just before, every `tool_use` (but in the last message) is answered in the next message,
 * and results come before any other block of their message. Only the second wording was seen in real
 * traffic ([T]); the other two are [U].
 */
function checkToolPairing(messages: ReadonlyArray<Record<string, unknown>>): string | undefined {
  const blocksOf = (message: Record<string, unknown> | undefined): Array<Record<string, unknown>> =>
    Array.isArray(message?.content) ? message.content.filter(isRecord) : [];
  for (const [index, message] of messages.entries()) {
    const blocks = blocksOf(message);
    const toolUseIds = blocks.filter((block) => block.type === "tool_use").map((block) => String(block.id));
    const next = messages[index + 1];
    if (toolUseIds.length > 0 && next !== undefined) {
      const answered = new Set(
        blocksOf(next)
          .filter((block) => block.type === "tool_result")
          .map((block) => String(block.tool_use_id)),
      );
      const unanswered = toolUseIds.filter((id) => !answered.has(id));
      if (unanswered.length > 0) {
        return `messages.${index}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    }
    const previousToolUseIds = new Set(
      blocksOf(messages[index - 1])
        .filter((block) => block.type === "tool_use")
        .map((block) => String(block.id)),
    );
    let hasOtherBlock = false;
    for (const [blockIndex, block] of blocks.entries()) {
      if (block.type !== "tool_result") {
        hasOtherBlock = true;
        continue;
      }
      if (!previousToolUseIds.has(String(block.tool_use_id))) {
        return `messages.${index}.content.${blockIndex}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
      if (hasOtherBlock) return `messages.${index}.content.${blockIndex}: \`tool_result\` blocks must come before any other content`;
    }
  }
  return undefined;
}

/** The input side as the API reports it with prompt caching: `input_tokens` excludes what was read from the cache. */
interface InputUsage {
  inputTokens: number;
  cacheReadInputTokens: number;
}

function splitCachedInput(totalInputTokens: number, cacheReadInputTokens: number): InputUsage {
  const cached = Math.min(cacheReadInputTokens, totalInputTokens);
  return { inputTokens: totalInputTokens - cached, cacheReadInputTokens: cached };
}

function stopReasonOf(answer: Answer): "end_turn" | "max_tokens" | "tool_use" {
  return answer.isTruncated ? "max_tokens" : answer.toolCall ? "tool_use" : "end_turn";
}

/**
 * The event order of a real stream (docs/providers.md#anthropic-streaming-events): start, block start,
 * ping, deltas, block stop; a tool call is one more block, `tool_use` with its input as
 * `input_json_delta` pieces (the SDK's recorded `tool_use_response.txt`); then the message delta and stop.
 */
function answerStreamFrames(model: string, usage: InputUsage, answer: Answer): StreamFrame[] {
  const frames: StreamFrame[] = [
    sseFrame({
      type: "message_start",
      message: {
        model,
        id: randomIdentifier("msg_01"),
        type: "message",
        role: "assistant",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usageFields(usage, 1),
      },
    }),
  ];
  let index = 0;
  const hasTextBlock = answer.text !== "" || answer.toolCall === undefined;
  if (hasTextBlock) {
    frames.push(
      sseFrame({ type: "content_block_start", index, content_block: { type: "text", text: "" } }),
      // Real traffic spells the ping payload with a space after the colon.
      { wire: 'event: ping\ndata: {"type": "ping"}\n\n', isDelta: false },
      ...answer.chunks.map((text) => sseFrame({ type: "content_block_delta", index, delta: { type: "text_delta", text } })),
      sseFrame({ type: "content_block_stop", index }),
    );
    index += 1;
  }
  if (answer.toolCall) {
    const { id, name, argumentChunks } = answer.toolCall;
    frames.push(
      sseFrame({ type: "content_block_start", index, content_block: { type: "tool_use", id, name, input: {} } }),
      sseFrame({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } }),
      ...argumentChunks.map((partial_json) =>
        sseFrame({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } }),
      ),
      sseFrame({ type: "content_block_stop", index }),
    );
  }
  frames.push(
    sseFrame({
      type: "message_delta",
      delta: { stop_reason: stopReasonOf(answer), stop_sequence: null },
      // Cumulative, and in 2026 traffic it repeats the input side too.
      usage: {
        input_tokens: usage.inputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: usage.cacheReadInputTokens,
        output_tokens: answer.outputTokens,
      },
    }),
    sseFrame({ type: "message_stop" }),
  );
  return frames;
}

/** The recorded stream, framed as Anthropic sends it: `event: <type>` + data, no `[DONE]`. */
function replayFrames(): StreamFrame[] {
  return readFixtureLines(replayChunksFixture).map((line) => {
    const type = (JSON.parse(line) as { type: string }).type;
    return { wire: `event: ${type}\ndata: ${line}\n\n`, isDelta: type === "content_block_delta" };
  });
}

/** An SSE payload: its `type` is also the event name. */
interface SsePayload {
  type: string;
  [field: string]: unknown;
}

function sseFrame(data: SsePayload): StreamFrame {
  // the empty first piece of a tool call's input is not a delta a client sees
  const isEmptyJsonPiece = isRecord(data.delta) && data.delta.partial_json === "";
  return { wire: sseEvent(data), isDelta: data.type === "content_block_delta" && !isEmptyJsonPiece };
}

function sseEvent(data: SsePayload): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

function usageFields(usage: InputUsage, outputTokens: number): Record<string, unknown> {
  return {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cacheReadInputTokens,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: "standard",
  };
}

function faultResponder(requestId: string, requestedModel: string | undefined, state: AnthropicState): FaultResponder {
  return {
    jsonContentType,
    errorResponseFor: (fault: FaultSpec): ProviderErrorResponse => {
      switch (fault.fault) {
        case "unauthorized":
          return anthropicError(401, "authentication_error", "invalid x-api-key", requestId);
        case "rate-limited":
          return anthropicError(
            429,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization (00000000-0000-0000-0000-00000000fake) of 20,000 input tokens per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.",
            requestId,
            { "retry-after": String(fault.retryAfterSeconds), ...rateLimitHeaders(true, fault.retryAfterSeconds) },
          );
        case "overloaded":
        case "overloaded-mid-stream":
          return anthropicError(529, "overloaded_error", "Overloaded", requestId);
        case "server-error":
          return anthropicError(500, "api_error", "Internal server error", requestId);
        case "context-too-long": {
          const limit = (requestedModel !== undefined ? findModel(state, requestedModel)?.maxInputTokens : undefined) ?? 200000;
          return anthropicError(400, "invalid_request_error", `prompt is too long: ${limit + 1234} tokens > ${limit} maximum`, requestId);
        }
        case "model-not-found":
          return anthropicError(404, "not_found_error", `model: ${requestedModel ?? ""}`, requestId);
        default:
          throw new Error(`No HTTP error for fault ${fault.fault}`);
      }
    },
  };
}

/**
 * The error envelope with `request_id` (2026 form) and the `request-id` header. `x-should-retry` mirrors what the API sends
 * (true on 429/5xx/529, false on other 4xx); the official SDK obeys it before looking at the status.
 */
function anthropicError(
  status: number,
  type: string,
  message: string,
  requestId: string,
  headers: OutgoingHttpHeaders = {},
): ProviderErrorResponse {
  const isRetryable = status === 429 || status >= 500;
  return {
    status,
    body: { type: "error", error: { type, message }, request_id: requestId },
    headers: { "request-id": requestId, "x-should-retry": String(isRetryable), ...headers },
  };
}

/** Header names per third-party write-ups (docs/providers.md#anthropic-errors-and-retry-after, [U]); resets are RFC 3339 times. */
function rateLimitHeaders(isExhausted: boolean, retryAfterSeconds: number): OutgoingHttpHeaders {
  const reset = new Date(Date.now() + Math.max(retryAfterSeconds, 1) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": isExhausted ? "0" : "49",
    "anthropic-ratelimit-requests-reset": reset,
    "anthropic-ratelimit-input-tokens-limit": "20000",
    "anthropic-ratelimit-input-tokens-remaining": isExhausted ? "0" : "19000",
    "anthropic-ratelimit-input-tokens-reset": reset,
    "anthropic-ratelimit-output-tokens-limit": "8000",
    "anthropic-ratelimit-output-tokens-remaining": isExhausted ? "0" : "8000",
    "anthropic-ratelimit-output-tokens-reset": reset,
    "anthropic-ratelimit-tokens-limit": "28000",
    "anthropic-ratelimit-tokens-remaining": isExhausted ? "0" : "27000",
    "anthropic-ratelimit-tokens-reset": reset,
  };
}

/** Exact id, or an alias (the id without its date suffix), as the real API resolves them. */
function findModel(state: AnthropicState, requested: string): FakeAnthropicModel | undefined {
  return state.models.find((model) => model.id === requested || model.id.replace(/-\d{8}$/, "") === requested);
}

function toModelInfo(model: FakeAnthropicModel): Record<string, unknown> {
  return {
    type: "model",
    id: model.id,
    display_name: model.displayName,
    created_at: model.createdAt,
    max_input_tokens: model.maxInputTokens,
    max_tokens: model.maxTokens,
    capabilities: null,
    deprecated_at: model.deprecatedAt ?? null,
    lifecycle: model.lifecycle,
    line: model.line,
    retires_at: model.retiresAt ?? null,
  };
}

/** Cursor pagination as the SDK's `Page` expects it (docs/providers.md#anthropic-model-list). */
function listModelsPage(
  exchange: FakeExchange,
  state: AnthropicState,
  requestId: string,
): { body: Record<string, unknown> } | { error: ProviderErrorResponse } {
  const invalid = (message: string) => ({ error: anthropicError(400, "invalid_request_error", message, requestId) });
  const { limit: limitText, after_id: afterId, before_id: beforeId } = exchange.record.query;
  const limit = limitText === undefined ? 20 : Number(limitText);
  if (!Number.isInteger(limit)) return invalid("limit: Input should be a valid integer");
  if (limit < 1) return invalid("limit: Input should be greater than or equal to 1");
  if (limit > 1000) return invalid("limit: Input should be less than or equal to 1000");

  const models = state.models;
  const indexOf = (id: string): number => models.findIndex((model) => model.id === id);
  let page: readonly FakeAnthropicModel[];
  let hasMore: boolean;
  if (beforeId !== undefined) {
    const end = indexOf(beforeId);
    if (end === -1) return invalid(`before_id: unknown model id ${JSON.stringify(beforeId)}`); // [U] wording
    const start = Math.max(0, end - limit);
    page = models.slice(start, end);
    hasMore = start > 0;
  } else {
    const start = afterId === undefined ? 0 : indexOf(afterId) + 1;
    if (afterId !== undefined && start === 0) return invalid(`after_id: unknown model id ${JSON.stringify(afterId)}`); // [U] wording
    page = models.slice(start, start + limit);
    hasMore = start + limit < models.length;
  }
  return {
    body: {
      data: page.map(toModelInfo),
      has_more: hasMore,
      first_id: page[0]?.id ?? null,
      last_id: page[page.length - 1]?.id ?? null,
    },
  };
}
