import crypto from "node:crypto";

/** Every personal API key starts with this, so a leaked one is recognisable (and secret scanners can match it). */
export const API_KEY_PREFIX = "jgl_";
/** How much of a key lists show: the prefix and four characters. */
const SHOWN_LENGTH = API_KEY_PREFIX.length + 4;
const keyPattern = /^jgl_[A-Za-z0-9_-]{43}$/;

/** A new key: `jgl_` and 32 random bytes in base64url (256 bits). Only its SHA-256 is stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${API_KEY_PREFIX}${crypto.randomBytes(32).toString("base64url")}`;
  return { key, prefix: key.slice(0, SHOWN_LENGTH), hash: hashApiKey(key) };
}

/**
 * SHA-256 hex. A plain hash is right for a 256-bit random secret: it cannot be guessed back from its
 * hash, and the lookup must be by exact value (a salted or slow hash would need a scan or cost every request).
 */
export function hashApiKey(key: string): string {
  return crypto.createHash("sha256").update(key, "utf8").digest("hex");
}

/** Whether a presented credential has the shape of one of our keys (anything else is refused without a lookup). */
export function isApiKeyShaped(value: string): boolean {
  return keyPattern.test(value);
}
