import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import { toVsCodeDisposable } from "./accounts";

/** Context keys the manifest's `when` clauses use (menus, welcome views, the admin command). */
export const contextKeys = {
  isAdmin: "juggler.isAdmin",
  isSignedIn: "juggler.isSignedIn",
  connectionState: "juggler.connectionState",
  /** The Conversations tree's scope: "workspace" or "all". */
  conversationScope: "juggler.conversationScope",
  hasConversationFilter: "juggler.hasConversationFilter",
  hasWorkspaceFolder: "juggler.hasWorkspaceFolder",
  /** At least one model is visible (the walkthrough's "choose models" step is done). */
  hasModels: "juggler.hasModels",
} as const;

export function registerContextKeys(context: vscode.ExtensionContext, session: ChatSession): void {
  const update = () => {
    void vscode.commands.executeCommand("setContext", contextKeys.isAdmin, session.isAdmin);
    void vscode.commands.executeCommand("setContext", contextKeys.isSignedIn, session.connectionState === "ready");
    void vscode.commands.executeCommand("setContext", contextKeys.connectionState, session.connectionState);
    void vscode.commands.executeCommand("setContext", contextKeys.hasModels, session.visibleModels.length > 0);
  };
  update();
  context.subscriptions.push(toVsCodeDisposable(session.onStateChanged(update)), toVsCodeDisposable(session.onActiveModelChanged(update)));
}
