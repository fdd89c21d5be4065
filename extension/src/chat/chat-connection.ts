import type { User } from "../../../protocol/http/accounts";
import type { Model } from "../../../protocol/http/models";
import type { Banner, ConnectionState } from "../../../protocol/webview/chat-protocol";
import type { Disposable } from "../server-client/event-emitter";
import type { TeamServerClient } from "../server-client/team-server-client";
import { isTeamServerError, TeamServerError } from "../server-client/team-server-error";

/** What the chat does when the connection or the account changes. */
export interface ChatConnectionListener {
  /** Connected (before the state says ready): the visible models and the user, as the server says now. */
  accountLoaded(models: Model[], user: User): void;
  /** Ready after connecting: reopen what was open (or asked to be restored). */
  ready(): Promise<void>;
  /** Another account signed in, or none is any more: what the previous one saw must go. */
  accountChanged(): void;
  /** The state or the banner changed (the views get a snapshot, the surfaces update). */
  stateChanged(): void;
  /** A refresh changed the user (their role) while connected. */
  userChanged(): void;
  /** The periodic check read the visible models (an admin may have changed them). */
  modelsLoaded(models: Model[]): void;
}

/** How often the connection is checked, and how a lost one is retried. */
export interface ChatConnectionTiming {
  /**
   * While connected, how often the server is asked for the visible models. It proves the server is
   * still there (a member doing nothing would otherwise see a model in the status bar of a server
   * that is down) and keeps the model list live when an admin changes it elsewhere.
   */
  checkIntervalMs: number;
  /** While offline, the first wait before connecting again; it doubles after each failure, up to the maximum. */
  reconnectDelayMs: number;
  maxReconnectDelayMs: number;
}

export const DEFAULT_CONNECTION_TIMING: ChatConnectionTiming = {
  checkIntervalMs: 30_000,
  reconnectDelayMs: 2_000,
  maxReconnectDelayMs: 30_000,
};

/**
 * The chat's connection to the team server and the account behind it: signed out, connecting,
 * ready, offline, incompatible, or a session that ended ("sign in again", keeping the conversation
 * on screen). Connecting checks the server's version and loads the models and the user; failures
 * become a banner in plain words with the action that helps. Operations ask `requireReady()` first.
 * While ready it checks the server every `checkIntervalMs`, and any request that cannot reach the
 * server turns it offline at once; offline, it connects again by itself with a growing delay.
 */
