/**
 * A local fake of Ollama's native API (`POST /api/chat`, `GET /api/tags`, `POST /api/show`,
 * `GET /api/version`) speaking the real wire format: see docs/providers.md#ollama-native-api and the
 * documented examples in `fixtures/ollama/`. No authentication, like a local Ollama.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { isRecord, liftLeadingSystemMessages, type EchoInput, type EchoMessage } from "./echo-reply";
import type { FaultSpec } from "./fault-plan";
import { playDeltaStream, type StreamFrame } from "./play-delta-stream";
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
import { estimateTokenCount, splitIntoTokenChunks } from "./token-chunks";

export interface FakeOllamaModel {
  /** Full name with tag, e.g. `llama3.2:latest`; requests may omit `:latest`. */
  name: string;
  family: string;
  /** `general.architecture`: the prefix of `<arch>.context_length` in `model_info`. */
  architecture: string;
  parameterSize: string;
  parameterCount: number;
  quantizationLevel: string;
  contextLength: number;
  /** Subset of completion, tools, insert, vision, embedding, thinking. */
  capabilities: string[];
  size: number;
  digest: string;
  modifiedAt: string;
}

/** The first two are the `GET /api/tags` example of Ollama's docs (`fixtures/ollama/api-tags.response.json`). */
export const defaultOllamaModels: readonly FakeOllamaModel[] = [
  {
    name: "deepseek-r1:latest",
    family: "qwen2",
    architecture: "qwen2",
    parameterSize: "7.6B",
    parameterCount: 7615616512,
    quantizationLevel: "Q4_K_M",
    contextLength: 131072,
    capabilities: ["completion", "thinking"],
    size: 4683075271,
    digest: "0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163",
    modifiedAt: "2025-05-10T08:06:48.639712648-07:00",
  },
  {
    name: "llama3.2:latest",
    family: "llama",
    architecture: "llama",
    parameterSize: "3.2B",
    parameterCount: 3212749888,
    quantizationLevel: "Q4_K_M",
    contextLength: 131072,
    capabilities: ["completion", "tools"],
    size: 2019393189,
    digest: "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
    modifiedAt: "2025-05-04T17:37:44.706015396-07:00",
  },
  {
    name: "gemma3:latest",
    family: "gemma3",
    architecture: "gemma3",
    parameterSize: "4.3B",
    parameterCount: 4299915632,
    quantizationLevel: "Q4_K_M",
    contextLength: 131072,
    capabilities: ["completion", "vision"],
    size: 3338801804,
    digest: "a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a",
    modifiedAt: "2025-06-02T09:12:30.118273645-07:00",
  },
  {
    name: "nomic-embed-text:latest",
    family: "nomic-bert",
    architecture: "nomic-bert",
    parameterSize: "137M",
    parameterCount: 136727040,
    quantizationLevel: "F16",
    contextLength: 2048,
    capabilities: ["embedding"],
    size: 274302450,
    digest: "0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f",
    modifiedAt: "2025-04-20T11:02:15.524118392-07:00",
  },
];

export interface FakeOllamaOptions extends CommonFakeOptions {
  models?: readonly FakeOllamaModel[];
  /** Reported by `GET /api/version`; default `0.12.10`. */
  version?: string;
}

export interface FakeOllama extends FakeProviderHandle {
  setModels(models: readonly FakeOllamaModel[]): void;
}

interface OllamaState {
  models: readonly FakeOllamaModel[];
  version: string;
}

const jsonContentType = "application/json; charset=utf-8";
const replayResponseFixture = "ollama/api-chat.nonstream.response.json";
const midStreamErrorFixture = "ollama/api-generate.stream-midstream-error.ndjson";
/**
 * The context a model is loaded with when the request sets no `num_ctx`: recent Ollama picks 4096 on
 * typical GPUs. Longer prompts are silently shortened (HTTP 200), so `prompt_eval_count` is capped.
 */
const defaultLoadedContextTokens = 4096;

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  const initialState = (): OllamaState => ({
    models: [...(options.models ?? defaultOllamaModels)],
    version: options.version ?? "0.12.10",
  });
  const state = initialState();
  const handle = await startFakeServer({
    ...options,
    provider: "ollama",
    handleRequest: (exchange, runtime) => handleOllamaRequest(exchange, runtime, state),
    onReset: () => Object.assign(state, initialState()),
  });
  return {
    ...handle,
    setModels: (models) => {
      state.models = [...models];
    },
  };
}

