import * as vscode from "vscode";
import type { Conversation } from "../../../protocol/http/conversations";
import type { ChatSession } from "../chat/chat-session";
import { groupConversationsByRecency, type RecencyGroup } from "../chat/group-conversations-by-recency";
import { toVsCodeDisposable } from "./accounts";
import type { ChatViewProvider } from "./chat-view";

export const CONVERSATIONS_VIEW_ID = "juggler.conversations";
const PAGE_SIZE = 50;
const MAX_RELOAD_SIZE = 200;

export type ConversationTreeNode =
  | { kind: "group"; group: RecencyGroup; conversations: Conversation[] }
  | { kind: "conversation"; conversation: Conversation }
  | { kind: "load-more" }
  | { kind: "error"; message: string };

/**
 * The Conversations tree: grouped by last interaction (Today, Yesterday, Previous 7 Days, Older),
 * the model last used as the description. Pages load lazily (a "Load more" row), and the tree
 * reloads when the chat session reports a change.
 */
export class ConversationTreeProvider implements vscode.TreeDataProvider<ConversationTreeNode>, vscode.Disposable {
  private readonly treeDataChanged = new vscode.EventEmitter<ConversationTreeNode | undefined>();
  readonly onDidChangeTreeData = this.treeDataChanged.event;
  private conversations: Conversation[] = [];
  private nextCursor: string | null = null;
  private isLoaded = false;
  private loadError: string | undefined;
  private loading: Promise<void> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly session: ChatSession) {}

  async getChildren(node?: ConversationTreeNode): Promise<ConversationTreeNode[]> {
    if (node?.kind === "group") return node.conversations.map((conversation) => ({ kind: "conversation", conversation }));
    if (node) return [];
    if (this.session.connectionState !== "ready") return []; // the view's welcome content explains what to do
    if (!this.isLoaded) await this.reload();
    if (this.loadError) return [{ kind: "error", message: this.loadError }];
    const nodes: ConversationTreeNode[] = groupConversationsByRecency(this.conversations).map((entry) => ({ kind: "group", ...entry }));
    if (this.nextCursor) nodes.push({ kind: "load-more" });
    return nodes;
  }

  getTreeItem(node: ConversationTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case "group": {
        const item = new vscode.TreeItem(node.group, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.group}`;
        item.contextValue = "group";
        return item;
      }
      case "conversation":
        return this.toConversationItem(node.conversation);
      case "load-more": {
        const item = new vscode.TreeItem("Load more…", vscode.TreeItemCollapsibleState.None);
        item.id = "load-more";
        item.iconPath = new vscode.ThemeIcon("more");
        item.command = { command: "juggler.loadMoreConversations", title: "Load More Conversations" };
        item.accessibilityInformation = { label: "Load more conversations" };
        return item;
      }
      case "error": {
        const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon("warning");
        item.command = { command: "juggler.refreshConversations", title: "Retry" };
        item.tooltip = "Click to retry";
        return item;
      }
    }
  }

  private toConversationItem(conversation: Conversation): vscode.TreeItem {
    const item = new vscode.TreeItem(conversation.title, vscode.TreeItemCollapsibleState.None);
    const modelLabel = this.session.modelLabel(conversation.modelId);
    item.id = conversation.id;
    item.description = modelLabel;
    item.iconPath = new vscode.ThemeIcon("comment-discussion");
    item.contextValue = "conversation";
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendText(conversation.title);
    tooltip.appendMarkdown("\n\n");
    if (modelLabel) tooltip.appendMarkdown(`$(hubot) ${escapeMarkdown(modelLabel)}  \n`);
    tooltip.appendMarkdown(
      `Last message: ${formatLocalTime(conversation.lastMessageAt)}  \nCreated: ${formatLocalTime(conversation.createdAt)}`,
    );
    item.tooltip = tooltip;
    item.accessibilityInformation = {
      label: `${conversation.title}${modelLabel ? `, ${modelLabel}` : ""}, last message ${formatLocalTime(conversation.lastMessageAt)}`,
    };
    item.command = { command: "juggler.openConversation", title: "Open Conversation", arguments: [conversation.id] };
    return item;
  }

  /** Reloads the pages loaded so far (at least one), replacing the list. */
  reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const limit = Math.min(MAX_RELOAD_SIZE, Math.max(PAGE_SIZE, this.conversations.length));
        const page = await this.session.listConversations({ limit });
        this.conversations = page.conversations;
        this.nextCursor = page.nextCursor;
        this.loadError = undefined;
      } catch (error) {
        this.loadError = `Could not load conversations: ${error instanceof Error ? error.message : String(error)}`;
      } finally {
        this.isLoaded = true;
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  async loadMore(): Promise<void> {
    if (!this.nextCursor) return;
    try {
      const page = await this.session.listConversations({ cursor: this.nextCursor, limit: PAGE_SIZE });
      const known = new Set(this.conversations.map((conversation) => conversation.id));
      this.conversations.push(...page.conversations.filter((conversation) => !known.has(conversation.id)));
      this.nextCursor = page.nextCursor;
    } catch (error) {
      void vscode.window.showErrorMessage(
        `Juggler could not load more conversations: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.treeDataChanged.fire(undefined);
  }

  /** Marks the list stale and redraws soon; bursts of changes (a streamed answer finishing, a rename) coalesce. */
  refresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.isLoaded = false;
      this.treeDataChanged.fire(undefined);
    }, 100);
  }

  findConversation(conversationId: string): Conversation | undefined {
    return this.conversations.find((conversation) => conversation.id === conversationId);
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.treeDataChanged.dispose();
  }
}

