import type { SearchHighlight } from "../../../protocol/http/search";
import { matchTerm, wordsOf, type SearchTerms } from "./search-terms";

/** About this many characters of text around the best match. */
export const SNIPPET_TARGET_CHARACTERS = 180;
/** Text kept before the first highlighted word, so it reads in context. */
const LEAD_CHARACTERS = 40;
const ELLIPSIS = "…";

export interface Snippet {
  snippet: string;
  highlights: SearchHighlight[];
}

/**
 * The part of a text where the query's words are densest, as one line (whitespace collapsed), with
 * "…" where it was cut and the query's words marked. A text without any of the words gives its start.
 */
export function makeSnippet(text: string, terms: SearchTerms, targetCharacters = SNIPPET_TARGET_CHARACTERS): Snippet {
  const matches: Array<{ start: number; end: number; term: number }> = [];
  for (const { word, start, end } of wordsOf(text)) {
    const term = matchTerm(terms, word);
    if (term !== -1) matches.push({ start, end, term });
  }
  // The window (of about targetCharacters) starting at the match that covers the most distinct terms, then the most matches.
  let best = { index: 0, distinct: 0, count: 0 };
  for (let index = 0; index < matches.length; index++) {
    const limit = matches[index]!.start + targetCharacters - LEAD_CHARACTERS;
    const terms = new Set<number>();
    let count = 0;
    for (let other = index; other < matches.length && matches[other]!.end <= limit; other++) {
      terms.add(matches[other]!.term);
      count++;
    }
    if (terms.size > best.distinct || (terms.size === best.distinct && count > best.count)) best = { index, distinct: terms.size, count };
  }
  const anchor = matches[best.index]?.start ?? 0;
  let start = Math.max(0, anchor - LEAD_CHARACTERS);
  let end = Math.min(text.length, start + targetCharacters);
  // Cut between words, not inside one.
  if (start > 0) start = startOfWordAt(text, start, anchor);
  if (end < text.length) end = endOfWordAt(text, end);
  return collapse(text, start, end, matches);
}

/** Moves `position` forward to the next word's start (never past `limit`). */
function startOfWordAt(text: string, position: number, limit: number): number {
  const next = text.slice(position, limit).search(/\s/);
  return next === -1 ? position : Math.min(limit, position + next + 1);
}

/** Moves `position` back to the end of the word before it (when a space is near). */
function endOfWordAt(text: string, position: number): number {
  const before = text.slice(Math.max(0, position - 30), position);
  const lastSpace = before.search(/\s\S*$/);
  return lastSpace === -1 ? position : position - before.length + lastSpace;
}

/** text[start, end) on one line, whitespace runs as one space, with "…" for what was cut and the matches inside as highlights. */
function collapse(text: string, start: number, end: number, matches: ReadonlyArray<{ start: number; end: number }>): Snippet {
  let snippet = start > 0 ? ELLIPSIS : "";
  const positions = new Map<number, number>();
  let isInSpace = false;
  for (let index = start; index < end; index++) {
    const character = text[index]!;
    if (/\s/.test(character)) {
      isInSpace = true;
      continue;
    }
    if (isInSpace && snippet.length > 0 && snippet !== ELLIPSIS) snippet += " ";
    isInSpace = false;
    positions.set(index, snippet.length);
    snippet += character;
  }
  positions.set(end, snippet.length);
  const highlights: SearchHighlight[] = [];
  for (const match of matches) {
    if (match.start < start || match.end > end) continue;
    const from = positions.get(match.start);
    const to = positions.get(match.end) ?? lastPositionBefore(positions, match.end);
    if (from !== undefined && to !== undefined && to > from) highlights.push({ start: from, end: to });
  }
  if (end < text.length) snippet += ELLIPSIS;
  return { snippet, highlights };
}

/** The output position just after the last character before `index` (a match ending before a collapsed space). */
function lastPositionBefore(positions: Map<number, number>, index: number): number | undefined {
  for (let probe = index - 1; probe >= 0; probe--) {
    const position = positions.get(probe);
    if (position !== undefined) return position + 1;
  }
  return undefined;
}
