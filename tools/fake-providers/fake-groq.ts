/**
 * A local fake of Groq's OpenAI-compatible API (`POST /openai/v1/chat/completions`,
 * `GET /openai/v1/models[/{id}]`) speaking the real wire format: see docs/providers.md#groq-openai-compatible-chat-completions
 * and the recordings in `fixtures/groq/`.
 */
import { randomInt, randomUUID } from "node:crypto";
import type { OutgoingHttpHeaders } from "node:http";
import { flattenContentParts, isRecord, liftLeadingSystemMessages, type EchoInput, type EchoMessage } from "./echo-reply";
import type { FaultSpec } from "./fault-plan";
import { playDeltaStream, type StreamFrame } from "./play-delta-stream";
import { randomIdentifier } from "./random-identifier";
import { readFixtureJson, readFixtureLines } from "./read-fixture";
import { composeAnswer, type Answer, type AnswerToolCall } from "./reply-mode";
import { respondWithFault, respondWithPlannedFault, type FaultResponder, type ProviderErrorResponse } from "./respond-with-fault";
import {
  startFakeServer,
  type CommonFakeOptions,
  type FakeExchange,
  type FakeProviderHandle,
  type FakeServerRuntime,
} from "./start-fake-server";
import { estimateTokenCount } from "./token-chunks";

export interface FakeGroqModel {
  id: string;
  ownedBy: string;
  /** Unix seconds. */
  created: number;
  contextWindow: number;
  maxCompletionTokens: number;
  /** False for speech models (whisper, tts): chat completions reject them. */
  canChat: boolean;
}

/**
 * Like the real list, it mixes chat models with speech-to-text, text-to-speech and guard models,
 * which a chat model picker has to filter out. Figures are plausible, not authoritative.
 */
export const defaultGroqModels: readonly FakeGroqModel[] = [
  { id: "llama-3.3-70b-versatile", ownedBy: "Meta", created: 1733447754, contextWindow: 131072, maxCompletionTokens: 32768, canChat: true },
  { id: "llama-3.1-8b-instant", ownedBy: "Meta", created: 1693721698, contextWindow: 131072, maxCompletionTokens: 131072, canChat: true },
  { id: "openai/gpt-oss-120b", ownedBy: "OpenAI", created: 1754408224, contextWindow: 131072, maxCompletionTokens: 65536, canChat: true },
  {
    id: "meta-llama/llama-4-scout-17b-16e-instruct",
    ownedBy: "Meta",
    created: 1743874824,
    contextWindow: 131072,
    maxCompletionTokens: 8192,
    canChat: true,
  },
  {
    id: "meta-llama/llama-guard-4-12b",
    ownedBy: "Meta",
    created: 1746743847,
    contextWindow: 131072,
    maxCompletionTokens: 1024,
    canChat: true,
  },
  { id: "whisper-large-v3", ownedBy: "OpenAI", created: 1693721698, contextWindow: 448, maxCompletionTokens: 448, canChat: false },
  { id: "whisper-large-v3-turbo", ownedBy: "OpenAI", created: 1728413088, contextWindow: 448, maxCompletionTokens: 448, canChat: false },
  { id: "playai-tts", ownedBy: "PlayAI", created: 1740682771, contextWindow: 8192, maxCompletionTokens: 8192, canChat: false },
];

export interface FakeGroqOptions extends CommonFakeOptions {
  /** The one key accepted as `Authorization: Bearer`; default `fake-groq-key`. */
  apiKey?: string;
  models?: readonly FakeGroqModel[];
}

export interface FakeGroq extends FakeProviderHandle {
  readonly apiKey: string;
  setModels(models: readonly FakeGroqModel[]): void;
  /**
   * Report this many of the prompt tokens as cached (`usage.prompt_tokens_details.cached_tokens`, as
   * Groq does for models with prompt caching). Default undefined: the field is not sent, as in the recordings.
   */
  setCachedPromptTokens(tokens: number | undefined): void;
}

interface GroqState {
  apiKey: string;
  models: readonly FakeGroqModel[];
  cachedPromptTokens: number | undefined;
}

const jsonContentType = "application/json";
const replayChunksFixture = "groq/groq-text.chunks.txt";
const replayCompletionFixture = "groq/groq-text.json";
const systemFingerprint = "fp_fake0000";

