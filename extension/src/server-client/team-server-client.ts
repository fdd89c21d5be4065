import type {
  RegisterRequest,
  CredentialsRequest,
  PendingRegistrationResponse,
  SessionResponse,
  User,
} from "../../../protocol/http/accounts";
import { sessionResponseSchema } from "../../../protocol/http/accounts";
import {
  API_PREFIX,
  buildPath,
  endpoints,
  generationStreamPath,
  type EndpointDefinition,
  type EndpointName,
  type EndpointRequest,
  type EndpointResponse,
  type Endpoints,
} from "../../../protocol/http/endpoints";
import { errorResponseSchema } from "../../../protocol/http/error-codes";
import type { GenerationEvent } from "../../../protocol/http/generation-events";
import { API_VERSION, metaResponseSchema, type MetaResponse } from "../../../protocol/http/meta";
import { EventEmitter, type Event } from "./event-emitter";
import { parseGenerationEvent } from "./parse-generation-event";
import { ServerSentEventParser } from "./server-sent-event-parser";
import { isTeamServerError, TeamServerError } from "./team-server-error";
import type { StoredSession, TokenStore } from "./token-store";

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface StreamRetryOptions {
  /** Reconnections in a row without a new event before giving up. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface TeamServerClientOptions {
  serverUrl: string;
  tokenStore: TokenStore;
  /** Defaults to the global fetch; tests wrap it to count or cut requests. */
  fetch?: FetchFunction;
  now?: () => number;
  /** Refresh the access token this long before it expires, so a request does not race the expiry. */
  refreshLeewayMs?: number;
  /** A JSON request that gets no answer in this time fails as offline. */
  requestTimeoutMs?: number;
  /** A generation stream silent for this long (no event, no heartbeat) is treated as dropped and resumed. */
  streamIdleTimeoutMs?: number;
  streamRetry?: Partial<StreamRetryOptions>;
}

/** Names of the `:name` parameters in an endpoint path, e.g. "conversationId". */
type PathParameterNames<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParameterNames<`/${Rest}`>
  : Path extends `${string}:${infer Name}`
    ? Name
    : never;

type EndpointPathParameters<Name extends EndpointName> = PathParameterNames<Endpoints[Name]["path"]>;

export type CallOptions<Name extends EndpointName> = {
  /** The JSON body (for POST, PUT, PATCH, DELETE). */
  body?: EndpointRequest<Name>;
  /** The query (for GET endpoints whose request schema is a query). */
  query?: EndpointRequest<Name>;
  signal?: AbortSignal;
} & ([EndpointPathParameters<Name>] extends [never] ? { params?: undefined } : { params: Record<EndpointPathParameters<Name>, string> });

type CallArguments<Name extends EndpointName> = [EndpointPathParameters<Name>] extends [never]
  ? [options?: CallOptions<Name>]
  : [options: CallOptions<Name>];

export interface StreamGenerationOptions {
  /** Resume after this event sequence (the `id:` of the last event received). */
  lastEventId?: number;
  signal?: AbortSignal;
}

export type RegistrationResult = { kind: "signed-in"; session: StoredSession } | { kind: "pending"; user: User };

const defaultStreamRetry: StreamRetryOptions = { maxAttempts: 6, initialDelayMs: 250, maxDelayMs: 4_000 };

/**
 * The typed HTTP client of the team server. Every JSON endpoint of protocol/http/endpoints.ts is
 * one `call(name, …)`; responses are validated with the protocol's schemas. It keeps the access
 * token in memory (and the whole session in a TokenStore), refreshes it once when it expires —
 * concurrent calls share that refresh — and reports `onSessionExpired` when the refresh is refused.
 */
export class TeamServerClient {
  private serverUrlValue: string;
  private readonly tokenStore: TokenStore;
  private readonly fetchFunction: FetchFunction;
  private readonly now: () => number;
  private readonly refreshLeewayMs: number;
  private readonly requestTimeoutMs: number;
  private readonly streamIdleTimeoutMs: number;
  private readonly streamRetry: StreamRetryOptions;
  private session: StoredSession | undefined;
  private hasRestored = false;
  private restoring: Promise<void> | undefined;
  private refreshing: Promise<string> | undefined;
  private hasReportedExpiry = false;
  private readonly sessionChanged = new EventEmitter<StoredSession | undefined>();
  private readonly sessionExpired = new EventEmitter<TeamServerError>();