export function registerConversationTree(
  context: vscode.ExtensionContext,
  session: ChatSession,
  chatView: ChatViewProvider,
): ConversationTreeProvider {
  const provider = new ConversationTreeProvider(session);
  const treeView = vscode.window.createTreeView(CONVERSATIONS_VIEW_ID, { treeDataProvider: provider, showCollapseAll: true });

  const resolveConversationId = (argument: unknown): string | undefined => {
    if (typeof argument === "string") return argument;
    if (isConversationNode(argument)) return argument.conversation.id;
    if (isTreeSelectionArgument(argument)) {
      // F2 / Delete in the tree (package.json keybindings). VS Code gives a keybinding's command
      // no tree element and the API has no "focused element": the selected conversation (clicked,
      // or Enter on a row) is the one. Opening it leaves the focus in the tree, so the keys still apply.
      const selected = treeView.selection.find(isConversationNode);
      return selected?.conversation.id;
    }
    return session.openConversationId ?? undefined;
  };

  context.subscriptions.push(
    provider,
    treeView,
    toVsCodeDisposable(session.onConversationsChanged(() => provider.refresh())),
    toVsCodeDisposable(session.onStateChanged(() => provider.refresh())),
    vscode.commands.registerCommand("juggler.refreshConversations", () => {
      provider.refresh();
    }),
    vscode.commands.registerCommand("juggler.loadMoreConversations", () => provider.loadMore()),
    vscode.commands.registerCommand("juggler.openConversation", async (argument: unknown) => {
      const conversationId = resolveConversationId(argument);
      if (!conversationId) return;
      // Opened from the tree (a click, or Enter on a row): the tree keeps the keyboard.
      await chatView.reveal({ preserveFocus: true });
      try {
        await session.openConversation(conversationId);
      } catch (error) {
        void vscode.window.showErrorMessage(
          `Juggler could not open the conversation: ${error instanceof Error ? error.message : String(error)}`,
        );
        provider.refresh();
      }
    }),
    vscode.commands.registerCommand("juggler.renameConversation", async (argument: unknown) => {
      const conversationId = resolveConversationId(argument);
      if (!conversationId) {
        void vscode.window.showInformationMessage("Open a conversation or pick one in the Conversations view to rename it.");
        return;
      }
      const node = isTreeSelectionArgument(argument) ? treeView.selection.find(isConversationNode) : argument;
      const current = isConversationNode(node)
        ? node.conversation.title
        : (provider.findConversation(conversationId)?.title ?? session.snapshot().conversation?.title ?? "");
      const title = await vscode.window.showInputBox({
        title: "Rename Conversation",
        prompt: "New title",
        value: current,
        valueSelection: [0, current.length],
        validateInput: (value) =>
          value.trim().length === 0 ? "The title must not be empty" : value.trim().length > 200 ? "At most 200 characters" : undefined,
      });
      if (title === undefined || title.trim() === current) return;
      try {
        await session.renameConversation(conversationId, title.trim());
      } catch (error) {
        void vscode.window.showErrorMessage(
          `Juggler could not rename the conversation: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }),
    vscode.commands.registerCommand("juggler.deleteConversation", async (argument: unknown) => {
      const conversationId = resolveConversationId(argument);
      if (!conversationId) {
        void vscode.window.showInformationMessage("Open a conversation or pick one in the Conversations view to delete it.");
        return;
      }
      const node = isTreeSelectionArgument(argument) ? treeView.selection.find(isConversationNode) : argument;
      const title = isConversationNode(node)
        ? node.conversation.title
        : (provider.findConversation(conversationId)?.title ?? "this conversation");
      const choice = await vscode.window.showWarningMessage(
        `Delete "${title}"?`,
        { modal: true, detail: "The conversation and all its messages are deleted from the team server. This cannot be undone." },
        "Delete",
      );
      if (choice !== "Delete") return;
      try {
        await session.deleteConversation(conversationId);
      } catch (error) {
        void vscode.window.showErrorMessage(
          `Juggler could not delete the conversation: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }),
  );
  return provider;
}

/** What the tree's F2 and Delete keybindings pass (package.json): act on the tree's selection. */
function isTreeSelectionArgument(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { fromTreeSelection?: unknown }).fromTreeSelection === true;
}

function isConversationNode(value: unknown): value is { kind: "conversation"; conversation: Conversation } {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "conversation";
}

function formatLocalTime(isoTime: string): string {
  const time = new Date(isoTime);
  return Number.isNaN(time.getTime()) ? isoTime : time.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, "\\$&");
}
