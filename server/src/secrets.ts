import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { preparePrivateDirectory, preparePrivateFile } from "./private-files";

/**
 * SECRET_KEY from the environment, else the one generated into the data folder on first start
 * (file mode 0600, readable by the server's user only). Losing it makes stored provider keys
 * unreadable and signs everyone out, so it is created once and never rotated silently.
 */
export function loadSecretKey(configured: string | undefined, dataDirectory: string): string {
  if (configured !== undefined) return configured;
  const file = path.join(dataDirectory, "secret.key");
  preparePrivateDirectory(dataDirectory);
  try {
    const existing = fs.readFileSync(file, "utf8").trim();
    // a key file left readable by others (copied in, an older version) is made the server's own again
    preparePrivateFile(file, { createIfMissing: false });
    if (existing.length >= 32) return existing;
    throw new Error(`${file} is shorter than 32 characters; delete it to generate a new one (stored provider keys will need re-entering)`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const generated = crypto.randomBytes(32).toString("base64url");
  // 'wx' fails if another process created it meanwhile; then use theirs.
  try {
    fs.writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: "wx" });
    return generated;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return fs.readFileSync(file, "utf8").trim();
    throw error;
  }
}

/** A 32-byte key for one purpose, so the JWT key and the key-encryption key are never the same bytes. */
export function deriveKey(secretKey: string, purpose: "access-token" | "provider-key-encryption"): Buffer {
  return Buffer.from(crypto.hkdfSync("sha256", secretKey, "juggler", purpose, 32));
}
