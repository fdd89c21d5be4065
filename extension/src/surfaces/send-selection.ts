import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import { DEFAULT_SELECTION_INSTRUCTION, type CodeSelection } from "../chat/format-selection-message";
import { signIn } from "./accounts";
import type { ChatViewProvider } from "./chat-view";
import { readAskForSelectionInstruction, readDefaultSelectionInstruction } from "./settings";

/**
 * "Juggler: Send Selection to Model" (editor context menu, Ctrl+Alt+Y / Cmd+Alt+Y — Ctrl+Alt+J is taken by Code Runner and Bookmarks): sends the
 * selection with its path, line range and language, plus an optional instruction, into the open
 * conversation (or a new one), and shows the chat.
 */
export function registerSendSelection(context: vscode.ExtensionContext, session: ChatSession, chatView: ChatViewProvider): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.sendSelection", async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.selection.isEmpty) {
        void vscode.window.showInformationMessage("Select some code in an editor first, then send it to the model.");
        return;
      }
      const selection = readSelection(editor);
      const defaultInstruction = readDefaultSelectionInstruction() ?? DEFAULT_SELECTION_INSTRUCTION;
      if (readAskForSelectionInstruction()) {
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
      try {
        await session.sendSelection(selection, defaultInstruction);
      } catch (error) {
        void vscode.window.showErrorMessage(
          `Juggler could not send the selection: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }),
  );
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
