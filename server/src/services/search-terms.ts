import { SEARCH_QUERY_MAX_WORDS, SEARCH_WORD_MAX_CHARACTERS } from "../../../protocol/http/search";
import { AppError } from "../domain/app-error";

/**
 * A search query as words: runs of letters and digits (the way both indexes cut text into words),
 * lower-cased. Everything else — spaces, punctuation, quotes, `*`, `AND`, `:`, `-` — only separates
 * words, so no query can reach the index's own syntax. Every word must occur in a result; the last
 * one may also be the start of a longer word while it is being typed.
 */
export interface SearchTerms {
  /** Whole words, distinct, in the order typed. */
  words: string[];
  /** The word being typed (no space after it yet), matched as the start of a word; null when none. */
  prefix: string | null;
}

/** Shorter words being typed are matched whole: a one- or two-letter prefix matches too much to be useful (and the index has no prefix entries for them). */
export const MINIMUM_PREFIX_LENGTH = 3;

const WORD_PATTERN = /[\p{L}\p{N}\p{Co}]+/gu;

/** The words of a text with where they are (for ranking and snippets; the same rule as the query's). */
export function* wordsOf(text: string): Generator<{ word: string; start: number; end: number }> {
  for (const match of text.matchAll(WORD_PATTERN)) {
    yield { word: match[0].toLowerCase(), start: match.index, end: match.index + match[0].length };
  }
}

/** Throws a 400 naming the problem for a query that asks too much; an empty result means "no words". */
export function parseSearchTerms(query: string): SearchTerms {
  const found = [...query.matchAll(WORD_PATTERN)].map((match) => match[0].toLowerCase());
  if (found.length === 0) return { words: [], prefix: null };
  const tooLong = found.find((word) => word.length > SEARCH_WORD_MAX_CHARACTERS);
  if (tooLong !== undefined) {
    throw new AppError(400, "validation_failed", `q: words must be at most ${SEARCH_WORD_MAX_CHARACTERS} characters`);
  }
  const last = found.at(-1)!;
  const isTypingLast = /[\p{L}\p{N}\p{Co}]$/u.test(query) && last.length >= MINIMUM_PREFIX_LENGTH;
  const whole = [...new Set(isTypingLast ? found.slice(0, -1) : found)];
  const prefix = isTypingLast && !whole.includes(last) ? last : null;
  if (whole.length + (prefix === null ? 0 : 1) > SEARCH_QUERY_MAX_WORDS) {
    throw new AppError(400, "validation_failed", `q: at most ${SEARCH_QUERY_MAX_WORDS} words`);
  }
  return { words: whole, prefix };
}

export function hasTerms(terms: SearchTerms): boolean {
  return terms.words.length > 0 || terms.prefix !== null;
}

/** Whether a word of a text (lower-cased) is one the query looks for; returns which one (its index), or -1. */
export function matchTerm(terms: SearchTerms, word: string): number {
  const index = terms.words.indexOf(word);
  if (index !== -1) return index;
  return terms.prefix !== null && word.startsWith(terms.prefix) ? terms.words.length : -1;
}
