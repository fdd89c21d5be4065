import assert from "node:assert/strict";
import { describeLimit, formatLimitForInput, parseLimitInput } from "../../webview/src/team-settings/budget-limit-input";

describe("webview: what an admin types for a budget limit (no DOM)", () => {
  it("reads dollars as micro-dollars, whole tokens and requests, blank and none", () => {
    assert.deepEqual(parseLimitInput(" $1,250.5 ", "monthlyCostMicroUsd"), { kind: "value", value: 1_250_500_000 });
    assert.deepEqual(parseLimitInput("0", "monthlyCostMicroUsd"), { kind: "value", value: 0 });
    assert.deepEqual(parseLimitInput("2_000_000", "monthlyTokens"), { kind: "value", value: 2_000_000 });
    assert.deepEqual(parseLimitInput("", "monthlyTokens"), { kind: "blank" });
    assert.deepEqual(parseLimitInput("None", "requestsPerMinute"), { kind: "none" });
    for (const [text, limit] of [
      ["1.5", "monthlyTokens"],
      ["-3", "monthlyCostMicroUsd"],
      ["ten", "monthlyTokens"],
      ["0", "requestsPerMinute"],
      ["1e30", "monthlyCostMicroUsd"],
    ] as const) {
      assert.equal(parseLimitInput(text, limit).kind, "invalid", `${text} for ${limit}`);
    }
  });

  it("shows limits back as they are typed and in words", () => {
    assert.equal(formatLimitForInput(75_500_000, "monthlyCostMicroUsd"), "75.50");
    assert.equal(formatLimitForInput(null, "monthlyTokens"), "");
    assert.equal(describeLimit(50_000_000, "monthlyCostMicroUsd"), "$50.00");
    assert.equal(describeLimit(2_000_000, "monthlyTokens"), "2,000,000 tokens");
    assert.equal(describeLimit(60, "requestsPerMinute"), "60 a minute");
    assert.equal(describeLimit(null, "requestsPerMinute"), "no limit");
  });
});
