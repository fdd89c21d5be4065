/**
 * "Find in chat"'s one rule, used by the server (counting on the branch) and the webview (counting
 * and highlighting what it has loaded), so their counts agree: `needle` anywhere in a word, ignoring
 * case (Unicode simple case folding, as a JavaScript regular expression with the `iu` flags does it),
 * without overlaps, in the message's text as written.
 */
export function countOccurrences(text: string, needle: string): number {
  if (needle.length === 0) return 0;
  let count = 0;
  for (const _match of text.matchAll(occurrencePattern(needle))) count++;
  return count;
}

/** A fresh global pattern for `needle` (matchAll and exec keep their position in it). */
export function occurrencePattern(needle: string): RegExp {
  return new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "giu");
}
