import { sessionResponseSchema, type SessionResponse, type User } from "../../../protocol/http/accounts";
import { endpoints } from "../../../protocol/http/endpoints";
import { EventEmitter, type Event } from "./event-emitter";
import { normalizeServerUrl, readJson, throwIfAborted, toTeamServerError, type HttpTransport } from "./http-transport";
import { TeamServerError } from "./team-server-error";
import type { StoredSession, TokenStore } from "./token-store";

export interface SessionKeeperOptions {
  transport: HttpTransport;
  tokenStore: TokenStore;
  now: () => number;
  /** Refresh the access token this long before it expires, so a request does not race the expiry. */
  refreshLeewayMs: number;
}

/**
 * The signed-in session of one server: the access token in memory and the whole session in the
 * TokenStore (SecretStorage in VS Code, shared by the windows). It refreshes the access token once
 * when it expires — concurrent callers share that refresh — authorises requests (one refresh and
 * retry on a refused token), and reports `onSessionExpired` when the server refuses the session.
 */
export class SessionKeeper {
  private readonly transport: HttpTransport;
  readonly tokenStore: TokenStore;
  private readonly now: () => number;
  private readonly refreshLeewayMs: number;
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

  constructor(options: SessionKeeperOptions) {
    this.transport = options.transport;
    this.tokenStore = options.tokenStore;
    this.now = options.now;
    this.refreshLeewayMs = options.refreshLeewayMs;
  }

  get current(): StoredSession | undefined {
    return this.session;
  }

  get user(): User | undefined {
    return this.session?.user;
  }

  /** The client moved to another server: a session of the previous one is no longer used. */
  serverChanged(serverUrl: string): void {
    if (this.session && this.session.serverUrl !== serverUrl) {
      this.session = undefined;
      this.sessionChanged.fire(undefined);
    }
  }

  /** Loads the stored session of this server (once; later calls return the current one). */
  async restore(): Promise<StoredSession | undefined> {
    if (this.hasRestored) return this.session;
    // Calls made at the same time share one read: a second caller must not see "no session" while the first still reads.
    this.restoring ??= this.readStoredSession().finally(() => {
      this.hasRestored = true;
      this.restoring = undefined;
    });
    await this.restoring;
    return this.session;
  }

  /**
   * Takes over what the token store holds now: another VS Code window signed in, refreshed or signed
   * out (they share SecretStorage). Our own writes find nothing new.
   */
  async reloadStored(): Promise<void> {
    const stored = await this.tokenStore.get();
    const usable = stored && this.isForThisServer(stored) ? stored : undefined;
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

  /** A sign-in, registration or refresh answered with a session: it becomes the current and stored one. */
  async adopt(response: SessionResponse): Promise<StoredSession> {
    const session: StoredSession = {
      serverUrl: this.transport.serverUrl,
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

  /** Signing out: forgets the session here and in the store; returns it (for revoking on the server). */
  async forget(): Promise<StoredSession | undefined> {
    const session = this.session ?? (await this.restore());
    this.session = undefined;
    return session;
  }

  /** After `forget` and the server's revocation (or its failure). */
  async finishSigningOut(): Promise<void> {
    await this.tokenStore.delete();
    this.sessionChanged.fire(undefined);
  }

  /** The current access token, refreshed first when it expires within the leeway. */
  async getAccessToken(): Promise<string> {
    const session = this.session ?? (await this.restore());
    if (!session) throw notSignedInError();
    if (this.isExpiringSoon(session)) return this.refreshAccessToken(session.accessToken);
    return session.accessToken;
  }

  /**
   * Sends with the access token. A refused token (expired, or unreadable since the server's secret
   * changed) is refreshed once and the request sent again; a fresh token refused at once, or a
   * disabled or pending account, ends the session.
   */
  async sendAuthorized(sendWith: (token: string) => Promise<Response>, signal: AbortSignal | undefined): Promise<Response> {
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
        await this.expire(this.session?.refreshToken, refused);
        throw refused;
      }
    }
    if (response.status === 403) {
      const error = toTeamServerError(response, await readJson(response.clone()));
      // An admin disabled the account: nothing works until the user signs in again (and learns why).
      if (error.code === "account_disabled" || error.code === "account_pending") {
        await this.expire(this.session?.refreshToken, error);
        throw error;
      }
    }
    return response;
  }

  private async readStoredSession(): Promise<void> {
    const stored = await this.tokenStore.get();
    if (stored && this.isForThisServer(stored) && !this.session && !this.hasRestored) {
      this.session = stored;
      this.hasReportedExpiry = false;
      this.sessionChanged.fire(stored);
    }
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
    if (stored && stored.refreshToken !== current.refreshToken && stored.user.id === current.user.id && this.isForThisServer(stored)) {
      this.session = stored;
      if (!this.isExpiringSoon(stored)) return stored.accessToken;
    }
    const refreshToken = this.session?.refreshToken ?? current.refreshToken;
    const response = await this.transport.send("POST", endpoints.refresh.path, { body: { refreshToken } });
    const json = await readJson(response);
    if (!response.ok) {
      const error = toTeamServerError(response, json);
      if (response.status === 401 || response.status === 403) await this.expire(refreshToken, error);
      throw error;
    }
    const parsed = sessionResponseSchema.safeParse(json);
    if (!parsed.success)
      throw new TeamServerError(
        response.status,
        "invalid_response",
        "The Juggler server answered the token refresh in an unexpected shape.",
      );
    const session = await this.adopt(parsed.data);
    return session.accessToken;
  }

  private async expire(refusedRefreshToken: string | undefined, error: TeamServerError): Promise<void> {
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

  private isExpiringSoon(session: StoredSession): boolean {
    const expiresAtMs = Date.parse(session.accessTokenExpiresAt);
    return Number.isFinite(expiresAtMs) && this.now() >= expiresAtMs - this.refreshLeewayMs;
  }

  private isForThisServer(session: StoredSession): boolean {
    return normalizeServerUrl(session.serverUrl) === this.transport.serverUrl;
  }
}

export function notSignedInError(): TeamServerError {
  return new TeamServerError(401, "not_signed_in", "Sign in to Juggler first.");
}
