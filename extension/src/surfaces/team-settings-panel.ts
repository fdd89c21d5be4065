import * as vscode from "vscode";
import { TeamSettingsHandlers } from "../admin/team-settings-handlers";
import type { ChatSession } from "../chat/chat-session";
import { followSignedInAccount } from "./follow-signed-in-account";
import { buildTeamSettingsHtml, webviewOptions } from "./webview-content";

export const TEAM_SETTINGS_VIEW_TYPE = "juggler.teamSettings";

/** "Juggler: Team Settings" for admins: providers and keys, models and their visibility, users and registration. */
export function registerTeamSettings(context: vscode.ExtensionContext, session: ChatSession): void {
  let panel: vscode.WebviewPanel | undefined;
  let handlers: TeamSettingsHandlers | undefined;

  const open = () => {
    if (!session.isAdmin) {
      void vscode.window.showWarningMessage("Team Settings are for Juggler admins. Sign in with an admin account.");
      return;
    }
    if (panel) {
      panel.reveal();
      return;
    }
    const created = vscode.window.createWebviewPanel(
      TEAM_SETTINGS_VIEW_TYPE,
      "Juggler Team Settings",
      vscode.ViewColumn.Active,
      webviewOptions(context.extensionUri),
    );
    panel = created;
    created.iconPath = vscode.Uri.joinPath(context.extensionUri, "media", "juggler.svg");
    const panelHandlers = new TeamSettingsHandlers(
      session.client,
      (message) => {
        void created.webview.postMessage(message);
      },
      () => {
        // Members' model lists (and the status bar) follow the admin's choices.
        void session.reloadModels().catch(() => undefined);
      },
    );
    handlers = panelHandlers;
    const subscriptions = [created.webview.onDidReceiveMessage((message: unknown) => panelHandlers.handleMessage(message))];
    created.onDidDispose(() => {
      for (const subscription of subscriptions) subscription.dispose();
      panel = undefined;
      handlers = undefined;
    });
    created.webview.html = buildTeamSettingsHtml(created.webview, context.extensionUri);
  };

  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.openTeamSettings", open),
    followSignedInAccount(session, {
      mayStayOpen: () => session.isAdmin,
      panel: () => panel,
      invalidate: (reason) => handlers?.invalidate(reason),
    }),
    new vscode.Disposable(() => panel?.dispose()),
  );
}
