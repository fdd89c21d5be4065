import * as vscode from "vscode";
import type { SearchResult } from "../../../protocol/http/search";
import type { ChatSession } from "../chat/chat-session";
import type { ConversationLibrary } from "../library/conversation-library";
import { SearchRunner, type SearchState } from "../library/search-runner";
import type { ChatViewProvider } from "./chat-view";

type ResultItem = vscode.QuickPickItem & ({ result: SearchResult } | { isLoadMore: true } | { isMessage: true });

/**
 * "Juggler: Search Conversations": a quick pick that searches the user's messages and titles on the
 * server as they type (debounced; a stale request is cancelled), best match first as the server
 * ranks them (the quick pick's own matching is off: every item is always shown, none matched on
 * description or detail), the snippet in the detail. Choosing a result opens its conversation on that
 * message's branch, scrolled to it and marked.
 */
export function registerSearchQuickPick(
  context: vscode.ExtensionContext,
  options: { session: ChatSession; chatView: ChatViewProvider; library: ConversationLibrary },
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.searchConversations", (initial?: string) => showSearch(options, initial)),
  );
}

async function showSearch(
  { session, chatView, library }: { session: ChatSession; chatView: ChatViewProvider; library: ConversationLibrary },
  initial?: string,
): Promise<void> {
  if (session.connectionState !== "ready") {
    void vscode.window.showInformationMessage("Sign in to Juggler to search your conversations.");
    return;
  }
  const quickPick = vscode.window.createQuickPick<ResultItem>();
  quickPick.title = "Search Conversations";
  quickPick.placeholder = "Words you remember from a message or a title";
  quickPick.matchOnDescription = false;
  quickPick.matchOnDetail = false;
  quickPick.keepScrollPosition = true;
  const render = (state: SearchState) => {
    quickPick.busy = state.isBusy;
    const items: ResultItem[] = state.results.map(toItem);
    if (state.error) {
      items.push({ label: "$(error) The search failed", detail: state.error, alwaysShow: true, isMessage: true });
    } else if (!state.isBusy && state.query.trim() !== "" && state.results.length === 0) {
      items.push({ label: "No conversation says that", detail: "Try other words, or fewer", alwaysShow: true, isMessage: true });
    }
    if (state.hasMore) items.push({ label: "$(more) More results…", alwaysShow: true, isLoadMore: true });
    quickPick.items = items;
  };
  const runner = new SearchRunner((query, signal) => library.search(query, signal), render);
  const disposables = [
    quickPick.onDidChangeValue((value) => runner.setQuery(value)),
    quickPick.onDidAccept(async () => {
      const [chosen] = quickPick.selectedItems;
      if (!chosen) return;
      if ("isLoadMore" in chosen) {
        runner.loadMore();
        return;
      }
      if (!("result" in chosen)) return;
      quickPick.hide();
      const { conversationId, messageId } = chosen.result;
      try {
        await chatView.reveal();
        if (messageId === null) await session.openConversation(conversationId);
        else await session.openConversationAt(conversationId, messageId);
      } catch (error) {
        void vscode.window.showErrorMessage(
          `Juggler could not open the conversation: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }),
    quickPick.onDidHide(() => {
      runner.dispose();
      for (const disposable of disposables) disposable.dispose();
      quickPick.dispose();
    }),
  ];
  quickPick.show();
  if (initial) {
    quickPick.value = initial;
    runner.setQuery(initial);
  }
}

function toItem(result: SearchResult): ResultItem {
  const icon = result.messageId === null ? "$(symbol-string)" : result.role === "user" ? "$(account)" : "$(hubot)";
  const who = result.messageId === null ? "title" : result.role === "user" ? "you" : "answer";
  return {
    label: `${icon} ${escapeIcons(result.title)}`,
    description: `${who} · ${formatWhen(result.createdAt)}`,
    detail: escapeIcons(result.snippet),
    // the server ranked these: the quick pick must not hide any of them for not matching its own filter
    alwaysShow: true,
    result,
  };
}

/** Titles and snippets are a user's and a model's text: `$(name)` in them must show as text, not as an icon. */
function escapeIcons(text: string): string {
  return text.replace(/\$\(/g, "\\$(");
}

/** "Today 14:05", "12 Mar", "12 Mar 2023". */
function formatWhen(isoTime: string): string {
  const time = new Date(isoTime);
  if (Number.isNaN(time.getTime())) return isoTime;
  const now = new Date();
  if (time.toDateString() === now.toDateString())
    return `today ${time.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}`;
  return time.toLocaleDateString(undefined, {
    day: "numeric",
    month: "short",
    ...(time.getFullYear() === now.getFullYear() ? {} : { year: "numeric" }),
  });
}