export async function startFakeGroq(options: FakeGroqOptions = {}): Promise<FakeGroq> {
  const initialState = (): GroqState => ({
    apiKey: options.apiKey ?? "fake-groq-key",
    models: [...(options.models ?? defaultGroqModels)],
    cachedPromptTokens: undefined,
  });
  const state = initialState();
  const handle = await startFakeServer({
    ...options,
    provider: "groq",
    handleRequest: (exchange, runtime) => handleGroqRequest(exchange, runtime, state),
    onReset: () => Object.assign(state, initialState()),
  });
  return {
    ...handle,
    apiKey: state.apiKey,
    setModels: (models) => {
      state.models = [...models];
    },
    setCachedPromptTokens: (tokens) => {
      state.cachedPromptTokens = tokens;
    },
  };
}

async function handleGroqRequest(exchange: FakeExchange, runtime: FakeServerRuntime, state: GroqState): Promise<void> {
  const requestId = randomIdentifier("req_01");
  const send = (error: ProviderErrorResponse): void => exchange.sendJson(error.status, error.body, error.headers, jsonContentType);
  const modelPath = /^\/openai\/v1\/models\/(.+)$/.exec(exchange.pathname);
  const route = `${exchange.method} ${modelPath ? "/openai/v1/models/{id}" : exchange.pathname}`;

  if (route !== "POST /openai/v1/chat/completions" && route !== "GET /openai/v1/models" && route !== "GET /openai/v1/models/{id}") {
    send(
      groqError(
        404,
        {
          message: `Unknown request URL: ${exchange.method} ${exchange.pathname}. Please check the URL for typos, or see the docs at https://console.groq.com/docs/`,
          type: "invalid_request_error",
          code: "unknown_url",
        },
        requestId,
      ),
    );
    return;
  }
  const bearer = /^Bearer (.+)$/i.exec(exchange.header("authorization") ?? "")?.[1];
  if (bearer !== state.apiKey) {
    send(invalidApiKey(requestId));
    return;
  }
  if (route === "POST /openai/v1/chat/completions") {
    await handleChatCompletion(exchange, runtime, state, requestId);
    return;
  }

  if ((await respondWithPlannedFault(exchange, runtime.faults, "models", undefined, faultResponder(requestId, undefined))).isAnswered)
    return;
  if (modelPath) {
    const id = decodeURIComponent(modelPath[1]);
    const model = state.models.find((candidate) => candidate.id === id);
    if (!model) send(modelNotFound(id, requestId));
    else exchange.sendJson(200, toModelObject(model), { "x-request-id": requestId }, jsonContentType);
    return;
  }
  exchange.sendJson(200, { object: "list", data: state.models.map(toModelObject) }, { "x-request-id": requestId }, jsonContentType);
}

