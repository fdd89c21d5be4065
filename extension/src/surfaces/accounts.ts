import * as vscode from "vscode";
import { ADMIN_TOKEN_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../../protocol/http/accounts";
import type { MetaResponse } from "../../../protocol/http/meta";
import { isHttpUrl } from "../../../protocol/parse-http-url";
import type { TeamServerClient } from "../server-client/team-server-client";
import { isTeamServerError } from "../server-client/team-server-error";
import type { StoredSession } from "../server-client/token-store";
import { welcomeFirstAdmin } from "./first-run";
import { readServerUrlSetting, SETTINGS_SECTION } from "./settings";

export const AUTHENTICATION_PROVIDER_ID = "juggler";
const AUTHENTICATION_PROVIDER_LABEL = "Juggler";
/**
 * The scopes of every Juggler session (the server has none; one session grants the whole chat). Not
 * empty: VS Code 1.139 keys an Accounts-menu sign-in request by its scopes joined with spaces and
 * splits the key again when a session is added, so a request for no scopes ("" → [""]) never
 * matches the new session and its "Sign in with Juggler" entry and badge stayed after signing in.
 */
const SESSION_SCOPES: readonly string[] = ["juggler"];

/**
 * Juggler in VS Code's Accounts menu. Signing in asks for the server address, name and password
 * (and offers "Create account" when the server allows registration, and "Set up the first admin"
 * with the server's one-time admin token); the tokens go to
 * SecretStorage through the client's TokenStore. Signing out revokes the refresh token on the server.
 */
export class JugglerAuthenticationProvider implements vscode.AuthenticationProvider, vscode.Disposable {
  private readonly sessionsChanged = new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.sessionsChanged.event;
  private lastSession: vscode.AuthenticationSession | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly client: TeamServerClient) {
    this.subscriptions.push(
      this.sessionsChanged,
      toVsCodeDisposable(this.client.onSessionChanged((session) => this.reportSession(session))),
    );
  }

  async getSessions(): Promise<vscode.AuthenticationSession[]> {
    const session = await this.client.restoreSession();
    return session ? [toAuthenticationSession(session)] : [];
  }

  async createSession(): Promise<vscode.AuthenticationSession> {
    const session = await signInInteractively(this.client);
    return toAuthenticationSession(session);
  }

  async removeSession(): Promise<void> {
    await this.client.signOut();
  }

  private reportSession(session: StoredSession | undefined): void {
    const previous = this.lastSession;
    const next = session ? toAuthenticationSession(session) : undefined;
    this.lastSession = next;
    if (previous && !next) this.sessionsChanged.fire({ added: [], removed: [previous], changed: [] });
    else if (!previous && next) this.sessionsChanged.fire({ added: [next], removed: [], changed: [] });
    else if (previous && next) {
      if (previous.id !== next.id) this.sessionsChanged.fire({ added: [next], removed: [previous], changed: [] });
      else if (previous.accessToken !== next.accessToken) this.sessionsChanged.fire({ added: [], removed: [], changed: [next] });
    }
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}

/** Registers the provider, the Sign In / Sign Out commands and the one "sign in again" prompt. */
export function registerAccounts(context: vscode.ExtensionContext, client: TeamServerClient): void {
  const provider = new JugglerAuthenticationProvider(client);
  // Asking for a session without createIfNone (and not silently) makes VS Code put "Sign in with
  // Juggler to use Juggler" in the Accounts menu; choosing it calls createSession. Done whenever
  // nobody is signed in, so the entry is there on first run and after signing out.
  const offerSignInInAccountsMenu = () => {
    vscode.authentication.getSession(AUTHENTICATION_PROVIDER_ID, SESSION_SCOPES, {}).then(undefined, (error: unknown) => {
      console.warn("Juggler could not offer sign-in in the Accounts menu", error);
    });
  };
  void client.restoreSession().then((session) => {
    if (!session) offerSignInInAccountsMenu();
  });
  context.subscriptions.push(
    provider,
    vscode.authentication.registerAuthenticationProvider(AUTHENTICATION_PROVIDER_ID, AUTHENTICATION_PROVIDER_LABEL, provider, {
      supportsMultipleAccounts: false,
    }),
    toVsCodeDisposable(
      client.onSessionChanged((session) => {
        if (!session) offerSignInInAccountsMenu();
      }),
    ),
    vscode.commands.registerCommand("juggler.signIn", async (): Promise<vscode.AuthenticationSession | undefined> => {
      try {
        return await provider.createSession();
      } catch (error) {
        // Cancelling any step ends here; errors were already shown where they happened.
        if (!(error instanceof SignInCancelledError)) console.warn("Juggler sign-in did not complete", error);
        return undefined;
      }
    }),
    vscode.commands.registerCommand("juggler.signOut", async () => {
      if (!client.isSignedIn && !(await client.restoreSession())) {
        void vscode.window.showInformationMessage("You are not signed in to Juggler.");
        return;
      }
      await client.signOut();
      void vscode.window.showInformationMessage("Signed out of Juggler.");
    }),
  );

  let isPromptOpen = false;
  context.subscriptions.push(
    toVsCodeDisposable(
      client.onSessionExpired(async () => {
        // One prompt, however many requests noticed the expiry; the chat keeps the draft in its own state.
        if (isPromptOpen) return;
        isPromptOpen = true;
        try {
          const choice = await vscode.window.showWarningMessage("Your Juggler session ended. Sign in again", "Sign In Again");
          if (choice) await signIn();
        } finally {
          isPromptOpen = false;
        }
      }),
    ),
  );
}

/**
 * Signs in with Juggler's own prompts. Not through authentication.getSession(createIfNone): VS Code
 * would first ask "The extension 'Juggler' wants to sign in using Juggler" on every sign-in, about
 * the extension's own provider. The Accounts menu still lists the session (onDidChangeSessions).
 */
export function signIn(): Thenable<vscode.AuthenticationSession | undefined> {
  return vscode.commands.executeCommand<vscode.AuthenticationSession | undefined>("juggler.signIn");
}

class SignInCancelledError extends Error {
  constructor() {
    super("Sign-in was cancelled");
  }
}

async function signInInteractively(client: TeamServerClient): Promise<StoredSession> {
  const previousServerUrl = client.serverUrl;
  try {
    return await askAndSignIn(client);
  } catch (error) {
    // A cancelled sign-in to another server must not leave this window pointing at it.
    if (client.serverUrl !== previousServerUrl) {
      client.setServerUrl(previousServerUrl);
      await client.reloadStoredSession();
    }
    throw error;
  }
}

async function askAndSignIn(client: TeamServerClient): Promise<StoredSession> {
  const title = "Sign in to Juggler";
  const serverUrl = await vscode.window.showInputBox({
    title,
    prompt: "The address of your team's Juggler server",
    value: client.isSignedIn ? client.serverUrl : readServerUrlSetting(),
    placeHolder: "http://localhost:8080",
    ignoreFocusOut: true,
    validateInput: (value) => (isHttpUrl(value) ? undefined : "Enter an http:// or https:// address"),
  });
  if (serverUrl === undefined) throw new SignInCancelledError();
  client.setServerUrl(serverUrl);

  let meta: MetaResponse;
  try {
    meta = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Connecting to ${serverUrl}…` }, () =>
      client.connect(),
    );
  } catch (error) {
    await showFailure(error);
    throw new SignInCancelledError();
  }

  // "Create account" only when the server takes registrations; setting up the first admin always
  // (with the one-time token the server printed: it works whatever the registration policy).
  type Mode = "sign-in" | "create" | "first-admin";
  const choices: Array<vscode.QuickPickItem & { mode: Mode }> = [
    { label: "$(sign-in) Sign in", detail: "Use an account you already have", mode: "sign-in" },
  ];
  if (meta.registration !== "closed") {
    choices.push({
      label: "$(person-add) Create account",
      detail: meta.registration === "approval" ? "An admin approves new accounts before they can sign in" : "A new account on this server",
      mode: "create",
    });
  }
  choices.push({
    label: "$(key) Set up the first admin",
    detail: "For a new server: needs the one-time admin token the server printed when it started",
    mode: "first-admin",
  });
  const choice = await vscode.window.showQuickPick(choices, { title, placeHolder: "Sign in or create an account", ignoreFocusOut: true });
  if (!choice) throw new SignInCancelledError();
  const mode = choice.mode;
  const isCreatingAccount = mode !== "sign-in";
  const creatingTitle = mode === "first-admin" ? "Set up the first Juggler admin" : "Create a Juggler account";

  let adminToken: string | undefined;
  if (mode === "first-admin") {
    adminToken = await vscode.window.showInputBox({
      title: creatingTitle,
      prompt: "The one-time admin token from the team server's console",
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) =>
        value.trim().length === 0
          ? "The token is required"
          : value.trim().length > ADMIN_TOKEN_MAX_LENGTH
            ? "That is not an admin token"
            : undefined,
    });
    if (adminToken === undefined) throw new SignInCancelledError();
    adminToken = adminToken.trim();
  }

  const name = await vscode.window.showInputBox({
    title: isCreatingAccount ? creatingTitle : title,
    prompt: "Your name on the team server",
    ignoreFocusOut: true,
    validateInput: (value) => {
      const trimmed = value.trim();
      if (trimmed.length === 0) return "Name is required";
      if (trimmed.length > NAME_MAX_LENGTH) return `At most ${NAME_MAX_LENGTH} characters`;
      return /^[\p{L}\p{N}._-]+$/u.test(trimmed) ? undefined : "Letters, digits, dot, dash and underscore only";
    },
  });
  if (name === undefined) throw new SignInCancelledError();
  const password = await vscode.window.showInputBox({
    title: isCreatingAccount ? creatingTitle : title,
    prompt: isCreatingAccount ? `Choose a password (at least ${PASSWORD_MIN_LENGTH} characters)` : "Password",
    password: true,
    ignoreFocusOut: true,
    validateInput: (value) =>
      isCreatingAccount && value.length < PASSWORD_MIN_LENGTH
        ? `At least ${PASSWORD_MIN_LENGTH} characters`
        : value.length === 0
          ? "Password is required"
          : undefined,
  });
  if (password === undefined) throw new SignInCancelledError();

  try {
    let session: StoredSession;
    if (isCreatingAccount) {
      const result = await client.register({ name: name.trim(), password, adminToken });
      if (result.kind === "pending") {
        void vscode.window.showInformationMessage(
          `Your Juggler account "${name.trim()}" was created. An admin must approve your account before you can sign in.`,
        );
        throw new SignInCancelledError();
      }
      if (result.kind === "name-unavailable") {
        // The server does not say whether the name exists; this is all the client can tell.
        void vscode.window.showWarningMessage(
          `Juggler could not create an account named "${name.trim()}": the name, or one that looks like it, is not available. If it is your account, sign in with its password; otherwise choose another name.`,
        );
        throw new SignInCancelledError();
      }
      session = result.session;
      if (session.user.role === "admin") void welcomeFirstAdmin();
    } else {
      session = await client.signIn({ name: name.trim(), password });
    }
    await rememberServerUrl(serverUrl);
    return session;
  } catch (error) {
    if (!(error instanceof SignInCancelledError)) await showFailure(error);
    throw error instanceof SignInCancelledError ? error : new SignInCancelledError();
  }
}

async function showFailure(error: unknown): Promise<void> {
  if (isTeamServerError(error, "account_pending")) {
    await vscode.window.showWarningMessage("An admin must approve your account before you can sign in to Juggler.");
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (isTeamServerError(error, "offline") || isTeamServerError(error, "incompatible_server")) {
    const choice = await vscode.window.showErrorMessage(message, "Open Settings");
    if (choice) await vscode.commands.executeCommand("workbench.action.openSettings", `${SETTINGS_SECTION}.serverUrl`);
    return;
  }
  await vscode.window.showErrorMessage(`Juggler: ${message}`);
}

async function rememberServerUrl(serverUrl: string): Promise<void> {
  if (readServerUrlSetting() === serverUrl.trim()) return;
  await vscode.workspace.getConfiguration(SETTINGS_SECTION).update("serverUrl", serverUrl.trim(), vscode.ConfigurationTarget.Global);
}

function toAuthenticationSession(session: StoredSession): vscode.AuthenticationSession {
  let host = session.serverUrl;
  try {
    host = new URL(session.serverUrl).host;
  } catch {
    // keep the address as typed
  }
  return {
    id: `${session.user.id}@${session.serverUrl}`,
    accessToken: session.accessToken,
    account: { id: session.user.id, label: `${session.user.name} (${host})` },
    scopes: [...SESSION_SCOPES],
  };
}

export function toVsCodeDisposable(disposable: { dispose(): void }): vscode.Disposable {
  return new vscode.Disposable(() => disposable.dispose());
}
