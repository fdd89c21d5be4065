import * as vscode from "vscode";
import type { Model } from "../../../protocol/http/models";
import { providerLabels } from "../../../protocol/http/providers";
import type { ChatSession } from "../chat/chat-session";
import { estimateMessageTokens, estimateTextTokens } from "../language-model/estimate-tokens";
import {
  GatewayChatError,
  streamGatewayChat,
  type GatewayChatMessage,
  type GatewayStreamEvent,
  type GatewayTool,
  type GatewayToolCall,
} from "../language-model/gateway-chat-stream";
import { GatewayKeyKeeper } from "../language-model/gateway-key-keeper";
import { toVsCodeDisposable } from "./accounts";

/** The vendor of Juggler's models in VS Code's model picker and `vscode.lm.selectChatModels({ vendor })`. */
export const LANGUAGE_MODEL_VENDOR = "juggler";

/** When the provider does not tell a model's limits (Ollama often does not). */
const FALLBACK_CONTEXT_WINDOW = 8_192;
const FALLBACK_MAX_OUTPUT_TOKENS = 4_096;

/** What one answer in VS Code's chat came to, for the output channel (VS Code's chat has no place for it). */
export interface LanguageModelAnswerRecord {
  modelId: string;
  inputTokens: number | null;
  outputTokens: number | null;
  timeToFirstTokenMs: number | null;
  durationMs: number;
}

/**
 * Juggler's models in VS Code's own chat and for other extensions (`vscode.lm`): the team's visible
 * models as the signed-in session lists them, answered by the team gateway
 * (docs/decisions/0024-vs-code-chat-models-and-usage-view.md). Token counts are estimated
 * locally (language-model/estimate-tokens.ts).
 */
export function registerLanguageModelProvider(
  context: vscode.ExtensionContext,
  session: ChatSession,
  log: (record: LanguageModelAnswerRecord) => void,
): vscode.Disposable {
  const keys = new GatewayKeyKeeper(session.client, context.secrets);
  const changed = new vscode.EventEmitter<void>();
  const provider: vscode.LanguageModelChatProvider = {
    onDidChangeLanguageModelChatInformation: changed.event,
    provideLanguageModelChatInformation: async (options) => {
      // Asked with the user's attention (e.g. from VS Code's model manager) while signed out: sign in first.
      if (!options.silent && (session.connectionState === "signed-out" || session.connectionState === "needs-sign-in")) {
        await vscode.commands.executeCommand("juggler.signIn");
      }
      return session.connectionState === "ready" && session.user ? session.visibleModels.map(toModelInformation) : [];
    },
    provideLanguageModelChatResponse: (model, messages, options, progress, token) =>
      answer(session, keys, { model, messages, options, progress, token, log }),
    provideTokenCount: async (_model, text) =>
      typeof text === "string" ? estimateTextTokens(text) : estimateMessageTokens(messageTexts(text)),
  };
  const registration = vscode.lm.registerLanguageModelChatProvider(LANGUAGE_MODEL_VENDOR, provider);
  context.subscriptions.push(
    registration,
    changed,
    // Signed in or out, models shown or hidden by an admin: VS Code asks for the list again.
    toVsCodeDisposable(session.onActiveModelChanged(() => changed.fire())),
    toVsCodeDisposable(session.onStateChanged(() => changed.fire())),
  );
  return registration;
}

function toModelInformation(model: Model): vscode.LanguageModelChatInformation {
  const contextWindow = model.contextWindow ?? FALLBACK_CONTEXT_WINDOW;
  const maxOutputTokens = Math.min(model.maxOutputTokens ?? FALLBACK_MAX_OUTPUT_TOKENS, Math.floor(contextWindow / 2));
  return {
    id: model.id,
    name: model.displayName,
    family: model.name,
    version: model.name,
    detail: `Juggler · ${providerLabels[model.provider]}`,
    tooltip: `${model.displayName} (${model.id}) through your team's Juggler server`,
    // What VS Code may fill with the prompt: the window less the room kept for the answer.
    maxInputTokens: contextWindow - maxOutputTokens,
    maxOutputTokens,
    capabilities: { toolCalling: true, imageInput: false },
  };
}

interface AnswerRequest {
  model: vscode.LanguageModelChatInformation;
  messages: readonly vscode.LanguageModelChatRequestMessage[];
  options: vscode.ProvideLanguageModelChatResponseOptions;
  progress: vscode.Progress<vscode.LanguageModelResponsePart>;
  token: vscode.CancellationToken;
  log: (record: LanguageModelAnswerRecord) => void;
}

