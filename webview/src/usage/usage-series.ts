import { providerLabels } from "../../../protocol/http/providers";
import type { UsageDimension, UsageFigures, UsageRow } from "../../../protocol/http/usage";

/** What the chart and the table measure. */
export const usageMetrics = ["tokens", "cost", "requests"] as const;
export type UsageMetric = (typeof usageMetrics)[number];

export const usageMetricLabels: Record<UsageMetric, string> = { tokens: "Tokens", cost: "Cost (USD)", requests: "Requests" };

export const usageDimensionLabels: Record<UsageDimension, string> = {
  provider: "Provider",
  model: "Model",
  client: "Client",
  user: "User",
};

/** Past this many groups, the smallest are summed as "Other" in the chart (the table lists them all). */
export const CHART_GROUPS_MAX = 8;
export const OTHER_GROUP = "Other";

/** A group's name as people read it: "Anthropic", "anthropic:claude-…", "Juggler chat", "Continue (gateway)". */
export function groupLabel(row: UsageRow, dimension: UsageDimension): string {
  switch (dimension) {
    case "provider":
      return row.provider ? providerLabels[row.provider] : "—";
    case "model":
      return row.modelId ?? "—";
    case "client":
      return row.clientKind === "chat" ? "Juggler chat" : `${row.clientName ?? "key"} (gateway)`;
    case "user":
      return row.userName ?? "(deleted account)";
  }
}

/** The figure a metric reads: tokens in + out, cost in dollars, answers. Not reported counts as 0 here. */
export function metricValue(figures: UsageFigures, metric: UsageMetric): number {
  if (metric === "tokens") return (figures.inputTokens ?? 0) + (figures.outputTokens ?? 0);
  if (metric === "cost") return (figures.costMicroUsd ?? 0) / 1_000_000;
  return figures.answers;
}

export interface UsageSeries {
  name: string;
  /** One value per period, in the order of `periods`. */
  values: number[];
  total: number;
}

/**
 * The chart's stacked series from rows grouped by period and one dimension: one series per group,
 * the largest first, the rest past CHART_GROUPS_MAX summed as "Other"; periods without an answer are 0.
 */
export function buildUsageSeries(
  rows: readonly UsageRow[],
  periods: readonly string[],
  dimension: UsageDimension,
  metric: UsageMetric,
): UsageSeries[] {
  const periodIndex = new Map(periods.map((period, index) => [period, index]));
  const byGroup = new Map<string, UsageSeries>();
  for (const row of rows) {
    const index = row.period === undefined ? undefined : periodIndex.get(row.period);
    if (index === undefined) continue;
    const name = groupLabel(row, dimension);
    let series = byGroup.get(name);
    if (!series) {
      series = { name, values: periods.map(() => 0), total: 0 };
      byGroup.set(name, series);
    }
    const value = metricValue(row, metric);
    series.values[index]! += value;
    series.total += value;
  }
  const ordered = [...byGroup.values()].sort((first, second) => second.total - first.total || first.name.localeCompare(second.name));
  if (ordered.length <= CHART_GROUPS_MAX) return ordered;
  const kept = ordered.slice(0, CHART_GROUPS_MAX - 1);
  const other: UsageSeries = { name: OTHER_GROUP, values: periods.map(() => 0), total: 0 };
  for (const series of ordered.slice(CHART_GROUPS_MAX - 1)) {
    series.values.forEach((value, index) => {
      other.values[index]! += value;
    });
    other.total += series.total;
  }
  return [...kept, other];
}
