import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { renderChatHtml, renderTeamSettingsHtml, renderUsageHtml, type WebviewHtmlOptions } from "./webview-html";

/** The one folder a Juggler webview may load from: the bundled webview code, styles and codicons. */
export function webviewBundleFolder(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, "dist", "webview");
}

/** Scripts on; resources limited to dist/webview (no retainContextWhenHidden: state and snapshots restore the view). */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, localResourceRoots: [webviewBundleFolder(extensionUri)], enableFindWidget: true };
}

export function buildChatHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return renderChatHtml(htmlOptions(webview, extensionUri, "chat"));
}

export function buildTeamSettingsHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return renderTeamSettingsHtml(htmlOptions(webview, extensionUri, "team-settings"));
}

export function buildUsageHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return renderUsageHtml(htmlOptions(webview, extensionUri, "usage"));
}

function htmlOptions(webview: vscode.Webview, extensionUri: vscode.Uri, page: "chat" | "team-settings" | "usage"): WebviewHtmlOptions {
  const folder = webviewBundleFolder(extensionUri);
  const resource = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(folder, name)).toString();
  return {
    cspSource: webview.cspSource,
    // A fresh nonce per render: the CSP allows only the script tags that carry it.
    nonce: randomBytes(18).toString("base64"),
    scriptUri: resource(`${page}.js`),
    styleUri: resource(`${page}.css`),
    codiconUri: resource("codicon.css"),
  };
}
