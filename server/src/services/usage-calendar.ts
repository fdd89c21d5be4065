/** Usage is counted in UTC days, weeks that start on Monday, and months (docs/gateway.md#usage). */

const DAY_MS = 86_400_000;

/** `2026-11-03` */
export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** `2026-11` */
export function monthOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 7);
}

/** The Monday of the week `epochMs` falls in, `2026-11-02`. */
export function weekOf(epochMs: number): string {
  const date = new Date(epochMs);
  // getUTCDay: Sunday 0 … Saturday 6; days back to Monday
  const sinceMonday = (date.getUTCDay() + 6) % 7;
  return dayOf(epochMs - sinceMonday * DAY_MS);
}

/** The first instant of the month after the one `epochMs` falls in (when monthly limits start again). */
export function nextMonthStart(epochMs: number): number {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

/** Midnight UTC of a `YYYY-MM-DD` day. */
export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`);
}

/** The day `days` after (or before) `day`. */
export function addDays(day: string, days: number): string {
  return dayOf(dayStart(day) + days * DAY_MS);
}
