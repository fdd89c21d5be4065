import type { UsageBucket } from "../../../protocol/http/usage";

/** The ranges the panel offers; custom takes two days the user picks. */
export const usageRangeKinds = ["today", "7-days", "30-days", "this-month", "custom"] as const;
export type UsageRangeKind = (typeof usageRangeKinds)[number];

export const usageRangeLabels: Record<UsageRangeKind, string> = {
  today: "Today",
  "7-days": "7 days",
  "30-days": "30 days",
  "this-month": "This month",
  custom: "Custom",
};

export interface UsageRange {
  /** First and last UTC day, both included (the server counts in UTC days). */
  from: string;
  to: string;
  /** The chart's time step: hours for one day, weeks past ~4 months, else days. */
  bucket: UsageBucket;
}

const DAY_MS = 86_400_000;
/** Past this many days a chart by day has too many bars to read: weeks. */
const DAYS_BEFORE_WEEKS = 120;
/** Past this many days (two years) even weeks are too many: months. */
const DAYS_BEFORE_MONTHS = 730;

export function isoDay(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** The range a choice stands for, as of `now`; custom needs `custom` (from ≤ to, else swapped; a cleared day is today). */
export function resolveUsageRange(kind: UsageRangeKind, now: number, custom?: { from: string; to: string }): UsageRange {
  const today = isoDay(now);
  switch (kind) {
    case "today":
      return { from: today, to: today, bucket: "hour" };
    case "7-days":
      return { from: isoDay(now - 6 * DAY_MS), to: today, bucket: "day" };
    case "30-days":
      return { from: isoDay(now - 29 * DAY_MS), to: today, bucket: "day" };
    case "this-month":
      return { from: `${today.slice(0, 8)}01`, to: today, bucket: "day" };
    case "custom": {
      // A date field the user cleared (or a day that does not exist) reads as "".
      const [from, to] = [custom?.from || today, custom?.to || today].sort();
      const days = Math.round((Date.parse(to!) - Date.parse(from!)) / DAY_MS) + 1;
      const bucket = days <= 2 ? "hour" : days > DAYS_BEFORE_MONTHS ? "month" : days > DAYS_BEFORE_WEEKS ? "week" : "day";
      return { from: from!, to: to!, bucket };
    }
  }
}

/**
 * Every period of the range in the server's format, in order, so days without answers show as
 * zero rather than vanish: hour `2026-11-03T14:00:00.000Z`, day `2026-11-03`, week its Monday.
 */
export function periodsOf(range: UsageRange): string[] {
  const start = Date.parse(`${range.from}T00:00:00.000Z`);
  const end = Date.parse(`${range.to}T00:00:00.000Z`) + DAY_MS;
  const periods: string[] = [];
  if (range.bucket === "hour") {
    for (let time = start; time < end; time += 3_600_000) periods.push(new Date(time).toISOString());
  } else if (range.bucket === "day") {
    for (let time = start; time < end; time += DAY_MS) periods.push(isoDay(time));
  } else if (range.bucket === "week") {
    const weekday = (new Date(start).getUTCDay() + 6) % 7; // Monday 0
    for (let time = start - weekday * DAY_MS; time < end; time += 7 * DAY_MS) periods.push(isoDay(time));
  } else {
    const first = new Date(start);
    for (let year = first.getUTCFullYear(), month = first.getUTCMonth(); Date.UTC(year, month, 1) < end; month += 1) {
      if (month === 12) {
        month = 0;
        year += 1;
      }
      periods.push(`${year}-${String(month + 1).padStart(2, "0")}`);
    }
  }
  return periods;
}

/** A period as the chart's axis shows it: "14:00", "3 Nov", "w. of 2 Nov", "Nov 2026". */
export function formatPeriod(period: string, bucket: UsageBucket): string {
  if (bucket === "hour") return `${period.slice(11, 16)}`;
  if (bucket === "month") {
    return new Date(`${period}-01T00:00:00.000Z`).toLocaleDateString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
  }
  const day = new Date(`${period}T00:00:00.000Z`).toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
  return bucket === "week" ? `w. of ${day}` : day;
}
