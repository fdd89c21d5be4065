import http from "node:http";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { z } from "zod";
import { FaultPlan, faultListSchema, type FaultSpec, type FaultSpecInput } from "./fault-plan";
import { replyModeSchema, type ReplyMode } from "./reply-mode";
import { RequestLog, type RecordedRequest } from "./request-log";

export type ProviderName = "anthropic" | "groq" | "ollama";

/** Options every fake takes. */
export interface CommonFakeOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (an ephemeral port, see `port` on the handle). */
  port?: number;
  /** Initial reply mode; default `echo`. */
  reply?: ReplyMode;
  /** Pause before each text delta of a stream; default 0. */
  tokenDelayMs?: number;
}

/** The handle of one running fake. */
export interface FakeProviderHandle {
  readonly provider: ProviderName;
  /** Base URL to give the official SDK (`baseURL` / ollama `host`), e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** Every request received (control endpoints excluded), live: `clientClosed` etc. update in place. */
  readonly requests: readonly RecordedRequest[];
  /** Replaces the pending faults. */
  setFaults(faults: FaultSpecInput | FaultSpecInput[]): void;
  clearFaults(): void;
  /** Pending faults with their remaining `times`. */
  listFaults(): FaultSpec[];
  setTokenDelayMs(delayMs: number): void;
  setReply(reply: ReplyMode): void;
  /** Resolves with the first recorded request matching `predicate`, now or after a later change. */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Clears faults and the request log and restores the initial options. */
  reset(): void;
  /** Stops listening and destroys open connections (streams included), so it never hangs. */
  close(): Promise<void>;
}

export interface FakeServerSettings {
  reply: ReplyMode;
  tokenDelayMs: number;
}

/** What a provider's request handler can read and use. */
export interface FakeServerRuntime {
  readonly settings: Readonly<FakeServerSettings>;
  readonly faults: FaultPlan;
}

export type FakeRequestHandler = (exchange: FakeExchange, runtime: FakeServerRuntime) => Promise<void>;

export interface StartFakeServerOptions extends CommonFakeOptions {
  provider: ProviderName;
  handleRequest: FakeRequestHandler;
  /** Restores provider-specific state (e.g. the model list) on `reset()`. */
  onReset?: () => void;
}

/**
 * One request/response of a fake, with the few primitives the provider fakes need: JSON replies,
 * streamed writes that notice a closed connection, a server-side reset, and waiting for the client
 * to go away.
 */
export class FakeExchange {
  private isResetByServer = false;
  private readonly closed: Promise<void>;

  constructor(
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    readonly url: URL,
    readonly record: RecordedRequest,
    private readonly log: RequestLog,
    private readonly isShuttingDown: () => boolean,
  ) {
    this.closed = new Promise((resolve) => response.once("close", () => resolve()));
    response.once("finish", () => {
      record.completed = true;
      log.notifyChanged();
    });
    response.once("close", () => {
      if (!response.writableFinished && !this.isResetByServer && !this.isShuttingDown()) {
        record.clientClosed = true;
      }
      log.notifyChanged();
    });
    // The client may already have gone while the body was being read.
    if (request.socket.destroyed) record.clientClosed = true;
  }

  get method(): string {
    return this.record.method;
  }

  get pathname(): string {
    return this.record.path;
  }

  get body(): unknown {
    return this.record.body;
  }

  header(name: string): string | undefined {
    const value = this.request.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }

  /** The connection is gone or the response is over: nothing more can be written. */
  get isClosed(): boolean {
    return this.response.writableEnded || this.response.destroyed || this.request.socket.destroyed;
  }

  sendJson(status: number, body: unknown, headers: OutgoingHttpHeaders = {}, contentType = "application/json"): void {
    this.sendText(status, JSON.stringify(body), headers, contentType);
  }

  sendText(status: number, text: string, headers: OutgoingHttpHeaders, contentType: string): void {
    if (this.isClosed) return;
    this.record.status = status;
    this.response.writeHead(status, {
      "content-type": contentType,
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    this.response.end(text);
  }

  /** Sends a 200 with these headers now, so the client sees the response before the first event. */
  startStream(headers: OutgoingHttpHeaders): void {
    if (this.isClosed) return;
    this.record.status = 200;
    this.response.writeHead(200, headers);
    this.response.flushHeaders();
  }

  /** Writes, waiting for the socket to drain if needed; false when the connection is closed. */
  async write(text: string): Promise<boolean> {
    if (this.isClosed) return false;
    if (!this.response.write(text)) {
      await Promise.race([new Promise((resolve) => this.response.once("drain", resolve)), this.closed]);
    }
    return !this.isClosed;
  }

  end(): void {
    if (!this.isClosed) this.response.end();
  }

  /**
   * Cuts the TCP connection mid-response (a server-side failure, not a client close). What was
   * already written reaches the client first: Node corks response writes until the next tick and
   * `destroy()` drops unsent data, so this lets the queue flush before closing.
   */
  async resetConnection(): Promise<void> {
    this.isResetByServer = true;
    const socket = this.request.socket;
    await new Promise((resolve) => setImmediate(resolve));
    if (!socket.destroyed && socket.writableLength > 0) {
      await Promise.race([new Promise((resolve) => socket.write("", resolve)), this.closed]);
    }
    socket.destroy();
  }

  /** Resolves when the connection closes, for whatever reason. */
  waitUntilClosed(): Promise<void> {
    return this.closed;
  }

  /** Waits `delayMs`, or less if the connection closes meanwhile. */
  async sleep(delayMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, delayMs))), this.closed]);
    clearTimeout(timer);
  }
}