  /** Signed in, refreshed (the user may have changed, e.g. their role) or signed out. */
  readonly onSessionChanged: Event<StoredSession | undefined> = this.sessionChanged.event;
  /** The refresh token was refused: the user must sign in again. Fired once per session. */
  readonly onSessionExpired: Event<TeamServerError> = this.sessionExpired.event;

  constructor(options: TeamServerClientOptions) {
    this.serverUrlValue = normalizeServerUrl(options.serverUrl);
    this.tokenStore = options.tokenStore;
    this.fetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
    this.refreshLeewayMs = options.refreshLeewayMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 60_000;
    this.streamRetry = { ...defaultStreamRetry, ...options.streamRetry };
  }

  get serverUrl(): string {
    return this.serverUrlValue;
  }

  /** The signed-in user as of the last sign-in or refresh. */
  get user(): User | undefined {
    return this.session?.user;
  }

  get isSignedIn(): boolean {
    return this.session !== undefined;
  }

  /** Points the client at another server; a session of the previous server is no longer used. */
  setServerUrl(serverUrl: string): void {
    const normalized = normalizeServerUrl(serverUrl);
    if (normalized === this.serverUrlValue) return;
    this.serverUrlValue = normalized;
    if (this.session && this.session.serverUrl !== normalized) {
      this.session = undefined;
      this.sessionChanged.fire(undefined);
    }
  }

  /** Loads the stored session of this server (once; later calls return the current one). */
  async restoreSession(): Promise<StoredSession | undefined> {
    if (this.hasRestored) return this.session;
    // Calls made at the same time share one read: a second caller must not see "no session" while the first still reads.
    this.restoring ??= this.readStoredSession().finally(() => {
      this.hasRestored = true;
      this.restoring = undefined;
    });
    await this.restoring;
    return this.session;
  }

  private async readStoredSession(): Promise<void> {
    const stored = await this.tokenStore.get();
    if (stored && normalizeServerUrl(stored.serverUrl) === this.serverUrlValue && !this.session && !this.hasRestored) {
      this.session = stored;
      this.hasReportedExpiry = false;
      this.sessionChanged.fire(stored);
    }
  }

  /**
   * Takes over what the token store holds now: another VS Code window signed in, refreshed or signed
   * out (they share SecretStorage). Our own writes find nothing new.
   */
  async reloadStoredSession(): Promise<void> {
    const stored = await this.tokenStore.get();
    const usable = stored && normalizeServerUrl(stored.serverUrl) === this.serverUrlValue ? stored : undefined;
    if (!usable) {
      if (this.session) {
        this.session = undefined;
        this.sessionChanged.fire(undefined);
      }
      return;
    }
    if (this.session?.refreshToken === usable.refreshToken) return;
    this.session = usable;
    this.hasRestored = true;
    this.hasReportedExpiry = false;
    this.sessionChanged.fire(usable);
  }

  /**
   * GET /meta and check the API version; the first thing to do with a server.
   * Throws TeamServerError incompatible_server with a message that says what to update.
   */
  async connect(signal?: AbortSignal): Promise<MetaResponse> {
    const response = await this.send("GET", "/meta", { signal });
    const body = await readJson(response);
    if (!response.ok) throw toTeamServerError(response, body);
    const parsed = metaResponseSchema.safeParse(body);
    if (!parsed.success) {
      throw new TeamServerError(
        response.status,
        "incompatible_server",
        `The server at ${this.serverUrlValue} is not a Juggler team server (or is too old to say its version). Check the address in the juggler.serverUrl setting.`,
      );
    }
    const meta = parsed.data;
    if (meta.apiVersion !== API_VERSION) {
      const advice =
        meta.apiVersion > API_VERSION
          ? "update the Juggler extension to talk to it"
          : `ask your admin to update the team server (it runs ${meta.serverVersion})`;
      throw new TeamServerError(
        response.status,
        "incompatible_server",
        `This Juggler server speaks API v${meta.apiVersion}; this extension needs v${API_VERSION} — ${advice}.`,
      );
    }
    return meta;
  }

  async signIn(credentials: CredentialsRequest): Promise<StoredSession> {
    const response = await this.call("signIn", { body: credentials });
    return this.adoptSession(response);
  }

