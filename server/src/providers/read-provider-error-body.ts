import type { ProviderFailure } from "./map-provider-error";
import type { HeaderSource } from "./retry-after";

/**
 * A provider's error body as Anthropic and Groq shape it: `{type, error: {type, message}}` /
 * `{error: {message, type, code}}` for an HTTP error or an error event in a stream, or just the inner
 * object (what the SDKs' APIError keeps as `error` for Groq's in-stream errors), or plain text.
 */
export function readProviderErrorBody(
  body: unknown,
  response: { status?: number | undefined; headers?: HeaderSource } = {},
): ProviderFailure {
  const inner = isRecord(body) && isRecord(body.error) ? body.error : isRecord(body) ? body : undefined;
  const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
  return {
    status: response.status,
    headers: response.headers,
    type: text(inner?.type),
    code: text(inner?.code),
    message: text(inner?.message) ?? text(body),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
