import type { CredentialsRequest, RegisterRequest, User } from "../../../protocol/http/accounts";
import {
  buildPath,
  endpoints,
  type EndpointDefinition,
  type EndpointName,
  type EndpointRequest,
  type EndpointResponse,
  type Endpoints,
} from "../../../protocol/http/endpoints";
import { importResponseSchema, type ImportResponse } from "../../../protocol/http/export";
import type { GenerationEvent } from "../../../protocol/http/generation-events";
import { API_VERSION, metaResponseSchema, type MetaResponse } from "../../../protocol/http/meta";
import type { Event } from "./event-emitter";
import {
  DEFAULT_STREAM_RETRY,
  GenerationStreamReader,
  type StreamGenerationOptions,
  type StreamRetryOptions,
} from "./generation-stream-reader";
import { AnswerEventBody } from "./answer-event-body";
import { abortedError, HttpTransport, normalizeServerUrl, readJson, toTeamServerError, type FetchFunction } from "./http-transport";
import { SessionKeeper } from "./session-keeper";
import { isTeamServerError, TeamServerError } from "./team-server-error";
import type { StoredSession, TokenStore } from "./token-store";

export type { FetchFunction } from "./http-transport";
export { normalizeServerUrl, toTeamServerError } from "./http-transport";
export type { StreamGenerationOptions, StreamRetryOptions } from "./generation-stream-reader";

/** The requests that start an answer and may reply with its events (TeamServerClient.startAnswer). */
export type AnswerStartingEndpoint = "sendMessage" | "createConversation" | "regenerate";

/** An answer's stream opened by the request that started it: its events are read once, or it is closed. */
export interface StartedAnswerStream {
  messageId: string;
  /** The answer's events from its first, resumed with GET and Last-Event-ID after a break (as streamGeneration). */
  events(signal?: AbortSignal): AsyncGenerator<GenerationEvent, void, undefined>;
  /** Not read after all: closes the connection (the answer goes on on the server). */
  close(): void;
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

/** How long an import or the start of a download may take to answer (a whole account's file is large). */
const LONG_REQUEST_TIMEOUT_MS = 10 * 60_000;

/**
 * What a registration came to. The server answers a registration the same whatever happened (it
 * never tells which names exist), so the client signs in with the same name and password to learn it:
 * signed in; waiting for an admin's approval; or not created, because the name (or one that looks
 * like it) belongs to someone else.
 */
export type RegistrationResult = { kind: "signed-in"; session: StoredSession } | { kind: "pending" } | { kind: "name-unavailable" };

/**
 * The typed client of the team server, one object over three collaborators: HttpTransport (one
 * request, timeouts, offline errors), SessionKeeper (the session, its tokens and their single-flight
 * refresh) and GenerationStreamReader (an answer's events, resumed by sequence). Every JSON endpoint
 * of protocol/http/endpoints.ts is one `call(name, …)`, its response validated with the protocol's
 * schema.
 */
export class TeamServerClient {
  private readonly transport: HttpTransport;
  private readonly sessions: SessionKeeper;
  private readonly streams: GenerationStreamReader;
  private readonly streamIdleTimeoutMs: number;
  /** Where the session is kept (VS Code's SecretStorage through surfaces/secret-token-store.ts). */
  readonly tokenStore: TokenStore;

  /** Signed in, refreshed (the user may have changed, e.g. their role) or signed out. */
  readonly onSessionChanged: Event<StoredSession | undefined>;
  /** The refresh token was refused: the user must sign in again. Fired once per session. */
  readonly onSessionExpired: Event<TeamServerError>;
  /** A request (any: a call, a stream, a refresh) could not reach the server. */
  readonly onServerUnreachable: Event<TeamServerError>;

  constructor(options: TeamServerClientOptions) {
    const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.transport = new HttpTransport({ serverUrl: options.serverUrl, fetch: options.fetch }, requestTimeoutMs);
    this.tokenStore = options.tokenStore;
    this.sessions = new SessionKeeper({
      transport: this.transport,
      tokenStore: options.tokenStore,
      now: options.now ?? Date.now,
      refreshLeewayMs: options.refreshLeewayMs ?? 10_000,
    });
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 60_000;
    this.streams = new GenerationStreamReader({
      transport: this.transport,
      sessions: this.sessions,
      requestTimeoutMs,
      idleTimeoutMs: this.streamIdleTimeoutMs,
      retry: { ...DEFAULT_STREAM_RETRY, ...options.streamRetry },
    });
    this.onSessionChanged = this.sessions.onSessionChanged;
    this.onSessionExpired = this.sessions.onSessionExpired;
    this.onServerUnreachable = this.transport.onUnreachable;
  }

