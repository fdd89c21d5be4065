import fs from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * Writes a download's body to a file as it arrives (an account's export can be larger than one
 * string may be), then moves it into place, so a broken download never leaves a half file under the
 * chosen name. Returns the bytes written.
 */
export async function writeDownloadToFile(response: Response, filePath: string): Promise<number> {
  if (!response.body) throw new Error("The server sent no file");
  const partial = `${filePath}.part`;
  let bytes = 0;
  const counted = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
  counted.on("data", (chunk: Buffer) => (bytes += chunk.length));
  try {
    await pipeline(counted, fs.createWriteStream(partial));
    await fs.promises.rename(partial, filePath);
  } catch (error) {
    await fs.promises.rm(partial, { force: true });
    throw error;
  }
  return bytes;
}
