import crypto from "node:crypto";
import type Groq from "groq-sdk";
import { createAbortError } from "./abort-error";
import {
  partsOfTurn,
  textOfParts,
  type ChatProvider,
  type ChatRequest,
  type ChatStreamEvent,
  type ChatToolChoice,
  type ChatTurn,
  type DiscoveredModel,
  type PreparedConversation,
} from "./chat-provider";
import { isGroqChatModel } from "./is-groq-chat-model";
import { mapBrokenStream, mapProviderFailure, type ProviderCallContext } from "./map-provider-error";
import { mapStreamErrorEvent, openEventStream, toEventStreamError, type EventStream } from "./provider-event-stream";
import { mapOpenAiFinishReason } from "./map-openai-finish-reason";
import { preparePlainConversation } from "./prepare-plain-conversation";
import type { ProviderConnection } from "./provider-connection";
import { loadOnce } from "./load-once";
import { StainlessSdkClient } from "./stainless-sdk-client";

type GroqSdk = typeof import("groq-sdk");

// imported on the first call, not at start-up: a team without Groq never loads it
const loadGroqSdk = loadOnce<GroqSdk>(() => import("groq-sdk"));

/** Fields Groq sends in `GET /openai/v1/models` beyond the OpenAI schema (docs/providers.md#groq-model-list). */
interface GroqModelEntry {
  id: string;
  active?: boolean | null;
  context_window?: number | null;
  max_completion_tokens?: number | null;
}

interface GroqUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
}

/**
 * Groq's chat completions, streamed as OpenAI-style SSE ending in `data: [DONE]` with usage in the
 * final chunk (docs/providers.md#groq-streaming-chunks), through openEventStream
 * (provider-event-stream.ts, decision 0030) and read as the SDK reads them; the model list through
 * the official SDK.
 */
export class GroqProvider implements ChatProvider {
  readonly kind = "groq" as const;
  private readonly sdkClient: StainlessSdkClient<Groq>;

  constructor(private readonly connection: ProviderConnection & { apiKey: string }) {
    this.sdkClient = new StainlessSdkClient(loadGroqSdk, connection);
  }

  prepareConversation(system: string | undefined, turns: ChatTurn[]): PreparedConversation {
    return preparePlainConversation(system, turns);
  }

