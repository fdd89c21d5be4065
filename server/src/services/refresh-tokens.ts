import crypto from "node:crypto";

/** An opaque refresh token: 32 random bytes, base64url. Only its SHA-256 is stored. */
export function generateRefreshToken(): string {
  return crypto.randomBytes(32).toString("base64url");
}

/**
 * SHA-256 hex of the token. A plain hash (no salt, no scrypt) is enough: the token has 256 bits of
 * entropy, so it cannot be guessed from its hash, and the lookup must be by exact hash.
 */
export function hashRefreshToken(token: string): string {
  return crypto.createHash("sha256").update(token, "utf8").digest("hex");
}
