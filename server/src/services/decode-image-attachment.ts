import type { ImageMediaType } from "../../../protocol/http/attachments";
import { AppError } from "../domain/app-error";

export { IMAGE_TOKEN_ESTIMATE } from "../../../protocol/http/attachments";

/** The first bytes of each accepted type (WebP: "RIFF" …. "WEBP"). */
const signatures: Record<ImageMediaType, (bytes: Buffer) => boolean> = {
  "image/png": (bytes) => bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  "image/jpeg": (bytes) => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff,
  "image/gif": (bytes) => bytes.subarray(0, 6).toString("latin1") === "GIF87a" || bytes.subarray(0, 6).toString("latin1") === "GIF89a",
  "image/webp": (bytes) => bytes.subarray(0, 4).toString("latin1") === "RIFF" && bytes.subarray(8, 12).toString("latin1") === "WEBP",
};

/**
 * The bytes of an image sent base64-encoded, checked to be what its media type says: well-formed
 * base64 (Node's decoder skips bad characters silently, so the text must round-trip) and the type's
 * signature. A malformed image is a 400 that names the attachment; nothing is stored.
 */
export function decodeImageAttachment(data: string, mediaType: ImageMediaType, index: number): Buffer {
  const compact = data.replace(/\s+/g, "");
  const bytes = Buffer.from(compact, "base64");
  const isBase64 = bytes.length > 0 && bytes.toString("base64").replace(/=+$/, "") === compact.replace(/=+$/, "");
  if (!isBase64) throw new AppError(400, "validation_failed", `attachments.${index}: the image is not valid base64`);
  if (!signatures[mediaType](bytes)) {
    throw new AppError(
      400,
      "validation_failed",
      `attachments.${index}: the data is not a ${mediaType.slice("image/".length).toUpperCase()} image`,
    );
  }
  return bytes;
}