async function answer(session: ChatSession, keys: GatewayKeyKeeper, request: AnswerRequest): Promise<void> {
  if (!session.user) throw vscode.LanguageModelError.NoPermissions("Sign in to Juggler to use its models.");
  const abort = new AbortController();
  const cancellation = request.token.onCancellationRequested(() => abort.abort());
  const startedAt = Date.now();
  let firstTokenAt: number | undefined;
  let usage: Extract<GatewayStreamEvent, { kind: "usage" }> | undefined;
  const gatewayRequest = {
    model: request.model.id,
    messages: toGatewayMessages(request.messages),
    tools: request.options.tools?.map(toGatewayTool),
    toolChoice: request.options.toolMode === vscode.LanguageModelChatToolMode.Required ? ("required" as const) : ("auto" as const),
  };
  try {
    for (let attempt = 0; ; attempt += 1) {
      const apiKey = await keys.getKey();
      try {
        for await (const event of streamGatewayChat({
          serverUrl: session.client.serverUrl,
          apiKey,
          request: gatewayRequest,
          signal: abort.signal,
        })) {
          if (event.kind === "text") {
            firstTokenAt ??= Date.now();
            request.progress.report(new vscode.LanguageModelTextPart(event.text));
          } else if (event.kind === "tool-call") {
            firstTokenAt ??= Date.now();
            request.progress.report(new vscode.LanguageModelToolCallPart(event.id, event.name, parseToolInput(event.arguments)));
          } else if (event.kind === "usage") {
            usage = event;
          }
        }
        return;
      } catch (error) {
        // The key was revoked in Manage API Keys (or by an admin): make a new one, once.
        if (error instanceof GatewayChatError && error.status === 401 && attempt === 0) {
          await keys.forget();
          continue;
        }
        throw error;
      }
    }
  } catch (error) {
    if (request.token.isCancellationRequested) return;
    throw toLanguageModelError(error);
  } finally {
    cancellation.dispose();
    request.log({
      modelId: request.model.id,
      inputTokens: usage?.inputTokens ?? null,
      outputTokens: usage?.outputTokens ?? null,
      timeToFirstTokenMs: firstTokenAt === undefined ? null : firstTokenAt - startedAt,
      durationMs: Date.now() - startedAt,
    });
  }
}

/** VS Code's messages as OpenAI chat completions messages: text, tool calls (assistant), tool results (user). */
export function toGatewayMessages(messages: readonly vscode.LanguageModelChatRequestMessage[]): GatewayChatMessage[] {
  const converted: GatewayChatMessage[] = [];
  for (const message of messages) {
    const texts: string[] = [];
    const toolCalls: GatewayToolCall[] = [];
    const toolResults: GatewayChatMessage[] = [];
    for (const part of message.content) {
      if (part instanceof vscode.LanguageModelTextPart) texts.push(part.value);
      else if (part instanceof vscode.LanguageModelToolCallPart) {
        toolCalls.push({ id: part.callId, type: "function", function: { name: part.name, arguments: JSON.stringify(part.input ?? {}) } });
      } else if (part instanceof vscode.LanguageModelToolResultPart) {
        toolResults.push({ role: "tool", tool_call_id: part.callId, content: toolResultText(part) });
      } else if (part instanceof vscode.LanguageModelDataPart && isTextMimeType(part.mimeType)) {
        texts.push(new TextDecoder().decode(part.data));
      }
      // Images and VS Code's own markers (e.g. cache hints) are not sent: the gateway takes text for now.
    }
    const text = texts.join("");
    // Tool results answer the calls of the message before, so they come first.
    converted.push(...toolResults);
    if (message.role === vscode.LanguageModelChatMessageRole.Assistant) {
      if (text !== "" || toolCalls.length > 0)
        converted.push({
          role: "assistant",
          content: text === "" ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        });
    } else if (text !== "") {
      // VS Code 1.139 also sends a System role (3) that its 1.138 types do not name yet.
      converted.push({ role: (message.role as number) === 3 ? "system" : "user", content: text });
    }
  }
  return converted;
}

function toolResultText(part: vscode.LanguageModelToolResultPart): string {
  return part.content
    .map((item) => {
      if (item instanceof vscode.LanguageModelTextPart) return item.value;
      if (item instanceof vscode.LanguageModelDataPart && isTextMimeType(item.mimeType)) return new TextDecoder().decode(item.data);
      return typeof item === "object" && item !== null && "value" in item ? String((item as { value: unknown }).value) : "";
    })
    .join("");
}

function isTextMimeType(mimeType: string): boolean {
  return mimeType.startsWith("text/") || mimeType === "application/json";
}

function toGatewayTool(tool: vscode.LanguageModelChatTool): GatewayTool {
  return {
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.inputSchema ?? { type: "object", properties: {} } },
  };
}

function parseToolInput(text: string): object {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? parsed : { value: parsed };
  } catch {
    return { arguments: text };
  }
}

/** The texts of one message, for the token estimate. */
function messageTexts(message: vscode.LanguageModelChatRequestMessage): string[] {
  return message.content.map((part) => {
    if (part instanceof vscode.LanguageModelTextPart) return part.value;
    if (part instanceof vscode.LanguageModelToolCallPart) return `${part.name}${JSON.stringify(part.input ?? {})}`;
    if (part instanceof vscode.LanguageModelToolResultPart) return toolResultText(part);
    return "";
  });
}

/** The gateway's refusal in words VS Code's chat shows: a budget names its limit, value and reset. */
function toLanguageModelError(error: unknown): Error {
  if (error instanceof GatewayChatError) {
    if (error.status === 404) return vscode.LanguageModelError.NotFound(error.message);
    if (error.status === 401 || error.status === 403) return vscode.LanguageModelError.NoPermissions(error.message);
    return new Error(`Juggler: ${error.message}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
