import * as vscode from "vscode";
import { API_KEY_NAME_MAX_LENGTH, type ApiKey } from "../../../protocol/http/api-keys";
import { describeApiKeyDates } from "../api-keys/describe-api-key";
import { describeTeamModelsElsewhere } from "../api-keys/team-models-elsewhere";
import type { ChatSession } from "../chat/chat-session";

interface KeyQuickPickItem extends vscode.QuickPickItem {
  key?: ApiKey;
  action?: "create";
}

/** Made when a list is shown, not when the bundle loads (vscode's classes are not there for the bundle's own test). */
function revokeButton(): vscode.QuickInputButton {
  return { iconPath: new vscode.ThemeIcon("trash"), tooltip: "Revoke" };
}

/**
 * "Juggler: Manage API Keys" (create, list, revoke the personal keys of the gateway; a new key is shown
 * once, with a Copy button) and "Juggler: Use Team Models Elsewhere" (settings for other tools).
 */
export function registerApiKeyCommands(context: vscode.ExtensionContext, session: ChatSession): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.manageApiKeys", () => manageApiKeys(session)),
    vscode.commands.registerCommand("juggler.useTeamModelsElsewhere", () => useTeamModelsElsewhere(session)),
  );
}

async function requireReady(session: ChatSession): Promise<boolean> {
  if (session.connectionState === "ready") return true;
  if (session.connectionState === "signed-out" || session.connectionState === "needs-sign-in") {
    await vscode.commands.executeCommand("juggler.signIn");
    // The sign-in changed the state meanwhile (TypeScript narrowed it above).
    return (session.connectionState as string) === "ready";
  }
  void vscode.window.showWarningMessage(session.snapshot().banner?.message ?? "Juggler is not connected to its server yet.");
  return false;
}

export async function manageApiKeys(session: ChatSession): Promise<void> {
  if (!(await requireReady(session))) return;
  const quickPick = vscode.window.createQuickPick<KeyQuickPickItem>();
  quickPick.title = "Juggler API Keys";
  quickPick.placeholder = "Your personal keys for the team gateway (Continue, Cline, scripts…)";
  quickPick.matchOnDescription = true;
  quickPick.matchOnDetail = true;
  const load = async () => {
    quickPick.busy = true;
    try {
      const { apiKeys } = await session.client.call("listApiKeys");
      quickPick.items = toKeyItems(apiKeys);
    } catch (error) {
      quickPick.items = toKeyItems([]);
      void vscode.window.showErrorMessage(`Juggler could not list your API keys: ${errorMessage(error)}`);
    } finally {
      quickPick.busy = false;
    }
  };
  quickPick.items = toKeyItems([]);
  quickPick.show();
  void load();
  const revoke = async (key: ApiKey) => {
    quickPick.hide();
    if (await revokeKey(session, key)) await manageApiKeys(session);
  };
  await new Promise<void>((resolve) => {
    quickPick.onDidTriggerItemButton((event) => {
      if (event.item.key) void revoke(event.item.key);
    });
    quickPick.onDidAccept(() => {
      const item = quickPick.selectedItems[0];
      quickPick.hide();
      if (item?.action === "create") void createKey(session);
      else if (item?.key && !item.key.revokedAt) void revoke(item.key);
    });
    quickPick.onDidHide(() => resolve());
  });
  quickPick.dispose();
}

function toKeyItems(keys: readonly ApiKey[]): KeyQuickPickItem[] {
  const items: KeyQuickPickItem[] = [
    { label: "$(add) Create API Key…", detail: "A key is shown once, when it is made", action: "create", alwaysShow: true },
  ];
  const active = keys.filter((key) => !key.revokedAt);
  const revoked = keys.filter((key) => key.revokedAt);
  if (active.length > 0) items.push({ label: "Keys", kind: vscode.QuickPickItemKind.Separator });
  for (const key of active) {
    items.push({
      label: `$(key) ${key.name}`,
      description: `${key.prefix}…`,
      detail: describeApiKeyDates(key),
      buttons: [revokeButton()],
      key,
    });
  }
  if (revoked.length > 0) items.push({ label: "Revoked", kind: vscode.QuickPickItemKind.Separator });
  for (const key of revoked) {
    items.push({ label: `$(circle-slash) ${key.name}`, description: `${key.prefix}…`, detail: describeApiKeyDates(key), key });
  }
  return items;
}

