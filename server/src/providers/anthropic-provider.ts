import type Anthropic from "@anthropic-ai/sdk";
import { createAbortError } from "./abort-error";
import {
  partsOfTurn,
  type ChatProvider,
  type ChatRequest,
  type ChatStreamEvent,
  type ChatToolChoice,
  type ChatTurn,
  type DiscoveredModel,
  type PreparedConversation,
} from "./chat-provider";
import { resolveClaudeModelLimits } from "./claude-model-limits";
import { mapAnthropicStopReason } from "./map-anthropic-stop-reason";
import { mapBrokenStream, type ProviderCallContext } from "./map-provider-error";
import { mapStreamErrorEvent, openEventStream, toEventStreamError, type EventStream } from "./provider-event-stream";
import { prepareAnthropicConversation } from "./prepare-anthropic-conversation";
import type { ProviderConnection } from "./provider-connection";
import { loadOnce } from "./load-once";
import { StainlessSdkClient } from "./stainless-sdk-client";

type AnthropicSdk = typeof import("@anthropic-ai/sdk");

// imported on the first call, not at start-up: a team without Anthropic never loads it (≈ 17 MB)
const loadAnthropicSdk = loadOnce<AnthropicSdk>(() => import("@anthropic-ai/sdk"));

/** The API version our requests name: the one the SDK we list models with (1.14) sends, so both speak the same. */
const ANTHROPIC_API_VERSION = "2026-10-21";

/**
 * Anthropic's Messages API: answers streamed as server-sent events through openEventStream
 * (provider-event-stream.ts: the SDK's fetch and stream machinery cost more CPU than the rest of an
 * answer's relay, decision 0030), read as the SDK reads them; `models.list` through the official
 * SDK, with its cursor auto-pagination. Wire format: docs/providers.md#anthropic-messages-api.
 */
export class AnthropicProvider implements ChatProvider {
  readonly kind = "anthropic" as const;
  private readonly sdkClient: StainlessSdkClient<Anthropic>;

  constructor(private readonly connection: ProviderConnection & { apiKey: string }) {
    this.sdkClient = new StainlessSdkClient(loadAnthropicSdk, connection);
  }

  prepareConversation(system: string | undefined, turns: ChatTurn[]): PreparedConversation {
    return prepareAnthropicConversation(system, turns);
  }

  async *streamChat(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const context = this.callContext(request.model);
    const { system, turns } = request.conversation;
    const body: Anthropic.Messages.MessageCreateParamsStreaming = {
      model: request.model,
      max_tokens: request.maxOutputTokens,
      stream: true,
      ...(system === undefined ? {} : { system }),
      messages: turns.map(toAnthropicMessage),
      ...toolFields(request),
      ...samplingFields(request),
    };
    let stream: EventStream;
    try {
      stream = await openEventStream({
        url: `${this.connection.baseUrl}/v1/messages`,
        headers: {
          authorization: `Bearer ${this.connection.apiKey}`,
          "anthropic-version": ANTHROPIC_API_VERSION,
        },
        body,
        signal: request.signal,
        connectTimeoutMs: this.connection.connectTimeoutMs,
      });
    } catch (error) {
      throw toEventStreamError(error, context, "request", request.signal);
    }
    request.onActivity?.();

    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let cachedInputTokens: number | undefined;
    let stopReason: string | null | undefined;
    // content block index → the id of the tool call it carries (its input arrives as JSON pieces)
    const toolCallIdsByBlock = new Map<number, string>();
    let hasStopped = false;
    try {
      for await (const message of stream.events) {
        // pings keep the connection open and say nothing; an event with no name is not part of the API
        if (message.event === "ping" || message.event === undefined) continue;
        if (message.event === "error") throw mapStreamErrorEvent(context, message.data);
        if (message.data === "") continue;
        request.onActivity?.();
        // a `data:` line that is not JSON throws a SyntaxError: a broken stream
        const event = JSON.parse(message.data) as Anthropic.Messages.RawMessageStreamEvent;
        switch (event.type) {
          case "message_start":
            inputTokens = totalInputTokens(event.message.usage);
            cachedInputTokens = cacheReadTokens(event.message.usage) ?? cachedInputTokens;
            // reported now, so an answer stopped or failed part-way still has its input count
            if (inputTokens !== undefined) yield { type: "usage", inputTokens, outputTokens: undefined, cachedInputTokens };
            break;
          case "content_block_start":
            if (event.content_block.type === "tool_use") {
              toolCallIdsByBlock.set(event.index, event.content_block.id);
              yield { type: "tool-call-start", toolCallId: event.content_block.id, toolName: event.content_block.name };
            }
            break;
          case "content_block_delta": {
            if (event.delta.type === "text_delta" && event.delta.text !== "") yield { type: "text-delta", text: event.delta.text };
            const toolCallId = toolCallIdsByBlock.get(event.index);
            if (event.delta.type === "input_json_delta" && toolCallId !== undefined && event.delta.partial_json !== "") {
              yield { type: "tool-call-delta", toolCallId, argumentsDelta: event.delta.partial_json };
            }
            break;
          }
          case "message_delta": {
            stopReason = event.delta.stop_reason ?? stopReason;
            // cumulative, not incremental; 2026 traffic repeats the input side here too (docs/providers.md#anthropic-streaming-events)
            const usage = event.usage as Partial<Anthropic.Messages.MessageDeltaUsage> | undefined;
            if (typeof usage?.output_tokens === "number") outputTokens = usage.output_tokens;
            if (typeof usage?.input_tokens === "number") inputTokens = totalInputTokens(usage);
            cachedInputTokens = cacheReadTokens(usage) ?? cachedInputTokens;
            break;
          }
          case "message_stop":
            hasStopped = true;
            break;
          default:
            // content_block_stop and event types added later are ignored
            break;
        }
      }
    } catch (error) {
      throw toEventStreamError(error, context, "stream", request.signal);
    }
    // a stop that lands between two events ends nothing by itself: it is still a stop, not an answer
    if (request.signal.aborted) throw createAbortError();
    if (!hasStopped) throw mapBrokenStream(context, "incomplete");
    yield { type: "usage", inputTokens, outputTokens, cachedInputTokens };
    yield { type: "finish", finishReason: mapAnthropicStopReason(stopReason), finishReasonRaw: stopReason ?? undefined };
  }

