import type { UsageDimension, UsageRow } from "../../../protocol/http/usage";
import { groupLabel, usageDimensionLabels } from "./usage-series";

const FIGURE_COLUMNS = [
  "answers",
  "input_tokens",
  "output_tokens",
  "cached_input_tokens",
  "cost_usd",
  "answers_with_cost",
  "average_time_to_first_token_ms",
  "average_duration_ms",
] as const;

/**
 * The CSV of what the panel shows: one line per row (its period when grouped by time, its group),
 * figures as reported — a figure no answer reported is an empty cell, not 0. Cells are quoted as
 * RFC 4180 says, and a text cell that a spreadsheet would run as a formula (=, +, -, @) is prefixed
 * with an apostrophe.
 */
export function buildUsageCsv(rows: readonly UsageRow[], options: { withPeriod: boolean; dimension: UsageDimension }): string {
  const header = [...(options.withPeriod ? ["period"] : []), usageDimensionLabels[options.dimension].toLowerCase(), ...FIGURE_COLUMNS];
  const lines = [header.join(",")];
  for (const row of rows) {
    const cells = [
      ...(options.withPeriod ? [textCell(row.period ?? "")] : []),
      textCell(groupLabel(row, options.dimension)),
      numberCell(row.answers),
      numberCell(row.inputTokens),
      numberCell(row.outputTokens),
      numberCell(row.cachedInputTokens),
      row.costMicroUsd === null ? "" : (row.costMicroUsd / 1_000_000).toFixed(6),
      numberCell(row.answersWithCost),
      row.averageTimeToFirstTokenMs === null ? "" : String(Math.round(row.averageTimeToFirstTokenMs)),
      row.averageDurationMs === null ? "" : String(Math.round(row.averageDurationMs)),
    ];
    lines.push(cells.join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

function numberCell(value: number | null): string {
  return value === null ? "" : String(value);
}

function textCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) || safe !== value ? `"${safe.replaceAll('"', '""')}"` : safe;
}
