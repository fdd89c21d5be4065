/** An editor selection to send to a model, as "Send Selection to Model" collects it. */
export interface CodeSelection {
  code: string;
  /** VS Code's language id, e.g. "typescript". */
  languageId: string;
  /** Relative to the workspace folder when the file is in one; else the file name. */
  filePath: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  /** What to ask; empty or missing means the default instruction. */
  instruction?: string;
}

export const DEFAULT_SELECTION_INSTRUCTION = "Explain this code";

/**
 * The message text for a selection:
 *
 *   <instruction>
 *
 *   `src/app.ts` lines 3–7 (typescript):
 *   ```typescript
 *   <code>
 *   ```
 *
 * The fence is longer than any backtick run in the code, so code containing ``` stays one block.
 */
export function formatSelectionMessage(selection: CodeSelection, defaultInstruction = DEFAULT_SELECTION_INSTRUCTION): string {
  const instruction = selection.instruction?.trim() || defaultInstruction;
  const lines =
    selection.startLine === selection.endLine ? `line ${selection.startLine}` : `lines ${selection.startLine}–${selection.endLine}`;
  const longestBacktickRun = Math.max(0, ...[...selection.code.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = "`".repeat(Math.max(3, longestBacktickRun + 1));
  const code = selection.code.endsWith("\n") ? selection.code.slice(0, -1) : selection.code;
  return `${instruction}\n\n\`${selection.filePath}\` ${lines} (${selection.languageId}):\n${fence}${selection.languageId}\n${code}\n${fence}`;
}
