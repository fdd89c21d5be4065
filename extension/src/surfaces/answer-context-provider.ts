import * as vscode from "vscode";
import {
  AnswerContextDocument,
  describeShowContextError,
  formatContextTitle,
  type AnswerContextTitle,
} from "../chat/answer-context-document";
import type { ChatSession } from "../chat/chat-session";
import { toVsCodeDisposable } from "./accounts";

/** The scheme of Show Context documents: `juggler-context:/<title>.md?messageId=<id>`. */
export const CONTEXT_SCHEME = "juggler-context";
export const SHOW_CONTEXT_COMMAND = "juggler.showContext";

/** Longer titles are cut: the tab, the breadcrumbs and "Open Editors" show all of it. */
const TITLE_LENGTH_MAX = 120;

/**
 * "Show Context" in an editor tab: a read-only virtual Markdown document per answer, so find, copy,
 * the outline and Markdown preview work as on any file. The document is filled page by page from the
 * server (the first page before the tab opens, so an error is a message, not an empty tab); closing
 * the tab stops the loading and frees the text.
 */
export class AnswerContextProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** By the document's URI (as a string). */
  private readonly documents = new Map<string, { uri: vscode.Uri; document: AnswerContextDocument; subscription: { dispose(): void } }>();

  constructor(private readonly session: ChatSession) {}

  provideTextDocumentContent(uri: vscode.Uri): string {
    const entry = this.documents.get(uri.toString());
    if (entry) return entry.document.text;
    // A tab restored after a window reload, or a document VS Code asks for again: load it anew.
    const messageId = new URLSearchParams(uri.query).get("messageId");
    if (!messageId) return "This is not a Juggler context document.\n";
    const document = this.track(uri, this.createDocument(messageId));
    void document.load();
    return document.text;
  }

  /** Opens the context of `messageId` (default: the open conversation's last answer) in an editor tab. */
  async show(messageId?: string): Promise<void> {
    const answerId = messageId ?? this.session.lastAnswerId;
    if (!answerId) {
      void vscode.window.showInformationMessage(
        "Open a conversation with an answer first: Show Context shows what an answer's request carried.",
      );
      return;
    }
    const opened = [...this.documents.values()].find((entry) => entry.document.messageId === answerId);
    if (opened) {
      await vscode.window.showTextDocument(opened.uri, { preview: false });
      return;
    }
    const document = this.createDocument(answerId);
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "Juggler: loading the answer's context…" }, () =>
        document.loadFirstPage(),
      );
    } catch (error) {
      document.dispose();
      void vscode.window.showErrorMessage(`Juggler could not show the context: ${describeShowContextError(error)}`);
      return;
    }
    const uri = contextDocumentUri(answerId, document.title!);
    this.track(uri, document);
    const textDocument = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(textDocument, { preview: false });
    void document.loadRemainingPages();
  }

  /** The answer finished after its context was opened: its reported tokens are known now. */
  refreshAnswer(messageId: string): void {
    for (const [key, entry] of [...this.documents]) {
      if (entry.document.messageId !== messageId) continue;
      this.forget(key);
      void this.track(entry.uri, this.createDocument(messageId)).load();
    }
  }

  /** The tab's document was closed (VS Code disposes it some time after the tab): stop and free it. */
  forget(key: string): void {
    const entry = this.documents.get(key);
    if (!entry) return;
    this.documents.delete(key);
    entry.subscription.dispose();
    entry.document.dispose();
  }

  dispose(): void {
    for (const key of [...this.documents.keys()]) this.forget(key);
    this.changed.dispose();
  }

  private createDocument(messageId: string): AnswerContextDocument {
    return new AnswerContextDocument({
      client: this.session.client,
      messageId,
      knownConversationTitle: (conversationId) => this.session.conversationTitle(conversationId),
    });
  }

  private track(uri: vscode.Uri, document: AnswerContextDocument): AnswerContextDocument {
    const subscription = document.onDidChange(() => this.changed.fire(uri));
    this.documents.set(uri.toString(), { uri, document, subscription });
    return document;
  }
}

/** The tab shows the path's last segment: the title, made safe for a path, as a `.md` file (Markdown mode). */
export function contextDocumentUri(messageId: string, title: AnswerContextTitle): vscode.Uri {
  // Only what would split the path: `?` and `#` are escaped by Uri.from, `:` is fine in a path.
  let name = formatContextTitle(title)
    .replace(/[\\/\n\r\t]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (name.length > TITLE_LENGTH_MAX) name = `${name.slice(0, TITLE_LENGTH_MAX - 1).trimEnd()}…`;
  return vscode.Uri.from({ scheme: CONTEXT_SCHEME, path: `/${name}.md`, query: new URLSearchParams({ messageId }).toString() });
}

export function registerShowContext(context: vscode.ExtensionContext, session: ChatSession): AnswerContextProvider {
  const provider = new AnswerContextProvider(session);
  context.subscriptions.push(
    provider,
    vscode.workspace.registerTextDocumentContentProvider(CONTEXT_SCHEME, provider),
    vscode.workspace.onDidCloseTextDocument((document) => {
      if (document.uri.scheme === CONTEXT_SCHEME) provider.forget(document.uri.toString());
    }),
    toVsCodeDisposable(session.onAnswerFinished((message) => provider.refreshAnswer(message.id))),
    // The optional argument: the webview's "Show Context" on an answer passes its id.
    vscode.commands.registerCommand(SHOW_CONTEXT_COMMAND, (messageId?: unknown) =>
      provider.show(typeof messageId === "string" && messageId.length > 0 ? messageId : undefined),
    ),
  );
  return provider;
}