async function handleChatCompletion(
  exchange: FakeExchange,
  runtime: FakeServerRuntime,
  state: GroqState,
  requestId: string,
): Promise<void> {
  const body = exchange.body;
  const requestedModel = isRecord(body) && typeof body.model === "string" ? body.model : undefined;
  const responder = faultResponder(requestId, requestedModel);

  const planned = await respondWithPlannedFault(exchange, runtime.faults, "chat", requestedModel, responder);
  if (planned.isAnswered) return;
  const fault = planned.midStreamFault;
  const parsed = parseChatCompletion(body, state, requestId);
  if ("error" in parsed) {
    exchange.sendJson(parsed.error.status, parsed.error.body, parsed.error.headers, jsonContentType);
    return;
  }
  if (fault) runtime.faults.consume(fault);

  const { reply, tokenDelayMs } = runtime.settings;
  const headers: OutgoingHttpHeaders = { "x-request-id": requestId, "x-groq-region": "fake-local", ...rateLimitHeaders(false, 0) };
  const completionId = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  if (typeof reply === "object" && "toolCall" in reply && !parsed.declaredToolNames.includes(reply.toolCall.name)) {
    // Groq's own check of a model's tool call ([U] wording, as reported in public threads)
    exchange.sendJson(
      400,
      {
        error: {
          message: `tool call validation failed: attempted to call tool '${reply.toolCall.name}' which was not in request.tools`,
          type: "invalid_request_error",
          code: "tool_use_failed",
        },
      },
      headers,
      jsonContentType,
    );
    return;
  }
  const cachedTokens = state.cachedPromptTokens === undefined ? undefined : Math.min(state.cachedPromptTokens, parsed.promptTokens);

  if (!parsed.isStream) {
    if (fault) {
      await respondWithFault(exchange, fault, responder);
      return;
    }
    if (reply === "replay") {
      exchange.sendJson(200, readFixtureJson(replayCompletionFixture), headers, jsonContentType);
      return;
    }
    const answer = composeAnswer(reply, parsed.echoInput, parsed.maxTokens);
    // as recorded (groq-tool-call.json): a tool-call message has `tool_calls` and no content
    const message = answer.toolCall
      ? {
          role: "assistant",
          ...(answer.text === "" ? {} : { content: answer.text }),
          tool_calls: [toolCallObject(answer.toolCall)],
        }
      : { role: "assistant", content: answer.text };
    exchange.sendJson(
      200,
      {
        id: completionId,
        object: "chat.completion",
        created,
        model: parsed.model.id,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(answer) }],
        usage: usageFields(parsed.promptTokens, answer.outputTokens, cachedTokens),
        usage_breakdown: null,
        system_fingerprint: systemFingerprint,
        x_groq: { id: requestId, seed: randomInt(2 ** 31) },
        service_tier: "on_demand",
      },
      headers,
      jsonContentType,
    );
    return;
  }

  const frames =
    reply === "replay"
      ? replayFrames()
      : textStreamFrames({
          base: {
            id: completionId,
            object: "chat.completion.chunk",
            created,
            model: parsed.model.id,
            system_fingerprint: systemFingerprint,
          },
          requestId,
          promptTokens: parsed.promptTokens,
          cachedTokens,
          answer: composeAnswer(reply, parsed.echoInput, parsed.maxTokens),
        });
  exchange.startStream({ "content-type": "text/event-stream", "cache-control": "no-cache", ...headers });
  await playDeltaStream({
    exchange,
    frames,
    tokenDelayMs,
    fault,
    faultWires: {
      // The groq SDK throws on any data line with an `error` key; exact in-stream texts are [U].
      midStreamError: `data: ${JSON.stringify({ error: { message: "Service Unavailable", type: "internal_server_error" } })}\n\n`,
      malformedChunk: `data: {"id":"${completionId}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"cut\n\n`,
    },
  });
}

interface ParsedChatCompletion {
  model: FakeGroqModel;
  maxTokens: number | undefined;
  isStream: boolean;
  promptTokens: number;
  echoInput: EchoInput;
  /** `tools[].function.name`, for a tool-call reply. */
  declaredToolNames: string[];
}

const allowedRoles = new Set(["system", "developer", "user", "assistant", "tool"]);

