import type { Middleware } from "koa";
import { AppError } from "../domain/app-error";

/**
 * A body that is not JSON is refused with 415 instead of being read as "no fields": the body
 * parser leaves a body of an unknown type unparsed, which would otherwise surface as a confusing
 * "name: required". A request without a body passes (and fails validation if it needed one).
 */
export const requireJsonBody: Middleware = async (context, next) => {
  // `Content-Length: 0` (what fetch sends for a POST without a body) counts as no body.
  const hasBody = (context.request.length ?? 0) > 0 || context.get("transfer-encoding") !== "";
  if (hasBody && context.request.is("application/json", "+json") === false) {
    throw new AppError(415, "unsupported_media_type", "Send the body as application/json");
  }
  await next();
};
