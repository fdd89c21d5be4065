import { Stream } from "node:stream";
import type { Context, Middleware } from "koa";
import type { Logger } from "../logger";
import { AppError } from "../domain/app-error";

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

/**
 * First middleware: every failure becomes `{ error: { code, message, retryable? } }`.
 * Errors thrown by Koa's own helpers (body parser: too large, bad JSON, wrong type) keep their
 * 4xx status; anything unexpected is a 500 with a generic message and the details in the log.
 *
 * It also turns a JSON body into text itself. Koa would do that after the whole middleware chain,
 * where a failure (a value JSON cannot represent, a body too large for one string) is outside any
 * middleware: Koa then answers a plain-text 500 and, with the app silent, logs nothing.
 */
export function errorMiddleware(logger: Logger): Middleware {
  return async (context, next) => {
    try {
      await next();
      if (context.status === 404 && context.body === undefined) {
        throw new AppError(404, "not_found", `No endpoint ${context.method} ${context.path}`);
      }
      serialiseJsonBody(context);
    } catch (caught) {
      const error = toAppError(caught);
      if (error.status >= 500) {
        logger.error("request failed", {
          method: context.method,
          path: context.path,
          status: error.status,
          code: error.code,
          error: caught,
        });
      }
      context.status = error.status;
      for (const [name, value] of Object.entries(error.headers)) context.set(name, value);
      context.body = { error: error.toDetail() };
    }
  };
}

/** An object or array body becomes its JSON text here, inside the try above (see errorMiddleware). */
function serialiseJsonBody(context: Context): void {
  const body: unknown = context.body;
  if (body === null || typeof body !== "object" || Buffer.isBuffer(body) || body instanceof Stream) return;
  const text = JSON.stringify(body);
  context.body = text;
  context.type = "application/json";
}

export function toAppError(caught: unknown): AppError {
  if (caught instanceof AppError) return caught;
  const error = (caught ?? {}) as HttpLikeError;
  const status = error.status ?? error.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    if (status === 413) return new AppError(413, "payload_too_large", "The request body is too large");
    if (status === 415) return new AppError(415, "unsupported_media_type", "Send the body as application/json");
    const message = error.expose && error.message ? error.message : "The request is not valid";
    return new AppError(status, status === 404 ? "not_found" : "validation_failed", message);
  }
  return new AppError(500, "internal_error", "Something went wrong on the server; it has been logged");
}
