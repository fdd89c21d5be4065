import * as vscode from "vscode";
import type { Conversation } from "../../../protocol/http/conversations";
import type { ExportFormat } from "../../../protocol/http/export";
import type { ChatSession } from "../chat/chat-session";
import { ConversationLibrary, describeImport } from "../library/conversation-library";
import { PendingDeletions, UNDO_WINDOW_MS } from "../library/pending-deletions";
import { writeDownloadToFile } from "../library/write-download";
import type { ChatViewProvider } from "./chat-view";
import { isConversationNode, type ConversationTreeNode, type ConversationTreeProvider } from "./conversation-tree";

/**
 * The library's commands: rename, delete (with Undo for a few seconds), pin, archive, move to this
 * workspace folder, export (one conversation: Markdown or Juggler JSON; everything: Juggler JSON) and
 * import (a Juggler export or ChatGPT's conversations.json), and Find in Chat. They act on the
 * conversation given (a tree item), else the one selected in the tree, else the open one.
 */
export function registerLibraryCommands(
  context: vscode.ExtensionContext,
  options: {
    session: ChatSession;
    chatView: ChatViewProvider;
    tree: ConversationTreeProvider;
    treeView: vscode.TreeView<ConversationTreeNode>;
    library: ConversationLibrary;
    workspaceHint: () => string | undefined;
  },
): PendingDeletions {
  const { session, chatView, tree, treeView, library, workspaceHint } = options;
  const deletions = new PendingDeletions((conversationId) => session.deleteConversation(conversationId));

  const target = (argument: unknown): { id: string; conversation: Conversation | undefined } | undefined => {
    const selected = treeView.selection.find(isConversationNode);
    // F2 / Delete in the tree (package.json keybindings pass `fromTreeSelection`): VS Code gives a
    // keybinding's command no tree element, so the selected conversation is the one, and only it —
    // a group row selected must not make Delete fall through to the open conversation.
    if (isTreeSelectionArgument(argument))
      return selected ? { id: selected.conversation.id, conversation: selected.conversation } : undefined;
    const id =
      typeof argument === "string"
        ? argument
        : isConversationNode(argument)
          ? argument.conversation.id
          : (selected?.conversation.id ?? session.openConversationId ?? undefined);
    if (!id) return undefined;
    const conversation = isConversationNode(argument) ? argument.conversation : tree.findConversation(id);
    return { id, conversation };
  };
  const titleOf = (found: { id: string; conversation: Conversation | undefined }) =>
    found.conversation?.title ?? session.conversationTitle(found.id) ?? "this conversation";
  const pickFirst = (what: string) =>
    void vscode.window.showInformationMessage(`Open a conversation or pick one in the Conversations view to ${what} it.`);

  /** Runs a change of library state, then redraws the tree from its first page (the conversation moves between groups). */
  const change = (what: string, run: (conversationId: string) => Promise<unknown>) => async (argument: unknown) => {
    const found = target(argument);
    if (!found) return pickFirst(what);
    try {
      await run(found.id);
      tree.reset();
    } catch (error) {
      void vscode.window.showErrorMessage(`Juggler could not ${what} the conversation: ${describe(error)}`);
    }
  };

  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.renameConversation", async (argument: unknown) => {
      const found = target(argument);
      if (!found) return pickFirst("rename");
      const current = found.conversation?.title ?? session.conversationTitle(found.id) ?? "";
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
        await session.renameConversation(found.id, title.trim());
      } catch (error) {
        void vscode.window.showErrorMessage(`Juggler could not rename the conversation: ${describe(error)}`);
      }
    }),

    vscode.commands.registerCommand("juggler.deleteConversation", async (argument: unknown) => {
      const found = target(argument);
      if (!found) return pickFirst("delete");
      const title = titleOf(found);
      const wasOpen = session.openConversationId === found.id;
      // Gone at once; deleted on the server once the undo window has passed.
      tree.model.setHidden(found.id, true);
      if (wasOpen) session.newConversation();
      const pending = deletions.schedule(found.id);
      pending.done.then(
        (outcome) => {
          if (outcome === "deleted") tree.model.remove(found.id);
        },
        (error: unknown) => {
          tree.model.setHidden(found.id, false);
          void vscode.window.showErrorMessage(`Juggler could not delete “${title}”: ${describe(error)}`);
        },
      );
      const choice = await vscode.window.showInformationMessage(`Deleted “${title}”.`, "Undo");
      if (choice !== "Undo") return;
      if (!pending.undo()) {
        void vscode.window.showInformationMessage(
          `“${title}” was already deleted: Undo works for ${Math.round(UNDO_WINDOW_MS / 1000)} seconds after deleting.`,
        );
        return;
      }
      tree.model.setHidden(found.id, false);
      if (wasOpen && session.openConversationId === null) {
        await chatView.reveal();
        await session.openConversation(found.id).catch((error: unknown) => void vscode.window.showErrorMessage(describe(error)));
      }
    }),

    vscode.commands.registerCommand(
      "juggler.pinConversation",
      change("pin", (id) => library.setPinned(id, true)),
    ),
    vscode.commands.registerCommand(
      "juggler.unpinConversation",
      change("unpin", (id) => library.setPinned(id, false)),
    ),
    vscode.commands.registerCommand(
      "juggler.archiveConversation",
      change("archive", (id) => library.setArchived(id, true)),
    ),
    vscode.commands.registerCommand(
      "juggler.unarchiveConversation",
      change("unarchive", (id) => library.setArchived(id, false)),
    ),
    vscode.commands.registerCommand(
      "juggler.moveConversationToWorkspace",
      change("move", async (id) => {
        const hint = workspaceHint();
        if (!hint) throw new Error("no workspace folder is open");
        await library.moveToWorkspace(id, hint);
      }),
    ),

    vscode.commands.registerCommand("juggler.exportConversation", async (argument: unknown) => {
      const found = target(argument);
      if (!found) return pickFirst("export");
      const choice = await vscode.window.showQuickPick(
        [
          {
            label: "$(markdown) Markdown",
            description: "the current branch, opened in an editor",
            format: "markdown" as const,
            save: false,
          },
          { label: "$(save) Markdown…", description: "the current branch, saved to a file", format: "markdown" as const, save: true },
          {
            label: "$(json) Juggler JSON…",
            description: "every branch, models, usage and context records (lossless), saved to a file",
            format: "json" as const,
            save: true,
          },
        ],
        { title: `Export “${titleOf(found)}”`, placeHolder: "Export as" },
      );
      if (!choice) return;
      try {
        await exportConversation(library, found.id, choice.format, choice.save);
      } catch (error) {
        void vscode.window.showErrorMessage(`Juggler could not export the conversation: ${describe(error)}`);
      }
    }),

    vscode.commands.registerCommand("juggler.exportAllData", async () => {
      try {
        await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: "Exporting all your Juggler conversations", cancellable: true },
          async (_progress, cancellation) => {
            const abort = new AbortController();
            cancellation.onCancellationRequested(() => abort.abort());
            const file = await library.exportEverything(abort.signal);
            const uri = await vscode.window.showSaveDialog({
              title: "Export All My Data",
              defaultUri: defaultSaveUri(file.fileName),
              filters: { "Juggler export": ["json"] },
            });
            if (!uri) {
              await file.response.body?.cancel();
              return;
            }
            const bytes = await saveResponse(file.response, uri);
            void vscode.window.showInformationMessage(
              `Exported all your conversations to ${uri.fsPath || uri.toString()} (${formatBytes(bytes)}).`,
            );
          },
        );
      } catch (error) {
        void vscode.window.showErrorMessage(`Juggler could not export your data: ${describe(error)}`);
      }
    }),

    vscode.commands.registerCommand("juggler.importConversations", async () => {
      const [uri] =
        (await vscode.window.showOpenDialog({
          title: "Import Conversations",
          openLabel: "Import",
          canSelectMany: false,
          filters: { "Juggler export or ChatGPT conversations.json": ["json"] },
        })) ?? [];
      if (!uri) return;
      try {
        const result = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Importing ${uri.path.split("/").pop() ?? "the file"}` },
          async () => library.importFile(await vscode.workspace.fs.readFile(uri)),
        );
        tree.reset();
        const first = result.conversations[0];
        const choice = await vscode.window.showInformationMessage(describeImport(result), ...(first ? ["Open"] : []));
        if (choice === "Open" && first) {
          await chatView.reveal();
          await session.openConversation(first.id);
        }
      } catch (error) {
        void vscode.window.showErrorMessage(`Juggler could not import the file: ${describe(error)}`);
      }
    }),

    vscode.commands.registerCommand("juggler.findInChat", async () => {
      await chatView.reveal();
      session.openFindBar();
    }),
    { dispose: () => void deletions.flush() },
  );
  return deletions;
}

async function exportConversation(
  library: ConversationLibrary,
  conversationId: string,
  format: ExportFormat,
  save: boolean,
): Promise<void> {
  const file = await library.exportConversation(conversationId, format);
  if (!save) {
    const document = await vscode.workspace.openTextDocument({ language: "markdown", content: await file.response.text() });
    await vscode.window.showTextDocument(document, { preview: false });
    return;
  }
  const uri = await vscode.window.showSaveDialog({
    title: format === "markdown" ? "Export Conversation as Markdown" : "Export Conversation as Juggler JSON",
    defaultUri: defaultSaveUri(file.fileName),
    filters: format === "markdown" ? { Markdown: ["md"] } : { "Juggler export": ["json"] },
  });
  if (!uri) {
    await file.response.body?.cancel();
    return;
  }
  await saveResponse(file.response, uri);
  void vscode.window.showInformationMessage(`Exported to ${uri.fsPath || uri.toString()}.`);
}

/** A local file is written as the download arrives; elsewhere (a remote workspace) through VS Code's file system, whole. */
async function saveResponse(response: Response, uri: vscode.Uri): Promise<number> {
  if (uri.scheme === "file") return writeDownloadToFile(response, uri.fsPath);
  const bytes = new Uint8Array(await response.arrayBuffer());
  await vscode.workspace.fs.writeFile(uri, bytes);
  return bytes.length;
}

function defaultSaveUri(fileName: string): vscode.Uri | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, fileName) : undefined;
}

function formatBytes(bytes: number): string {
  return bytes < 1_048_576 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/** What the tree's F2 and Delete keybindings pass (package.json): act on the tree's selection. */
function isTreeSelectionArgument(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { fromTreeSelection?: unknown }).fromTreeSelection === true;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
