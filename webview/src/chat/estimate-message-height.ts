import type { Message } from "../../../protocol/http/conversations";

/** Line height and the space a message takes besides its lines (author or status line, padding, gap). */
const LINE_HEIGHT_PX = 20;
const USER_MESSAGE_EXTRA_PX = 60;
const ANSWER_EXTRA_PX = 52;
/** A code block's toolbar and padding. */
const CODE_BLOCK_EXTRA_PX = 44;
const MAXIMUM_ESTIMATE_PX = 20_000;

/**
 * A rough rendered height for a message not measured yet, from its text and the width of the list:
 * enough to place it and to keep the scrollbar honest. Once the message is rendered its measured
 * height replaces this, and the list keeps what is on screen in place when that happens.
 */
export function estimateMessageHeightPx(message: Pick<Message, "role" | "content">, charactersPerLine: number): number {
  const perLine = Math.max(20, Math.floor(charactersPerLine));
  let lines = 0;
  let lineStart = 0;
  const content = message.content;
  // Counted without splitting the text into an array: estimates run for every message of a page.
  while (lineStart <= content.length) {
    let lineEnd = content.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = content.length;
    lines += Math.max(1, Math.ceil((lineEnd - lineStart) / perLine));
    lineStart = lineEnd + 1;
  }
  const codeBlocks = Math.floor((content.match(/^```/gm)?.length ?? 0) / 2);
  const extra = message.role === "user" ? USER_MESSAGE_EXTRA_PX : ANSWER_EXTRA_PX;
  return Math.min(MAXIMUM_ESTIMATE_PX, Math.round(extra + lines * LINE_HEIGHT_PX + codeBlocks * CODE_BLOCK_EXTRA_PX));
}