export class ChatConnection implements Disposable {
  private stateValue: ConnectionState = "signed-out";
  private bannerValue: Banner | null = null;
  private connecting: Promise<void> | undefined;
  /** The account whose chat is shown; another account signing in clears it. */
  private userId: string | null = null;
  /** Set between onSessionExpired and the onSessionChanged(undefined) that follows it. */
  private isExpiring = false;
  private isDisposed = false;
  private readonly subscriptions: Disposable[];
  private checkTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private nextReconnectDelayMs: number;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly client: TeamServerClient,
    private readonly listener: ChatConnectionListener,
    private readonly log: (message: string, error?: unknown) => void = () => undefined,
    private readonly timing: ChatConnectionTiming = DEFAULT_CONNECTION_TIMING,
  ) {
    this.nextReconnectDelayMs = timing.reconnectDelayMs;
    this.subscriptions = [
      client.onSessionExpired(() => this.handleSessionExpired()),
      client.onSessionChanged((session) => this.handleSessionChanged(session !== undefined)),
      client.onServerUnreachable((error) => this.handleServerUnreachable(error)),
    ];
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get banner(): Banner | null {
    return this.bannerValue;
  }

  /** A banner that is not about the connection (a failed command, a lost stream); the state stays. */
  set banner(banner: Banner | null) {
    this.bannerValue = banner;
  }

  /** Restores a stored session and connects. No network before the first await, so activate() stays cheap. */
  async start(): Promise<void> {
    const session = await this.client.restoreSession();
    if (!session) {
      this.setState("signed-out", null);
      return;
    }
    await this.connect();
  }

  /**
   * Checks the server's version, loads the models and the user's preferences. `isQuiet` (connecting
   * again by itself while offline) keeps the offline state and its banner until it works, so the
   * status bar and the chat do not flicker every few seconds; a person's Reconnect shows "connecting".
   */
  connect(options: { isQuiet?: boolean } = {}): Promise<void> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const isQuiet = options.isQuiet === true && this.stateValue === "offline";
    this.connecting ??= this.performConnect(isQuiet).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /**
   * Checks the connection now (the window got the focus back): offline, connects again; ready, reads
   * the visible models (a refresh of the live check, not a new connection).
   */
  checkNow(): Promise<void> {
    if (this.stateValue === "offline" && this.client.isSignedIn) return this.connect({ isQuiet: true });
    if (this.stateValue === "ready") return this.check();
    return Promise.resolve();
  }

  /** The banner's "Retry": connects again, or asks to sign in when there is no session. */
  async retry(signIn: () => void | Promise<void>): Promise<void> {
    if (!this.client.isSignedIn) {
      await signIn();
      return;
    }
    await this.connect();
  }

  /** Throws, in plain words, unless connected. */
  requireReady(): void {
    if (this.stateValue === "ready") return;
    if (this.stateValue === "needs-sign-in")
      throw new TeamServerError(401, "not_signed_in", "Your Juggler session ended. Sign in again to continue.");
    if (this.stateValue === "signed-out" || !this.client.isSignedIn)
      throw new TeamServerError(401, "not_signed_in", "Sign in to Juggler first.");
    if (this.stateValue === "incompatible-server")
      throw new TeamServerError(
        0,
        "incompatible_server",
        this.bannerValue?.message ?? "The Juggler server is not compatible with this extension.",
      );
    if (this.stateValue === "connecting")
      throw new TeamServerError(0, "offline", "Still connecting to the Juggler server; try again in a moment.", true);
    throw new TeamServerError(0, "offline", this.bannerValue?.message ?? "Not connected to the Juggler server.", true);
  }

  dispose(): void {
    this.isDisposed = true;
    clearTimeout(this.checkTimer);
    clearTimeout(this.reconnectTimer);
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private async performConnect(isQuiet: boolean): Promise<void> {
    if (!isQuiet) this.setState("connecting", null);
    try {
      await this.client.connect();
      const [modelList, me] = await Promise.all([this.client.call("listModels"), this.client.call("getMe")]);
      if (this.isDisposed) return;
      this.userId = me.user.id;
      this.listener.accountLoaded(modelList.models, me.user);
      this.setState("ready", null);
      await this.listener.ready();
    } catch (error) {
      this.handleConnectionError(error);
    }
  }

  /** One live check: the visible models. A failure that means "offline" was already seen by handleServerUnreachable. */
  private check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        const { models } = await this.client.call("listModels");
        if (this.stateValue === "ready" && !this.isDisposed) this.listener.modelsLoaded(models);
      } catch (error) {
        if (!isTeamServerError(error, "offline")) this.log("Checking the Juggler server failed", error);
      } finally {
        this.checking = undefined;
        this.scheduleCheck();
      }
    })();
    return this.checking;
  }

  private scheduleCheck(): void {
    clearTimeout(this.checkTimer);
    this.checkTimer = undefined;
    if (this.stateValue !== "ready" || this.isDisposed || this.timing.checkIntervalMs <= 0) return;
    this.checkTimer = setTimeout(() => void this.check(), this.timing.checkIntervalMs);
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.stateValue !== "offline" || this.isDisposed || !this.client.isSignedIn) return;
    const delayMs = this.nextReconnectDelayMs;
    this.nextReconnectDelayMs = Math.min(delayMs * 2, this.timing.maxReconnectDelayMs);
    this.reconnectTimer = setTimeout(() => void this.connect({ isQuiet: true }), delayMs);
  }

  /** Any request that found the server unreachable: a connected chat says so now, not at the next check. */
  private handleServerUnreachable(error: TeamServerError): void {
    if (this.stateValue !== "ready" || this.isDisposed) return;
    this.setState("offline", offlineBanner(error));
  }

  private handleConnectionError(error: unknown): void {
    if (!this.client.isSignedIn) {
      // The session ended while connecting (refused refresh, disabled account): the expiry already set the state.
      if (this.stateValue !== "needs-sign-in") this.setState("signed-out", null);
      return;
    }
    if (isTeamServerError(error, "incompatible_server")) {
      this.setState("incompatible-server", {
        kind: "error",
        message: error.message,
        action: { label: "Open Settings", command: "openSettings" },
      });
    } else if (isTeamServerError(error, "offline")) {
      this.setState("offline", offlineBanner(error));
    } else {
      this.log("Connecting to the Juggler server failed", error);
      const message = error instanceof Error ? error.message : String(error);
      this.setState("offline", {
        kind: "error",
        message: `Could not connect to the Juggler server: ${message}`,
        action: { label: "Retry", command: "retryConnection" },
      });
    }
  }

  private handleSessionExpired(): void {
    this.isExpiring = true;
    this.setState("needs-sign-in", {
      kind: "warning",
      message: "Your Juggler session ended. Sign in again to continue — your draft is kept.",
      action: { label: "Sign In", command: "signIn" },
    });
  }

  private handleSessionChanged(isSignedIn: boolean): void {
    if (this.isDisposed) return;
    if (isSignedIn) {
      this.isExpiring = false;
      const userId = this.client.user?.id ?? null;
      // Someone else signed in (after an expiry, or in another window): the previous account's chat must go.
      if (this.userId !== null && userId !== this.userId) this.listener.accountChanged();
      this.userId = userId;
      // A refresh while ready only may change the user (their role): tell the surfaces.
      if (this.stateValue === "ready" || this.stateValue === "connecting") this.listener.userChanged();
      else void this.connect();
      return;
    }
    if (this.isExpiring) {
      // Expired: keep the conversation on screen behind the "sign in again" banner.
      this.isExpiring = false;
      return;
    }
    this.listener.accountChanged();
    this.userId = null;
    this.setState("signed-out", null);
  }

  private setState(state: ConnectionState, banner: Banner | null): void {
    const isUnchanged =
      state === this.stateValue && banner?.message === this.bannerValue?.message && banner?.kind === this.bannerValue?.kind;
    this.stateValue = state;
    this.bannerValue = banner;
    if (state === "ready") this.nextReconnectDelayMs = this.timing.reconnectDelayMs;
    this.scheduleCheck();
    this.scheduleReconnect();
    // Another failed attempt to connect again: nothing the views show has changed.
    if (!isUnchanged || state !== "offline") this.listener.stateChanged();
  }
}

function offlineBanner(error: TeamServerError): Banner {
  return {
    kind: "warning",
    message: `${error.message} Juggler connects again by itself.`,
    action: { label: "Reconnect", command: "retryConnection" },
  };
}
