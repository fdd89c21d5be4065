/** Response headers as fetch (`Headers`) or Node (`IncomingHttpHeaders`-like records) give them. */
export type HeaderSource = { get(name: string): string | null } | Record<string, string | string[] | number | undefined> | undefined | null;

export function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | number | undefined>;
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : record[key];
  if (Array.isArray(value)) return value[0];
  return value === undefined ? undefined : String(value);
}

/**
 * How long a provider asked us to wait, in milliseconds, or undefined when it did not say.
 * Reads `retry-after-ms` first (Stainless SDKs' extension), then `retry-after` as seconds
 * (fractions allowed) or as an HTTP date (RFC 9110 §10.2.3), the order the official SDKs use.
 */
export function parseRetryAfterMs(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const milliseconds = readHeader(headers, "retry-after-ms")?.trim();
  if (milliseconds !== undefined && /^\d+(\.\d+)?$/.test(milliseconds)) {
    return Math.round(Number(milliseconds));
  }
  const value = readHeader(headers, "retry-after")?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
