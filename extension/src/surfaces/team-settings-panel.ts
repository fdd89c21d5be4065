import * as vscode from "vscode";
import { TeamSettingsHandlers } from "../admin/team-settings-handlers";
import type { ChatSession } from "../chat/chat-session";
import { registerAccountPanel } from "./account-panel";
import { buildTeamSettingsHtml, webviewOptions } from "./webview-content";

export const TEAM_SETTINGS_VIEW_TYPE = "juggler.teamSettings";

/** "Juggler: Team Settings" for admins: providers and keys, models and their visibility, users and registration. */
export function registerTeamSettings(context: vscode.ExtensionContext, session: ChatSession): void {
  registerAccountPanel(context, session, {
    command: "juggler.openTeamSettings",
    viewType: TEAM_SETTINGS_VIEW_TYPE,
    title: "Juggler Team Settings",
    iconPath: vscode.Uri.joinPath(context.extensionUri, "media", "juggler.svg"),
    options: webviewOptions(context.extensionUri),
    mayOpen: () => {
      if (session.isAdmin) return true;
      void vscode.window.showWarningMessage("Team Settings are for Juggler admins. Sign in with an admin account.");
      return false;
    },
    mayStayOpen: () => session.isAdmin,
    createHandlers: (post) =>
      new TeamSettingsHandlers(session.client, post, () => {
        // Members' model lists (and the status bar) follow the admin's choices.
        void session.reloadModels().catch(() => undefined);
      }),
    html: (webview) => buildTeamSettingsHtml(webview, context.extensionUri),
  });
}
