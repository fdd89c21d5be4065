import type { Middleware } from "koa";
import { AppError } from "../domain/app-error";

const NUL = "\u0000";

/**
 * U+0000 is refused anywhere in a request — path, query, JSON keys and values — as bad input.
 * PostgreSQL cannot store it in text (the query fails, which surfaced as a 500), SQLite stores it
 * and then C strings cut the text short, and no name, title, message or id needs it.
 * Runs after the body parser; the raw body is only walked when it can contain an escaped NUL.
 */
export const refuseNulCharacters: Middleware = async (context, next) => {
  if (hasNul(safeDecode(context.path)) || hasNul(safeDecode(context.querystring))) refuse();
  const rawBody: unknown = (context.request as { rawBody?: unknown }).rawBody;
  // JSON can only carry U+0000 escaped (a raw control character is a parse error), so a body
  // without "\u0000" written in it needs no walk.
  if (typeof rawBody === "string" && /\\u0000/i.test(rawBody) && containsNul(context.request.body)) refuse();
  await next();
};

function refuse(): never {
  throw new AppError(400, "validation_failed", "The request contains a NUL character (U+0000), which no field accepts");
}

function hasNul(text: string): boolean {
  return text.includes(NUL);
}

/** The router decodes path parameters with decodeURIComponent; a malformed escape is the router's 400 to give. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

function containsNul(value: unknown): boolean {
  // iterative, so a deeply nested body cannot overflow the stack
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === "string") {
      if (hasNul(item)) return true;
    } else if (Array.isArray(item)) {
      pending.push(...item);
    } else if (item !== null && typeof item === "object") {
      for (const [key, entry] of Object.entries(item)) {
        if (hasNul(key)) return true;
        pending.push(entry);
      }
    }
  }
  return false;
}