async function handleOllamaRequest(exchange: FakeExchange, runtime: FakeServerRuntime, state: OllamaState): Promise<void> {
  const send = (error: ProviderErrorResponse): void => exchange.sendJson(error.status, error.body, error.headers, jsonContentType);
  const method = exchange.method === "HEAD" ? "GET" : exchange.method;
  const route = `${method} ${exchange.pathname}`;
  switch (route) {
    case "GET /":
      exchange.sendText(200, "Ollama is running", {}, "text/plain; charset=utf-8");
      return;
    case "GET /api/version":
      exchange.sendJson(200, { version: state.version }, {}, jsonContentType);
      return;
    case "POST /api/chat":
      await handleChat(exchange, runtime, state);
      return;
    case "GET /api/tags":
    case "POST /api/show": {
      const requested = isRecord(exchange.body) ? (exchange.body.model ?? exchange.body.name) : undefined;
      const responder = faultResponder(typeof requested === "string" ? requested : undefined);
      if ((await respondWithPlannedFault(exchange, runtime.faults, "models", undefined, responder)).isAnswered) return;
      if (route === "GET /api/tags") {
        exchange.sendJson(200, { models: state.models.map(toTagsEntry) }, {}, jsonContentType);
        return;
      }
      if (typeof requested !== "string" || requested === "") {
        send(ollamaError(400, "model is required"));
        return;
      }
      const model = findModel(state, requested);
      if (!model) send(modelNotFound(requested));
      else exchange.sendJson(200, toShowResponse(model), {}, jsonContentType);
      return;
    }
    default:
      // Ollama's router (gin) answers unknown routes with a plain-text 404.
      exchange.sendText(404, "404 page not found", {}, "text/plain");
  }
}

async function handleChat(exchange: FakeExchange, runtime: FakeServerRuntime, state: OllamaState): Promise<void> {
  const body = exchange.body;
  const send = (error: ProviderErrorResponse): void => exchange.sendJson(error.status, error.body, error.headers, jsonContentType);
  // Real messages from ChatHandler (docs/providers.md#ollama-errors).
  if (body === undefined) return send(ollamaError(400, "missing request body"));
  if (!isRecord(body)) return send(ollamaError(400, "invalid character looking for beginning of value")); // [U] Go's wording varies
  if (typeof body.model !== "string" || body.model === "") return send(ollamaError(400, "model is required"));
  const requestedModel = body.model;
  const responder = faultResponder(requestedModel);

  const planned = await respondWithPlannedFault(exchange, runtime.faults, "chat", requestedModel, responder);
  if (planned.isAnswered) return;
  const fault = planned.midStreamFault;
  const model = findModel(state, requestedModel);
  if (!model) return send(modelNotFound(requestedModel));
  if (!model.capabilities.includes("completion")) return send(ollamaError(400, `"${requestedModel}" does not support chat`));
  const declaredToolNames = Array.isArray(body.tools)
    ? body.tools.flatMap((tool) =>
        isRecord(tool) && isRecord(tool.function) && typeof tool.function.name === "string" ? [tool.function.name] : [],
      )
    : [];
  // [U] wording, in the style of the real capability errors above
  if (declaredToolNames.length > 0 && !model.capabilities.includes("tools"))
    return send(ollamaError(400, `"${requestedModel}" does not support tools`));

  const rawMessages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  if (rawMessages.length === 0) {
    // An empty chat only loads the model (done_reason "load"), as the real server does.
    exchange.sendJson(
      200,
      {
        model: requestedModel,
        created_at: ollamaTimestamp(),
        message: { role: "assistant", content: "" },
        done: true,
        done_reason: "load",
      },
      {},
      jsonContentType,
    );
    return;
  }
  const received: EchoMessage[] = [];
  for (const message of rawMessages) {
    if (!isRecord(message) || typeof message.role !== "string") return send(ollamaError(400, "invalid message format")); // [U]
    const images = Array.isArray(message.images) ? message.images.map(() => "[image]") : [];
    const text = typeof message.content === "string" ? message.content : "";
    received.push({ role: message.role, text: [...images, ...(text === "" && images.length > 0 ? [] : [text])].join("\n") });
  }
  if (fault) runtime.faults.consume(fault);

  const options = isRecord(body.options) ? body.options : {};
  const maxTokens = typeof options.num_predict === "number" && options.num_predict >= 0 ? options.num_predict : undefined;
  const contextTokens = typeof options.num_ctx === "number" ? options.num_ctx : Math.min(model.contextLength, defaultLoadedContextTokens);
  const promptTokens = Math.min(Math.max(estimateTokenCount(received.map((message) => message.text).join("")), 1), contextTokens);
  const { system, messages } = liftLeadingSystemMessages(received);
  const echoInput: EchoInput = { model: requestedModel, system, messages };
  // Ollama streams unless told otherwise (the Go field is *bool, absent means stream).
  const isStream = body.stream !== false;
  const { reply, tokenDelayMs } = runtime.settings;
  if (typeof reply === "object" && "toolCall" in reply && !declaredToolNames.includes(reply.toolCall.name)) {
    // the fake's own guard, not Ollama's: a model only calls tools the request gave it
    return send(ollamaError(400, `fake: asked to call "${reply.toolCall.name}", which the request does not declare`));
  }

  if (!isStream) {
    if (fault) {
      await respondWithFault(exchange, fault, responder);
      return;
    }
    if (reply === "replay") {
      exchange.sendJson(200, readFixtureJson(replayResponseFixture), {}, jsonContentType);
      return;
    }
    const answer = composeAnswer(reply, echoInput, maxTokens);
    exchange.sendJson(
      200,
      {
        model: requestedModel,
        created_at: ollamaTimestamp(),
        message: { role: "assistant", content: answer.text, ...toolCallsField(answer) },
        ...finalFields(answer.isTruncated ? "length" : "stop", metrics(promptTokens, answer.outputTokens)),
      },
      {},
      jsonContentType,
    );
    return;
  }

  const frames =
    reply === "replay"
      ? replayFrames(tokenDelayMs)
      : textStreamFrames(requestedModel, composeAnswer(reply, echoInput, maxTokens), promptTokens, tokenDelayMs);
  exchange.startStream({ "content-type": "application/x-ndjson" });
  await playDeltaStream({
    exchange,
    frames,
    tokenDelayMs,
    fault,
    faultWires: {
      // The documented mid-stream error line, verbatim (the /api/chat code path emits the same line).
      midStreamError: `${lastLine(midStreamErrorFixture)}\n`,
      malformedChunk: `{"model":"${requestedModel}","created_at":"${ollamaTimestamp()}","message":{"role":"assistant","content":"cu\n`,
    },
  });
}

