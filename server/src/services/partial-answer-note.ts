import type { FinishReason, MessageStatus } from "../../../protocol/http/conversations";

/** What the note on a cut-off answer needs to know about it. */
export interface AnswerEnding {
  status: MessageStatus;
  finishReason: FinishReason | null;
}

/**
 * Why an answer with text ended before its natural end, in a few words; undefined when it did not.
 * A later model is told, so it does not take half an answer for a whole one.
 */
export function describeCutOff(answer: AnswerEnding): string | undefined {
  switch (answer.status) {
    case "stopped":
      return "it was stopped by the user";
    case "error":
      return "it failed part-way (a provider error)";
    case "interrupted":
      return "it was interrupted (the server stopped)";
    case "complete":
      return answer.finishReason === "length" ? "it reached its output limit" : undefined;
    default:
      return undefined;
  }
}

/**
 * The text an answer is sent with: its own text, plus a short bracketed note when it was cut off.
 * The note is on a line of its own after a blank line, so it cannot be read as part of a code block
 * the answer left open — unless the answer left a fence open, which is exactly when it helps most.
 */
export function withCutOffNote(content: string, answer: AnswerEnding): string {
  const reason = describeCutOff(answer);
  return reason === undefined ? content : `${content}\n\n[Note from Juggler: this answer was cut off: ${reason}.]`;
}
