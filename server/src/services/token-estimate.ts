/**
 * A provider-neutral token estimate used to fit a branch into a model's window before sending.
 * Real tokenisers differ per model and are heavy; about four characters per token is the common
 * rule of thumb for English text and code, and a small per-message overhead covers role markers.
 * The estimate only decides what to leave out: the provider's own count is what we store.
 */
import { estimateTextTokens } from "../../../protocol/estimate-text-tokens";

export { CHARACTERS_PER_TOKEN, estimateTextTokens } from "../../../protocol/estimate-text-tokens";
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** One message of a conversation, with its role markers. */
export function estimateMessageTokens(text: string): number {
  return estimateTextTokens(text) + MESSAGE_OVERHEAD_TOKENS;
}

/** A whole request: the system prompt (when there is one) and every message. */
export function estimateConversationTokens(system: string | undefined, messages: ReadonlyArray<{ content: string }>): number {
  const systemTokens = system === undefined || system === "" ? 0 : estimateMessageTokens(system);
  return messages.reduce((total, message) => total + estimateMessageTokens(message.content), systemTokens);
}
