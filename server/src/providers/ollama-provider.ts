import crypto from "node:crypto";
import type { Message as OllamaMessage, Ollama, Options as OllamaOptions, Tool as OllamaTool } from "ollama";
import { createAbortError } from "./abort-error";
import {
  partsOfTurn,
  ProviderError,
  textOfParts,
  type ChatProvider,
  type ChatRequest,
  type ChatStreamEvent,
  type ChatTurn,
  type DiscoveredModel,
  type PreparedConversation,
} from "./chat-provider";
import { chooseOllamaContextSize } from "./choose-ollama-context-size";
import { createOllamaFetch, type OllamaCallScope } from "./create-ollama-fetch";
import { isOllamaChatModel } from "./is-ollama-chat-model";
import { loadOnce } from "./load-once";
import {
  mapBrokenStream,
  mapNetworkFailure,
  mapProviderFailure,
  type ProviderCallContext,
  type ProviderFailure,
} from "./map-provider-error";
import { mapOllamaDoneReason } from "./map-ollama-done-reason";
import { preparePlainConversation } from "./prepare-plain-conversation";
import type { ProviderConnection } from "./provider-connection";
import { openJsonLineStream, toEventStreamError, type JsonLineStream } from "./provider-event-stream";
import type { HeaderSource } from "./retry-after";

// /api/show calls in flight at once while refreshing the catalog
const showConcurrency = 4;

// imported on the first call, not at start-up: a team without Ollama never loads it
const loadOllamaSdk = loadOnce(() => import("ollama"));

/**
 * Ollama's native API (docs/providers.md#ollama-native-api): `/api/chat` streamed as JSON lines over
 * our own request (provider-event-stream.ts), and the catalog (`/api/tags` + `/api/show`) through
 * the official SDK. No key; the SDK's fetch is ours (create-ollama-fetch.ts) so that a stop closes
 * the request and a timeout is noticed.
 */
export class OllamaProvider implements ChatProvider {
  readonly kind = "ollama" as const;

  constructor(private readonly connection: ProviderConnection) {}

  /**
   * A client per call, its fetch bound to the call's scope (signal, error headers). The SDK object is only configuration, so this costs next to nothing; an
   * AsyncLocalStorage would do the same but turns promise hooks on for the whole process.
   */
  private async client(scope: OllamaCallScope): Promise<Ollama> {
    const { Ollama: OllamaClient } = await loadOllamaSdk();
    return new OllamaClient({ host: this.connection.baseUrl, fetch: createOllamaFetch(this.connection.connectTimeoutMs, scope) });
  }

  prepareConversation(system: string | undefined, turns: ChatTurn[]): PreparedConversation {
    return preparePlainConversation(system, turns);
  }

