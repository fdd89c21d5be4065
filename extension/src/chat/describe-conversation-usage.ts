import type { ConversationUsageResponse, UsageFigures } from "../../../protocol/http/usage";

const countFormat = new Intl.NumberFormat("en-US");

export interface ConversationUsageLine {
  label: string;
  detail: string;
}

/**
 * A conversation's answers summed per model, as lines for a quick pick: the model, then requests,
 * tokens in → out and the cost; the total last. A figure no answer reported is left out.
 */
export function describeConversationUsage(
  usage: ConversationUsageResponse,
  modelLabel: (modelId: string) => string,
): { models: ConversationUsageLine[]; total: ConversationUsageLine } {
  const models = [...usage.models]
    .sort((first, second) => (second.costMicroUsd ?? 0) - (first.costMicroUsd ?? 0) || second.answers - first.answers)
    .map((model) => ({ label: modelLabel(model.modelId), detail: describeFigures(model) }));
  return { models, total: { label: "All models", detail: describeFigures(usage.totals) } };
}

export function describeFigures(figures: UsageFigures): string {
  const parts = [`${countFormat.format(figures.answers)} answer${figures.answers === 1 ? "" : "s"}`];
  if (figures.inputTokens !== null || figures.outputTokens !== null) {
    parts.push(`${countFormat.format(figures.inputTokens ?? 0)} → ${countFormat.format(figures.outputTokens ?? 0)} tokens`);
  }
  if (figures.costMicroUsd !== null) {
    const partial = figures.answersWithCost < figures.answers ? ` (${figures.answersWithCost} priced)` : "";
    parts.push(`${formatCost(figures.costMicroUsd)}${partial}`);
  }
  if (figures.averageTimeToFirstTokenMs !== null) {
    parts.push(`${countFormat.format(Math.round(figures.averageTimeToFirstTokenMs))} ms to first token on average`);
  }
  return parts.join(" · ");
}

function formatCost(costMicroUsd: number): string {
  const usd = costMicroUsd / 1_000_000;
  if (usd === 0) return "$0";
  if (usd < 0.0001) return "< $0.0001";
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}
