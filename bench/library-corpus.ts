/**
 * Text for the library benchmark: pseudo-English words whose frequencies follow Zipf's law (as words
 * in real text do: a few very common, a long tail of rare ones), messages of varying length (a
 * question ≈ 25 words, an answer ≈ 120, exponentially distributed). What a search index's cost depends
 * on is how many documents each word is in, and that is what this reproduces; the words themselves
 * are made up. Seeded: every run builds the same text.
 */

const SYLLABLES = (
  "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge gi go gu ha he hi ho hu ja je jo ka ke ki " +
  "ko ku la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve " +
  "vi vo vu wa we wi wo ya ye yo za ze zi zo str tr pl qu th sh ch nd nt rk"
).split(" ");

export const VOCABULARY_SIZE = 50_000;
const ZIPF_EXPONENT = 1.05;

/** mulberry32: small, fast, and the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export class Corpus {
  /** Words by rank: index 0 is the most common. */
  readonly words: string[];
  private readonly cumulative: Float64Array;
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
    const seen = new Set<string>();
    this.words = [];
    while (this.words.length < VOCABULARY_SIZE) {
      // common words short, rare ones longer, as in a language
      const syllables = 1 + Math.floor(this.random() * 3) + (this.words.length > 200 ? 1 : 0);
      let word = "";
      for (let index = 0; index < syllables; index++) word += SYLLABLES[Math.floor(this.random() * SYLLABLES.length)];
      if (!seen.has(word)) {
        seen.add(word);
        this.words.push(word);
      }
    }
    this.cumulative = new Float64Array(VOCABULARY_SIZE);
    let total = 0;
    for (let rank = 0; rank < VOCABULARY_SIZE; rank++) {
      total += 1 / Math.pow(rank + 1, ZIPF_EXPONENT);
      this.cumulative[rank] = total;
    }
  }

  /** A word's rank, drawn by frequency. */
  nextRank(): number {
    const target = this.random() * this.cumulative[VOCABULARY_SIZE - 1]!;
    let low = 0;
    let high = VOCABULARY_SIZE - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** A message's words as ranks: a question (`isAnswer` false) or an answer. */
  messageRanks(isAnswer: boolean): number[] {
    const mean = isAnswer ? 120 : 25;
    const length = Math.max(3, Math.round(-Math.log(1 - this.random()) * mean));
    return Array.from({ length }, () => this.nextRank());
  }

  textOf(ranks: readonly number[]): string {
    return ranks.map((rank) => this.words[rank]).join(" ");
  }

  /** A number in [0, 1) from the same seeded sequence. */
  next(): number {
    return this.random();
  }
}