  /**
   * `POST /api/chat` over `node:http` (provider-event-stream.ts), its JSON lines read here: the SDK's
   * fetch and web streams cost more CPU per answer than the relay itself (decision 0032).
   */
  async *streamChat(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const context = this.callContext(request.model);
    const { system, turns } = request.conversation;
    const contextSize = chooseOllamaContextSize(request.conversation, request.maxOutputTokens);
    const tools = toOllamaTools(request, context.model ?? request.model);
    const body = {
      model: request.model,
      messages: [...(system === undefined ? [] : [{ role: "system", content: system }]), ...turns.flatMap(toOllamaMessages)],
      ...(tools === undefined ? {} : { tools }),
      options: {
        num_predict: request.maxOutputTokens,
        ...(contextSize === undefined ? {} : { num_ctx: contextSize }),
        ...samplingOptions(request),
      },
      stream: true,
    };
    let stream: JsonLineStream;
    try {
      stream = await openJsonLineStream({
        url: `${this.connection.baseUrl}/api/chat`,
        body,
        signal: request.signal,
        connectTimeoutMs: this.connection.connectTimeoutMs,
      });
    } catch (error) {
      throw toEventStreamError(error, context, "request", request.signal, readOllamaErrorBody);
    }
    request.onActivity?.();

    let finalLine: OllamaChatLine | undefined;
    let hasToolCalls = false;
    try {
      // read to the end, past the done line: the connection then goes back to the pool
      for await (const text of stream.lines) {
        request.onActivity?.();
        const line = JSON.parse(text) as OllamaChatLine;
        // an error after the answer began keeps the 200 status (docs/providers.md#ollama-ndjson-stream-and-the-done-line)
        if (typeof line.error === "string") throw mapProviderFailure(context, { message: line.error });
        if (finalLine !== undefined) continue;
        // the done line may carry text too
        const content = line.message?.content;
        if (typeof content === "string" && content !== "") yield { type: "text-delta", text: content };
        // each tool call arrives whole, with its arguments as an object and (in older servers) no id
        for (const call of line.message?.tool_calls ?? []) {
          const toolCallId = call.id;
          const id = typeof toolCallId === "string" && toolCallId !== "" ? toolCallId : `call_${crypto.randomUUID()}`;
          hasToolCalls = true;
          yield { type: "tool-call-start", toolCallId: id, toolName: call.function.name };
          yield { type: "tool-call-delta", toolCallId: id, argumentsDelta: JSON.stringify(call.function.arguments ?? {}) };
        }
        if (line.done === true) finalLine = line;
      }
    } catch (error) {
      throw toEventStreamError(error, context, "stream", request.signal, readOllamaErrorBody);
    }
    if (request.signal.aborted) throw createAbortError();
    if (finalLine === undefined) throw mapBrokenStream(context, "incomplete");
    yield {
      type: "usage",
      // Ollama omits zero counts (`omitempty`); a missing count stays missing rather than a made-up 0
      inputTokens: typeof finalLine.prompt_eval_count === "number" ? finalLine.prompt_eval_count : undefined,
      outputTokens: typeof finalLine.eval_count === "number" ? finalLine.eval_count : undefined,
    };
    const doneReason = typeof finalLine.done_reason === "string" && finalLine.done_reason !== "" ? finalLine.done_reason : undefined;
    // Ollama says "stop" after tool calls; the answer is a request to run them (as its /v1 layer reports it)
    const finishReason = hasToolCalls && doneReason !== "length" ? "tool-calls" : mapOllamaDoneReason(doneReason);
    yield { type: "finish", finishReason, finishReasonRaw: doneReason };
  }

