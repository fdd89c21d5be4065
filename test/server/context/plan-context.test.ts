import assert from "node:assert/strict";
import { chooseSummaryMaxTokens, chooseVerbatimTokens, planContext } from "../../../server/src/services/plan-context";
import { estimateSummarySystemTokens } from "../../../server/src/services/summary-prompt";
import type { ContextWalkRow, WalkedSummary } from "../../../server/src/storage/conversation-repository";

/**
 * A walk as the repository returns it: from the question's parent (depth `parentDepth`) up, newest
 * first, each message costing `tokens[i]`, with running totals. Messages alternate answer / question
 * from the parent (an answer) up.
 */
function walkOf(parentDepth: number, tokens: number[], options: { summaries?: Map<number, WalkedSummary> } = {}) {
  let total = 0;
  return tokens.map((cost, index): ContextWalkRow => {
    total += cost;
    const depth = parentDepth - index;
    return {
      id: `m${depth}`,
      parentId: depth === 1 ? null : `m${depth - 1}`,
      role: (parentDepth - depth) % 2 === 0 ? "assistant" : "user",
      status: "complete",
      content: `message ${depth}`,
      finishReason: null,
      depth,
      totalTokens: total,
      summary: options.summaries?.get(depth) ?? null,
    };
  });
}

function summaryAt(depth: number, content = "summary"): WalkedSummary {
  return { id: `s${depth}`, content, messageCount: depth, leftOutCount: 0 };
}

describe("planContext: what a context is made of", () => {
  it("sends the whole branch when the walk reached the root within the budget", () => {
    const walk = walkOf(4, [10, 10, 10, 10]);
    const plan = planContext({ walk, questionTokens: 10, budgetTokens: 50, summariserInputTokens: 1000 });
    assert.equal(plan.kind, "whole");
    assert.deepEqual(plan.kind === "whole" && plan.messages.map((row) => row.id), ["m1", "m2", "m3", "m4"]);
  });

  it("sends the whole (empty) branch for a first message", () => {
    assert.deepEqual(planContext({ walk: [], questionTokens: 10, budgetTokens: 5, summariserInputTokens: null }), {
      kind: "whole",
      messages: [],
    });
  });

  it("does not count the branch as whole when the walk stopped before the root", () => {
    // 4 × 10 + question 10 = 50 fits, but the walk did not reach the root (depth 5 has a parent)
    const walk = walkOf(8, [10, 10, 10, 10]);
    const plan = planContext({ walk, questionTokens: 10, budgetTokens: 50, summariserInputTokens: null });
    assert.equal(plan.kind, "drop");
  });

  it("reuses the OLDEST stored summary whose following messages fit beside it", () => {
    const summaries = new Map([
      [8, summaryAt(8)],
      [6, summaryAt(6)],
      [3, summaryAt(3)],
    ]);
    const walk = walkOf(10, [10, 10, 10, 10, 10, 10, 10, 10], { summaries });
    const summaryTokens = estimateSummarySystemTokens({ content: "summary", messageCount: 6 });
    // after m6: m7…m10 (40) + question (10); the budget allows that and the summary, not m3's 70 + summary
    const budgetTokens = 50 + summaryTokens;
    const plan = planContext({ walk, questionTokens: 10, budgetTokens, summariserInputTokens: 1000 });
    assert.equal(plan.kind, "reuse-summary");
    if (plan.kind !== "reuse-summary") return;
    assert.equal(plan.summary.id, "s6");
    assert.deepEqual(
      plan.messages.map((row) => row.id),
      ["m7", "m8", "m9", "m10"],
    );
  });

  it("skips a summary that does not leave room for the messages after it", () => {
    const walk = walkOf(10, [10, 10, 10, 10], { summaries: new Map([[8, summaryAt(8, "x".repeat(400))]]) });
    const plan = planContext({ walk, questionTokens: 10, budgetTokens: 60, summariserInputTokens: null });
    assert.equal(plan.kind, "drop", "a 100-token summary does not fit beside 30 tokens in 60");
  });

  it("plans a new summary: about half the budget stays verbatim, starting at a question, the rest is covered", () => {
    // budget 400: verbatim budget 200; the question costs 20, messages 30 each
    const walk = walkOf(
      40,
      Array.from({ length: 20 }, () => 30),
    );
    const plan = planContext({ walk, questionTokens: 20, budgetTokens: 400, summariserInputTokens: 100_000 });
    assert.equal(plan.kind, "summarise");
    if (plan.kind !== "summarise") return;
    assert.equal(chooseVerbatimTokens(400, plan.summaryMaxTokens, 100_000), 200);
    // 20 + 6 × 30 = 200 ≤ 200: m35…m40 fit; the oldest question among them is m35 (depth 35, odd from the parent 40)
    assert.deepEqual(
      plan.verbatim.map((row) => row.id),
      ["m35", "m36", "m37", "m38", "m39", "m40"],
    );
    assert.equal(plan.verbatim[0]!.role, "user");
    assert.equal(plan.coverThrough.id, "m34");
    assert.equal(plan.walked.length, 20);
    assert.equal(plan.walked[0]!.id, "m21");
    assert.equal(plan.summaryMaxTokens, 100);
  });

  it("keeps only the question verbatim when no earlier question fits in half the budget", () => {
    const walk = walkOf(10, [300, 10, 10, 10]);
    const plan = planContext({ walk, questionTokens: 20, budgetTokens: 320, summariserInputTokens: 100_000 });
    assert.equal(plan.kind, "summarise");
    if (plan.kind !== "summarise") return;
    assert.deepEqual(plan.verbatim, []);
    assert.equal(plan.coverThrough.id, "m10");
  });

  it("leaves the oldest out when there is no summariser, or when the question alone is over the budget", () => {
    const walk = walkOf(
      40,
      Array.from({ length: 20 }, () => 30),
    );
    assert.equal(planContext({ walk, questionTokens: 20, budgetTokens: 400, summariserInputTokens: null }).kind, "drop");
    assert.equal(planContext({ walk, questionTokens: 500, budgetTokens: 400, summariserInputTokens: 100_000 }).kind, "drop");
  });

  it("sizes summaries at a quarter of the budget (32 to 2,048 tokens)", () => {
    assert.equal(chooseSummaryMaxTokens(400), 100);
    assert.equal(chooseSummaryMaxTokens(60), 32);
    assert.equal(chooseSummaryMaxTokens(200_000), 2048);
  });

  it("keeps more verbatim when the summariser's window is small, so the next summary can reach back to this one", () => {
    assert.equal(chooseVerbatimTokens(100_000, 2048, 200_000), 50_000);
    // the summariser takes 20,000: at least 100,000 - 20,000 + 2,048 stay verbatim
    assert.equal(chooseVerbatimTokens(100_000, 2048, 20_000), 82_048);
    // never so much that the summary would not fit
    assert.equal(chooseVerbatimTokens(100_000, 2048, 1_000), 100_000 - 2048 - 64);
  });
});
