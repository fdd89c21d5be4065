import assert from "node:assert/strict";
import { describeBudgetUse, formatUsd } from "../../extension/src/chat/describe-budget-use";
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
