import type { ServerResponse } from "node:http";

/** Proxies and load balancers drop idle connections; a comment line every 15 s keeps the stream alive. */
export const SSE_HEARTBEAT_INTERVAL_MS = 15_000;
/** Suggested reconnection delay for EventSource clients. */
const RECONNECT_DELAY_MS = 2_000;

export interface SseEvent {
  /** Absent for an event that is not one of the answer's numbered events (a POST's `reply`). */
  id?: number;
  event: string;
  data: unknown;
}

/**
 * Server-sent events framing on a raw Node response (the route sets `context.respond = false`,
 * so neither Koa nor any body middleware buffers it): `id: <seq>`, `event: <name>`, `data: <json>`,
 * a blank line; heartbeat comments; and a close that only ever detaches the client.
 *
 * What is written in one turn of the event loop goes out as one write at the end of that turn
 * (`setImmediate`). A provider's network read often carries many tokens, a client that reconnects
 * is sent the answer so far at once, and each `response.write` costs the HTTP layer's chunk framing
 * and stream machinery (decision 0030). An event never waits for a later one: the turn is ending.
 */
export class SseStream {
  private heartbeat: NodeJS.Timeout | undefined;
  private isEnded = false;
  private readonly closeListeners: Array<() => void> = [];
  /** Written in this turn, not yet handed to the response; a flush is scheduled while it is not empty. */
  private pending = "";

  constructor(
    private readonly response: ServerResponse,
    private readonly heartbeatIntervalMs = SSE_HEARTBEAT_INTERVAL_MS,
  ) {
    response.on("close", () => this.handleClose());
  }

  get isOpen(): boolean {
    return !this.isEnded && !this.response.destroyed && !this.response.writableEnded;
  }

  open(status = 200): void {
    this.response.writeHead(status, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      // nginx buffers proxied responses unless told not to; a buffered stream is no stream
      "X-Accel-Buffering": "no",
    });
    this.response.socket?.setNoDelay(true);
    this.write(`retry: ${RECONNECT_DELAY_MS}\n\n`);
    this.heartbeat = setInterval(() => this.write(": heartbeat\n\n"), this.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  send(event: SseEvent): void {
    // JSON.stringify never emits a raw newline, so the data stays on one `data:` line
    const id = event.id === undefined ? "" : `id: ${event.id}\n`;
    this.write(`${id}event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
  }

  /** Ends the response after what was written before (the client sees the stream finish). Safe to call more than once. */
  end(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    clearInterval(this.heartbeat);
    const rest = this.takePending();
    if (!this.response.writableEnded && !this.response.destroyed) this.response.end(rest);
  }

  /** Called once when the connection closes, whoever closed it. */
  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  private write(chunk: string): void {
    if (!this.isOpen) return;
    const isFlushScheduled = this.pending !== "";
    this.pending += chunk;
    if (!isFlushScheduled) setImmediate(() => this.flush());
  }

  private flush(): void {
    const chunk = this.takePending();
    if (chunk !== "" && this.isOpen) this.response.write(chunk);
  }

  private takePending(): string {
    const chunk = this.pending;
    this.pending = "";
    return chunk;
  }

  private handleClose(): void {
    this.isEnded = true;
    this.pending = "";
    clearInterval(this.heartbeat);
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}

/** `Last-Event-ID` (or the `lastEventId` query fallback for clients that cannot set headers): a sequence number ≥ 0. */
export function parseLastEventId(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,15}$/.test(trimmed)) return Number.NaN;
  return Number(trimmed);
}
