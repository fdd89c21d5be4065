import assert from "node:assert/strict";
import type { UsageFigures, UsageRow } from "../../protocol/http/usage";
import { buildUsageCsv } from "../../webview/src/usage/usage-csv";
import { formatPeriod, periodsOf, resolveUsageRange } from "../../webview/src/usage/usage-range";
import { buildUsageSeries, CHART_GROUPS_MAX, groupLabel, OTHER_GROUP } from "../../webview/src/usage/usage-series";

const NOW = Date.parse("2026-12-07T15:30:00.000Z");

function figures(overrides: Partial<UsageFigures> = {}): UsageFigures {
  return {
    answers: 1,
    inputTokens: 100,
    answersWithInputTokens: 1,
    outputTokens: 50,
    answersWithOutputTokens: 1,
    cachedInputTokens: null,
    answersWithCachedInputTokens: 0,
    costMicroUsd: 1_500,
    answersWithCost: 1,
    averageTimeToFirstTokenMs: 250,
    averageDurationMs: 1200,
    ...overrides,
  };
}

describe("webview: the usage view's figures (no DOM)", () => {
  it("resolves the ranges in UTC days, with the time step the chart reads best in", () => {
    assert.deepEqual(resolveUsageRange("today", NOW), { from: "2026-12-07", to: "2026-12-07", bucket: "hour" });
    assert.deepEqual(resolveUsageRange("7-days", NOW), { from: "2026-12-01", to: "2026-12-07", bucket: "day" });
    assert.deepEqual(resolveUsageRange("30-days", NOW), { from: "2026-11-08", to: "2026-12-07", bucket: "day" });
    assert.deepEqual(resolveUsageRange("this-month", NOW), { from: "2026-12-01", to: "2026-12-07", bucket: "day" });
    // Custom: swapped when given backwards; hours for two days at most, weeks past 120 days.
    assert.deepEqual(resolveUsageRange("custom", NOW, { from: "2026-12-06", to: "2026-12-05" }), {
      from: "2026-12-05",
      to: "2026-12-06",
      bucket: "hour",
    });
    assert.equal(resolveUsageRange("custom", NOW, { from: "2026-01-01", to: "2026-12-07" }).bucket, "week");
    assert.equal(resolveUsageRange("custom", NOW, { from: "2026-10-01", to: "2026-12-07" }).bucket, "day");
    assert.equal(resolveUsageRange("custom", NOW, { from: "2023-01-01", to: "2026-12-07" }).bucket, "month", "past two years: by month");
    // A cleared date field is today, never an empty day sent to the server.
    assert.deepEqual(resolveUsageRange("custom", NOW, { from: "2026-12-01", to: "" }), {
      from: "2026-12-01",
      to: "2026-12-07",
      bucket: "day",
    });
  });

  it("lists every period of a range in the server's format, so empty ones show as zero", () => {
    const hours = periodsOf({ from: "2026-12-07", to: "2026-12-07", bucket: "hour" });
    assert.equal(hours.length, 24);
    assert.equal(hours[14], "2026-12-07T14:00:00.000Z");
    assert.deepEqual(periodsOf({ from: "2026-11-29", to: "2026-12-02", bucket: "day" }), [
      "2026-11-29",
      "2026-11-30",
      "2026-12-01",
      "2026-12-02",
    ]);
    // Weeks are their Mondays: 2026-11-30 is a Monday, 2026-12-06 a Sunday.
    assert.deepEqual(periodsOf({ from: "2026-12-01", to: "2026-12-14", bucket: "week" }), ["2026-11-30", "2026-12-07", "2026-12-14"]);
    assert.deepEqual(periodsOf({ from: "2026-11-15", to: "2027-01-03", bucket: "month" }), ["2026-11", "2026-12", "2027-01"]);
    assert.equal(periodsOf({ from: "2025-12-08", to: "2026-12-07", bucket: "day" }).length, 365);
    assert.equal(formatPeriod("2026-12-07T14:00:00.000Z", "hour"), "14:00");
    assert.equal(formatPeriod("2026-12-07", "day"), "7 Dec");
    assert.equal(formatPeriod("2026-12-07", "week"), "w. of 7 Dec");
  });

  it("stacks one series per group, the largest first, the rest as Other", () => {
    const periods = ["2026-12-06", "2026-12-07"];
    const rows: UsageRow[] = [
      { ...figures({ inputTokens: 10, outputTokens: 0 }), period: "2026-12-06", modelId: "groq:small" },
      { ...figures({ inputTokens: 1000, outputTokens: 0 }), period: "2026-12-07", modelId: "anthropic:big" },
      { ...figures({ inputTokens: 5, outputTokens: 5 }), period: "2026-12-07", modelId: "groq:small" },
      // outside the range: ignored
      { ...figures(), period: "2026-11-01", modelId: "groq:small" },
    ];
    const series = buildUsageSeries(rows, periods, "model", "tokens");
    assert.deepEqual(
      series.map((entry) => [entry.name, entry.values, entry.total]),
      [
        ["anthropic:big", [0, 1000], 1000],
        ["groq:small", [10, 10], 20],
      ],
    );
    const requests = buildUsageSeries(rows, periods, "model", "requests");
    assert.deepEqual(requests.find((entry) => entry.name === "groq:small")?.values, [1, 1]);
    const cost = buildUsageSeries(rows, periods, "model", "cost");
    assert.deepEqual(
      cost.map((entry) => [entry.name, entry.total]),
      [
        ["groq:small", 0.003],
        ["anthropic:big", 0.0015],
      ],
    );

    const many: UsageRow[] = Array.from({ length: 12 }, (_, index) => ({
      ...figures({ answers: index + 1 }),
      period: "2026-12-07",
      modelId: `groq:model-${index}`,
    }));
    const capped = buildUsageSeries(many, periods, "model", "requests");
    assert.equal(capped.length, CHART_GROUPS_MAX);
    assert.equal(capped.at(-1)!.name, OTHER_GROUP);
    assert.equal(
      capped.reduce((total, entry) => total + entry.total, 0),
      many.reduce((total, row) => total + row.answers, 0),
      "nothing is lost in Other",
    );
  });

  it("names groups as people read them", () => {
    assert.equal(groupLabel({ ...figures(), provider: "anthropic" }, "provider"), "Anthropic");
    assert.equal(groupLabel({ ...figures(), clientKind: "chat", clientName: "chat" }, "client"), "Juggler chat");
    assert.equal(groupLabel({ ...figures(), clientKind: "gateway", clientName: "Continue" }, "client"), "Continue (gateway)");
    assert.equal(groupLabel({ ...figures(), userId: "u", userName: null }, "user"), "(deleted account)");
  });

  it("writes the CSV of what is shown: figures as reported, quoted, safe in a spreadsheet", () => {
    const rows: UsageRow[] = [
      { ...figures(), period: "2026-12-07", clientKind: "gateway", clientName: '=HYPERLINK("x"), "CI"' },
      {
        ...figures({ inputTokens: null, costMicroUsd: null, answersWithCost: 0, averageTimeToFirstTokenMs: null }),
        period: "2026-12-07",
        clientKind: "chat",
      },
    ];
    const csv = buildUsageCsv(rows, { withPeriod: true, dimension: "client" });
    const lines = csv.split("\r\n");
    assert.equal(
      lines[0],
      "period,client,answers,input_tokens,output_tokens,cached_input_tokens,cost_usd,answers_with_cost,average_time_to_first_token_ms,average_duration_ms",
    );
    assert.equal(lines[1], `2026-12-07,"'=HYPERLINK(""x""), ""CI"" (gateway)",1,100,50,,0.001500,1,250,1200`);
    assert.equal(lines[2], "2026-12-07,Juggler chat,1,,50,,,0,,1200");
    assert.equal(lines[3], "");
  });
});
