/**
 * The token count VS Code asks a language model provider for (to fit a prompt), estimated locally
 * with the team server's own rule (about four characters per token and a few for each message's role
 * markers), so a count costs no request. Real tokenisers differ per model; the provider's own count
 * of what was sent is what the ledger keeps.
 */
export const CHARACTERS_PER_TOKEN = 4;
export const MESSAGE_OVERHEAD_TOKENS = 4;

export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / CHARACTERS_PER_TOKEN);
}

/** A whole message: its texts (tool calls and results as their JSON) and the role markers. */
export function estimateMessageTokens(texts: readonly string[]): number {
  return texts.reduce((total, text) => total + estimateTextTokens(text), MESSAGE_OVERHEAD_TOKENS);
}