  /** Creates an account; the result is a session, or pending when an admin must approve it first. */
  async register(request: RegisterRequest): Promise<RegistrationResult> {
    const response = await this.call("register", { body: request });
    if ("accessToken" in response) return { kind: "signed-in", session: await this.adoptSession(response) };
    return { kind: "pending", user: (response as PendingRegistrationResponse).user };
  }

  /** Revokes the refresh token on the server (best effort: an offline server still signs out locally) and forgets the session. */
  async signOut(): Promise<void> {
    const session = this.session ?? (await this.restoreSession());
    this.session = undefined;
    if (session) {
      try {
        await this.call("signOut", { body: { refreshToken: session.refreshToken } });
      } catch {
        // Signing out must always work locally; the server forgets the token when it expires.
      }
    }
    await this.tokenStore.delete();
    this.sessionChanged.fire(undefined);
  }

  /**
   * Calls one endpoint of protocol/http/endpoints.ts and returns its validated response.
   * Throws TeamServerError: the server's code, or offline / invalid_response / not_signed_in / aborted.
   */
  async call<Name extends EndpointName>(name: Name, ...[options]: CallArguments<Name>): Promise<EndpointResponse<Name>> {
    const endpoint: EndpointDefinition = endpoints[name];
    const callOptions = (options ?? {}) as { params?: Record<string, string>; body?: unknown; query?: unknown; signal?: AbortSignal };
    let path = buildPath(endpoint.path, callOptions.params ?? {});
    if (endpoint.method === "GET" && callOptions.query !== undefined) path += toQueryString(callOptions.query);
    const body = endpoint.method === "GET" ? undefined : callOptions.body;
    const sendOnce = (token: string | undefined) => this.send(endpoint.method, path, { body, token, signal: callOptions.signal });
    const response = endpoint.access === "public" ? await sendOnce(undefined) : await this.sendAuthorized(sendOnce, callOptions.signal);
    const json = await readJson(response);
    if (!response.ok) throw toTeamServerError(response, json);
    if (!endpoint.response) return undefined as EndpointResponse<Name>;
    const parsed = endpoint.response.safeParse(json);
    if (!parsed.success) {
      throw new TeamServerError(
        response.status,
        "invalid_response",
        `The Juggler server answered ${endpoint.method} ${endpoint.path} in an unexpected shape; the server and extension versions may not match.`,
        false,
        { cause: parsed.error },
      );
    }
    return parsed.data as EndpointResponse<Name>;
  }

