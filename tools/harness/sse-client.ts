/**
 * A small server-sent-events client for tests: fetch + ReadableStream, parsing `id:`, `event:`,
 * `data:` and comment lines, with Last-Event-ID support and a way to disconnect mid-stream.
 */

export interface SseMessage {
  id: string | undefined;
  event: string;
  /** `data` parsed as JSON (the raw text when it is not JSON). */
  data: any;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** The body when the response is not an event stream: a JSON error, or a JSON reply. */
  errorBody: unknown;
  /** Every event so far, live. */
  readonly events: SseMessage[];
  /** Comment lines (heartbeats) so far. */
  readonly comments: string[];
  /** Resolves when the stream ends: "server" when the server ended it, "client" after close(). */
  readonly ended: Promise<"server" | "client">;
  /** Resolves with the first event (now or later) matching the predicate. */
  waitFor(predicate: (message: SseMessage, index: number) => boolean, timeoutMs?: number): Promise<SseMessage>;
  /** Disconnects (the client side goes away). */
  close(): void;
}

export interface SseOptions {
  token?: string;
  /** Sent as the Last-Event-ID header. */
  lastEventId?: string | number;
  headers?: Record<string, string>;
  /** GET unless given: a POST that starts an answer may answer with its events (`body` is sent as JSON). */
  method?: string;
  body?: unknown;
}

export async function openSse(url: string, options: SseOptions = {}): Promise<SseConnection> {
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.lastEventId !== undefined) headers["last-event-id"] = String(options.lastEventId);
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: controller.signal,
  });

  const events: SseMessage[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let isClosedByClient = false;
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };

  if (!response.ok || !(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    const text = await response.text();
    let errorBody: unknown = text;
    try {
      errorBody = JSON.parse(text);
    } catch {
      // keep the text
    }
    return {
      status: response.status,
      headers: response.headers,
      errorBody,
      events,
      comments,
      ended: Promise.resolve("server"),
      waitFor: () => Promise.reject(new Error(`stream answered ${response.status}`)),
      close: () => undefined,
    };
  }

  let streamEnded = false;
  const ended = (async (): Promise<"server" | "client"> => {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let boundary = buffer.indexOf("\n\n");
        while (boundary !== -1) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          parseBlock(block, events, comments);
          boundary = buffer.indexOf("\n\n");
        }
        notify();
      }
      return "server";
    } catch (error) {
      if (isClosedByClient) return "client";
      throw error;
    } finally {
      streamEnded = true;
      notify();
    }
  })();

  return {
    status: response.status,
    headers: response.headers,
    errorBody: undefined,
    events,
    comments,
    ended,
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const index = events.findIndex(predicate);
          if (index !== -1) {
            cleanup();
            resolve(events[index]!);
          } else if (streamEnded) {
            cleanup();
            reject(new Error(`stream ended without a matching event; got ${events.map((event) => event.event).join(", ")}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${events.map((event) => event.event).join(", ")}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      isClosedByClient = true;
      controller.abort();
    },
  };
}

/** Opens a stream and reads it to its end (the server ends every generation stream). */
export async function readSseToEnd(url: string, options: SseOptions = {}): Promise<SseConnection> {
  const connection = await openSse(url, options);
  await connection.ended;
  return connection;
}

function parseBlock(block: string, events: SseMessage[], comments: string[]): void {
  let id: string | undefined;
  let event = "message";
  const dataLines: string[] = [];
  let hasField = false;
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = value;
    else if (field === "event") event = value;
    else if (field === "data") dataLines.push(value);
    else continue;
    hasField = true;
  }
  // a block with only `retry:` or comments dispatches nothing (as in EventSource)
  if (!hasField || dataLines.length === 0) return;
  const text = dataLines.join("\n");
  let data: unknown = text;
  try {
    data = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  events.push({ id, event, data });
}