  get serverUrl(): string {
    return this.transport.serverUrl;
  }

  /** The signed-in user as of the last sign-in or refresh. */
  get user(): User | undefined {
    return this.sessions.user;
  }

  get isSignedIn(): boolean {
    return this.sessions.current !== undefined;
  }

  /** Points the client at another server; a session of the previous server is no longer used. */
  setServerUrl(serverUrl: string): void {
    const normalized = normalizeServerUrl(serverUrl);
    if (normalized === this.transport.serverUrl) return;
    this.transport.serverUrl = normalized;
    this.sessions.serverChanged(normalized);
  }

  /** Loads the stored session of this server (once; later calls return the current one). */
  restoreSession(): Promise<StoredSession | undefined> {
    return this.sessions.restore();
  }

  /**
   * Takes over what the token store holds now: another VS Code window signed in, refreshed or signed
   * out (they share SecretStorage). Our own writes find nothing new.
   */
  reloadStoredSession(): Promise<void> {
    return this.sessions.reloadStored();
  }

  /**
   * GET /meta and check the API version; the first thing to do with a server.
   * Throws TeamServerError incompatible_server with a message that says what to update.
   */
  async connect(signal?: AbortSignal): Promise<MetaResponse> {
    const response = await this.transport.send("GET", "/meta", { signal });
    const body = await readJson(response);
    if (!response.ok) throw toTeamServerError(response, body);
    const parsed = metaResponseSchema.safeParse(body);
    if (!parsed.success) {
      throw new TeamServerError(
        response.status,
        "incompatible_server",
        `The server at ${this.transport.serverUrl} is not a Juggler team server (or is too old to say its version). Check the address in the juggler.serverUrl setting.`,
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
    return this.sessions.adopt(response);
  }

  /** Creates an account, then signs in with it to learn the outcome (see RegistrationResult). */
  async register(request: RegisterRequest): Promise<RegistrationResult> {
    await this.call("register", { body: request });
    try {
      return { kind: "signed-in", session: await this.signIn({ name: request.name, password: request.password }) };
    } catch (error) {
      if (error instanceof TeamServerError && error.code === "account_pending") return { kind: "pending" };
      // a name of someone else's: that account's password is not this one
      if (error instanceof TeamServerError && error.code === "invalid_credentials") return { kind: "name-unavailable" };
      throw error;
    }
  }

  /** Revokes the refresh token on the server (best effort: an offline server still signs out locally) and forgets the session. */
  async signOut(): Promise<void> {
    const session = await this.sessions.forget();
    if (session) {
      try {
        await this.call("signOut", { body: { refreshToken: session.refreshToken } });
      } catch {
        // Signing out must always work locally; the server forgets the token when it expires.
      }
    }
    await this.sessions.finishSigningOut();
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
    const sendOnce = (token: string | undefined) => this.transport.send(endpoint.method, path, { body, token, signal: callOptions.signal });
    const response =
      endpoint.access === "public" ? await sendOnce(undefined) : await this.sessions.sendAuthorized(sendOnce, callOptions.signal);
    const json = await readJson(response);
    if (!response.ok) throw toTeamServerError(response, json);
    return parseReply(endpoint, response, json) as EndpointResponse<Name>;
  }

  /**
   * A request that starts an answer (a send, a new conversation with its first message, a
   * regenerate), asking for the answer's events in its reply: the first token then follows the one
   * round trip. The server replies JSON when the request did not start exactly one answer (a
   * compare, a conversation created empty): `answer` is then undefined, and each answer is followed
   * with streamGeneration. An `answer` is an open connection: read it (`events`) or `close()` it.
   */
  async startAnswer<Name extends AnswerStartingEndpoint>(
    name: Name,
    ...[options]: CallArguments<Name>
  ): Promise<{ reply: EndpointResponse<Name>; answer?: StartedAnswerStream }> {
    const endpoint: EndpointDefinition = endpoints[name];
    const callOptions = (options ?? {}) as { params?: Record<string, string>; body?: unknown; signal?: AbortSignal };
    const path = buildPath(endpoint.path, callOptions.params ?? {});
    // the connection outlives this call: it is the answer's stream, closed by whoever reads it
    const connection = new AbortController();
    const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, connection.signal]) : connection.signal;
    const response = await this.sessions.sendAuthorized(
      (token) =>
        this.transport.send(endpoint.method, path, {
          body: callOptions.body,
          token,
          signal,
          headers: { accept: "text/event-stream, application/json" },
        }),
      callOptions.signal,
    );
    if (!response.ok || !(response.headers.get("content-type") ?? "").includes("text/event-stream")) {
      const json = await readJson(response);
      if (!response.ok) throw toTeamServerError(response, json);
      return { reply: parseReply(endpoint, response, json) as EndpointResponse<Name> };
    }
    const body = new AnswerEventBody(response, connection, this.streamIdleTimeoutMs);
    let reply: EndpointResponse<Name>;
    try {
      reply = parseReply(endpoint, response, await body.readReply()) as EndpointResponse<Name>;
    } catch (error) {
      body.close();
      if (callOptions.signal?.aborted) throw abortedError();
      throw isTeamServerError(error)
        ? error
        : new TeamServerError(0, "offline", "The connection to the Juggler server broke before it confirmed the message.", true, {
            cause: error,
          });
    }
    const messageId = (reply as { assistantMessage?: { id: string } }).assistantMessage?.id;
    if (messageId === undefined) {
      body.close();
      return { reply };
    }
    return {
      reply,
      answer: {
        messageId,
        events: (eventsSignal) => this.streams.read(messageId, { signal: eventsSignal, opened: body }),
        close: () => body.close(),
      },
    };
  }