  async listModels(signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const scope: OllamaCallScope = { signal };
    const names = await this.listModelNames(scope);
    const models: Array<DiscoveredModel | undefined> = new Array(names.length);
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const index = next;
        next += 1;
        models[index] = await this.describeModel(names[index] as string, scope);
      }
    };
    await Promise.all(Array.from({ length: Math.min(showConcurrency, names.length) }, worker));
    return models.filter((model): model is DiscoveredModel => model !== undefined);
  }

  /** Counts chat models as a refresh does (isOllamaChatModel), so both say the same number. */
  async checkConnection(signal?: AbortSignal): Promise<{ modelCount: number }> {
    return { modelCount: (await this.listModels(signal)).length };
  }

  private async listModelNames(scope: OllamaCallScope): Promise<string[]> {
    try {
      const response = await (await this.client(scope)).list();
      return [...new Set((response.models ?? []).map((model) => model.name || model.model).filter(Boolean))];
    } catch (error) {
      throw this.toProviderError(error, this.callContext(), scope);
    }
  }

  /**
   * Context length is `model_info["<general.architecture>.context_length"]`; `capabilities` says
   * "vision", and an embedding-only model (no "completion") cannot chat (docs/providers.md#ollama-model-list-and-details).
   * A model removed between the two calls (404) is skipped.
   */
  private async describeModel(name: string, scope: OllamaCallScope): Promise<DiscoveredModel | undefined> {
    let details: { model_info?: Record<string, unknown>; capabilities?: string[] };
    try {
      details = (await (await this.client(scope)).show({ model: name })) as unknown as typeof details;
    } catch (error) {
      const mapped = this.toProviderError(error, this.callContext(name), scope);
      if (mapped instanceof ProviderError && mapped.code === "provider_model_not_found") return undefined;
      throw mapped;
    }
    const capabilities = Array.isArray(details.capabilities) ? details.capabilities : undefined;
    if (!isOllamaChatModel(capabilities)) return undefined;
    const modelInfo = details.model_info ?? {};
    const architecture = modelInfo["general.architecture"];
    const contextLength = typeof architecture === "string" ? modelInfo[`${architecture}.context_length`] : undefined;
    return {
      name,
      displayName: name,
      contextWindow: typeof contextLength === "number" && contextLength > 0 ? contextLength : null,
      // Ollama has no separate output limit: an answer may use what the context leaves
      maxOutputTokens: null,
      supportsVision: capabilities ? capabilities.includes("vision") : null,
    };
  }

  private callContext(model?: string): ProviderCallContext {
    return { kind: this.kind, baseUrl: this.connection.baseUrl, model };
  }

  /** Our error for what a catalog call through the SDK threw (the chat stream maps its own, with toEventStreamError). */
  private toProviderError(error: unknown, context: ProviderCallContext, scope: OllamaCallScope): Error {
    if (scope.signal?.aborted) return createAbortError();
    if (error instanceof ProviderError) return error;
    const record = error as { name?: unknown; status_code?: unknown; error?: unknown; message?: unknown };
    // the SDK's ResponseError: an HTTP error status with Ollama's `{"error": "…"}` text
    if (record?.name === "ResponseError" && typeof record.status_code === "number") {
      return mapProviderFailure(
        context,
        { status: record.status_code, message: String(record.error ?? record.message ?? ""), headers: scope.errorHeaders },
        error,
      );
    }
    if (error instanceof Error && error.name === "ProviderTimeoutError") {
      return mapNetworkFailure(context, error, "request", this.connection.connectTimeoutMs);
    }
    if (
      error instanceof TypeError ||
      (error instanceof Error &&
        /ECONN|ENOTFOUND|EAI_AGAIN|socket|terminated/i.test(String((error as { cause?: unknown }).cause ?? error.message)))
    ) {
      return mapNetworkFailure(context, error, "request");
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * A turn as Ollama messages (docs/providers.md#tools-across-providers): an assistant turn carries its
 * tool calls (arguments as objects); a user turn's tool results become `tool` messages, before its text.
 */
function toOllamaMessages(turn: ChatTurn): OllamaMessage[] {
  if (turn.parts === undefined) return [{ role: turn.role, content: turn.content }];
  const parts = partsOfTurn(turn);
  const text = textOfParts(parts);
  if (turn.role === "assistant") {
    const toolCalls = parts.flatMap((part) =>
      part.type === "tool-call" ? [{ function: { name: part.toolName, arguments: part.input } }] : [],
    );
    return [{ role: "assistant", content: text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) }];
  }
  const messages: OllamaMessage[] = parts.flatMap((part) =>
    part.type === "tool-result"
      ? [{ role: "tool", content: part.output, ...(part.toolName === undefined ? {} : { tool_name: part.toolName }) }]
      : [],
  );
  // Ollama takes a message's images as base64 strings beside its text
  const images = parts.flatMap((part) => (part.type === "image" ? [part.data] : []));
  if (text !== "" || images.length > 0) messages.push({ role: "user", content: text, ...(images.length > 0 ? { images } : {}) });
  return messages;
}

/**
 * Ollama's tools. It has no tool choice: "none" is met by sending no tools, but a call it must make
 * (required, or a named tool) cannot be asked for, so that request is refused before it is sent.
 */
function toOllamaTools(request: ChatRequest, model: string): OllamaTool[] | undefined {
  if (request.tools === undefined || request.tools.length === 0 || request.toolChoice?.type === "none") return undefined;
  if (request.toolChoice?.type === "required" || request.toolChoice?.type === "tool") {
    throw new ProviderError(
      "provider_bad_request",
      `Ollama cannot be made to call a tool (${model}); leave the tool choice to the model`,
      false,
      { status: 400 },
    );
  }
  return request.tools.map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.inputSchema as OllamaTool["function"]["parameters"],
    },
  }));
}

function samplingOptions(request: ChatRequest): Partial<OllamaOptions> {
  const sampling = request.sampling;
  if (sampling === undefined) return {};
  return {
    ...(sampling.temperature === undefined ? {} : { temperature: sampling.temperature }),
    ...(sampling.topP === undefined ? {} : { top_p: sampling.topP }),
    ...(sampling.stopSequences === undefined ? {} : { stop: sampling.stopSequences }),
  };
}

/** One line of `/api/chat`'s stream, as far as we read it (docs/providers.md#ollama-ndjson-stream-and-the-done-line). */
interface OllamaChatLine {
  message?: {
    content?: string;
    tool_calls?: Array<{ id?: unknown; function: { name: string; arguments?: unknown } }>;
  };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: unknown;
}

/** Ollama's error body is `{"error": "<message>"}`; anything else is shown as its text, cut short. */
function readOllamaErrorBody(body: unknown, response: { status: number; headers: HeaderSource }): ProviderFailure {
  const error = typeof body === "object" && body !== null && "error" in body ? (body as { error: unknown }).error : undefined;
  const text = typeof error === "string" ? error : typeof body === "string" ? body.trim().slice(0, 500) : "";
  return { status: response.status, headers: response.headers, message: text || `HTTP ${response.status}` };
}
