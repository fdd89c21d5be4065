import type { TeamServerClient } from "../server-client/team-server-client";

/** Where the key is kept: VS Code's SecretStorage (it matches this shape), a Map in tests. */
export interface SecretValues {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** The name of the key the extension makes for itself; the usage view shows it as the client. */
export const VS_CODE_CHAT_KEY_NAME = "VS Code chat";

/**
 * The personal API key with which VS Code's own chat reaches the team gateway
 * (docs/decisions/0024-vs-code-chat-models-and-usage-view.md). The gateway takes only personal
 * keys, never session tokens, so the first request of a signed-in user makes one with the session
 * (`POST /me/api-keys`, name "VS Code chat") and keeps it in SecretStorage under the server and the
 * user. It is listed with the user's other keys; revoked there, the next request makes a new one.
 */
export class GatewayKeyKeeper {
  private pending: Promise<string> | undefined;

  constructor(
    private readonly client: TeamServerClient,
    private readonly secrets: SecretValues,
  ) {}

  /** The key for the signed-in user of the current server, made the first time. */
  async getKey(): Promise<string> {
    const secretKey = this.secretKey();
    const stored = await this.secrets.get(secretKey);
    if (stored) return stored;
    // One creation for concurrent requests (VS Code may ask for two answers at once).
    this.pending ??= (async () => {
      try {
        const created = await this.client.call("createApiKey", { body: { name: VS_CODE_CHAT_KEY_NAME } });
        await this.secrets.store(secretKey, created.key);
        return created.key;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }

  /** The gateway refused the key (revoked): forget it, so the next request makes a new one. */
  async forget(): Promise<void> {
    await this.secrets.delete(this.secretKey());
  }

  private secretKey(): string {
    const user = this.client.user;
    if (!user) throw new Error("Sign in to Juggler to use its models.");
    return `juggler.gatewayKey:${this.client.serverUrl}:${user.id}`;
  }
}
