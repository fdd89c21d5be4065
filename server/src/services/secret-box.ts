import crypto from "node:crypto";
import { deriveKey } from "../secrets";

/** The stored value could not be opened: SECRET_KEY changed since it was stored, or the value is damaged. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

const ivBytes = 12;
const tagBytes = 16;
const formatPrefix = "v1";

/**
 * Provider keys at rest: AES-256-GCM with a key derived from SECRET_KEY for this one purpose,
 * a random 12-byte IV per value, stored as `v1.<iv>.<tag>.<ciphertext>` (base64). The optional
 * `context` (e.g. the provider kind) is authenticated too, so a value copied into another row
 * does not open.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = deriveKey(secretKey, "provider-key-encryption");
  }

  encrypt(plainText: string, context = ""): string {
    const iv = crypto.randomBytes(ivBytes);
    const cipher = crypto.createCipheriv("aes-256-gcm", this.key, iv, { authTagLength: tagBytes });
    cipher.setAAD(Buffer.from(context, "utf8"));
    const cipherText = Buffer.concat([cipher.update(plainText, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [formatPrefix, iv.toString("base64"), tag.toString("base64"), cipherText.toString("base64")].join(".");
  }

  decrypt(stored: string, context = ""): string {
    const parts = stored.split(".");
    if (parts.length !== 4 || parts[0] !== formatPrefix) {
      throw new SecretBoxError("The stored key is not in a format this server can read; enter it again");
    }
    const iv = Buffer.from(parts[1], "base64");
    const tag = Buffer.from(parts[2], "base64");
    const cipherText = Buffer.from(parts[3], "base64");
    if (iv.length !== ivBytes || tag.length !== tagBytes) {
      throw new SecretBoxError("The stored key is damaged; enter it again");
    }
    try {
      const decipher = crypto.createDecipheriv("aes-256-gcm", this.key, iv, { authTagLength: tagBytes });
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(cipherText), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretBoxError(
        "The stored key cannot be decrypted: SECRET_KEY is not the one it was stored with (or the value is damaged); restore that SECRET_KEY or enter the key again",
      );
    }
  }
}