const settingsUpdateSchema = z.strictObject({
  reply: replyModeSchema.optional(),
  tokenDelayMs: z.number().nonnegative().optional(),
});

/**
 * Starts a `node:http` server with what all three fakes share: request recording, the fault plan,
 * reply settings, the `/__control/*` endpoints, and a `close()` that never waits on open streams.
 */
export async function startFakeServer(options: StartFakeServerOptions): Promise<FakeProviderHandle> {
  const host = options.host ?? "127.0.0.1";
  const initialSettings: FakeServerSettings = {
    reply: options.reply ?? "echo",
    tokenDelayMs: options.tokenDelayMs ?? 0,
  };
  const settings: FakeServerSettings = { ...initialSettings };
  const faults = new FaultPlan();
  const log = new RequestLog();
  const runtime: FakeServerRuntime = { settings, faults };
  const sockets = new Set<Socket>();
  let isShuttingDown = false;

  const reset = (): void => {
    faults.clear();
    log.clear();
    Object.assign(settings, initialSettings);
    options.onReset?.();
  };

  const handleControl = (pathname: string, method: string, body: unknown, response: ServerResponse): void => {
    const reply = (status: number, payload: unknown): void => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(payload));
    };
    try {
      const route = `${method} ${pathname}`;
      if (route === "POST /__control/faults") {
        faults.set(faultListSchema.parse(body));
        reply(200, { faults: faults.list() });
      } else if (route === "GET /__control/faults") {
        reply(200, { faults: faults.list() });
      } else if (route === "DELETE /__control/faults") {
        faults.clear();
        reply(200, { faults: [] });
      } else if (route === "POST /__control/reset") {
        reset();
        reply(200, { ok: true });
      } else if (route === "GET /__control/requests") {
        reply(200, { requests: log.entries });
      } else if (route === "POST /__control/settings") {
        const update = settingsUpdateSchema.parse(body ?? {});
        if (update.reply !== undefined) settings.reply = update.reply;
        if (update.tokenDelayMs !== undefined) settings.tokenDelayMs = update.tokenDelayMs;
        reply(200, { settings });
      } else {
        reply(404, { error: `Unknown control endpoint ${route}` });
      }
    } catch (error) {
      const issues = error instanceof z.ZodError ? error.issues : undefined;
      reply(400, { error: error instanceof Error ? error.message : String(error), issues });
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://fake.invalid");
    let bodyText: string;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      bodyText = Buffer.concat(chunks).toString("utf8");
    } catch {
      return; // the client went away while sending the body
    }
    const body = parseBody(bodyText);
    const method = request.method ?? "GET";

    if (url.pathname.startsWith("/__control/")) {
      handleControl(url.pathname, method, body, response);
      return;
    }

    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: request.headers,
      body,
      receivedAt: Date.now(),
      receivedAtPreciseMs: performance.timeOrigin + performance.now(),
      fault: undefined,
      status: undefined,
      completed: false,
      clientClosed: false,
    };
    log.add(record);
    const exchange = new FakeExchange(request, response, url, record, log, () => isShuttingDown);
    try {
      await options.handleRequest(exchange, runtime);
    } catch (error) {
      // A bug in a fake must be loud in test output, and must not leave the client hanging.
      console.error(`[fake ${options.provider}] handler failed for ${method} ${url.pathname}:`, error);
      if (!response.headersSent) exchange.sendText(500, "fake provider error", {}, "text/plain");
      else await exchange.resetConnection();
    }
  };

  const server = http.createServer((request, response) => {
    void handle(request, response);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("Fake server has no TCP address");
  const urlHost = host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    provider: options.provider,
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    requests: log.entries,
    setFaults: (faultList) => faults.set(faultList),
    clearFaults: () => faults.clear(),
    listFaults: () => faults.list(),
    setTokenDelayMs: (delayMs) => {
      settings.tokenDelayMs = delayMs;
    },
    setReply: (reply) => {
      settings.reply = replyModeSchema.parse(reply);
    },
    waitForRequest: (predicate, timeoutMs) => log.waitFor(predicate, timeoutMs),
    reset,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        isShuttingDown = true;
        server.close(() => resolve());
        // Open streams (a stall, a slow replay) and idle keep-alive sockets would keep close() waiting.
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
