import type { Context } from "koa";
import { AppError } from "../domain/app-error";

/**
 * The request body as bytes, for the one endpoint that takes a file (POST /import) and so is not
 * parsed as JSON by the app's body parser. More than `limitBytes` is a 413 that names the limit and
 * the setting, as soon as the declared length or the bytes received pass it (the rest is not read).
 */
export async function readRawBody(context: Context, limitBytes: number, settingName: string): Promise<Buffer> {
  const tooLarge = () =>
    new AppError(
      413,
      "payload_too_large",
      `The file is larger than this server's limit of ${formatMebibytes(limitBytes)} (${settingName}); ask your admin to raise it, or import in parts`,
    );
  const declared = context.request.length;
  if (declared !== undefined && declared > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of context.req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    received += buffer.length;
    if (received > limitBytes) {
      // Stop reading; the connection closes after the answer rather than taking the rest.
      context.set("Connection", "close");
      throw tooLarge();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, received);
}

function formatMebibytes(bytes: number): string {
  const mebibytes = bytes / 1_048_576;
  return Number.isInteger(mebibytes) ? `${mebibytes} MiB` : `${mebibytes.toFixed(1)} MiB`;
}
