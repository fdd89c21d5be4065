import { parseHttpUrl } from "../../../protocol/parse-http-url";

/**
 * The href to keep for a link found in model output, or undefined to drop the link (its text stays).
 * Only http and https (protocol/parse-http-url.ts): exactly what the extension host will open, so
 * nothing is shown as a link that does nothing when clicked. javascript:, data:, vbscript:, file:,
 * mailto: … and relative links are dropped.
 */
export function toSafeHref(rawHref: string | null | undefined): string | undefined {
  if (!rawHref) return undefined;
  return parseHttpUrl(rawHref)?.href;
}