interface Metrics {
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

/** Plausible durations in nanoseconds, derived from the token counts. */
function metrics(promptTokens: number, outputTokens: number): Metrics {
  const loadDuration = 2_154_458;
  const promptEvalDuration = promptTokens * 150_000;
  const evalDuration = outputTokens * 16_000_000;
  return {
    total_duration: loadDuration + promptEvalDuration + evalDuration + 1_000_000,
    load_duration: loadDuration,
    prompt_eval_count: promptTokens,
    prompt_eval_duration: promptEvalDuration,
    eval_count: outputTokens,
    eval_duration: evalDuration,
  };
}

/** `done`, `done_reason`, then the metrics, in the key order of the Go struct. */
function finalFields(doneReason: string, lineMetrics: Metrics): Record<string, unknown> {
  return { done: true, done_reason: doneReason, ...lineMetrics };
}

/**
 * `tool_calls` of a message: each call whole, its arguments an object, no id — as Ollama's blog post
 * on streaming tool calls shows it (docs/providers.md#tools-across-providers).
 */
function toolCallsField(answer: Answer): Record<string, unknown> {
  return answer.toolCall ? { tool_calls: [{ function: { name: answer.toolCall.name, arguments: answer.toolCall.arguments } }] } : {};
}

/**
 * One NDJSON line per delta (no metrics), a line with the tool call if there is one, then the
 * `done: true` line with `done_reason` (`stop`, also after a tool call) and metrics.
 */
function textStreamFrames(model: string, answer: Answer, promptTokens: number, tokenDelayMs: number): StreamFrame[] {
  const start = Date.now();
  const line = (payload: Record<string, unknown>): string => `${JSON.stringify(payload)}\n`;
  const toolCallLines = answer.toolCall
    ? [
        {
          wire: line({
            model,
            created_at: ollamaTimestamp(start + (answer.chunks.length + 1) * tokenDelayMs),
            message: { role: "assistant", content: "", ...toolCallsField(answer) },
            done: false,
          }),
          isDelta: true,
        },
      ]
    : [];
  return [
    ...answer.chunks.map((content, index) => ({
      wire: line({
        model,
        created_at: ollamaTimestamp(start + (index + 1) * tokenDelayMs),
        message: { role: "assistant", content },
        done: false,
      }),
      isDelta: true,
    })),
    ...toolCallLines,
    {
      wire: line({
        model,
        created_at: ollamaTimestamp(start + (answer.chunks.length + 1) * tokenDelayMs),
        message: { role: "assistant", content: "" },
        ...finalFields(answer.isTruncated ? "length" : "stop", metrics(promptTokens, answer.outputTokens)),
      }),
      isDelta: false,
    },
  ];
}

/**
 * Ollama publishes no recorded stream, so replay streams the documented answer (`api-chat.nonstream`)
 * split into tokens, and ends with its documented metrics plus `done_reason`.
 */
function replayFrames(tokenDelayMs: number): StreamFrame[] {
  const recorded = readFixtureJson(replayResponseFixture) as { model: string; message: { content: string } } & Metrics;
  const answer: Answer = {
    chunks: splitIntoTokenChunks(recorded.message.content),
    text: recorded.message.content,
    outputTokens: recorded.eval_count,
    toolCall: undefined,
    isTruncated: false,
  };
  const frames = textStreamFrames(recorded.model, answer, recorded.prompt_eval_count, tokenDelayMs);
  const final = JSON.parse(frames[frames.length - 1].wire) as Record<string, unknown>;
  const { total_duration, load_duration, prompt_eval_count, prompt_eval_duration, eval_count, eval_duration } = recorded;
  Object.assign(final, { total_duration, load_duration, prompt_eval_count, prompt_eval_duration, eval_count, eval_duration });
  frames[frames.length - 1] = { wire: `${JSON.stringify(final)}\n`, isDelta: false };
  return frames;
}

function faultResponder(requestedModel: string | undefined): FaultResponder {
  return {
    jsonContentType,
    errorResponseFor: (fault: FaultSpec): ProviderErrorResponse => {
      switch (fault.fault) {
        case "unauthorized":
          // What ollama.com (or an authenticating proxy) answers; a local Ollama has no auth.
          return ollamaError(401, "unauthorized");
        case "rate-limited":
          return ollamaError(429, "too many requests", { "retry-after": String(fault.retryAfterSeconds) }); // [U] wording
        case "overloaded":
        case "overloaded-mid-stream":
          // Real wording, two spaces included (OLLAMA_MAX_QUEUE exceeded).
          return ollamaError(503, "server busy, please try again.  maximum pending requests exceeded");
        case "server-error":
          return ollamaError(500, "llama runner process has terminated: exit status 2");
        case "context-too-long":
          // Only with `truncate: false` (or some templates); by default Ollama shortens silently.
          return ollamaError(400, "the input length exceeds the context length");
        case "model-not-found":
          return modelNotFound(requestedModel ?? "");
        default:
          throw new Error(`No HTTP error for fault ${fault.fault}`);
      }
    },
  };
}

function ollamaError(status: number, message: string, headers: OutgoingHttpHeaders = {}): ProviderErrorResponse {
  return { status, body: { error: message }, headers };
}

/** The model string as sent, e.g. without `:latest` (docs/providers.md#ollama-errors). */
function modelNotFound(model: string): ProviderErrorResponse {
  return ollamaError(404, `model '${model}' not found`);
}

function findModel(state: OllamaState, requested: string): FakeOllamaModel | undefined {
  const fullName = requested.includes(":") ? requested : `${requested}:latest`;
  return state.models.find((model) => model.name === fullName);
}

function details(model: FakeOllamaModel): Record<string, unknown> {
  return {
    parent_model: "",
    format: "gguf",
    family: model.family,
    families: [model.family],
    parameter_size: model.parameterSize,
    quantization_level: model.quantizationLevel,
  };
}

function toTagsEntry(model: FakeOllamaModel): Record<string, unknown> {
  return {
    name: model.name,
    model: model.name,
    modified_at: model.modifiedAt,
    size: model.size,
    digest: model.digest,
    details: details(model),
  };
}

function toShowResponse(model: FakeOllamaModel): Record<string, unknown> {
  return {
    license: "",
    modelfile: `# Modelfile generated by "ollama show"\nFROM ${model.name}\n`,
    parameters: "",
    template: "{{ .Prompt }}",
    details: details(model),
    model_info: {
      "general.architecture": model.architecture,
      "general.parameter_count": model.parameterCount,
      [`${model.architecture}.context_length`]: model.contextLength,
      [`${model.architecture}.embedding_length`]: 3072,
    },
    capabilities: model.capabilities,
    modified_at: model.modifiedAt,
  };
}

/** RFC 3339 in UTC with nanosecond digits, like Go's `time.Now().UTC()`. */
function ollamaTimestamp(milliseconds = Date.now()): string {
  return new Date(milliseconds).toISOString().replace(/Z$/, "000000Z");
}

function lastLine(fixture: string): string {
  const lines = readFixtureLines(fixture);
  return lines[lines.length - 1];
}
