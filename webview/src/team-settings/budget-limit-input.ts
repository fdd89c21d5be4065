import type { BudgetLimitName } from "../../../protocol/http/budgets";

/**
 * What an admin types for one budget limit: dollars for the monthly cost (kept in micro-dollars),
 * whole tokens, whole requests a minute. Blank: the team's limit (for a user) or no limit (for the
 * team); "none": no limit.
 */
export type ParsedLimit = { kind: "blank" } | { kind: "none" } | { kind: "value"; value: number } | { kind: "invalid"; message: string };

export const budgetLimitLabels: Record<BudgetLimitName, string> = {
  monthlyCostMicroUsd: "Monthly cost (USD)",
  monthlyTokens: "Monthly tokens",
  requestsPerMinute: "Requests a minute",
};

export function parseLimitInput(text: string, limit: BudgetLimitName): ParsedLimit {
  const trimmed = text.trim().replace(/^\$/, "").replaceAll(",", "").replaceAll("_", "");
  if (trimmed === "") return { kind: "blank" };
  if (/^(none|no limit|unlimited)$/i.test(trimmed)) return { kind: "none" };
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return { kind: "invalid", message: `${budgetLimitLabels[limit]}: a number, or "none"` };
  const number = Number(trimmed);
  if (limit === "monthlyCostMicroUsd") {
    const micro = Math.round(number * 1_000_000);
    if (!Number.isSafeInteger(micro)) return { kind: "invalid", message: "Monthly cost: too large" };
    return { kind: "value", value: micro };
  }
  if (!Number.isInteger(number) || !Number.isSafeInteger(number)) {
    return { kind: "invalid", message: `${budgetLimitLabels[limit]}: a whole number` };
  }
  if (limit === "requestsPerMinute" && (number < 1 || number > 1_000_000)) {
    return { kind: "invalid", message: "Requests a minute: from 1 to 1,000,000" };
  }
  return { kind: "value", value: number };
}

/** A limit as its field shows it: "50.00" dollars, "2000000" tokens; empty for none. */
export function formatLimitForInput(value: number | null | undefined, limit: BudgetLimitName): string {
  if (value === null || value === undefined) return "";
  return limit === "monthlyCostMicroUsd" ? (value / 1_000_000).toFixed(2) : String(value);
}

/** A limit in words: "$50.00", "2,000,000 tokens", "60 a minute", "no limit". */
export function describeLimit(value: number | null, limit: BudgetLimitName): string {
  if (value === null) return "no limit";
  if (limit === "monthlyCostMicroUsd")
    return `$${(value / 1_000_000).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const count = value.toLocaleString("en-US");
  return limit === "monthlyTokens" ? `${count} tokens` : `${count} a minute`;
}
