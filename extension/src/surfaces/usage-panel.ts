import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import { UsageViewHandlers } from "../usage/usage-view-handlers";
import { registerAccountPanel } from "./account-panel";
import { buildUsageHtml, webviewOptions } from "./webview-content";

export const USAGE_VIEW_TYPE = "juggler.usage";

/**
 * "Juggler: Show Usage": tokens, cost and requests over time, by provider, model, client and (admins)
 * user, with a table and a CSV export. Its charts' library is in this panel's bundle only.
 */
export function registerUsagePanel(context: vscode.ExtensionContext, session: ChatSession): void {
  registerAccountPanel(context, session, {
    command: "juggler.showUsage",
    viewType: USAGE_VIEW_TYPE,
    title: "Juggler Usage",
    iconPath: new vscode.ThemeIcon("graph"),
    options: {
      ...webviewOptions(context.extensionUri),
      // The charts are drawn again from the host's figures when the tab shows again.
      retainContextWhenHidden: false,
    },
    mayOpen: async () => {
      if (session.connectionState !== "signed-out" && session.connectionState !== "needs-sign-in") return true;
      // signed out: sign in first; the panel opens if that succeeded
      await vscode.commands.executeCommand("juggler.signIn");
      return session.user !== undefined;
    },
    mayStayOpen: () => session.user !== undefined,
    createHandlers: (post) =>
      new UsageViewHandlers(session.client, post, {
        saveCsv: async (suggestedFileName, content) => {
          const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
          const target = await vscode.window.showSaveDialog({
            title: "Export Usage as CSV",
            defaultUri: folder ? vscode.Uri.joinPath(folder, suggestedFileName) : undefined,
            filters: { "CSV files": ["csv"] },
            saveLabel: "Export",
          });
          if (!target) return undefined;
          await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(content));
          const fileName = target.path.slice(target.path.lastIndexOf("/") + 1);
          void vscode.window.showInformationMessage(`Usage exported to ${fileName}.`);
          return fileName;
        },
      }),
    html: (webview) => buildUsageHtml(webview, context.extensionUri),
  });
}
