import { ProviderTimeoutError } from "./provider-timeout-error";

/**
 * The `ollama` SDK (0.6) takes no AbortSignal for list and show, the catalog calls it still makes
 * (the chat stream is our own request, provider-event-stream.ts). We give the SDK this fetch
 * instead, bound to one call's scope (the adapter makes a client per call), and the fetch uses the
 * scope to:
 *   - abort on the caller's signal (a refresh that is cancelled closes its HTTP requests),
 *   - abort when no response headers arrive within the connect timeout,
 *   - keep an error response's headers, which the SDK's ResponseError drops.
 */
export interface OllamaCallScope {
  signal?: AbortSignal;
  /** Headers of the last error response: the SDK's ResponseError drops them, and `retry-after` matters. */
  errorHeaders?: Headers;
}

export function createOllamaFetch(connectTimeoutMs: number, scope: OllamaCallScope): typeof fetch {
  return async (input, init = {}) => {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new ProviderTimeoutError(connectTimeoutMs)), connectTimeoutMs);
    const signals = [timeout.signal];
    if (init.signal) signals.push(init.signal);
    if (scope.signal) signals.push(scope.signal);
    let response: Response;
    try {
      response = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    } finally {
      clearTimeout(timer);
    }
    const contentType = response.headers.get("content-type") ?? "";
    if (!response.ok) scope.errorHeaders = response.headers;
    if (!response.ok && !contentType.includes("json")) {
      // The SDK reads a non-JSON error body with console.log noise; hand it Ollama's own error shape.
      const text = (await response.text().catch(() => "")).trim().slice(0, 500);
      return new Response(JSON.stringify({ error: text || response.statusText || `HTTP ${response.status}` }), {
        status: response.status,
        statusText: response.statusText,
        headers: { "content-type": "application/json" },
      });
    }
    return response;
  };
}
