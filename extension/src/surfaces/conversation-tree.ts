import * as vscode from "vscode";
import type { Conversation } from "../../../protocol/http/conversations";
import type { ChatSession } from "../chat/chat-session";
import { groupConversationsByRecency, type RecencyGroup } from "../chat/group-conversations-by-recency";
import { ConversationListModel, type ConversationScope } from "../library/conversation-list-model";
import { toVsCodeDisposable } from "./accounts";
import type { ChatViewProvider } from "./chat-view";
import { contextKeys } from "./context-keys";

export const CONVERSATIONS_VIEW_ID = "juggler.conversations";
/** Where the scope (This Workspace / All) is remembered, per workspace. */
const SCOPE_STATE_KEY = "juggler.conversations.scope";

export type ConversationTreeNode =
  | { kind: "group"; group: RecencyGroup | "Pinned"; conversations: Conversation[] }
  | { kind: "archived" }
  | { kind: "conversation"; conversation: Conversation }
  | { kind: "load-more"; list: "recent" | "archived" }
  | { kind: "error"; message: string };

/**
 * The Conversations tree: the pinned ones on top, the others grouped by last interaction (Today,
 * Yesterday, Previous 7 Days, Older), the archived ones under a node of their own; "This Workspace"
 * (the folder a conversation was started in or moved to) or "All", and a title filter, both shown in
 * the view's description. Pages come from the server as "Load more" is chosen; a change (a send, an
 * answer, a rename) reads the first page again only (ConversationListModel).
 */
export class ConversationTreeProvider implements vscode.TreeDataProvider<ConversationTreeNode>, vscode.Disposable {
  private readonly treeDataChanged = new vscode.EventEmitter<ConversationTreeNode | undefined>();
  readonly onDidChangeTreeData = this.treeDataChanged.event;
  readonly model: ConversationListModel;
  private isLoaded = false;
  private loadError: string | undefined;
  private loading: Promise<void> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly modelSubscription: { dispose(): void };

  constructor(
    private readonly session: ChatSession,
    /** The open workspace folder: "This Workspace", and "Move to This Workspace" in the menus. */
    private readonly workspaceHint: () => string | undefined,
    scope: ConversationScope,
  ) {
    this.model = new ConversationListModel((query) => session.listConversations(query), workspaceHint, scope);
    this.modelSubscription = this.model.onDidChange(() => this.treeDataChanged.fire(undefined));
  }

  async getChildren(node?: ConversationTreeNode): Promise<ConversationTreeNode[]> {
    if (node?.kind === "group") return node.conversations.map((conversation) => ({ kind: "conversation", conversation }));
    if (node?.kind === "archived") {
      if (this.model.archived === undefined) await this.model.loadArchived().catch((error: unknown) => this.reportLoadFailure(error));
      const archived: ConversationTreeNode[] = (this.model.archived ?? []).map((conversation) => ({ kind: "conversation", conversation }));
      if (this.model.hasMoreArchived) archived.push({ kind: "load-more", list: "archived" });
      return archived;
    }
    if (node) return [];
    if (this.session.connectionState !== "ready") return []; // the view's welcome content explains what to do
    if (!this.isLoaded) await this.reload();
    if (this.loadError) return [{ kind: "error", message: this.loadError }];
    const nodes: ConversationTreeNode[] = [];
    if (this.model.pinned.length > 0) nodes.push({ kind: "group", group: "Pinned", conversations: [...this.model.pinned] });
    nodes.push(...groupConversationsByRecency(this.model.recent).map((entry): ConversationTreeNode => ({ kind: "group", ...entry })));
    if (this.model.hasMoreRecent) nodes.push({ kind: "load-more", list: "recent" });
    if (this.model.hasArchived) nodes.push({ kind: "archived" });
    return nodes;
  }