  async listModels(signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const context = this.callContext();
    const models: DiscoveredModel[] = [];
    try {
      // the SDK follows `has_more` / `last_id` across pages (docs/providers.md#anthropic-model-list)
      for await (const info of (await this.client()).models.list({}, { signal })) {
        // a retired model stays in the catalogue but every request naming it fails
        if (info.lifecycle === "retired") continue;
        const limits = resolveClaudeModelLimits(info.id, { maxInputTokens: info.max_input_tokens, maxTokens: info.max_tokens });
        models.push({
          name: info.id,
          displayName: info.display_name || info.id,
          contextWindow: limits.contextWindow,
          maxOutputTokens: limits.maxOutputTokens,
          supportsVision: info.capabilities?.image_input?.supported ?? null,
        });
      }
    } catch (error) {
      throw this.toProviderError(error, context, "request", signal);
    }
    return models;
  }

  async checkConnection(signal?: AbortSignal): Promise<{ modelCount: number }> {
    return { modelCount: (await this.listModels(signal)).length };
  }

  private callContext(model?: string): ProviderCallContext {
    return { kind: this.kind, baseUrl: this.connection.baseUrl, model, secrets: [this.connection.apiKey] };
  }

  private client(): Promise<Anthropic> {
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

/** Input tokens include the prompt-cache reads and writes when the provider reports them (docs/providers.md#anthropic-usage-and-stop-reasons). */
function totalInputTokens(
  usage: { input_tokens?: number | null; cache_creation_input_tokens?: number | null; cache_read_input_tokens?: number | null } | undefined,
): number | undefined {
  if (typeof usage?.input_tokens !== "number") return undefined;
  return usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

/** The part of the input read from the prompt cache, when the provider reports it. */
function cacheReadTokens(usage: { cache_read_input_tokens?: number | null } | undefined): number | undefined {
  return typeof usage?.cache_read_input_tokens === "number" ? usage.cache_read_input_tokens : undefined;
}

/** A turn as Anthropic takes it: plain text, or content blocks (docs/providers.md#tools-across-providers). */
function toAnthropicMessage(turn: ChatTurn): Anthropic.Messages.MessageParam {
  if (turn.parts === undefined) return { role: turn.role, content: turn.content };
  const blocks: Anthropic.Messages.ContentBlockParam[] = [];
  for (const part of partsOfTurn(turn)) {
    switch (part.type) {
      case "text":
        // Anthropic refuses empty text blocks
        if (part.text !== "") blocks.push({ type: "text", text: part.text });
        break;
      case "image":
        blocks.push({ type: "image", source: { type: "base64", media_type: part.mediaType, data: part.data } });
        break;
      case "tool-call":
        blocks.push({ type: "tool_use", id: part.toolCallId, name: part.toolName, input: part.input });
        break;
      case "tool-result":
        blocks.push({
          type: "tool_result",
          tool_use_id: part.toolCallId,
          content: part.output,
          ...(part.isError ? { is_error: true } : {}),
        });
        break;
    }
  }
  return { role: turn.role, content: blocks };
}

function toolFields(request: ChatRequest): Partial<Anthropic.Messages.MessageCreateParamsStreaming> {
  if (request.tools === undefined || request.tools.length === 0) return {};
  const tools = request.tools.map((tool): Anthropic.Messages.Tool => ({
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    input_schema: { type: "object", ...tool.inputSchema },
  }));
  const choice = toAnthropicToolChoice(request.toolChoice, request.allowParallelToolCalls);
  return { tools, ...(choice === undefined ? {} : { tool_choice: choice }) };
}

function toAnthropicToolChoice(
  choice: ChatToolChoice | undefined,
  allowParallelToolCalls: boolean | undefined,
): Anthropic.Messages.ToolChoice | undefined {
  const parallel = allowParallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  switch (choice?.type) {
    case undefined:
      return allowParallelToolCalls === false ? { type: "auto", ...parallel } : undefined;
    case "auto":
      return { type: "auto", ...parallel };
    case "none":
      return { type: "none" };
    case "required":
      return { type: "any", ...parallel };
    case "tool":
      return { type: "tool", name: choice.toolName, ...parallel };
  }
}

function samplingFields(request: ChatRequest): Partial<Anthropic.Messages.MessageCreateParamsStreaming> {
  const sampling = request.sampling;
  if (sampling === undefined) return {};
  return {
    ...(sampling.temperature === undefined ? {} : { temperature: sampling.temperature }),
    ...(sampling.topP === undefined ? {} : { top_p: sampling.topP }),
    ...(sampling.stopSequences === undefined ? {} : { stop_sequences: sampling.stopSequences }),
  };
}
