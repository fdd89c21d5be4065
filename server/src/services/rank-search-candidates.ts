import { matchTerm, type SearchTerms } from "./search-terms";

/** A document the index found for every word of a query: a message's text or a conversation's title. */
export interface RankableDocument {
  /** Its search document id: higher is newer. */
  documentId: number;
  isTitle: boolean;
  text: string;
}

// BM25's term-frequency saturation and length normalisation (the usual constants).
const K1 = 1.2;
const B = 0.75;
/** A title is short and chosen by the user: a match there says more than one in a message. */
const TITLE_BOOST = 1.5;
/** The query's words side by side, in order, as typed. */
const PHRASE_BONUS = 1;

/**
 * Orders documents by how well they match, best first. Every document contains every word of the
 * query (the index only returns such), so what tells them apart is how often the words occur for the
 * length of the text (BM25 without its IDF factor, which is then the same for all), whether the
 * words stand together as typed, and whether it is the conversation's title; ties go to the newest.
 */
export function rankSearchCandidates<Document extends RankableDocument>(documents: readonly Document[], terms: SearchTerms): Document[] {
  const termCount = terms.words.length + (terms.prefix === null ? 0 : 1);
  const measured = documents.map((document) => ({ document, ...measure(document.text, terms, termCount) }));
  const averageLength = measured.reduce((sum, entry) => sum + entry.length, 0) / Math.max(1, measured.length) || 1;
  const scored = measured.map((entry) => {
    let score = 0;
    for (const frequency of entry.frequencies) {
      score += (frequency * (K1 + 1)) / (frequency + K1 * (1 - B + (B * entry.length) / averageLength));
    }
    if (entry.hasPhrase) score += PHRASE_BONUS;
    if (entry.document.isTitle) score *= TITLE_BOOST;
    return { document: entry.document, score };
  });
  scored.sort((left, right) => right.score - left.score || right.document.documentId - left.document.documentId);
  return scored.map((entry) => entry.document);
}

/** Words as search-terms.ts cuts them; one shared pattern, run with exec (this is the loop a search spends its time in). */
const WORD = /[\p{L}\p{N}\p{Co}]+/gu;

function measure(text: string, terms: SearchTerms, termCount: number): { frequencies: number[]; length: number; hasPhrase: boolean } {
  const frequencies = new Array<number>(termCount).fill(0);
  let length = 0;
  // The phrase: term 0, 1, 2 … on consecutive words (only meaningful for two words or more).
  let run = 0;
  let hasPhrase = false;
  // Lower-cased once (offsets are not needed here).
  const lower = text.toLowerCase();
  WORD.lastIndex = 0;
  for (let match = WORD.exec(lower); match !== null; match = WORD.exec(lower)) {
    length++;
    const term = matchTerm(terms, match[0]);
    if (term !== -1) frequencies[term]!++;
    run = term === run ? run + 1 : term === 0 ? 1 : 0;
    if (termCount > 1 && run === termCount) {
      hasPhrase = true;
      run = 0;
    }
  }
  return { frequencies, length, hasPhrase };
}
