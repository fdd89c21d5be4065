import type { ChatTurn } from "./chat-provider";

/**
 * Leaves out turns with nothing in them (e.g. an answer stopped before its first token): no provider
 * can use them and Anthropic rejects them outright. Returns the note to record when any were dropped.
 */
export function dropEmptyTurns(turns: readonly ChatTurn[]): { turns: ChatTurn[]; adjustment: string | undefined } {
  // a turn of only tool calls or results has no text, yet is not empty
  const kept = turns.filter((turn) => turn.content.trim() !== "" || (turn.parts ?? []).some((part) => part.type !== "text"));
  const dropped = turns.length - kept.length;
  return {
    turns: kept,
    adjustment: dropped === 0 ? undefined : `Left out ${dropped} empty message${dropped === 1 ? "" : "s"}`,
  };
}

/** A system prompt of only whitespace is no system prompt. */
export function normaliseSystemPrompt(system: string | undefined): string | undefined {
  return system === undefined || system.trim() === "" ? undefined : system;
}