  /**
   * The events of one answer's generation, as they happen. Reconnects by itself with Last-Event-ID
   * when the connection drops (bounded retries with backoff), never yields an event twice, and
   * ends after generation-end or generation-error. Breaking out of the loop closes the connection.
   */
  async *streamGeneration(messageId: string, options: StreamGenerationOptions = {}): AsyncGenerator<GenerationEvent, void, undefined> {
    const { signal } = options;
    const path = buildPath(generationStreamPath, { messageId });
    let lastSequence = options.lastEventId ?? 0;
    let failuresInRow = 0;
    let serverDelayMs: number | undefined;
    for (;;) {
      throwIfAborted(signal);
      const connection = new AbortController();
      const connectionSignal = signal ? AbortSignal.any([signal, connection.signal]) : connection.signal;
      let response: Response | undefined;
      try {
        response = await this.sendAuthorized(
          (token) =>
            this.send("GET", path, {
              token,
              signal: connectionSignal,
              timeoutMs: this.requestTimeoutMs,
              headers: { accept: "text/event-stream", ...(lastSequence > 0 ? { "last-event-id": String(lastSequence) } : {}) },
            }),
          signal,
        );
      } catch (error) {
        if (!isRetryableStreamFailure(error) || failuresInRow >= this.streamRetry.maxAttempts) throw error;
      }
      if (response && !response.ok) {
        const error = toTeamServerError(response, await readJson(response));
        if (!error.retryable || failuresInRow >= this.streamRetry.maxAttempts) throw error;
        response = undefined;
      }
      if (response) {
        if (!(response.headers.get("content-type") ?? "").includes("text/event-stream") || !response.body) {
          throw new TeamServerError(response.status, "invalid_response", "The Juggler server did not answer with an event stream.");
        }
        const parser = new ServerSentEventParser(lastSequence > 0 ? String(lastSequence) : undefined);
        const decoder = new TextDecoder();
        const reader = response.body.getReader();
        let idleTimer: ReturnType<typeof setTimeout> | undefined;
        // A half-open connection (a laptop that slept, a proxy that forgot us) never errors: notice the silence instead.
        const armIdleTimer = () => {
          clearTimeout(idleTimer);
          idleTimer = setTimeout(() => connection.abort(), this.streamIdleTimeoutMs);
        };
        try {
          armIdleTimer();
          for (;;) {
            const chunk = await reader.read();
            if (chunk.done) break;
            armIdleTimer();
            for (const rawEvent of parser.push(decoder.decode(chunk.value, { stream: true }))) {
              const event = parseGenerationEvent(rawEvent);
              if (!event || event.sequence <= lastSequence) continue; // unknown event, or a duplicate after resuming
              lastSequence = event.sequence;
              failuresInRow = 0;
              yield event;
              if (event.event === "generation-end" || event.event === "generation-error") return;
            }
          }
        } catch (error) {
          if (signal?.aborted) throw abortedError();
          if (isTeamServerError(error)) throw error; // a malformed event: resuming would not help
          // Otherwise the connection broke mid-stream ("terminated", reset, idle timeout): resume below.
        } finally {
          clearTimeout(idleTimer);
          connection.abort();
          reader.cancel().catch(() => undefined);
        }
        serverDelayMs = parser.reconnectDelayMs;
      }
      // The stream ended before its terminal event: the connection dropped. Resume after the last event received.
      if (failuresInRow >= this.streamRetry.maxAttempts) {
        throw new TeamServerError(
          0,
          "offline",
          "The connection to the Juggler server broke while the answer was streaming, and reconnecting did not work. The answer continues on the server; open the conversation again to see it.",
          true,
        );
      }
      failuresInRow++;
      const backoffMs = Math.min(this.streamRetry.maxDelayMs, this.streamRetry.initialDelayMs * 2 ** (failuresInRow - 1));
      await sleep(Math.max(backoffMs, serverDelayMs ?? 0), signal);
    }
  }

  /** The current access token, refreshed first when it expires within the leeway. */
  async getAccessToken(): Promise<string> {
    const session = this.session ?? (await this.restoreSession());
    if (!session) throw notSignedInError();
    if (this.isExpiringSoon(session)) return this.refreshAccessToken(session.accessToken);
    return session.accessToken;
  }

  private async sendAuthorized(sendWith: (token: string) => Promise<Response>, signal: AbortSignal | undefined): Promise<Response> {
    const token = await this.getAccessToken();
    let response = await sendWith(token);
    if (response.status === 401) {
      const error = toTeamServerError(response, await readJson(response));
      // token_expired is the normal case; unauthenticated also gets one refresh, since the access token can
      // become unreadable (the server's secret changed) while the refresh token, stored hashed, still works.
      if (error.code !== "token_expired" && error.code !== "unauthenticated") throw error;
      throwIfAborted(signal);
      const freshToken = await this.refreshAccessToken(token);
      response = await sendWith(freshToken);
      if (response.status === 401) {
        // A token fresh from the server refused at once: the account itself is no longer usable.
        const refused = toTeamServerError(response, await readJson(response));
        await this.expireSession(this.session?.refreshToken, refused);
        throw refused;
      }
    }
    if (response.status === 403) {
      const error = toTeamServerError(response, await readJson(response.clone()));
      // An admin disabled the account: nothing works until the user signs in again (and learns why).
      if (error.code === "account_disabled" || error.code === "account_pending") {
        await this.expireSession(this.session?.refreshToken, error);
        throw error;
      }
    }
    return response;
  }

  /**
   * Single flight: every caller that saw `staleToken` fail waits for the same refresh. A caller whose
   * token was already replaced just uses the new one.
   */
  private refreshAccessToken(staleToken: string): Promise<string> {
    if (this.refreshing) return this.refreshing;
    if (this.session && this.session.accessToken !== staleToken && !this.isExpiringSoon(this.session)) {
      return Promise.resolve(this.session.accessToken);
    }
    const refreshing = this.performRefresh().finally(() => {
      if (this.refreshing === refreshing) this.refreshing = undefined;
    });
    this.refreshing = refreshing;
    return refreshing;
  }

