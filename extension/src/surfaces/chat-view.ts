import * as vscode from "vscode";
import type { ChatSession, ChatViewAttachment } from "../chat/chat-session";
import { toVsCodeDisposable } from "./accounts";
import { buildChatHtml, webviewOptions } from "./webview-content";

export const CHAT_VIEW_ID = "juggler.chat";
export const CHAT_EDITOR_VIEW_TYPE = "juggler.chatEditor";

/**
 * The chat in the sidebar (a webview view) and in an editor tab (a webview panel). Both attach to
 * the same ChatSession, so they show the same conversation and stay in sync. No
 * retainContextWhenHidden: a hidden webview is torn down and restores from its saved state plus the
 * host's snapshot, which keeps memory low.
 */
export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private editorPanel: vscode.WebviewPanel | undefined;
  private sidebarView: vscode.WebviewView | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly session: ChatSession,
  ) {}

  resolveWebviewView(webviewView: vscode.WebviewView): void {
    this.sidebarView = webviewView;
    this.connect(webviewView.webview, {
      isVisible: () => webviewView.visible,
      onDidChangeVisibility: (listener) => webviewView.onDidChangeVisibility(listener),
      onDidDispose: (listener) =>
        webviewView.onDidDispose(() => {
          if (this.sidebarView === webviewView) this.sidebarView = undefined;
          listener();
        }),
    });
  }

  /**
   * Shows the sidebar chat. `preserveFocus` (opening a conversation from the tree) leaves the keyboard
   * where it was, as the Explorer does for a file opened with a click: the tree keeps the focus, so
   * its keys (F2, Delete, arrows) go on working; Ctrl+Alt+U moves into the chat.
   */
  async reveal(options: { preserveFocus?: boolean } = {}): Promise<void> {
    if (this.editorPanel?.visible) return;
    if (options.preserveFocus && this.sidebarView) {
      this.sidebarView.show(true);
      return;
    }
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }

  /** "Juggler: Open Chat in Editor": one editor tab with the same chat. */
  openInEditor(): void {
    if (this.editorPanel) {
      this.editorPanel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      CHAT_EDITOR_VIEW_TYPE,
      "Juggler Chat",
      vscode.ViewColumn.Active,
      webviewOptions(this.extensionUri),
    );
    this.adoptEditorPanel(panel);
  }

  /** Restores the editor tab after a window reload (registered as its WebviewPanelSerializer). */
  adoptEditorPanel(panel: vscode.WebviewPanel): void {
    this.editorPanel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, "media", "juggler.svg");
    panel.webview.options = webviewOptions(this.extensionUri);
    this.connect(panel.webview, {
      isVisible: () => panel.visible,
      onDidChangeVisibility: (listener) => panel.onDidChangeViewState(() => listener()),
      onDidDispose: (listener) =>
        panel.onDidDispose(() => {
          if (this.editorPanel === panel) this.editorPanel = undefined;
          listener();
        }),
    });
  }

  private connect(
    webview: vscode.Webview,
    host: {
      isVisible(): boolean;
      onDidChangeVisibility(listener: () => void): vscode.Disposable;
      onDidDispose(listener: () => void): vscode.Disposable;
    },
  ): void {
    webview.options = webviewOptions(this.extensionUri);
    const attachment: ChatViewAttachment = this.session.attachView({
      postMessage: (message) => {
        void webview.postMessage(message);
      },
      get isVisible() {
        return host.isVisible();
      },
    });
    const subscriptions: vscode.Disposable[] = [
      webview.onDidReceiveMessage((message: unknown) => attachment.handleMessage(message)),
      host.onDidChangeVisibility(() => attachment.visibilityChanged()),
      toVsCodeDisposable(attachment),
    ];
    subscriptions.push(
      host.onDidDispose(() => {
        for (const subscription of subscriptions) subscription.dispose();
      }),
    );
    // The HTML goes in last: the webview's first message (webview/ready) must find the listener in place.
    webview.html = buildChatHtml(webview, this.extensionUri);
  }

  dispose(): void {
    this.editorPanel?.dispose();
  }
}

export function registerChatViews(context: vscode.ExtensionContext, session: ChatSession): ChatViewProvider {
  const provider = new ChatViewProvider(context.extensionUri, session);
  context.subscriptions.push(
    provider,
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, provider),
    vscode.window.registerWebviewPanelSerializer(CHAT_EDITOR_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel) => provider.adoptEditorPanel(panel),
    }),
    vscode.commands.registerCommand("juggler.openChatInEditor", () => provider.openInEditor()),
    vscode.commands.registerCommand("juggler.focusChat", async () => {
      await provider.reveal();
      session.focusComposer();
    }),
  );
  return provider;
}
