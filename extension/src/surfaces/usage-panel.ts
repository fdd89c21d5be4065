import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import { UsageViewHandlers } from "../usage/usage-view-handlers";
import { followSignedInAccount } from "./follow-signed-in-account";
import { buildUsageHtml, webviewOptions } from "./webview-content";

export const USAGE_VIEW_TYPE = "juggler.usage";

/**
 * "Juggler: Show Usage": tokens, cost and requests over time, by provider, model, client and (admins)
 * user, with a table and a CSV export. Its charts' library is in this panel's bundle only.
 */
export function registerUsagePanel(context: vscode.ExtensionContext, session: ChatSession): void {
  let panel: vscode.WebviewPanel | undefined;
  let handlers: UsageViewHandlers | undefined;

  const open = async () => {
    if (session.connectionState === "signed-out" || session.connectionState === "needs-sign-in") {
      await vscode.commands.executeCommand("juggler.signIn");
      if (!session.user) return;
    }
    if (panel) {
      panel.reveal();
      return;
    }
    const created = vscode.window.createWebviewPanel(USAGE_VIEW_TYPE, "Juggler Usage", vscode.ViewColumn.Active, {
      ...webviewOptions(context.extensionUri),
      // The charts are drawn again from the host's figures when the tab shows again.
      retainContextWhenHidden: false,
    });
    panel = created;
    created.iconPath = new vscode.ThemeIcon("graph");
    const panelHandlers = new UsageViewHandlers(
      session.client,
      (message) => {
        void created.webview.postMessage(message);
      },
      {
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
      },
    );
    handlers = panelHandlers;
    const subscriptions = [created.webview.onDidReceiveMessage((message: unknown) => panelHandlers.handleMessage(message))];
    created.onDidDispose(() => {
      for (const subscription of subscriptions) subscription.dispose();
      panel = undefined;
      handlers = undefined;
    });
    created.webview.html = buildUsageHtml(created.webview, context.extensionUri);
  };

  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.showUsage", open),
    followSignedInAccount(session, {
      mayStayOpen: () => session.user !== undefined,
      panel: () => panel,
      invalidate: (reason) => handlers?.invalidate(reason),
    }),
    new vscode.Disposable(() => panel?.dispose()),
  );
}
