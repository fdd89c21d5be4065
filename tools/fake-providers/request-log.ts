import type { IncomingHttpHeaders } from "node:http";
import type { FaultName } from "./fault-plan";

/** One request a fake received. Fields after `receivedAt` are updated while the exchange runs. */
export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string, e.g. `/v1/messages`. */
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it was not valid JSON; `undefined` when empty. */
  readonly body: unknown;
  readonly receivedAt: number;
  /**
   * The same moment in milliseconds since the epoch with sub-millisecond precision
   * (performance.timeOrigin + performance.now()), to compare with another process on the same machine.
   */
  readonly receivedAtPreciseMs: number;
  /** The fault injected into this request, if any. */
  fault: FaultName | undefined;
  /** HTTP status sent, once headers are out. */
  status: number | undefined;
  /** The response was fully written and ended by the fake. */
  completed: boolean;
  /**
   * The client closed the connection before the response finished (a stop, an abort, a timeout).
   * Not set when the fake itself cut the connection (`reset-mid-stream`) or is shutting down.
   */
  clientClosed: boolean;
}

type Listener = () => void;

/** The list of requests a fake received, observable so tests can wait for live changes. */
export class RequestLog {
  /** Live array: the same instance for the life of the fake (cleared in place on reset). */
  readonly entries: RecordedRequest[] = [];
  private readonly listeners = new Set<Listener>();

  add(entry: RecordedRequest): void {
    this.entries.push(entry);
    this.notifyChanged();
  }

  clear(): void {
    this.entries.length = 0;
    this.notifyChanged();
  }

  notifyChanged(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Resolves with the first entry matching `predicate`, now or after a later change
   * (a new request, a client close, a completion). Rejects after `timeoutMs`.
   */
  waitFor(predicate: (entry: RecordedRequest) => boolean, timeoutMs = 2000): Promise<RecordedRequest> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.entries.find(predicate);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`No recorded request matched within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (): void => {
        check();
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
      check();
    });
  }
}
