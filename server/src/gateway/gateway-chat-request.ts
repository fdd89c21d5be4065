import type { ChatSampling, ChatToolChoice, ChatToolDefinition, ChatTurn } from "../providers/chat-provider";

/**
 * An OpenAI- or Anthropic-shaped request once converted (docs/gateway.md#conversion): the same
 * provider-neutral turns the chat sends, and what else the client asked for. Each provider's
 * `prepareConversation` then applies its own rules, as for the chat.
 */
export interface GatewayChatRequest {
  /** Juggler's model id, e.g. `anthropic:claude-sonnet-4-5` or `groq:llama-3.3-70b-versatile`. */
  modelId: string;
  system: string | undefined;
  turns: ChatTurn[];
  /** undefined: what the chat reserves for an answer (the model's output limit, at most a quarter of its window). */
  maxOutputTokens: number | undefined;
  tools: ChatToolDefinition[] | undefined;
  toolChoice: ChatToolChoice | undefined;
  allowParallelToolCalls: boolean | undefined;
  sampling: ChatSampling | undefined;
  isStream: boolean;
}
