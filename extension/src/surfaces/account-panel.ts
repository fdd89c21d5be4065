import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import { followSignedInAccount } from "./follow-signed-in-account";

/** What a panel's host side does with its webview's messages. */
export interface AccountPanelHandlers {
  handleMessage(message: unknown): Promise<void>;
  invalidate(reason?: string): void;
}

/** One kind of account panel (Team Settings, Usage): what differs between them. */
export interface AccountPanelSpec {
  command: string;
  viewType: string;
  title: string;
  iconPath: vscode.Uri | vscode.ThemeIcon;
  options: vscode.WebviewPanelOptions & vscode.WebviewOptions;
  /** Whether the command may open the panel now; when not, it has told the user why (or signed them in and they gave up). */
  mayOpen(): boolean | Promise<boolean>;
  /** Whether an open panel may stay open for the account signed in now. */
  mayStayOpen(): boolean;
  /** The host side of a new panel; `post` sends to its webview. */
  createHandlers(post: (message: unknown) => void): AccountPanelHandlers;
  html(webview: vscode.Webview): string;
}

/**
 * A command that opens a webview panel showing the signed-in account's data, one at a time: run
 * again, it reveals the open panel. The panel follows the account (followSignedInAccount): it
 * closes when it may no longer stay open and loads everything again for another account.
 */
export function registerAccountPanel(context: vscode.ExtensionContext, session: ChatSession, spec: AccountPanelSpec): void {
  let panel: vscode.WebviewPanel | undefined;
  let handlers: AccountPanelHandlers | undefined;

  const open = async () => {
    if (!(await spec.mayOpen())) return;
    if (panel) {
      panel.reveal();
      return;
    }
    const created = vscode.window.createWebviewPanel(spec.viewType, spec.title, vscode.ViewColumn.Active, spec.options);
    panel = created;
    created.iconPath = spec.iconPath;
    const panelHandlers = spec.createHandlers((message) => {
      void created.webview.postMessage(message);
    });
    handlers = panelHandlers;
    const receiving = created.webview.onDidReceiveMessage((message: unknown) => panelHandlers.handleMessage(message));
    created.onDidDispose(() => {
      receiving.dispose();
      panel = undefined;
      handlers = undefined;
    });
    created.webview.html = spec.html(created.webview);
  };

  context.subscriptions.push(
    vscode.commands.registerCommand(spec.command, open),
    followSignedInAccount(session, {
      mayStayOpen: spec.mayStayOpen,
      panel: () => panel,
      invalidate: (reason) => handlers?.invalidate(reason),
    }),
    new vscode.Disposable(() => panel?.dispose()),
  );
}
