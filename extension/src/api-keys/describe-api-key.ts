import type { ApiKey } from "../../../protocol/http/api-keys";

/** "created 3 Dec 2026 · last used 5 Dec 2026" / "revoked 4 Dec 2026": the line under a key in the list. */
export function describeApiKeyDates(key: Pick<ApiKey, "createdAt" | "lastUsedAt" | "revokedAt">): string {
  if (key.revokedAt) return `revoked ${formatDay(key.revokedAt)}`;
  const created = `created ${formatDay(key.createdAt)}`;
  return key.lastUsedAt ? `${created} · last used ${formatDay(key.lastUsedAt)}` : `${created} · never used`;
}

function formatDay(iso: string): string {
  return new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
}
