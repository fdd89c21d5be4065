import { ProviderTimeoutError } from "./provider-timeout-error";

/**
 * The `ollama` SDK (0.6) cannot take an AbortSignal per call: a streamed chat gets its own
 * AbortController, only reachable through the returned iterator once the response headers are in,
 * and list/show take no signal at all. It also skips a malformed NDJSON line with a console warning,
 * so a broken stream would look like a shorter answer. We give the SDK this fetch instead, bound to
 * one call's scope (the adapter makes a client per call), and the fetch uses the scope to:
 *   - abort on the caller's signal (a stop closes the HTTP request, before or after the headers),
 *   - abort when no response headers arrive within the connect timeout,
 *   - turn a malformed line into an error line the SDK throws on, flagging the scope.
 */
export interface OllamaCallScope {
  signal?: AbortSignal;
  /** Set when the stream carried a line that is not JSON. */
  hasMalformedLine?: boolean;
  /** Headers of the last error response: the SDK's ResponseError drops them, and `retry-after` matters. */
  errorHeaders?: Headers;
}

export const malformedLineErrorText = "malformed line in Ollama's stream";

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
    if (!response.body || !contentType.includes("ndjson")) return response;
    return new Response(response.body.pipeThrough(createNdjsonGuard(scope)), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** Passes valid NDJSON lines through; a line that is not JSON ends the stream with an error line. */
function createNdjsonGuard(scope: OllamaCallScope): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  let isBroken = false;
  const passLines = (lines: string[], controller: TransformStreamDefaultController<Uint8Array>) => {
    for (const line of lines) {
      if (isBroken || line.trim() === "") continue;
      try {
        JSON.parse(line);
        controller.enqueue(encoder.encode(`${line}\n`));
      } catch {
        isBroken = true;
        scope.hasMalformedLine = true;
        controller.enqueue(encoder.encode(`${JSON.stringify({ error: malformedLineErrorText })}\n`));
      }
    }
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      passLines(lines, controller);
    },
    flush(controller) {
      buffer += decoder.decode();
      passLines([buffer], controller);
    },
  });
}
