import crypto from "node:crypto";
import type { Context, Middleware } from "koa";
import type { Logger } from "../logger";
import type { ChatStreamEvent } from "../providers/chat-provider";
import { GatewayError, toGatewayError } from "./gateway-error";
import { readJsonBody } from "./read-json-body";

/** One endpoint of a gateway API: a method and a path under its prefix (exact, or a pattern with the id). */
export interface GatewayRoute {
  method: "GET" | "POST";
  path: string | RegExp;
  handle(call: GatewayCall): Promise<void>;
}

/** What a route handler gets: the Koa context, the request's id, and the path's captured value, if any. */
export interface GatewayCall {
  context: Context;
  requestId: string;
  pathValue: string | undefined;
  /** Aborted when the client goes away before the answer is over: the provider request is then closed. */
  signal: AbortSignal;
}

/** One wire format served under one prefix, with its own error shape. */
export interface GatewayApi {
  prefix: string;
  routes: GatewayRoute[];
  /** The header a response names its request id in (OpenAI style `x-request-id`, Anthropic `request-id`). */
  requestIdHeader: string;
  /** Status and body of an error in this API's shape. */
  errorResponse(error: GatewayError, requestId: string): { status: number; body: unknown };
}

/** Writes an answer's events in one wire format; each method returns the text to write at that moment. */
export interface StreamWriter {
  write(event: ChatStreamEvent): string;
  end(): string;
  error(error: GatewayError): string;
}

/**
 * The gateway's APIs as one Koa middleware, mounted before the /api/v1 JSON machinery so that neither
 * its body checks nor its error middleware touch these routes: each API parses its own body and
 * answers every failure — a bad key, bad JSON, an unknown route, a provider error — in its own shape
 * (docs/gateway.md#errors). Routes are few and fixed, and model ids hold `:` and `/`, so they are
 * matched here rather than by a path-pattern router.
 */
export function gatewayMiddleware(apis: readonly GatewayApi[], options: { maxBodyBytes: number; logger: Logger }): Middleware {
  return async (context, next) => {
    const api = apis.find((candidate) => context.path === candidate.prefix || context.path.startsWith(`${candidate.prefix}/`));
    if (api === undefined) return next();
    const requestId = `req_${crypto.randomBytes(12).toString("base64url")}`;
    context.set(api.requestIdHeader, requestId);
    const controller = new AbortController();
    const abort = () => controller.abort();
    // the response's close, not the request's: a request closes once its body is read (Node ≥ 16)
    context.res.once("close", abort);
    try {
      const subPath = context.path.slice(api.prefix.length);
      const matches = api.routes.flatMap((route) => {
        const value = matchPath(route.path, subPath);
        return value === null ? [] : [{ route, value }];
      });
      const match = matches.find(({ route }) => route.method === context.method);
      if (match === undefined) {
        if (matches.length > 0) {
          context.set("Allow", [...new Set(matches.map(({ route }) => route.method))].join(", "));
          throw new GatewayError("method_not_allowed", 405, `${context.method} is not supported on ${context.path}`);
        }
        throw new GatewayError("not_found", 404, `No endpoint ${context.method} ${context.path}`);
      }
      if (context.method === "POST") context.request.body = await readJsonBody(context.req, options.maxBodyBytes);
      await match.route.handle({ context, requestId, pathValue: match.value, signal: controller.signal });
    } catch (caught) {
      const error = toGatewayError(caught);
      if (error.status >= 500) {
        options.logger.error("gateway request failed", { method: context.method, path: context.path, kind: error.kind, error: caught });
      }
      // a stream already started writes its own error event (streamAnswer)
      if (context.respond === false) return;
      const { status, body } = api.errorResponse(error, requestId);
      context.status = status;
      for (const [name, value] of Object.entries(errorHeaders(error))) context.set(name, value);
      context.body = body;
    } finally {
      // the answer is over (a stream has ended by now): a close from here on stops nothing, and
      // aborting a finished call's signals would only cost work
      context.res.off("close", abort);
    }
  };
}

/** `x-should-retry` (obeyed by the Stainless SDKs of OpenAI, Anthropic and Groq), `retry-after`, and the error's own. */
function errorHeaders(error: GatewayError): Record<string, string> {
  return {
    "x-should-retry": String(error.options.isRetryable ?? false),
    ...(error.options.retryAfterSeconds === undefined ? {} : { "retry-after": String(error.options.retryAfterSeconds) }),
    ...error.options.headers,
  };
}

/** null: no match; undefined: an exact match; a string: the (decoded) value a pattern captured. */
function matchPath(path: string | RegExp, subPath: string): string | undefined | null {
  if (typeof path === "string") return path === subPath ? undefined : null;
  const found = path.exec(subPath);
  if (found === null) return null;
  try {
    return decodeURIComponent(found[1] ?? "");
  } catch {
    return null;
  }
}

/**
 * Streams an answer: nothing is written until its first event, so a failure before it (the provider
 * refused, every retry failed) is still an ordinary HTTP error; from then on each event is written as
 * it comes, and a later failure becomes the API's in-stream error. No buffering in between.
 */
export async function streamAnswer(
  call: GatewayCall,
  events: AsyncGenerator<ChatStreamEvent, void, undefined>,
  writer: StreamWriter,
): Promise<void> {
  const { context } = call;
  const response = context.res;
  let isOpen = false;
  const open = () => {
    context.status = 200;
    context.respond = false;
    // headers already set on the context (the request id …) are merged in by Node
    response.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      // nginx buffers proxied responses unless told not to; a buffered stream is no stream
      "X-Accel-Buffering": "no",
    });
    response.socket?.setNoDelay(true);
    isOpen = true;
  };
  // Events parsed from one network read arrive in one turn of the event loop: they go out in one
  // write (corked until the turn's end), without waiting for anything more. Fewer, fuller packets.
  let isCorked = false;
  const uncork = () => {
    isCorked = false;
    if (!response.destroyed) response.uncork();
  };
  const write = (text: string) => {
    if (text === "" || response.destroyed || response.writableEnded) return;
    if (!isCorked) {
      isCorked = true;
      response.cork();
      process.nextTick(uncork);
    }
    response.write(text);
  };
  try {
    for await (const event of events) {
      if (call.signal.aborted) break;
      if (!isOpen) open();
      write(writer.write(event));
    }
    if (!isOpen) open();
    write(writer.end());
  } catch (caught) {
    if (!isOpen) throw caught;
    write(writer.error(toGatewayError(caught)));
  } finally {
    // leaving early (the client went away) closes the provider request and records the answer
    await events.return(undefined);
    if (isCorked) uncork();
    if (isOpen && !response.writableEnded) response.end();
  }
}
