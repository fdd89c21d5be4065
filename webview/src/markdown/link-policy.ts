/** Link schemes an answer may link to; everything else (javascript:, data:, vbscript:, file:, …) is shown as text. */
const ALLOWED_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/**
 * The href to keep for a link found in model output, or undefined to drop the link.
 * Uses the browser's own URL parser, so tricks like tabs inside "java\tscript:", leading control
 * characters or entity-encoded schemes are judged exactly as navigation would judge them.
 * Relative links have no meaning in a chat answer and are dropped too.
 */
export function toSafeHref(rawHref: string | null | undefined): string | undefined {
  if (!rawHref) return undefined;
  let url: URL;
  try {
    url = new URL(rawHref);
  } catch {
    return undefined;
  }
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) return undefined;
  return url.href;
}
