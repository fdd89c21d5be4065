import type { ContextWalkRow, WalkedSummary } from "../storage/conversation-repository";
import { estimateSummarySystemTokens } from "./summary-prompt";

/**
 * Decides, from the bounded walk up the branch, what a context is made of. Pure, so every case has
 * a unit test; the walk (SQL) and the summariser call (a provider) are the caller's.
 *
 * - whole: the walk reached the root within the budget: the whole branch is sent.
 * - reuse-summary: a stored summary of a prefix root→X is on the walk, and the messages after X fit
 *   beside it: sent as summary + those messages. The OLDEST such summary wins (more is verbatim).
 * - summarise: no stored summary fits, and there is a summariser: the newest messages using about
 *   half the budget stay verbatim (starting at a user message), the rest is to be summarised. Half,
 *   so that the following sends on the branch find this summary and reuse it.
 * - drop: no summariser (or nothing a summary could help with): the oldest messages are left out.
 */

export interface ContextPlanInput {
  /** The walk from the question's parent up the branch, newest first (empty for a first message). */
  walk: readonly ContextWalkRow[];
  /** Estimated tokens of the question itself (not yet stored, so not on the walk). */
  questionTokens: number;
  /** What the messages and a summary may use: the window minus the reserved output and the system prompt. */
  budgetTokens: number;
  /** How much a summariser request can carry besides its instructions; null: no summariser. */
  summariserInputTokens: number | null;
}

export type ContextPlan =
  /** `messages`: the branch above the question, oldest first. */
  | { kind: "whole"; messages: ContextWalkRow[] }
  /** `messages`: after the summary's last covered message, oldest first. */
  | { kind: "reuse-summary"; summary: WalkedSummary; messages: ContextWalkRow[] }
  | {
      kind: "summarise";
      /** The last message the new summary covers (the parent of the first verbatim one). */
      coverThrough: ContextWalkRow;
      /** Kept verbatim, oldest first (the messages after coverThrough, up to the question). */
      verbatim: ContextWalkRow[];
      /** The whole walk, oldest first: what is sent if summarising fails. */
      walked: ContextWalkRow[];
      /** The summary's output limit. */
      summaryMaxTokens: number;
    }
  /** `messages`: the walk, oldest first; the fitting leaves out what does not fit. */
  | { kind: "drop"; messages: ContextWalkRow[] };

/** A summary takes at most a quarter of the budget (and never more than this), so most of the window stays verbatim. */
export const SUMMARY_MAX_TOKENS = 2048;
const SUMMARY_MIN_TOKENS = 32;

export function planContext(input: ContextPlanInput): ContextPlan {
  const { walk, questionTokens, budgetTokens } = input;
  const oldestFirst = [...walk].reverse();
  const oldest = walk.at(-1);
  if (oldest === undefined || (oldest.parentId === null && oldest.totalTokens + questionTokens <= budgetTokens)) {
    return { kind: "whole", messages: oldestFirst };
  }

  // tokens of the messages after walk[index] (the question included)
  const tokensAfter = (index: number) => (index === 0 ? 0 : walk[index - 1]!.totalTokens) + questionTokens;
  for (let index = walk.length - 1; index >= 0; index -= 1) {
    const summary = walk[index]!.summary;
    if (summary && tokensAfter(index) + estimateSummarySystemTokens(summary) <= budgetTokens) {
      return { kind: "reuse-summary", summary, messages: walk.slice(0, index).reverse() };
    }
  }

  if (input.summariserInputTokens === null || questionTokens > budgetTokens) return { kind: "drop", messages: oldestFirst };
  const summaryMaxTokens = chooseSummaryMaxTokens(budgetTokens);
  const verbatimTokens = chooseVerbatimTokens(budgetTokens, summaryMaxTokens, input.summariserInputTokens);
  // the oldest user message whose stretch to the question stays within verbatimTokens; -1: only the question
  let firstVerbatim = -1;
  for (let index = 0; index < walk.length && walk[index]!.totalTokens + questionTokens <= verbatimTokens; index += 1) {
    if (walk[index]!.role === "user") firstVerbatim = index;
  }
  const coverThrough = walk[firstVerbatim + 1];
  if (coverThrough === undefined) return { kind: "drop", messages: oldestFirst };
  return {
    kind: "summarise",
    coverThrough,
    verbatim: walk.slice(0, firstVerbatim + 1).reverse(),
    walked: oldestFirst,
    summaryMaxTokens,
  };
}

export function chooseSummaryMaxTokens(budgetTokens: number): number {
  return Math.max(SUMMARY_MIN_TOKENS, Math.min(SUMMARY_MAX_TOKENS, Math.floor(budgetTokens / 4)));
}

/**
 * About half the budget stays verbatim. More when the summariser's window is small: the next summary
 * must reach back to this one to roll it in, and the distance it has to cover is about the budget
 * minus what stays verbatim. Never so much that the summary would not fit beside it.
 */
export function chooseVerbatimTokens(budgetTokens: number, summaryMaxTokens: number, summariserInputTokens: number): number {
  const roomForSummary = budgetTokens - summaryMaxTokens - 64;
  const wanted = Math.max(Math.floor(budgetTokens / 2), budgetTokens - summariserInputTokens + summaryMaxTokens);
  return Math.max(0, Math.min(roomForSummary, wanted));
}
