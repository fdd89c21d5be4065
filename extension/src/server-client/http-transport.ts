import { API_PREFIX } from "../../../protocol/http/endpoints";
import { errorResponseSchema } from "../../../protocol/http/error-codes";
import { EventEmitter, type Event } from "./event-emitter";
import { TeamServerError } from "./team-server-error";

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface SendOptions {
  body?: unknown;
  /** Bytes sent as they are (a file), as application/json; instead of `body`. */
  rawBody?: Uint8Array;
  token?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** How long to wait for the response's head (a stream's body may take minutes). */
  timeoutMs?: number;
}

/**
 * One HTTP request to the team server under /api/v1, and nothing else: JSON bodies, a bearer token
 * when given, a timeout on the response's head, and network failures turned into TeamServerError
 * `offline` (or `aborted` when the caller cancelled) in plain words that name the server.
 */
export class HttpTransport {
  private serverUrlValue: string;
  private readonly fetchFunction: FetchFunction;
  private readonly unreachable = new EventEmitter<TeamServerError>();
  /** A request found the server unreachable (refused, timed out): the chat shows it is offline at once. */
  readonly onUnreachable: Event<TeamServerError> = this.unreachable.event;

  constructor(
    options: { serverUrl: string; fetch?: FetchFunction },
    private readonly requestTimeoutMs: number,
  ) {
    this.serverUrlValue = normalizeServerUrl(options.serverUrl);
    this.fetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
  }

  get serverUrl(): string {
    return this.serverUrlValue;
  }

  set serverUrl(serverUrl: string) {
    this.serverUrlValue = normalizeServerUrl(serverUrl);
  }

  async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | Blob | undefined;
    if (options.rawBody !== undefined) {
      headers["content-type"] = "application/json";
      body = new Blob([options.rawBody as Uint8Array<ArrayBuffer>]);
    } else if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    // The timeout covers waiting for the response head only: a stream's body may take minutes.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), options.timeoutMs ?? this.requestTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
    const url = `${this.serverUrlValue}${API_PREFIX}${path}`;
    try {
      return await this.fetchFunction(url, { method, headers, body, signal });
    } catch (error) {
      if (options.signal?.aborted) throw abortedError();
      const offline = timeout.signal.aborted
        ? new TeamServerError(
            0,
            "offline",
            `The Juggler server at ${this.serverUrlValue} did not answer in time. Check that it is running.`,
            true,
            { cause: error },
          )
        : new TeamServerError(
            0,
            "offline",
            `Can't reach the Juggler server at ${this.serverUrlValue}. Check that it is running and that the juggler.serverUrl setting is right.`,
            true,
            { cause: error },
          );
      this.unreachable.fire(offline);
      throw offline;
    } finally {
      clearTimeout(timer);
    }
  }
}

export function normalizeServerUrl(serverUrl: string): string {
  return serverUrl.trim().replace(/\/+$/, "");
}

/** The body as JSON; undefined when there is none or it is not JSON. */
export async function readJson(response: Response): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return undefined;
  }
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The server's `{error:{code,message,retryable}}`, or a plain description of a response that is not one (e.g. a proxy's HTML page). */
export function toTeamServerError(response: Response, body: unknown): TeamServerError {
  const parsed = errorResponseSchema.safeParse(body);
  if (parsed.success) {
    const { code, message, retryable } = parsed.data.error;
    return new TeamServerError(response.status, code, message, retryable ?? response.status >= 500);
  }
  return new TeamServerError(
    response.status,
    "invalid_response",
    `The Juggler server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""} without an error description.`,
    response.status >= 500 || response.status === 429,
  );
}

export function abortedError(): TeamServerError {
  return new TeamServerError(0, "aborted", "The request was cancelled.");
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError();
}
