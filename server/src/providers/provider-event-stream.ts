import http from "node:http";
import https from "node:https";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { createAbortError } from "./abort-error";
import { ProviderError } from "./chat-provider";
import {
  mapBrokenStream,
  mapNetworkFailure,
  mapProviderFailure,
  type ProviderCallContext,
  type ProviderFailure,
} from "./map-provider-error";
import { ProviderTimeoutError } from "./provider-timeout-error";
import { readProviderErrorBody } from "./read-provider-error-body";
import { serverVersion } from "../server-version";

/**
 * One streamed call to a provider: a POST of a JSON body over `node:http`/`node:https` with a
 * keep-alive agent, answered in server-sent events (Anthropic's Messages API, Groq's chat
 * completions; the framing parsed by eventsource-parser) or in JSON lines (Ollama's `/api/chat`).
 *
 * The providers' SDKs do the same through `fetch` and their own stream machinery: measured against
 * the fake, 0.7–0.8 ms of CPU per streamed answer against ≈ 0.25 ms here, on every answer the team
 * server relays (docs/decisions/0030-provider-streams-without-the-sdks.md). The SDKs keep the model
 * lists, which are rare; the adapters read the events and errors as the SDKs did
 * (docs/providers.md has the wire formats).
 */

export interface EventStreamRequest {
  /** The endpoint's full URL (base URL and API path). */
  url: string;
  /** Authentication and API-version headers; the content type, accept, length and our user agent are added here. */
  headers?: Record<string, string>;
  body: unknown;
  /** A stop: the request is closed, before or after the headers. */
  signal: AbortSignal;
  /** Longest wait for the response headers (connect and first byte); the stream itself may run longer. */
  connectTimeoutMs: number;
}

export interface EventStream {
  /** The 200 response's headers. */
  headers: http.IncomingHttpHeaders;
  /** The events in order; ends when the provider closes the stream, throws when the connection breaks. */
  events: AsyncIterable<EventSourceMessage>;
}

export interface JsonLineStream {
  /** The 200 response's headers. */
  headers: http.IncomingHttpHeaders;
  /** Each non-empty line, unparsed, in order; ends and throws as `EventStream.events` does. */
  lines: AsyncIterable<string>;
}

/** The provider answered with an HTTP error status: its body, read whole (up to a limit), and headers. */
export class ProviderHttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    readonly body: string,
  ) {
    super(`HTTP ${status}`);
    this.name = "ProviderHttpError";
  }
}

/** An error body longer than this is cut: the message we show is a sentence, not a page. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * A pooled connection idle this long is closed (fetch's undici does the same): before a provider's
 * own idle timeout (often 5 s) can close it just as an answer reuses it. A connection in use only
 * gets a `timeout` event, which nothing here acts on: a slow answer is the stall watchdog's business.
 */
export const IDLE_CONNECTION_TIMEOUT_MS = 4_000;

// One keep-alive agent per scheme, shared by every provider connection (sockets are pooled by host
// and port): a streamed answer reuses a connection another answer finished with.
const agents = {
  "http:": new http.Agent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS }),
  "https:": new https.Agent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS }),
};

/**
 * Sends the request and resolves once the response headers are in: with the stream for a 2xx, or
 * rejects with a ProviderHttpError for an error status. Network failures reject with Node's own
 * errors (ECONNREFUSED…), a missed connect timeout with ProviderTimeoutError, a stop with an
 * AbortError.
 */
export async function openEventStream(request: EventStreamRequest): Promise<EventStream> {
  const response = await openStreamedPost(request, "text/event-stream");
  return { headers: response.headers, events: readEvents(response) };
}

/** As openEventStream, for a provider that answers in JSON lines (NDJSON). */
export async function openJsonLineStream(request: EventStreamRequest): Promise<JsonLineStream> {
  const response = await openStreamedPost(request, "application/x-ndjson");
  return { headers: response.headers, lines: readLines(response) };
}

