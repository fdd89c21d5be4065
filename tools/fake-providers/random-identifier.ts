import { randomBytes } from "node:crypto";

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A provider-looking identifier such as `msg_01Fake…` or `req_01fake…`. Ids carry "fake" so a
 * recorded id can never be mistaken for one issued by a real provider.
 */
export function randomIdentifier(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let suffix = "";
  for (const byte of bytes) suffix += alphabet[byte % alphabet.length];
  return `${prefix}fake${suffix}`;
}
