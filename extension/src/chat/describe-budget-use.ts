import type { UsageSummaryResponse } from "../../../protocol/http/usage";

const countFormat = new Intl.NumberFormat("en-US");

/** Micro-dollars as dollars with cents: 12_345_678 → "$12.35". */
export function formatUsd(costMicroUsd: number): string {
  return `$${(costMicroUsd / 1_000_000).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** "1 January 2027": the day monthly limits start again (UTC, as the server counts them). */
function formatResetDay(resetsAt: string): string {
  return new Date(resetsAt).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
}

export interface BudgetUse {
  /** Lines for the status bar's tooltip, e.g. "Cost this month: $12.35 of $50.00 (25 %)". */
  lines: string[];
  /** The largest share of a monthly limit used, 0–1 and beyond; null without a monthly limit. */
  largestShare: number | null;
  /** A monthly limit is reached: answers are refused until `resetsAt`. */
  isExhausted: boolean;
}

/**
 * This month's use against the user's budget, in the words of the status bar's tooltip: each monthly
 * limit with its share used, the per-minute limit, and when the month's limits reset. Without limits,
 * the month's use alone.
 */
export function describeBudgetUse(summary: UsageSummaryResponse): BudgetUse {
  const { used, limits } = summary;
  const lines: string[] = [];
  const shares: number[] = [];
  if (limits.monthlyCostMicroUsd !== null) {
    const share = limits.monthlyCostMicroUsd === 0 ? 1 : used.costMicroUsd / limits.monthlyCostMicroUsd;
    shares.push(share);
    lines.push(`Cost this month: ${formatUsd(used.costMicroUsd)} of ${formatUsd(limits.monthlyCostMicroUsd)} (${formatShare(share)})`);
  } else {
    lines.push(`Cost this month: ${formatUsd(used.costMicroUsd)} (no limit)`);
  }
  if (limits.monthlyTokens !== null) {
    const share = limits.monthlyTokens === 0 ? 1 : used.tokens / limits.monthlyTokens;
    shares.push(share);
    lines.push(
      `Tokens this month: ${countFormat.format(used.tokens)} of ${countFormat.format(limits.monthlyTokens)} (${formatShare(share)})`,
    );
  } else {
    lines.push(`Tokens this month: ${countFormat.format(used.tokens)} (no limit)`);
  }
  if (limits.requestsPerMinute !== null) lines.push(`At most ${countFormat.format(limits.requestsPerMinute)} requests a minute`);
  const largestShare = shares.length === 0 ? null : Math.max(...shares);
  const isExhausted = largestShare !== null && largestShare >= 1;
  if (shares.length > 0) {
    lines.push(
      isExhausted
        ? `The monthly limit is reached: answers are refused until ${formatResetDay(summary.resetsAt)}.`
        : `Monthly limits reset on ${formatResetDay(summary.resetsAt)}.`,
    );
  }
  return { lines, largestShare, isExhausted };
}

function formatShare(share: number): string {
  return `${Math.floor(share * 100)} %`;
}