  /**
   * POST /import with a file as it is (a Juggler export or ChatGPT's conversations.json): the one
   * request whose body is not JSON this client builds. Waits for the answer up to `timeoutMs`: a large
   * file takes a while to write.
   */
  async importFile(bytes: Uint8Array, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ImportResponse> {
    const endpoint = endpoints.importConversations;
    const response = await this.sessions.sendAuthorized(
      (token) =>
        this.transport.send(endpoint.method, endpoint.path, {
          rawBody: bytes,
          token,
          signal: options.signal,
          timeoutMs: options.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
        }),
      options.signal,
    );
    const json = await readJson(response);
    if (!response.ok) throw toTeamServerError(response, json);
    const parsed = importResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new TeamServerError(
        response.status,
        "invalid_response",
        "The Juggler server answered the import in an unexpected shape.",
        false,
        {
          cause: parsed.error,
        },
      );
    }
    return parsed.data;
  }

  /**
   * A download (an export, protocol/http/export.ts): the response with its body not read yet, so a
   * large file can be written as it arrives. A failure before the file starts is a TeamServerError.
   */
  async download(path: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Response> {
    const response = await this.sessions.sendAuthorized(
      (token) =>
        this.transport.send("GET", path, { token, signal: options.signal, timeoutMs: options.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS }),
      options.signal,
    );
    if (!response.ok) throw toTeamServerError(response, await readJson(response));
    return response;
  }

  /**
   * The events of one answer's generation, as they happen. Reconnects by itself with Last-Event-ID
   * when the connection drops (bounded retries with backoff), never yields an event twice, and
   * ends after generation-end or generation-error. Breaking out of the loop closes the connection.
   */
  streamGeneration(messageId: string, options: StreamGenerationOptions = {}): AsyncGenerator<GenerationEvent, void, undefined> {
    return this.streams.read(messageId, options);
  }

  /** The current access token, refreshed first when it expires within the leeway. */
  getAccessToken(): Promise<string> {
    return this.sessions.getAccessToken();
  }
}

/** The endpoint's success body checked against its response schema (nothing for endpoints without one). */
function parseReply(endpoint: EndpointDefinition, response: Response, json: unknown): unknown {
  if (!endpoint.response) return undefined;
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
  return parsed.data;
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
