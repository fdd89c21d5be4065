/**
 * Groq's models list mixes chat models with speech-to-text (whisper, distil-whisper), text-to-speech
 * (playai-tts, orpheus) and safety classifiers (llama-guard, prompt-guard, gpt-oss-safeguard) that
 * cannot hold a conversation (docs/providers.md#groq-model-list). The list has no "chat" field, so ids decide,
 * plus Groq's own `active` flag.
 */
const nonChatIdPattern = /whisper|(^|[-_/])tts([-_/]|$)|playai|orpheus|guard|embed|transcri|speech/i;

export interface GroqListedModel {
  id: string;
  active?: boolean | null;
}

export function isGroqChatModel(model: GroqListedModel): boolean {
  if (model.active === false) return false;
  return !nonChatIdPattern.test(model.id);
}
