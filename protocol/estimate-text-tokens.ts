/**
 * A provider-neutral token estimate: about four characters per token, the common rule of thumb for
 * English text and code. One definition for the server (fitting a branch into a window) and the
 * extension (the size shown on a context chip), so the two always agree.
 */
export const CHARACTERS_PER_TOKEN = 4;

export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / CHARACTERS_PER_TOKEN);
}