function openStreamedPost(request: EventStreamRequest, accept: string): Promise<http.IncomingMessage> {
  if (request.signal.aborted) return Promise.reject(createAbortError());
  const url = new URL(request.url);
  const transport = url.protocol === "https:" ? https : http;
  const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
  const body = JSON.stringify(request.body);
  return new Promise<http.IncomingMessage>((resolve, reject) => {
    const outgoing = transport.request(url, {
      method: "POST",
      agent,
      headers: {
        ...request.headers,
        "content-type": "application/json",
        accept,
        "content-length": Buffer.byteLength(body),
        "user-agent": `Juggler/${serverVersion}`,
      },
    });
    const onAbort = () => outgoing.destroy(createAbortError());
    const timer = setTimeout(() => outgoing.destroy(new ProviderTimeoutError(request.connectTimeoutMs)), request.connectTimeoutMs);
    request.signal.addEventListener("abort", onAbort, { once: true });
    // the listener stays while the body streams: a stop then closes the connection mid-answer
    const release = () => request.signal.removeEventListener("abort", onAbort);
    outgoing.on("error", (error) => {
      clearTimeout(timer);
      release();
      reject(request.signal.aborted ? createAbortError() : error);
    });
    outgoing.on("close", release);
    outgoing.on("response", (response) => {
      clearTimeout(timer);
      // its errors reach the reader through the iteration; unheard, an error of a response nobody
      // reads any more would be thrown at the process
      response.on("error", () => undefined);
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        resolve(response);
        return;
      }
      readErrorBody(response).then(
        (text) => reject(new ProviderHttpError(status, response.headers, text)),
        (error: unknown) => reject(request.signal.aborted ? createAbortError() : error),
      );
    });
    outgoing.end(body);
  });
}

/** The events of a 2xx response as they arrive; leaving the loop early closes the connection. */
async function* readEvents(response: http.IncomingMessage): AsyncGenerator<EventSourceMessage> {
  const parsed: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => parsed.push(event) });
  response.setEncoding("utf8");
  // a socket closed mid-body makes the iteration throw (`aborted`, ECONNRESET)
  for await (const chunk of response as AsyncIterable<string>) {
    parser.feed(chunk);
    for (let index = 0; index < parsed.length; index += 1) yield parsed[index]!;
    parsed.length = 0;
  }
}

/** The non-empty lines of a 2xx response as they arrive (a last line without its newline included). */
async function* readLines(response: http.IncomingMessage): AsyncGenerator<string> {
  response.setEncoding("utf8");
  let rest = "";
  for await (const chunk of response as AsyncIterable<string>) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") yield line;
  }
  if (rest.trim() !== "") yield rest;
}

async function readErrorBody(response: http.IncomingMessage): Promise<string> {
  response.setEncoding("utf8");
  let text = "";
  for await (const chunk of response as AsyncIterable<string>) {
    if (text.length < ERROR_BODY_LIMIT) text += chunk;
  }
  return text.slice(0, ERROR_BODY_LIMIT);
}

/**
 * Our error for whatever a streamed call threw. `phase` says whether the response had started: a
 * network error while reading the stream is a broken stream, not a failed request.
 */
export function toEventStreamError(
  error: unknown,
  context: ProviderCallContext,
  phase: "request" | "stream",
  signal: AbortSignal,
  /** How this provider shapes an error body (Anthropic's and Groq's shapes by default). */
  readErrorBody: (
    body: unknown,
    response: { status: number; headers: http.IncomingHttpHeaders },
  ) => ProviderFailure = readProviderErrorBody,
): Error {
  if (signal.aborted) return createAbortError();
  if (error instanceof ProviderError) return error;
  if (error instanceof ProviderHttpError) {
    return mapProviderFailure(context, readErrorBody(parseJsonOr(error.body), { status: error.status, headers: error.headers }), error);
  }
  if (error instanceof ProviderTimeoutError) return mapNetworkFailure(context, error, "request", error.timeoutMs);
  // a `data:` line, or a JSON line, that is not JSON
  if (error instanceof SyntaxError) return mapBrokenStream(context, "malformed", error);
  // Node's network errors (ECONNREFUSED, ENOTFOUND, ECONNRESET, `aborted` when the socket closes mid-body)
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string") return mapNetworkFailure(context, error, phase);
  return error instanceof Error ? error : new Error(String(error));
}

/** An error event inside a 200 stream (Anthropic's `event: error`, Groq's `data: {"error": …}`): no status, its type and words. */
export function mapStreamErrorEvent(context: ProviderCallContext, data: string): ProviderError {
  return mapProviderFailure(context, readProviderErrorBody(parseJsonOr(data)));
}

/** The JSON value of `text`, or the text itself when it is not JSON (an HTML error page, a plain sentence). */
function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
