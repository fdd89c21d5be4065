import type { PreparedConversation } from "./chat-provider";

/**
 * Ollama runs a model with a small context (`num_ctx`, 2048–4096 tokens by default,
 * docs/providers.md#ollama-chat-requests) and silently drops the start of a longer prompt, so a conversation moved to Ollama would
 * lose its beginning without anyone noticing. When the prompt plus the answer may not fit that
 * default, ask for a larger context. Powers of two, so that neighbouring requests ask for the same
 * size (a different `num_ctx` makes Ollama reload the model). Ollama caps it at what the model
 * supports; the generation service already fitted the conversation into the model's window.
 */
const ollamaDefaultContextTokens = 4096;
// deliberately generous (≈3 characters per token): under-asking silently loses text
const charactersPerToken = 3;

export function chooseOllamaContextSize(conversation: PreparedConversation, maxOutputTokens: number): number | undefined {
  const characters = (conversation.system?.length ?? 0) + conversation.turns.reduce((total, turn) => total + turn.content.length + 8, 0);
  const neededTokens = Math.ceil(characters / charactersPerToken) + maxOutputTokens;
  if (neededTokens <= ollamaDefaultContextTokens) return undefined;
  return 2 ** Math.ceil(Math.log2(neededTokens));
}
