import type { ChatTurn } from "../providers/chat-provider";
import type { BranchMessage } from "./context-builder";
import { withCutOffNote } from "./partial-answer-note";
import { estimateMessageTokens, estimateTextTokens } from "./token-estimate";

/**
 * What the summariser is asked and how its summary reaches the next model. A change to the wording
 * that changes what summaries contain gets a new version: summaries are stored by version, so old
 * ones are then left alone and made again.
 */
export const SUMMARY_PROMPT_VERSION = "summary-v1";

export const SUMMARISER_SYSTEM_PROMPT =
  "You summarise the earlier part of a conversation between a software developer and AI assistants, so that " +
  "another model can continue the conversation without seeing it. Keep what the rest of the conversation may " +
  "rely on: the developer's goals and constraints, decisions made, facts established, names of files, functions, " +
  "commands and errors, code that still matters (shortened), and questions still open. Leave out pleasantries. " +
  "Write short paragraphs or bullet points in the language of the conversation. Do not answer anything in the " +
  "conversation and do not continue it: only summarise.";

/** A summary that rolls into the next one: what it says and how much it stands for. */
export interface SummaryInput {
  content: string;
  messageCount: number;
}

/** The request to the summariser: the previous summary (if any), a note of a gap, then the messages, oldest first. */
export function buildSummariserTurns(options: {
  previous: SummaryInput | null;
  /** Messages between the previous summary (or the start) and the first one given here, which did not fit the summariser. */
  leftOutCount: number;
  messages: readonly BranchMessage[];
  maxOutputTokens: number;
}): ChatTurn[] {
  const parts: string[] = [
    `Summarise the conversation below in at most about ${Math.max(50, Math.floor(options.maxOutputTokens * 0.7))} words.`,
  ];
  if (options.previous) {
    parts.push(`[Summary of ${options.previous.messageCount} earlier messages, written before]\n${options.previous.content}`);
  }
  if (options.leftOutCount > 0) {
    parts.push(`[${options.leftOutCount} messages are missing here: they did not fit]`);
  }
  const transcript = options.messages
    .filter((message) => message.role !== "assistant" || message.content.trim() !== "")
    .map((message) => {
      // no model names in the headings: they would cost more than the 4 tokens a message is estimated to carry
      const text = message.role === "assistant" ? withCutOffNote(message.content, message) : message.content;
      return `### ${message.role === "user" ? "User" : "Assistant"}\n${text}`;
    });
  parts.push(`[The conversation]\n\n${transcript.join("\n\n")}`);
  return [{ role: "user", content: parts.join("\n\n"), messageIds: options.messages.map((message) => message.id) }];
}

/** Tokens the summariser's request takes besides the messages themselves (instructions, headings, a previous summary). */
export function estimateSummariserOverheadTokens(previous: SummaryInput | null): number {
  return (
    estimateMessageTokens(SUMMARISER_SYSTEM_PROMPT) +
    // the instruction line and the section labels (the per-message headings are within a message's 4 tokens)
    64 +
    (previous === null ? 0 : estimateTextTokens(previous.content) + 16)
  );
}

/**
 * The summary as the answering model gets it: at the end of the system prompt, labelled so it is not
 * mistaken for an instruction, and saying how many messages it replaces.
 */
export function formatSummaryForSystemPrompt(summary: SummaryInput): string {
  return `[Summary of the earlier conversation (${summary.messageCount} messages, not repeated below)]\n${summary.content}`;
}

/** What the summary adds to the system prompt, in estimated tokens (the blank line joining them included). */
export function estimateSummarySystemTokens(summary: SummaryInput): number {
  return estimateTextTokens(`\n\n${formatSummaryForSystemPrompt(summary)}`);
}
