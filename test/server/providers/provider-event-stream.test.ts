import assert from "node:assert/strict";
import http from "node:http";
import type { Socket } from "node:net";
import { isAbortError } from "../../../server/src/providers/abort-error";
import { ProviderError } from "../../../server/src/providers/chat-provider";
import { createChatProvider } from "../../../server/src/providers/create-chat-provider";
import type { ProviderCallContext } from "../../../server/src/providers/map-provider-error";
import {
  IDLE_CONNECTION_TIMEOUT_MS,
  mapStreamErrorEvent,
  openEventStream,
  openJsonLineStream,
  toEventStreamError,
  type EventStreamRequest,
} from "../../../server/src/providers/provider-event-stream";
import { closedPortUrl } from "../../../tools/harness/free-port";
import { closeLoopbackServer, listenOnLoopback } from "../../../tools/harness/loopback-server";

/**
 * The streamed call the provider adapters make, against a local HTTP server that answers
 * what each case needs: the request as sent, events across arbitrary chunk boundaries, connections
 * kept for the next call, and every kind of failure turned into the error the adapters report.
 */
const apiKey = "sk-test-0123456789abcdefSECRET";

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, body: string) => void;

describe("openEventStream and openJsonLineStream: a provider's stream over node:http", function () {
  let server: http.Server;
  let baseUrl: string;
  let handler: Handler;
  /** The connections this test's requests came on. */
  let sockets: Set<Socket>;
  /** Resolves when the server sees the current request's connection close. */
  let closed: Promise<void>;
  const closedBySocket = new WeakMap<Socket, Promise<void>>();

  before(async () => {
    server = http.createServer((request, response) => {
      sockets.add(request.socket);
      // one listener per connection, however many requests it carries
      let socketClosed = closedBySocket.get(request.socket);
      if (socketClosed === undefined) {
        socketClosed = new Promise((resolve) => request.socket.once("close", () => resolve()));
        closedBySocket.set(request.socket, socketClosed);
      }
      closed = socketClosed;
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => handler(request, response, body));
    });
    // the server never closes an idle connection itself: only the client's pool may
    server.keepAliveTimeout = 60_000;
    baseUrl = await listenOnLoopback(server);
  });

  after(() => closeLoopbackServer(server));

  beforeEach(() => {
    sockets = new Set();
    handler = (_request, response) => response.end();
  });

  const context = (url = baseUrl): ProviderCallContext => ({ kind: "anthropic", baseUrl: url, secrets: [apiKey] });

  function requestTo(url: string, overrides: Partial<EventStreamRequest> = {}): EventStreamRequest {
    return {
      url: `${url}/v1/messages`,
      headers: { authorization: `Bearer ${apiKey}` },
      body: { model: "m", stream: true, messages: [{ role: "user", content: "Grüße ✓" }] },
      signal: new AbortController().signal,
      connectTimeoutMs: 5_000,
      ...overrides,
    };
  }

  /** Runs the whole call and returns what the adapters would throw for its failure. */
  async function failureOf(request: EventStreamRequest, url = baseUrl): Promise<Error> {
    let phase: "request" | "stream" = "request";
    try {
      const stream = await openEventStream(request);
      phase = "stream";
      for await (const event of stream.events) void event;
    } catch (error) {
      return toEventStreamError(error, context(url), phase, request.signal);
    }
    assert.fail("the call was expected to fail");
  }

  it("posts the JSON body with the given headers and yields the events in order, whatever the chunk boundaries", async () => {
    let seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string } | undefined;
    handler = (request, response, body) => {
      seen = { method: request.method, url: request.url, headers: request.headers, body };
      response.writeHead(200, { "content-type": "text/event-stream", "request-id": "req_1" });
      // one event cut mid-line, a comment, two events in one write, a multi-line data field
      response.write('event: message_start\ndata: {"type":');
      response.write('"message_start"}\n\n: keep-alive comment\n\n');
      response.write('event: ping\ndata: {"type": "ping"}\n\nevent: content_block_delta\ndata: {"text":"Grüße ✓"}\n\n');
      response.write("data: first line\ndata: second line\n\n");
      response.end();
    };
    const stream = await openEventStream(requestTo(baseUrl));
    assert.equal(stream.headers["request-id"], "req_1");
    const events = [];
    for await (const event of stream.events) events.push({ event: event.event, data: event.data });
    assert.deepEqual(events, [
      { event: "message_start", data: '{"type":"message_start"}' },
      { event: "ping", data: '{"type": "ping"}' },
      { event: "content_block_delta", data: '{"text":"Grüße ✓"}' },
      { event: undefined, data: "first line\nsecond line" },
    ]);
    assert.equal(seen?.method, "POST");
    assert.equal(seen?.url, "/v1/messages");
    assert.equal(seen?.headers.authorization, `Bearer ${apiKey}`);
    assert.equal(seen?.headers["content-type"], "application/json");
    assert.equal(seen?.headers.accept, "text/event-stream");
    assert.match(seen?.headers["user-agent"] ?? "", /^Juggler\/\d/);
    assert.equal(Number(seen?.headers["content-length"]), Buffer.byteLength(seen?.body ?? ""));
    assert.deepEqual(JSON.parse(seen?.body ?? ""), requestTo(baseUrl).body);
  });

  it("keeps the connection for the next call once a stream has been read to its end", async () => {
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end('data: {"n":1}\n\n');
    };
    for (let call = 0; call < 3; call += 1) {
      const stream = await openEventStream(requestTo(baseUrl));
      for await (const event of stream.events) void event;
    }
    assert.equal(sockets.size, 1, "three answers, one connection");
  });

  it("closes a pooled connection once it has been idle for IDLE_CONNECTION_TIMEOUT_MS, not one whose answer is merely slow", async function () {
    this.timeout(IDLE_CONNECTION_TIMEOUT_MS * 4);
    // the answer's events come further apart than the idle timeout: the connection stays open for them
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write('data: {"n":1}\n\n');
      setTimeout(() => response.end('data: {"n":2}\n\n'), IDLE_CONNECTION_TIMEOUT_MS + 500);
    };
    const stream = await openEventStream(requestTo(baseUrl));
    const seen: string[] = [];
    for await (const event of stream.events) seen.push(event.data);
    assert.deepEqual(seen, ['{"n":1}', '{"n":2}']);
    const finishedAt = performance.now();
    await closed;
    const idleMs = performance.now() - finishedAt;
    assert.ok(
      idleMs > IDLE_CONNECTION_TIMEOUT_MS - 500 && idleMs < IDLE_CONNECTION_TIMEOUT_MS + 3_000,
      `closed after ${idleMs.toFixed(0)} ms idle`,
    );
  });

  it("turns an HTTP error into the provider's failure: status, type, words and retry-after, never the key", async () => {
    handler = (_request, response) => {
      response.writeHead(429, { "content-type": "application/json", "retry-after": "2" });
      response.end(JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: `slow down, ${apiKey}` } }));
    };
    const limited = await failureOf(requestTo(baseUrl));
    assert.ok(limited instanceof ProviderError, String(limited));
    assert.equal(limited.code, "provider_rate_limited");
    assert.equal(limited.options.status, 429);
    assert.equal(limited.options.retryAfterMs, 2_000);
    assert.ok(!JSON.stringify({ message: limited.message, ...limited.options, cause: undefined }).includes(apiKey));

    handler = (_request, response) => {
      response.writeHead(401, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: "Invalid API Key", type: "invalid_request_error", code: "invalid_api_key" } }));
    };
    const unauthorized = await failureOf(requestTo(baseUrl));
    assert.ok(unauthorized instanceof ProviderError);
    assert.equal(unauthorized.code, "provider_invalid_key");
    assert.equal(unauthorized.retryable, false);
  });

  it("reads an error page that is not JSON as the provider's words", async () => {
    handler = (_request, response) => {
      response.writeHead(502, { "content-type": "text/html" });
      response.end("<html>Bad gateway from the proxy</html>");
    };
    const error = await failureOf(requestTo(baseUrl));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.code, "provider_error");
    assert.equal(error.options.status, 502);
    assert.match(error.options.providerMessage ?? "", /Bad gateway from the proxy/);
  });

  it("does not follow a redirect: the base URL is not the API's own address, which an admin is told where to point it", async () => {
    handler = (_request, response) => {
      response.writeHead(308, { location: "https://api.example.test/v1/messages" });
      response.end();
    };
    const error = await failureOf(requestTo(baseUrl));
    assert.ok(error instanceof ProviderError, String(error));
    assert.equal(error.code, "provider_bad_request");
    assert.equal(error.retryable, false);
    assert.equal(error.options.status, 308);
    assert.match(error.message, /redirect.*base URL/);
    assert.match(error.options.adminMessage ?? "", /redirects to https:\/\/api\.example\.test\/v1\/messages/);
  });

  it("maps an error event inside a 200 stream by its type and words, with no status (both providers' shapes)", () => {
    const anthropic = mapStreamErrorEvent(
      context(),
      '{"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"}}',
    );
    assert.equal(anthropic.code, "provider_overloaded");
    assert.equal(anthropic.options.status, undefined);
    const groq = mapStreamErrorEvent(
      { ...context(), kind: "groq" },
      '{"error":{"message":"Service Unavailable","type":"internal_server_error"}}',
    );
    assert.equal(groq.code, "provider_overloaded");
    const words = mapStreamErrorEvent(context(), "not json at all");
    assert.equal(words.code, "provider_error");
  });

  it("gives up on a provider that sends no headers within the connect timeout: provider_unreachable, naming the wait", async () => {
    handler = () => undefined;
    const error = await failureOf(requestTo(baseUrl, { connectTimeoutMs: 200 }));
    assert.ok(error instanceof ProviderError, String(error));
    assert.equal(error.code, "provider_unreachable");
    assert.match(error.message, /did not answer within 1 second/);
    await closed;
  });

  it("maps a refused connection to provider_unreachable", async () => {
    const url = await closedPortUrl();
    const error = await failureOf(requestTo(url), url);
    assert.ok(error instanceof ProviderError, String(error));
    assert.equal(error.code, "provider_unreachable");
    assert.match(error.message, /refused/);
  });

  it("maps a connection that breaks mid-stream to a broken stream, after the events that arrived", async () => {
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write('data: {"n":1}\n\n', () => setTimeout(() => response.socket?.destroy(), 20));
    };
    const request = requestTo(baseUrl);
    const stream = await openEventStream(request);
    const seen: string[] = [];
    let failure: Error | undefined;
    try {
      for await (const event of stream.events) seen.push(event.data);
    } catch (error) {
      failure = toEventStreamError(error, context(), "stream", request.signal);
    }
    assert.deepEqual(seen, ['{"n":1}']);
    assert.ok(failure instanceof ProviderError, String(failure));
    assert.equal(failure.code, "provider_stream_broken");
    assert.equal(failure.retryable, true);
  });

  it("reports a stop as an abort and closes the request: before the headers and mid-stream", async () => {
    handler = () => undefined;
    const before = new AbortController();
    setTimeout(() => before.abort(), 50);
    const early = await failureOf(requestTo(baseUrl, { signal: before.signal }));
    assert.ok(isAbortError(early), String(early));
    await closed;

    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write('data: {"n":1}\n\n');
    };
    const during = new AbortController();
    const request = requestTo(baseUrl, { signal: during.signal });
    const stream = await openEventStream(request);
    let failure: Error | undefined;
    try {
      for await (const event of stream.events) {
        void event;
        during.abort();
      }
    } catch (error) {
      failure = toEventStreamError(error, context(), "stream", request.signal);
    }
    assert.ok(isAbortError(failure), String(failure));
    await closed;

    const already = new AbortController();
    already.abort();
    const none = await failureOf(requestTo(baseUrl, { signal: already.signal }));
    assert.ok(isAbortError(none), String(none));
  });

  it("closes the request when the reader stops early", async () => {
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write('data: {"n":1}\n\ndata: {"n":2}\n\n');
    };
    const stream = await openEventStream(requestTo(baseUrl));
    for await (const event of stream.events) {
      assert.equal(event.data, '{"n":1}');
      break;
    }
    await closed;
  });

  it("passes on what is not a network or provider failure, and our own errors as they are", () => {
    const signal = new AbortController().signal;
    const malformed = toEventStreamError(new SyntaxError("Unexpected end of JSON input"), context(), "stream", signal);
    assert.ok(malformed instanceof ProviderError);
    assert.equal(malformed.code, "provider_stream_broken");
    const ownError = new ProviderError("provider_model_not_found", "no such model", false);
    assert.equal(toEventStreamError(ownError, context(), "request", signal), ownError);
    const bug = new TypeError("cannot read properties of undefined");
    assert.equal(toEventStreamError(bug, context(), "stream", signal), bug, "a bug is not a network failure");
    const thrown = toEventStreamError("a string", context(), "request", signal);
    assert.equal(thrown.message, "a string");
  });
  it("reads JSON lines across chunk boundaries: blank lines skipped, a last line without its newline kept", async () => {
    handler = (request, response) => {
      assert.equal(request.headers.accept, "application/x-ndjson");
      response.writeHead(200, { "content-type": "application/x-ndjson" });
      response.write('{"n":1}\n{"n"');
      setTimeout(() => {
        response.write(':2}\n\n{"text":"Grüße');
        setTimeout(() => response.end(' ✓"}'), 5);
      }, 5);
    };
    const stream = await openJsonLineStream(requestTo(baseUrl));
    const lines: string[] = [];
    for await (const line of stream.lines) lines.push(line);
    assert.deepEqual(lines, ['{"n":1}', '{"n":2}', '{"text":"Grüße ✓"}']);
  });

  describe("Ollama's chat stream over it", () => {
    const ollama = () => createChatProvider("ollama", { baseUrl, apiKey: "", connectTimeoutMs: 5_000 });
    async function run(): Promise<{ text: string; finish?: string; error?: unknown }> {
      const provider = ollama();
      let text = "";
      let finish: string | undefined;
      try {
        for await (const event of provider.streamChat({
          model: "llama3.2",
          conversation: provider.prepareConversation(undefined, [{ role: "user", content: "hi", messageIds: ["m1"] }]),
          maxOutputTokens: 100,
          signal: new AbortController().signal,
        })) {
          if (event.type === "text-delta") text += event.text;
          if (event.type === "finish") finish = event.finishReason;
        }
        return { text, finish };
      } catch (error) {
        return { text, error };
      }
    }
    const line = (value: unknown) => `${JSON.stringify(value)}\n`;

    it("answers with the text of every line, the done line's too, and reads on past it", async () => {
      handler = (request, response) => {
        assert.equal(request.url, "/api/chat");
        response.writeHead(200, { "content-type": "application/x-ndjson" });
        response.end(
          line({ message: { role: "assistant", content: "Hello" }, done: false }) +
            line({ message: { role: "assistant", content: " there" }, done: true, done_reason: "stop", eval_count: 2 }) +
            line({ message: { role: "assistant", content: " (ignored)" }, done: false }),
        );
      };
      assert.deepEqual(await run(), { text: "Hello there", finish: "stop" });
    });

    it("a stream that ends before its done line is broken; an error line mid-answer is the provider's error", async () => {
      handler = (_request, response) => {
        response.writeHead(200, { "content-type": "application/x-ndjson" });
        response.end(line({ message: { role: "assistant", content: "Hel" }, done: false }));
      };
      const cut = await run();
      assert.equal(cut.text, "Hel");
      assert.ok(cut.error instanceof ProviderError, String(cut.error));
      assert.equal(cut.error.code, "provider_stream_broken");

      handler = (_request, response) => {
        response.writeHead(200, { "content-type": "application/x-ndjson" });
        response.end(
          line({ message: { role: "assistant", content: "Hel" }, done: false }) +
            line({ error: "an error was encountered while running the model" }),
        );
      };
      const failed = await run();
      assert.ok(failed.error instanceof ProviderError, String(failed.error));
      assert.equal(failed.error.code, "provider_error");
      assert.match(failed.error.options.providerMessage ?? "", /encountered while running the model/);
    });

    it("reads Ollama's error bodies: {error} with its status, and a page that is not JSON as its words", async () => {
      handler = (_request, response) => {
        response.writeHead(404, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "model 'llama3.2' not found" }));
      };
      const missing = await run();
      assert.ok(missing.error instanceof ProviderError, String(missing.error));
      assert.equal(missing.error.code, "provider_model_not_found");
      assert.match(missing.error.options.providerMessage ?? "", /model 'llama3.2' not found/);

      handler = (_request, response) => {
        response.writeHead(502, { "content-type": "text/html" });
        response.end("<html>Bad gateway from the proxy</html>");
      };
      const proxied = await run();
      assert.ok(proxied.error instanceof ProviderError, String(proxied.error));
      assert.equal(proxied.error.code, "provider_error");
      assert.equal(proxied.error.options.status, 502);
      assert.match(proxied.error.options.providerMessage ?? "", /Bad gateway from the proxy/);
    });
  });
});
