import type * as vscode from "vscode";
import { parseStoredSession, type StoredSession, type TokenStore } from "../server-client/token-store";

const sessionSecretKey = "juggler.session";

/**
 * The session (tokens included) lives only in VS Code's SecretStorage, which the OS keychain backs;
 * never in settings, globalState or files. Every window of the same VS Code shares it.
 */
export class SecretTokenStore implements TokenStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  async get(): Promise<StoredSession | undefined> {
    return parseStoredSession(await this.secrets.get(sessionSecretKey));
  }

  async set(session: StoredSession): Promise<void> {
    await this.secrets.store(sessionSecretKey, JSON.stringify(session));
  }

  async delete(): Promise<void> {
    await this.secrets.delete(sessionSecretKey);
  }

  /** Fires when another window signed in, refreshed or signed out. */
  onDidChange(listener: () => void): vscode.Disposable {
    return this.secrets.onDidChange((event) => {
      if (event.key === sessionSecretKey) listener();
    });
  }
}