  async *streamChat(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const context = this.callContext(request.model);
    const { system, turns } = request.conversation;
    const body: GroqCreateBody = {
      model: request.model,
      stream: true,
      max_completion_tokens: request.maxOutputTokens,
      messages: [...(system === undefined ? [] : [{ role: "system" as const, content: system }]), ...turns.flatMap(toOpenAiMessages)],
      ...toolFields(request),
      ...samplingFields(request),
    };
    let stream: EventStream;
    try {
      stream = await openEventStream({
        url: `${this.connection.baseUrl}/openai/v1/chat/completions`,
        headers: { authorization: `Bearer ${this.connection.apiKey}` },
        body,
        signal: request.signal,
        connectTimeoutMs: this.connection.connectTimeoutMs,
      });
    } catch (error) {
      throw toEventStreamError(error, context, "request", request.signal);
    }
    request.onActivity?.();

    let usage: GroqUsage | undefined;
    let finishReason: string | undefined;
    // a tool call is announced once (id and name), then its arguments may come in pieces, by index
    const toolCallIds = new Map<number, string>();
    let isDone = false;
    try {
      for await (const message of stream.events) {
        // read on to the end after `[DONE]`, as the SDK does: the connection then goes back to the pool
        if (isDone) continue;
        if (message.data.startsWith("[DONE]")) {
          isDone = true;
          continue;
        }
        // a `data:` line that is not JSON throws a SyntaxError: a broken stream
        const chunk = JSON.parse(message.data) as (Groq.Chat.ChatCompletionChunk & { error?: unknown }) | null;
        if (chunk === null) continue;
        if (chunk.error) throw mapStreamErrorEvent(context, message.data);
        request.onActivity?.();
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content;
        if (typeof text === "string" && text !== "") yield { type: "text-delta", text };
        for (const call of choice?.delta?.tool_calls ?? []) {
          let toolCallId = toolCallIds.get(call.index);
          if (toolCallId === undefined) {
            toolCallId = call.id || `call_${crypto.randomUUID()}`;
            toolCallIds.set(call.index, toolCallId);
            yield { type: "tool-call-start", toolCallId, toolName: call.function?.name ?? "" };
          }
          const argumentsDelta = call.function?.arguments;
          if (typeof argumentsDelta === "string" && argumentsDelta !== "") yield { type: "tool-call-delta", toolCallId, argumentsDelta };
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        // `x_groq.usage` first; 2026 recordings also carry a top-level `usage` (docs/providers.md#groq-streaming-chunks)
        const chunkUsage = chunk.x_groq?.usage ?? (chunk as { usage?: GroqUsage | null }).usage;
        if (chunkUsage) usage = chunkUsage;
        if (chunk.x_groq?.error) {
          throw mapProviderFailure(context, { message: chunk.x_groq.error });
        }
      }
    } catch (error) {
      throw toEventStreamError(error, context, "stream", request.signal);
    }
    // a stop that lands between two events ends nothing by itself: it is still a stop, not an answer
    if (request.signal.aborted) throw createAbortError();
    if (finishReason === undefined) throw mapBrokenStream(context, "incomplete");
    yield {
      type: "usage",
      inputTokens: typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : undefined,
      outputTokens: typeof usage?.completion_tokens === "number" ? usage.completion_tokens : undefined,
      cachedInputTokens:
        typeof usage?.prompt_tokens_details?.cached_tokens === "number" ? usage.prompt_tokens_details.cached_tokens : undefined,
    };
    yield { type: "finish", finishReason: mapOpenAiFinishReason(finishReason), finishReasonRaw: finishReason };
  }

  async listModels(signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const entries = await this.fetchModelEntries(signal);
    return entries.filter(isGroqChatModel).map((entry) => ({
      name: entry.id,
      // Groq has no display names; its ids are what people know the models by
      displayName: entry.id,
      contextWindow: positiveOrNull(entry.context_window),
      maxOutputTokens: positiveOrNull(entry.max_completion_tokens),
      // the list does not say which models accept images
      supportsVision: null,
    }));
  }

  async checkConnection(signal?: AbortSignal): Promise<{ modelCount: number }> {
    return { modelCount: (await this.listModels(signal)).length };
  }

  private async fetchModelEntries(signal: AbortSignal | undefined): Promise<GroqModelEntry[]> {
    try {
      const response = await (await this.client()).models.list({ signal });
      return (response.data ?? []) as GroqModelEntry[];
    } catch (error) {
      throw this.toProviderError(error, this.callContext(), "request", signal);
    }
  }

  private callContext(model?: string): ProviderCallContext {
    return { kind: this.kind, baseUrl: this.connection.baseUrl, model, secrets: [this.connection.apiKey] };
  }

  private client(): Promise<Groq> {
    return this.sdkClient.get();
  }

  private toProviderError(
    error: unknown,
    context: ProviderCallContext,
    phase: "request" | "stream",
    signal: AbortSignal | undefined,
  ): Error {
    return this.sdkClient.toProviderError(error, context, phase, signal);
  }
}

function positiveOrNull(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : null;
}

/**
 * A turn as chat-completion messages (docs/providers.md#tools-across-providers): an assistant turn
 * carries its tool calls; a user turn's tool results become `tool` messages, before its text.
 */
function toOpenAiMessages(turn: ChatTurn): Groq.Chat.ChatCompletionMessageParam[] {
  if (turn.parts === undefined) return [{ role: turn.role, content: turn.content }];
  const parts = partsOfTurn(turn);
  const text = textOfParts(parts);
  if (turn.role === "assistant") {
    const toolCalls = parts.flatMap((part) =>
      part.type === "tool-call"
        ? [{ id: part.toolCallId, type: "function" as const, function: { name: part.toolName, arguments: JSON.stringify(part.input) } }]
        : [],
    );
    return [
      {
        role: "assistant",
        content: text === "" && toolCalls.length > 0 ? null : text,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      },
    ];
  }
  const messages: Groq.Chat.ChatCompletionMessageParam[] = parts.flatMap((part) =>
    part.type === "tool-result" ? [{ role: "tool" as const, tool_call_id: part.toolCallId, content: part.output }] : [],
  );
  const images = parts.flatMap((part) => (part.type === "image" ? [part] : []));
  if (images.length > 0) {
    // images as data URLs in content parts, after the text (OpenAI's vision format, which Groq takes)
    messages.push({
      role: "user",
      content: [
        ...(text === "" ? [] : [{ type: "text" as const, text }]),
        ...images.map((image) => ({ type: "image_url" as const, image_url: { url: `data:${image.mediaType};base64,${image.data}` } })),
      ],
    });
  } else if (text !== "") {
    messages.push({ role: "user", content: text });
  }
  return messages;
}

/** The body `chat.completions.create` takes (its last overload is the general one). */
type GroqCreateBody = Parameters<Groq["chat"]["completions"]["create"]>[0];

function toolFields(request: ChatRequest): Partial<Pick<GroqCreateBody, "tools" | "tool_choice" | "parallel_tool_calls">> {
  if (request.tools === undefined || request.tools.length === 0) return {};
  return {
    tools: request.tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.inputSchema,
      },
    })),
    ...(request.toolChoice === undefined ? {} : { tool_choice: toOpenAiToolChoice(request.toolChoice) }),
    ...(request.allowParallelToolCalls === undefined ? {} : { parallel_tool_calls: request.allowParallelToolCalls }),
  };
}

function toOpenAiToolChoice(choice: ChatToolChoice): Groq.Chat.ChatCompletionToolChoiceOption {
  return choice.type === "tool" ? { type: "function", function: { name: choice.toolName } } : choice.type;
}

function samplingFields(request: ChatRequest): Partial<Pick<GroqCreateBody, "temperature" | "top_p" | "stop">> {
  const sampling = request.sampling;
  if (sampling === undefined) return {};
  return {
    ...(sampling.temperature === undefined ? {} : { temperature: sampling.temperature }),
    ...(sampling.topP === undefined ? {} : { top_p: sampling.topP }),
    ...(sampling.stopSequences === undefined ? {} : { stop: sampling.stopSequences }),
  };
}