/** Asks for a name, makes the key and shows it once. Returns the key's secret, or undefined when cancelled or failed. */
export async function createKey(session: ChatSession, suggestedName?: string): Promise<string | undefined> {
  const name = await vscode.window.showInputBox({
    title: "Create API Key",
    prompt: "Name it after what will use it (Continue, Cline, CI…): your usage is grouped by this name.",
    value: suggestedName,
    validateInput: (value) => {
      const trimmed = value.trim();
      if (trimmed.length === 0) return "Give the key a name";
      if (trimmed.length > API_KEY_NAME_MAX_LENGTH) return `At most ${API_KEY_NAME_MAX_LENGTH} characters`;
      return undefined;
    },
  });
  if (name === undefined) return undefined;
  let created: { key: string; apiKey: ApiKey };
  try {
    created = await session.client.call("createApiKey", { body: { name: name.trim() } });
  } catch (error) {
    void vscode.window.showErrorMessage(`Juggler could not create the key: ${errorMessage(error)}`);
    return undefined;
  }
  const copy = "Copy Key";
  const choice = await vscode.window.showInformationMessage(
    `Your API key "${created.apiKey.name}" is ready. Copy it now: it is not shown again.`,
    { modal: true, detail: created.key },
    copy,
  );
  if (choice === copy) {
    await vscode.env.clipboard.writeText(created.key);
    void vscode.window.showInformationMessage(`The key "${created.apiKey.name}" is on the clipboard.`);
  }
  return created.key;
}

async function revokeKey(session: ChatSession, key: ApiKey): Promise<boolean> {
  const revoke = "Revoke";
  const choice = await vscode.window.showWarningMessage(
    `Revoke the API key "${key.name}" (${key.prefix}…)?`,
    { modal: true, detail: "Tools using it are refused at once. This cannot be undone." },
    revoke,
  );
  if (choice !== revoke) return false;
  try {
    await session.client.call("revokeApiKey", { params: { keyId: key.id } });
    void vscode.window.showInformationMessage(`The API key "${key.name}" is revoked.`);
    return true;
  } catch (error) {
    void vscode.window.showErrorMessage(`Juggler could not revoke the key: ${errorMessage(error)}`);
    return false;
  }
}

interface ElsewhereChoice extends vscode.QuickPickItem {
  createKey: boolean;
}

export async function useTeamModelsElsewhere(session: ChatSession): Promise<vscode.TextEditor | undefined> {
  if (!(await requireReady(session))) return undefined;
  const choice = await vscode.window.showQuickPick<ElsewhereChoice>(
    [
      { label: "$(key) Create a New Key for It", detail: "Made now and written into the settings (shown only there)", createKey: true },
      { label: "$(edit) Use a Placeholder", detail: "You already have a key: paste it in yourself", createKey: false },
    ],
    { title: "Use Team Models Elsewhere", placeHolder: "Other tools reach the team's models with a personal API key" },
  );
  if (!choice) return undefined;
  const apiKey = choice.createKey ? await createKey(session, "Continue") : undefined;
  if (choice.createKey && apiKey === undefined) return undefined;
  const models = await session.reloadModels().catch(() => session.visibleModels);
  const content = describeTeamModelsElsewhere({ serverUrl: session.client.serverUrl, models, apiKey });
  // Untitled: the page (and a key on it) is never written to disk unless the user saves it.
  const document = await vscode.workspace.openTextDocument({ language: "markdown", content });
  return vscode.window.showTextDocument(document, { preview: false });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