  getTreeItem(node: ConversationTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case "group": {
        const item = new vscode.TreeItem(node.group, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.group}`;
        item.contextValue = "group";
        if (node.group === "Pinned") item.iconPath = new vscode.ThemeIcon("pinned");
        return item;
      }
      case "archived": {
        const item = new vscode.TreeItem("Archived", vscode.TreeItemCollapsibleState.Collapsed);
        item.id = "group:Archived";
        item.contextValue = "archived-group";
        item.iconPath = new vscode.ThemeIcon("archive");
        return item;
      }
      case "conversation":
        return this.toConversationItem(node.conversation);
      case "load-more": {
        const item = new vscode.TreeItem("Load more…", vscode.TreeItemCollapsibleState.None);
        item.id = `load-more:${node.list}`;
        item.iconPath = new vscode.ThemeIcon("more");
        item.command =
          node.list === "recent"
            ? { command: "juggler.loadMoreConversations", title: "Load More Conversations" }
            : { command: "juggler.loadMoreArchivedConversations", title: "Load More Archived Conversations" };
        item.accessibilityInformation = { label: node.list === "recent" ? "Load more conversations" : "Load more archived conversations" };
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
    const folder = conversation.workspaceHint ? folderNameOf(conversation.workspaceHint) : undefined;
    item.id = conversation.id;
    // In "All", the folder tells conversations of different projects apart.
    item.description = [modelLabel, this.model.effectiveScope === "all" ? folder : undefined].filter(Boolean).join(" · ") || undefined;
    item.iconPath = new vscode.ThemeIcon(conversation.isPinned ? "pinned" : conversation.isArchived ? "archive" : "comment-discussion");
    item.contextValue = conversationContextValue(conversation, this.workspaceHint());
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendText(conversation.title);
    tooltip.appendMarkdown("\n\n");
    if (modelLabel) tooltip.appendMarkdown(`$(hubot) ${escapeMarkdown(modelLabel)}  \n`);
    if (folder) tooltip.appendMarkdown(`$(folder) ${escapeMarkdown(folder)}  \n`);
    tooltip.appendMarkdown(
      `Last message: ${formatLocalTime(conversation.lastMessageAt)}  \nCreated: ${formatLocalTime(conversation.createdAt)}`,
    );
    item.tooltip = tooltip;
    const state = conversation.isPinned ? ", pinned" : conversation.isArchived ? ", archived" : "";
    item.accessibilityInformation = {
      label: `${conversation.title}${modelLabel ? `, ${modelLabel}` : ""}${state}, last message ${formatLocalTime(conversation.lastMessageAt)}`,
    };
    item.command = { command: "juggler.openConversation", title: "Open Conversation", arguments: [conversation.id] };
    return item;
  }

  /** Everything from the first page (Refresh, a new scope or filter, a pin or an archive). */
  reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        await this.model.reload();
        this.loadError = undefined;
      } catch (error) {
        this.reportLoadFailure(error);
      } finally {
        this.isLoaded = true;
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  async loadMore(list: "recent" | "archived"): Promise<void> {
    try {
      if (list === "recent") await this.model.loadMoreRecent();
      else await this.model.loadArchived(true);
    } catch (error) {
      void vscode.window.showErrorMessage(
        `Juggler could not load more conversations: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /**
   * A change somewhere (a send, an answer finished, a rename): the first page is read again soon;
   * bursts of changes coalesce. Before the first load, or after a failure, everything is loaded.
   */
  refresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      if (!this.isLoaded || this.loadError || this.session.connectionState !== "ready") {
        this.isLoaded = false;
        this.treeDataChanged.fire(undefined);
        return;
      }
      this.model.refreshHead().catch((error: unknown) => this.reportLoadFailure(error));
    }, 100);
  }

  /** The list as it is on the server now, from the first page (the Refresh command). */
  reset(): void {
    clearTimeout(this.refreshTimer);
    this.isLoaded = false;
    if (this.session.connectionState !== "ready") this.model.clear();
    this.treeDataChanged.fire(undefined);
  }

  findConversation(conversationId: string): Conversation | undefined {
    return this.model.find(conversationId);
  }

  private reportLoadFailure(error: unknown): void {
    this.loadError = `Could not load conversations: ${error instanceof Error ? error.message : String(error)}`;
    this.treeDataChanged.fire(undefined);
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.modelSubscription.dispose();
    this.model.dispose();
    this.treeDataChanged.dispose();
  }
}

