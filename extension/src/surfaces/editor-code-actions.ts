import * as vscode from "vscode";
import type { CodeBlock } from "../chat/chat-session";

/**
 * Code-block actions of the chat: Copy, Insert at Cursor, Open in New Editor. The chat webview has
 * the focus when a button is clicked, so "the editor" is the last text editor that was active.
 */
export class EditorCodeActions implements vscode.Disposable {
  private lastTextEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly subscription: vscode.Disposable;

  constructor() {
    this.subscription = vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (editor) this.lastTextEditor = editor;
    });
  }

  async copy(block: CodeBlock): Promise<void> {
    await vscode.env.clipboard.writeText(block.code);
    vscode.window.setStatusBarMessage("$(check) Copied code to the clipboard", 2_000);
  }

  /** Replaces the selection (or inserts at the cursor) of the last active editor; with no editor, opens a new one. */
  async insert(block: CodeBlock): Promise<void> {
    const editor = this.findTargetEditor();
    if (!editor) {
      await this.open(block);
      return;
    }
    const isApplied = await editor.edit((builder) => {
      for (const selection of editor.selections) builder.replace(selection, block.code);
    });
    if (!isApplied) {
      void vscode.window.showWarningMessage("Juggler could not insert the code: the editor is read-only or changed meanwhile.");
      return;
    }
    await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
  }

  async open(block: CodeBlock): Promise<void> {
    const language = await toLanguageId(block.language);
    const document = await vscode.workspace.openTextDocument({ content: block.code, language });
    await vscode.window.showTextDocument(document, { preview: false });
  }

  private findTargetEditor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active) return active;
    const last = this.lastTextEditor;
    // Only an editor still on screen: inserting into a closed tab's document would surprise.
    if (last && vscode.window.visibleTextEditors.includes(last)) return last;
    return vscode.window.visibleTextEditors[0];
  }

  dispose(): void {
    this.subscription.dispose();
  }
}

/** Fence names models use, mapped to VS Code language ids. */
const languageAliases: Record<string, string> = {
  ts: "typescript",
  tsx: "typescriptreact",
  js: "javascript",
  jsx: "javascriptreact",
  mjs: "javascript",
  cjs: "javascript",
  py: "python",
  sh: "shellscript",
  bash: "shellscript",
  zsh: "shellscript",
  shell: "shellscript",
  console: "shellscript",
  yml: "yaml",
  md: "markdown",
  rs: "rust",
  cs: "csharp",
  "c#": "csharp",
  "c++": "cpp",
  golang: "go",
  rb: "ruby",
  kt: "kotlin",
  ps1: "powershell",
  ps: "powershell",
  dockerfile: "dockerfile",
  docker: "dockerfile",
  html: "html",
  xml: "xml",
  text: "plaintext",
  txt: "plaintext",
};

let knownLanguages: Promise<Set<string>> | undefined;

async function toLanguageId(language: string | undefined): Promise<string> {
  if (!language) return "plaintext";
  const lower = language.trim().toLowerCase();
  const candidate = languageAliases[lower] ?? lower;
  knownLanguages ??= Promise.resolve(vscode.languages.getLanguages()).then((languages) => new Set(languages));
  return (await knownLanguages).has(candidate) ? candidate : "plaintext";
}