/** Groq validates against its JSON schema; messages marked [U] follow that style but are not recorded. */
function parseChatCompletion(body: unknown, state: GroqState, requestId: string): ParsedChatCompletion | { error: ProviderErrorResponse } {
  const invalid = (message: string, extra: Record<string, unknown> = {}): { error: ProviderErrorResponse } => ({
    error: groqError(400, { message, type: "invalid_request_error", ...extra }, requestId),
  });
  if (!isRecord(body)) return invalid("request body must be a JSON object"); // [U]
  if (typeof body.model !== "string") return invalid("'model' : property 'model' is missing"); // [U]
  if (!Array.isArray(body.messages)) return invalid("'messages' : property 'messages' is missing"); // [U]
  if (body.messages.length === 0) return invalid("'messages' : minimum number of items is 1"); // [U]

  const model = state.models.find((candidate) => candidate.id === body.model);
  if (!model) return { error: modelNotFound(body.model, requestId) };
  if (!model.canChat) return invalid(`The model \`${model.id}\` does not support chat completions`); // [U]

  const received: EchoMessage[] = [];
  // the ids of the tool calls the latest assistant message made, which `tool` messages answer
  let openToolCallIds = new Set<string>();
  for (const [index, message] of (body.messages as unknown[]).entries()) {
    if (!isRecord(message) || typeof message.role !== "string" || !allowedRoles.has(message.role)) {
      return invalid(`'messages.${index}' : discriminator property 'role' has invalid value`); // [U]
    }
    if (message.role === "assistant") {
      const calls = Array.isArray(message.tool_calls) ? message.tool_calls.filter(isRecord) : [];
      openToolCallIds = new Set(calls.map((call) => String(call.id)));
    } else if (message.role === "tool") {
      // OpenAI's wording, seen in public threads; Groq's own is [U]
      if (!openToolCallIds.has(String(message.tool_call_id))) {
        return invalid(`Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`);
      }
    } else {
      openToolCallIds = new Set();
    }
    const { content } = message;
    const text = typeof content === "string" ? content : Array.isArray(content) ? flattenContentParts(content) : "";
    received.push({ role: message.role, text });
  }

  const maxTokensValue = body.max_completion_tokens ?? body.max_tokens;
  const maxTokens = typeof maxTokensValue === "number" ? maxTokensValue : undefined;
  if (maxTokens !== undefined && maxTokens > model.maxCompletionTokens) {
    // [U] wording recalled from real traffic, not recorded here.
    return invalid(
      `\`max_tokens\` must be less than or equal to \`${model.maxCompletionTokens}\`, the maximum value for \`max_tokens\` is less than the \`context_window\` for this model`,
    );
  }
  const promptTokens = Math.max(estimateTokenCount(received.map((message) => message.text).join("")), 1);
  if (promptTokens + (maxTokens ?? 0) > model.contextWindow) {
    return { error: contextLengthExceeded(requestId) };
  }
  const { system, messages } = liftLeadingSystemMessages(received);
  const declaredToolNames = Array.isArray(body.tools)
    ? body.tools.flatMap((tool) =>
        isRecord(tool) && isRecord(tool.function) && typeof tool.function.name === "string" ? [tool.function.name] : [],
      )
    : [];
  return {
    model,
    maxTokens,
    isStream: body.stream === true,
    promptTokens,
    echoInput: { model: body.model, system, messages },
    declaredToolNames,
  };
}

function finishReasonOf(answer: Answer): "stop" | "length" | "tool_calls" {
  return answer.isTruncated ? "length" : answer.toolCall ? "tool_calls" : "stop";
}

function toolCallObject(call: AnswerToolCall): Record<string, unknown> {
  return { id: call.id, type: "function", function: { name: call.name, arguments: JSON.stringify(call.arguments) } };
}

/**
 * The chunk sequence of the real recording: a role chunk carrying `x_groq.id`, content chunks, a
 * final chunk with an empty delta, `finish_reason`, usage in both `x_groq.usage` and top-level
 * `usage`, then `data: [DONE]`.
 */
function textStreamFrames(options: {
  base: Record<string, unknown>;
  requestId: string;
  promptTokens: number;
  cachedTokens: number | undefined;
  answer: Answer;
}): StreamFrame[] {
  const { base, requestId, promptTokens, cachedTokens, answer } = options;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null, extra: Record<string, unknown> = {}): string =>
    sseData({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...extra });
  const usage = usageFields(promptTokens, answer.outputTokens, cachedTokens);
  // a tool-call answer opens with `content: null` and carries the whole call in one chunk (groq-tool-call.chunks.txt)
  const opening = answer.toolCall && answer.text === "" ? { role: "assistant", content: null } : { role: "assistant", content: "" };
  return [
    { wire: chunk(opening, null, { x_groq: { id: requestId, seed: randomInt(2 ** 31) } }), isDelta: false },
    ...answer.chunks.map((text) => ({ wire: chunk({ content: text }, null), isDelta: true })),
    ...(answer.toolCall ? [{ wire: chunk({ tool_calls: [{ ...toolCallObject(answer.toolCall), index: 0 }] }, null), isDelta: true }] : []),
    { wire: chunk({}, finishReasonOf(answer), { x_groq: { id: requestId, usage }, usage }), isDelta: false },
    { wire: "data: [DONE]\n\n", isDelta: false },
  ];
}

/** The recorded stream as Groq sends it: `data: <chunk>` lines, then `data: [DONE]`. */
function replayFrames(): StreamFrame[] {
  const frames = readFixtureLines(replayChunksFixture).map((line) => {
    const content = (JSON.parse(line) as { choices?: Array<{ delta?: { content?: unknown } }> }).choices?.[0]?.delta?.content;
    return { wire: `data: ${line}\n\n`, isDelta: typeof content === "string" && content !== "" };
  });
  return [...frames, { wire: "data: [DONE]\n\n", isDelta: false }];
}

