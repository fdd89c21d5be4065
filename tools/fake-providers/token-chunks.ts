/**
 * Splits text into token-sized stream deltas: each word keeps its trailing whitespace (spaces and
 * newlines), so joining the chunks gives back the exact text.
 */
export function splitIntoTokenChunks(text: string): string[] {
  return text.match(/\s+|\S+\s*/gy) ?? [];
}

/**
 * A plausible token count: one token per four characters, at least one for non-empty text.
 * Deterministic so tests can predict the usage the fakes report.
 */
export function estimateTokenCount(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Keeps the chunks that fit in `maxTokens` (estimated as above), the way a provider stops at its
 * output limit. `isTruncated` says whether the limit cut the answer short.
 */
export function limitChunksToTokens(chunks: readonly string[], maxTokens: number | undefined): { chunks: string[]; isTruncated: boolean } {
  if (maxTokens === undefined) return { chunks: [...chunks], isTruncated: false };
  const kept: string[] = [];
  let characters = 0;
  for (const chunk of chunks) {
    if (Math.ceil((characters + chunk.length) / 4) > maxTokens) {
      return { chunks: kept, isTruncated: true };
    }
    kept.push(chunk);
    characters += chunk.length;
  }
  return { chunks: kept, isTruncated: false };
}
