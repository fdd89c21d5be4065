import type { Context } from "koa";
import { GatewayError } from "./gateway-error";

/**
 * The personal API key a gateway request carries: `Authorization: Bearer <key>` (OpenAI clients, and
 * the Anthropic SDK we use) or `x-api-key: <key>` (most Anthropic clients). Missing → 401.
 */
export function readPresentedKey(context: Context): string {
  const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(context.get("authorization"))?.[1];
  const presented = bearer ?? (context.get("x-api-key").trim() || undefined);
  if (presented === undefined) {
    throw new GatewayError("authentication", 401, "Send your Juggler API key as Authorization: Bearer <key> or x-api-key: <key>", {
      headers: { "WWW-Authenticate": 'Bearer realm="juggler-gateway"' },
    });
  }
  return presented;
}