function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** Groq's usage, with its timing fields in seconds (plausible figures). */
function usageFields(promptTokens: number, completionTokens: number, cachedTokens?: number): Record<string, unknown> {
  const queueTime = 0.012;
  const promptTime = promptTokens * 0.00004;
  const completionTime = completionTokens * 0.004;
  return {
    queue_time: queueTime,
    prompt_tokens: promptTokens,
    prompt_time: promptTime,
    completion_tokens: completionTokens,
    completion_time: completionTime,
    total_tokens: promptTokens + completionTokens,
    total_time: promptTime + completionTime,
    ...(cachedTokens === undefined ? {} : { prompt_tokens_details: { cached_tokens: cachedTokens } }),
  };
}

function faultResponder(requestId: string, requestedModel: string | undefined): FaultResponder {
  return {
    jsonContentType,
    errorResponseFor: (fault: FaultSpec): ProviderErrorResponse => {
      switch (fault.fault) {
        case "unauthorized":
          return invalidApiKey(requestId);
        case "rate-limited":
          return groqError(
            429,
            {
              message: `Rate limit reached for model \`${requestedModel ?? "llama-3.3-70b-versatile"}\` in organization \`org_fake\` service tier \`on_demand\` on tokens per minute (TPM): Limit 12000, Used 11500, Requested 900. Please try again in ${fault.retryAfterSeconds}s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing`,
              type: "tokens",
              code: "rate_limit_exceeded",
            },
            requestId,
            { "retry-after": String(fault.retryAfterSeconds), ...rateLimitHeaders(true, fault.retryAfterSeconds) },
          );
        case "overloaded":
        case "overloaded-mid-stream":
          return groqError(503, { message: "Service Unavailable", type: "internal_server_error" }, requestId); // [U] body
        case "server-error":
          return groqError(500, { message: "Internal Server Error", type: "internal_server_error" }, requestId); // [U] body
        case "context-too-long":
          return contextLengthExceeded(requestId);
        case "model-not-found":
          return modelNotFound(requestedModel ?? "", requestId);
        default:
          throw new Error(`No HTTP error for fault ${fault.fault}`);
      }
    },
  };
}

/** The OpenAI-style envelope `{ error: { message, type, code? } }` with Groq's `x-request-id`. */
function groqError(
  status: number,
  error: Record<string, unknown>,
  requestId: string,
  headers: OutgoingHttpHeaders = {},
): ProviderErrorResponse {
  return { status, body: { error }, headers: { "x-request-id": requestId, ...headers } };
}

function invalidApiKey(requestId: string): ProviderErrorResponse {
  return groqError(401, { message: "Invalid API Key", type: "invalid_request_error", code: "invalid_api_key" }, requestId);
}

function modelNotFound(model: string, requestId: string): ProviderErrorResponse {
  return groqError(
    404,
    {
      message: `The model \`${model}\` does not exist or you do not have access to it.`,
      type: "invalid_request_error",
      code: "model_not_found",
    },
    requestId,
  );
}

function contextLengthExceeded(requestId: string): ProviderErrorResponse {
  return groqError(
    400,
    {
      message: "Please reduce the length of the messages or completion.",
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
    },
    requestId,
  );
}

/** Groq's documented names; resets are duration strings such as `7.66s` (docs/providers.md#groq-errors-and-rate-limits). */
function rateLimitHeaders(isExhausted: boolean, retryAfterSeconds: number): OutgoingHttpHeaders {
  return {
    "x-ratelimit-limit-requests": "14400",
    "x-ratelimit-limit-tokens": "12000",
    "x-ratelimit-remaining-requests": isExhausted ? "14390" : "14399",
    "x-ratelimit-remaining-tokens": isExhausted ? "0" : "11000",
    "x-ratelimit-reset-requests": "6s",
    "x-ratelimit-reset-tokens": `${isExhausted ? retryAfterSeconds : 0.5}s`,
  };
}

function toModelObject(model: FakeGroqModel): Record<string, unknown> {
  return {
    id: model.id,
    object: "model",
    created: model.created,
    owned_by: model.ownedBy,
    active: true,
    context_window: model.contextWindow,
    public_apps: null,
    max_completion_tokens: model.maxCompletionTokens,
  };
}
