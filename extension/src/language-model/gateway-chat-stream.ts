import { createParser } from "eventsource-parser";
import type { FetchFunction } from "../server-client/http-transport";

/**
 * One streamed answer from the team gateway's OpenAI-compatible chat completions
 * (docs/gateway.md#openai-chat-completions), as the events VS Code's language model API needs: text
 * as it arrives, each tool call once its arguments are complete, and the usage the provider reported.
 * No vscode import: surfaces/language-model-provider.ts adapts it.
 */

/** A message of the OpenAI chat completions request, as much of it as VS Code's chat produces. */
export type GatewayChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: GatewayToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface GatewayToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface GatewayTool {
  type: "function";
  function: { name: string; description?: string; parameters?: object };
}

export interface GatewayChatRequest {
  model: string;
  messages: GatewayChatMessage[];
  tools?: GatewayTool[];
  toolChoice?: "auto" | "required";
  maxCompletionTokens?: number;
}

/**
 * A failure of a gateway request: the gateway's own code (`budget_exceeded`, `invalid_api_key`,
 * `model_not_found`, `upstream_error`…; docs/gateway.md#errors), or `offline` / `aborted` /
 * `invalid_response` for what happened on the way. The message is the gateway's, in plain words.
 */
export class GatewayChatError extends Error {
  override readonly name = "GatewayChatError";

  constructor(
    /** HTTP status; 0 when no response arrived, 200 for an error inside a started stream. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type GatewayStreamEvent =
  | { kind: "text"; text: string }
  | { kind: "tool-call"; id: string; name: string; arguments: string }
  | { kind: "usage"; inputTokens: number | null; outputTokens: number | null }
  | { kind: "finish"; reason: string | null };

interface ChunkToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface Chunk {
  error?: { message?: string; code?: string | null; type?: string };
  choices?: { delta?: { content?: string | null; tool_calls?: ChunkToolCall[] }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number | null; completion_tokens?: number | null } | null;
}

/**
 * Streams one chat completion. Throws GatewayChatError: the gateway's error (its `code`, e.g.
 * `budget_exceeded`, `invalid_api_key`, and its message, which names a budget's limit and reset),
 * `offline`, or `aborted` when the signal fires.
 */
export async function* streamGatewayChat(options: {
  serverUrl: string;
  apiKey: string;
  request: GatewayChatRequest;
  signal?: AbortSignal;
  fetch?: FetchFunction;
}): AsyncGenerator<GatewayStreamEvent, void, undefined> {
  const { request } = options;
  const body: Record<string, unknown> = {
    model: request.model,
    messages: request.messages,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools;
    body.tool_choice = request.toolChoice ?? "auto";
  }
  if (request.maxCompletionTokens !== undefined) body.max_completion_tokens = request.maxCompletionTokens;
  const fetchFunction = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  let response: Response;
  try {
    response = await fetchFunction(`${options.serverUrl}/openai/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        "content-type": "application/json",
        accept: "text/event-stream",
        "user-agent": "juggler-vscode",
      },
      body: JSON.stringify(body),
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw new GatewayChatError(0, "aborted", "The request was cancelled.");
    throw new GatewayChatError(0, "offline", `Can't reach the Juggler server at ${options.serverUrl}.`, true, { cause: error });
  }
  if (!response.ok || !response.body) throw await toGatewayError(response);

  const queue: Chunk[] = [];
  let isDone = false;
  const parser = createParser({
    onEvent: (event) => {
      if (event.data === "[DONE]") {
        isDone = true;
        return;
      }
      try {
        queue.push(JSON.parse(event.data) as Chunk);
      } catch {
        throw new GatewayChatError(response.status, "invalid_response", "The Juggler gateway sent an event that is not JSON.");
      }
    },
  });
  const toolCalls = new Map<number, { id: string; name: string; arguments: string }>();
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  try {
    while (!isDone) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (options.signal?.aborted) throw new GatewayChatError(0, "aborted", "The request was cancelled.");
        throw new GatewayChatError(0, "offline", "The connection to the Juggler server was lost during the answer.", true, {
          cause: error,
        });
      }
      if (chunk.done) break;
      parser.feed(decoder.decode(chunk.value, { stream: true }));
      for (const parsed of queue.splice(0)) {
        if (parsed.error) {
          throw new GatewayChatError(
            200,
            parsed.error.code ?? parsed.error.type ?? "upstream_error",
            parsed.error.message ?? "The model failed during the answer.",
          );
        }
        for (const choice of parsed.choices ?? []) {
          const delta = choice.delta;
          if (delta?.content) yield { kind: "text", text: delta.content };
          for (const piece of delta?.tool_calls ?? []) {
            const index = piece.index ?? 0;
            const call = toolCalls.get(index) ?? { id: "", name: "", arguments: "" };
            if (piece.id) call.id = piece.id;
            if (piece.function?.name) call.name = piece.function.name;
            if (piece.function?.arguments) call.arguments += piece.function.arguments;
            toolCalls.set(index, call);
          }
          if (choice.finish_reason) {
            // A tool call is complete once its choice finishes: VS Code takes it whole.
            for (const [, call] of [...toolCalls.entries()].sort(([first], [second]) => first - second)) {
              yield { kind: "tool-call", id: call.id, name: call.name, arguments: call.arguments || "{}" };
            }
            toolCalls.clear();
            yield { kind: "finish", reason: choice.finish_reason };
          }
        }
        if (parsed.usage) {
          yield { kind: "usage", inputTokens: parsed.usage.prompt_tokens ?? null, outputTokens: parsed.usage.completion_tokens ?? null };
        }
      }
    }
    if (!isDone) throw new GatewayChatError(0, "offline", "The Juggler gateway ended the answer before it was complete.", true);
  } finally {
    // Breaking out early (VS Code cancelled) closes the connection: the gateway stops the provider.
    await reader.cancel().catch(() => undefined);
  }
}

/** The gateway's OpenAI-shaped error `{ error: { message, type, code } }` as a GatewayChatError. */
async function toGatewayError(response: Response): Promise<GatewayChatError> {
  let body: Chunk | undefined;
  try {
    body = (await response.json()) as Chunk;
  } catch {
    body = undefined;
  }
  const code = body?.error?.code ?? body?.error?.type ?? "invalid_response";
  const message = body?.error?.message ?? `The Juggler gateway answered ${response.status}.`;
  const retryable = response.headers.get("x-should-retry") === "true";
  return new GatewayChatError(response.status, code, message, retryable);
}
