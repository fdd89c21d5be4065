const relativeTime = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const dateFormat = new Intl.DateTimeFormat("en", { year: "numeric", month: "short", day: "numeric" });

/** "just now", "5 minutes ago", "yesterday", then a date. */
export function formatRelativeTime(isoTime: string, now = Date.now()): string {
  const time = Date.parse(isoTime);
  if (Number.isNaN(time)) return "at an unknown time";
  const seconds = Math.round((time - now) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 60) return relativeTime.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 24) return relativeTime.format(hours, "hour");
  const days = Math.round(hours / 24);
  if (Math.abs(days) < 7) return relativeTime.format(days, "day");
  return `on ${dateFormat.format(time)}`;
}

export function formatDate(isoTime: string): string {
  const time = Date.parse(isoTime);
  return Number.isNaN(time) ? "" : dateFormat.format(time);
}

/**
 * 200000 → "200K context", 131072 → "128K context": counted the way the model quick pick counts
 * (extension/src/chat/format-token-count.ts: powers of two in 1024s), so an admin and a member see
 * the same size for the same model (this said "131.1K" where the quick pick said "128K").
 */
export function formatContextWindow(tokens: number | null): string {
  if (tokens === null) return "context size unknown";
  const base = tokens % 1024 === 0 ? 1024 : 1000;
  const trim = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, ""));
  if (tokens >= base * base) return `${trim(tokens / (base * base))}M context`;
  if (tokens >= base) return `${trim(tokens / base)}K context`;
  return `${tokens} context`;
}

/**
 * What is shown of a stored API key: at most its last 4 characters behind dots, whatever the host
 * sent (the server sends only a masked form; this makes sure the panel could never show more).
 */
export function maskedKeyForDisplay(keyMasked: string | null): string | undefined {
  if (!keyMasked) return undefined;
  const visible = keyMasked.replace(/[^A-Za-z0-9]/g, "").slice(-4);
  return `••••${visible}`;
}
