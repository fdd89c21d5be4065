import type { IncomingMessage } from "node:http";
import { GatewayError, invalidRequest } from "./gateway-error";

/**
 * A gateway request's JSON body, read straight from the socket: over `limitBytes` is a 413, text that
 * is not JSON a 400, no body at all undefined. Any content type is read as JSON (curl's default form
 * type included): these APIs take nothing else. Not @koa/bodyparser (which /api/v1 uses): on the
 * path of every gateway request, its decoding layers cost more than the body itself
 * (docs/decisions/0020-gateway-converts-once.md).
 */
export async function readJsonBody(request: IncomingMessage, limitBytes: number): Promise<unknown> {
  const encoding = request.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity")
    throw invalidRequest("Send the body uncompressed (Content-Encoding is not supported)");
  const tooLarge = () => new GatewayError("request_too_large", 413, `The request body is larger than ${limitBytes} bytes`);
  if (Number(request.headers["content-length"] ?? 0) > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge();
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString("utf8"));
  } catch {
    throw invalidRequest("The body is not valid JSON");
  }
}
