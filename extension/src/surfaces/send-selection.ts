import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import { DEFAULT_SELECTION_INSTRUCTION, type CodeSelection } from "../chat/format-selection-message";
import { signIn } from "./accounts";
import { estimateTextTokens } from "../../../protocol/estimate-text-tokens";
import type { ChatViewProvider } from "./chat-view";
import type { WorkspaceFiles } from "./workspace-files";
import { readAskForSelectionInstruction, readDefaultSelectionInstruction } from "./settings";

/**
 * What a script or keybinding may pass to "Send Selection to Model": the instruction (then no input
 * box), and where it goes: the open conversation ("current", the default) or a new one.
 */
export interface SendSelectionArguments {
  instruction?: string;
  target?: "current" | "new";
}

/**
 * "Juggler: Send Selection to Model" (editor context menu, Ctrl+Alt+Y / Cmd+Alt+Y — Ctrl+Alt+J is taken by Code Runner and Bookmarks): sends the
 * selection with its path, line range and language, plus an optional instruction, into the open
 * conversation (or a new one), and shows the chat. "Send Selection to New Conversation" starts a new
 * one; "Add Selection to Chat" puts it in the composer as a context chip, to ask about in your words.
 */
export function registerSendSelection(
  context: vscode.ExtensionContext,
  session: ChatSession,
  chatView: ChatViewProvider,
  workspaceFiles: WorkspaceFiles,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.sendSelection", (options?: SendSelectionArguments | string) =>
      sendSelection(session, chatView, typeof options === "string" ? { instruction: options } : (options ?? {})),
    ),
    vscode.commands.registerCommand("juggler.sendSelectionToNewConversation", (options?: SendSelectionArguments | string) =>
      sendSelection(session, chatView, { ...(typeof options === "string" ? { instruction: options } : (options ?? {})), target: "new" }),
    ),
    vscode.commands.registerCommand("juggler.addSelectionToChat", async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.selection.isEmpty) {
        void vscode.window.showInformationMessage("Select some code in an editor first, then add it to the chat.");
        return;
      }
      const selection = readSelection(editor);
      await chatView.reveal();
      session.attachToComposer({
        attachment: {
          kind: "selection",
          path: selection.filePath,
          language: selection.languageId,
          startLine: selection.startLine,
          endLine: selection.endLine,
          content: selection.code,
        },
        tokenEstimate: estimateTextTokens(selection.code),
      });
    }),
    vscode.commands.registerCommand("juggler.addFileToChat", async (resource?: vscode.Uri, selected?: vscode.Uri[]) => {
      const uris = selected && selected.length > 0 ? selected : resource ? [resource] : [];
      const targets = uris.length > 0 ? uris : vscode.window.activeTextEditor ? [vscode.window.activeTextEditor.document.uri] : [];
      if (targets.length === 0) {
        void vscode.window.showInformationMessage("Choose a file in the Explorer or an editor tab to add it to the chat.");
        return;
      }
      await chatView.reveal();
      for (const uri of targets) {
        try {
          session.attachToComposer(await workspaceFiles.readAttachment(uri));
        } catch (error) {
          void vscode.window.showErrorMessage(`Juggler could not add the file: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }),
  );
}

async function sendSelection(session: ChatSession, chatView: ChatViewProvider, options: SendSelectionArguments): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage("Select some code in an editor first, then send it to the model.");
    return;
  }
  const selection = readSelection(editor);
  const defaultInstruction = readDefaultSelectionInstruction() ?? DEFAULT_SELECTION_INSTRUCTION;
  if (options.instruction !== undefined) {
    selection.instruction = options.instruction;
  } else if (readAskForSelectionInstruction()) {
    const instruction = await vscode.window.showInputBox({
      title: "Send Selection to Model",
      prompt: `What should the model do with ${describeLines(selection)}? Press Enter with nothing typed to send "${defaultInstruction}".`,
      placeHolder: defaultInstruction,
    });
    if (instruction === undefined) return;
    selection.instruction = instruction;
  }
  if (session.connectionState === "signed-out" || session.connectionState === "needs-sign-in") {
    if (!(await signIn())) return;
    await session.connect();
  }
  await chatView.reveal();
  if (options.target === "new") session.newConversation();
  try {
    await session.sendSelection(selection, defaultInstruction);
  } catch (error) {
    void vscode.window.showErrorMessage(`Juggler could not send the selection: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function readSelection(editor: vscode.TextEditor): CodeSelection {
  const { document, selection } = editor;
  // A selection that ends at the start of a line (whole lines selected) does not include that line.
  const lastLine = selection.end.character === 0 && selection.end.line > selection.start.line ? selection.end.line - 1 : selection.end.line;
  return {
    code: document.getText(selection),
    languageId: document.languageId,
    filePath: document.isUntitled ? document.fileName : vscode.workspace.asRelativePath(document.uri, false),
    startLine: selection.start.line + 1,
    endLine: lastLine + 1,
  };
}

function describeLines(selection: CodeSelection): string {
  return selection.startLine === selection.endLine ? `line ${selection.startLine}` : `lines ${selection.startLine}–${selection.endLine}`;
}
