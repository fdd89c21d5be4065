import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import { toVsCodeDisposable } from "./accounts";

/**
 * A webview panel that shows the signed-in account's data (Team Settings, Usage): it closes when
 * `mayStayOpen()` no longer holds (signed out, or no longer an admin), and is told to load everything
 * again when another account (or the same one with another role) signs in. Nothing happens while
 * the session is still connecting.
 */
export function followSignedInAccount(
  session: ChatSession,
  follower: { mayStayOpen(): boolean; panel(): vscode.WebviewPanel | undefined; invalidate(reason: string): void },
): vscode.Disposable {
  let accountKey = "";
  return toVsCodeDisposable(
    session.onStateChanged(() => {
      if (session.connectionState === "connecting") return;
      const panel = follower.panel();
      if (panel && !follower.mayStayOpen()) {
        panel.dispose();
        return;
      }
      const user = session.user;
      const nextAccountKey = user ? `${user.id}:${user.role}` : "";
      if (nextAccountKey === accountKey) return;
      accountKey = nextAccountKey;
      follower.invalidate("The signed-in account changed");
    }),
  );
}
