import assert from "node:assert/strict";
import { describeBudgetUse, formatUsd } from "../../extension/src/chat/describe-budget-use";
import { describeConversationUsage, describeFigures } from "../../extension/src/chat/describe-conversation-usage";
import type { UsageSummaryResponse } from "../../protocol/http/usage";

function summary(limits: Partial<UsageSummaryResponse["limits"]>, used: Partial<UsageSummaryResponse["used"]> = {}): UsageSummaryResponse {
  return {
    month: "2026-12",
    periodStart: "2026-12-01T00:00:00.000Z",
    resetsAt: "2027-01-01T00:00:00.000Z",
    used: { answers: 12, inputTokens: 90_000, outputTokens: 10_000, tokens: 100_000, costMicroUsd: 12_345_678, ...used },
    limits: { monthlyCostMicroUsd: null, monthlyTokens: null, requestsPerMinute: null, ...limits },
  };
}

describe("extension: the month's use against the budget (status bar tooltip)", () => {
  it("shows each monthly limit with its share and when it resets", () => {
    const use = describeBudgetUse(summary({ monthlyCostMicroUsd: 50_000_000, monthlyTokens: 400_000, requestsPerMinute: 20 }));
    assert.deepEqual(use.lines, [
      "Cost this month: $12.35 of $50.00 (24 %)",
      "Tokens this month: 100,000 of 400,000 (25 %)",
      "At most 20 requests a minute",
      "Monthly limits reset on 1 January 2027.",
    ]);
    assert.equal(use.largestShare, 0.25);
    assert.equal(use.isExhausted, false);
  });

  it("says a reached limit refuses answers until the reset", () => {
    const use = describeBudgetUse(summary({ monthlyTokens: 100_000 }));
    assert.equal(use.isExhausted, true);
    assert.match(use.lines.at(-1)!, /reached: answers are refused until 1 January 2027/);
    assert.equal(describeBudgetUse(summary({ monthlyCostMicroUsd: 0 }, { costMicroUsd: 0 })).isExhausted, true);
  });

  it("without limits, shows the month's use alone", () => {
    const use = describeBudgetUse(summary({}));
    assert.deepEqual(use.lines, ["Cost this month: $12.35 (no limit)", "Tokens this month: 100,000 (no limit)"]);
    assert.equal(use.largestShare, null);
    assert.equal(use.isExhausted, false);
  });

  it("writes dollars with cents", () => {
    assert.equal(formatUsd(0), "$0.00");
    assert.equal(formatUsd(1_234_567_890), "$1,234.57");
  });
});

describe("extension: a conversation's usage per model (Show Conversation Usage)", () => {
  const figures = {
    answers: 2,
    inputTokens: 1200,
    answersWithInputTokens: 2,
    outputTokens: 300,
    answersWithOutputTokens: 2,
    cachedInputTokens: null,
    answersWithCachedInputTokens: 0,
    costMicroUsd: 4_500,
    answersWithCost: 2,
    averageTimeToFirstTokenMs: 412.4,
    averageDurationMs: 2000,
  };

  it("lists each model, the most expensive first, then the total; leaves out what was not reported", () => {
    const { models, total } = describeConversationUsage(
      {
        conversationId: "c",
        models: [
          { ...figures, provider: "ollama", modelId: "ollama:llama3.2", costMicroUsd: 0, answers: 1, averageTimeToFirstTokenMs: null },
          { ...figures, provider: "anthropic", modelId: "anthropic:claude-sonnet-4-5" },
        ],
        totals: { ...figures, answers: 3, costMicroUsd: 4_500, answersWithCost: 3, inputTokens: null, outputTokens: null },
      },
      (modelId) => (modelId.startsWith("anthropic") ? "Claude Sonnet 4.5" : "llama3.2"),
    );
    assert.deepEqual(models, [
      { label: "Claude Sonnet 4.5", detail: "2 answers · 1,200 → 300 tokens · $0.0045 · 412 ms to first token on average" },
      { label: "llama3.2", detail: "1 answer · 1,200 → 300 tokens · $0" },
    ]);
    assert.deepEqual(total, { label: "All models", detail: "3 answers · $0.0045 · 412 ms to first token on average" });
    assert.match(describeFigures({ ...figures, answersWithCost: 1 }), /\$0\.0045 \(1 priced\)/);
  });
});