  private async performRefresh(): Promise<string> {
    const current = this.session;
    if (!current) throw notSignedInError();
    // Another VS Code window shares the stored session and may have rotated the refresh token already:
    // using our old one would be refused (and could look like token theft to the server).
    const stored = await this.tokenStore.get();
    if (
      stored &&
      stored.refreshToken !== current.refreshToken &&
      stored.user.id === current.user.id &&
      normalizeServerUrl(stored.serverUrl) === this.serverUrlValue
    ) {
      this.session = stored;
      if (!this.isExpiringSoon(stored)) return stored.accessToken;
    }
    const refreshToken = this.session?.refreshToken ?? current.refreshToken;
    const response = await this.send("POST", endpoints.refresh.path, { body: { refreshToken } });
    const json = await readJson(response);
    if (!response.ok) {
      const error = toTeamServerError(response, json);
      if (response.status === 401 || response.status === 403) await this.expireSession(refreshToken, error);
      throw error;
    }
    const parsed = sessionResponseSchema.safeParse(json);
    if (!parsed.success)
      throw new TeamServerError(
        response.status,
        "invalid_response",
        "The Juggler server answered the token refresh in an unexpected shape.",
      );
    const session = await this.adoptSession(parsed.data);
    return session.accessToken;
  }

  private async expireSession(refusedRefreshToken: string | undefined, error: TeamServerError): Promise<void> {
    const wasSignedIn = this.session !== undefined;
    this.session = undefined;
    const stored = await this.tokenStore.get();
    // Only forget the stored session if it is the one that was refused (another window may have signed in anew).
    if (stored && stored.refreshToken === refusedRefreshToken) await this.tokenStore.delete();
    // Expired before changed, so a listener of onSessionChanged(undefined) can tell expiry from signing out.
    if (!this.hasReportedExpiry) {
      this.hasReportedExpiry = true;
      this.sessionExpired.fire(error);
    }
    if (wasSignedIn) this.sessionChanged.fire(undefined);
  }

  private async adoptSession(response: SessionResponse): Promise<StoredSession> {
    const session: StoredSession = {
      serverUrl: this.serverUrlValue,
      user: response.user,
      accessToken: response.accessToken,
      accessTokenExpiresAt: response.accessTokenExpiresAt,
      refreshToken: response.refreshToken,
      refreshTokenExpiresAt: response.refreshTokenExpiresAt,
    };
    this.session = session;
    this.hasRestored = true;
    this.hasReportedExpiry = false;
    await this.tokenStore.set(session);
    this.sessionChanged.fire(session);
    return session;
  }

  private isExpiringSoon(session: StoredSession): boolean {
    const expiresAtMs = Date.parse(session.accessTokenExpiresAt);
    return Number.isFinite(expiresAtMs) && this.now() >= expiresAtMs - this.refreshLeewayMs;
  }

  /** One HTTP request; network failures become TeamServerError offline, cancellation aborted. */
  private async send(
    method: string,
    path: string,
    options: { body?: unknown; token?: string; signal?: AbortSignal; headers?: Record<string, string>; timeoutMs?: number },
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
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
      if (timeout.signal.aborted) {
        throw new TeamServerError(
          0,
          "offline",
          `The Juggler server at ${this.serverUrlValue} did not answer in time. Check that it is running.`,
          true,
          { cause: error },
        );
      }
      throw new TeamServerError(
        0,
        "offline",
        `Can't reach the Juggler server at ${this.serverUrlValue}. Check that it is running and that the juggler.serverUrl setting is right.`,
        true,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

export function normalizeServerUrl(serverUrl: string): string {
  return serverUrl.trim().replace(/\/+$/, "");
}

function toQueryString(query: unknown): string {
  if (typeof query !== "object" || query === null) return "";
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function readJson(response: Response): Promise<unknown> {
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

function isRetryableStreamFailure(error: unknown): boolean {
  return isTeamServerError(error) && error.code !== "aborted" && error.retryable;
}

function notSignedInError(): TeamServerError {
  return new TeamServerError(401, "not_signed_in", "Sign in to Juggler first.");
}

function abortedError(): TeamServerError {
  return new TeamServerError(0, "aborted", "The request was cancelled.");
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError();
}

function sleep(durationMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, durationMs);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