/** The view and the commands that only concern the tree itself (the library's actions are in library-commands.ts). */
export function registerConversationTree(
  context: vscode.ExtensionContext,
  session: ChatSession,
  chatView: ChatViewProvider,
  workspaceHint: () => string | undefined,
): { provider: ConversationTreeProvider; treeView: vscode.TreeView<ConversationTreeNode> } {
  // "All" until the user chooses "This Workspace": conversations from before this feature belong to no folder.
  const initialScope = context.workspaceState.get<ConversationScope>(SCOPE_STATE_KEY) ?? "all";
  const provider = new ConversationTreeProvider(session, workspaceHint, initialScope);
  const treeView = vscode.window.createTreeView(CONVERSATIONS_VIEW_ID, { treeDataProvider: provider, showCollapseAll: true });

  const showScopeAndFilter = () => {
    const scope = provider.model.effectiveScope;
    const filter = provider.model.filter;
    treeView.description = `${scope === "workspace" ? "This Workspace" : "All"}${filter ? ` · “${filter}”` : ""}`;
    treeView.message = filter ? `Titles containing “${filter}”.` : undefined;
    void vscode.commands.executeCommand("setContext", contextKeys.conversationScope, scope);
    void vscode.commands.executeCommand("setContext", contextKeys.hasConversationFilter, filter !== undefined);
    void vscode.commands.executeCommand("setContext", contextKeys.hasWorkspaceFolder, workspaceHint() !== undefined);
  };
  showScopeAndFilter();

  const setScope = async (scope: ConversationScope) => {
    await context.workspaceState.update(SCOPE_STATE_KEY, scope);
    await provider.model.setScope(scope).catch((error: unknown) => void vscode.window.showErrorMessage(describe(error)));
    showScopeAndFilter();
  };

  context.subscriptions.push(
    provider,
    treeView,
    toVsCodeDisposable(session.onConversationsChanged(() => provider.refresh())),
    toVsCodeDisposable(
      session.onStateChanged(() => {
        if (session.connectionState === "ready") provider.refresh();
        else provider.reset();
      }),
    ),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      showScopeAndFilter();
      provider.reset();
    }),
    vscode.commands.registerCommand("juggler.refreshConversations", () => provider.reset()),
    vscode.commands.registerCommand("juggler.loadMoreConversations", () => provider.loadMore("recent")),
    vscode.commands.registerCommand("juggler.loadMoreArchivedConversations", () => provider.loadMore("archived")),
    vscode.commands.registerCommand("juggler.showWorkspaceConversations", () => setScope("workspace")),
    vscode.commands.registerCommand("juggler.showAllConversations", () => setScope("all")),
    vscode.commands.registerCommand("juggler.filterConversations", async () => {
      const text = await vscode.window.showInputBox({
        title: "Filter Conversations",
        prompt: "Show the conversations whose title contains this text (empty: all)",
        value: provider.model.filter ?? "",
        validateInput: (value) => (value.trim().length > 200 ? "At most 200 characters" : undefined),
      });
      if (text === undefined) return;
      await provider.model.setFilter(text).catch((error: unknown) => void vscode.window.showErrorMessage(describe(error)));
      showScopeAndFilter();
    }),
    vscode.commands.registerCommand("juggler.clearConversationFilter", async () => {
      await provider.model.setFilter(undefined).catch((error: unknown) => void vscode.window.showErrorMessage(describe(error)));
      showScopeAndFilter();
    }),
    vscode.commands.registerCommand("juggler.openConversation", async (argument: unknown) => {
      const conversationId = typeof argument === "string" ? argument : isConversationNode(argument) ? argument.conversation.id : undefined;
      if (!conversationId) return;
      // Opened from the tree (a click, or Enter on a row): the tree keeps the keyboard.
      await chatView.reveal({ preserveFocus: true });
      try {
        await session.openConversation(conversationId);
      } catch (error) {
        void vscode.window.showErrorMessage(`Juggler could not open the conversation: ${describe(error)}`);
        provider.reset();
      }
    }),
  );
  return { provider, treeView };
}

/**
 * What the tree's menus read (`viewItem`): "conversation", then whether it is pinned, archived, and
 * in the open workspace folder, e.g. `conversation:pinned:active:elsewhere`.
 */
export function conversationContextValue(conversation: Conversation, workspaceHint: string | undefined): string {
  const pin = conversation.isPinned ? "pinned" : "unpinned";
  const archive = conversation.isArchived ? "archived" : "active";
  const place = workspaceHint !== undefined && conversation.workspaceHint === workspaceHint ? "here" : "elsewhere";
  return `conversation:${pin}:${archive}:${place}`;
}

export function isConversationNode(value: unknown): value is { kind: "conversation"; conversation: Conversation } {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "conversation";
}

/** The last part of a folder's URI, for the tree ("file:///home/me/alpha" → "alpha"). */
function folderNameOf(workspaceHint: string): string {
  const trimmed = workspaceHint.replace(/\/+$/, "");
  const last = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  try {
    return decodeURIComponent(last) || workspaceHint;
  } catch {
    return last || workspaceHint;
  }
}

function formatLocalTime(isoTime: string): string {
  const time = new Date(isoTime);
  return Number.isNaN(time.getTime()) ? isoTime : time.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, "\\$&");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
