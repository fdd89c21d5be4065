import { partsOfTurn, textOfParts, type ChatContentPart, type ChatTurn, type PreparedConversation } from "./chat-provider";
import { dropEmptyTurns, normaliseSystemPrompt } from "./drop-empty-turns";

/** The text of the user turn put before a conversation that starts with an answer. */
export const conversationContinuesText = "(conversation continues)";

/**
 * Anthropic's message rules (docs/providers.md#anthropic-system-prompt-and-turn-order): the system prompt is a top-level field, not a
 * message; the first message must be from the user; roles should alternate (older API versions
 * reject two user turns in a row, newer ones merge them silently — we merge visibly); no message
 * may be empty; in a user turn, tool results come before any text (docs/providers.md#tools-across-providers).
 * Every change is recorded in plain words so the answer's snapshot shows it.
 */
export function prepareAnthropicConversation(system: string | undefined, turns: readonly ChatTurn[]): PreparedConversation {
  const adjustments: string[] = [];
  const nonEmpty = dropEmptyTurns(turns);
  if (nonEmpty.adjustment) adjustments.push(nonEmpty.adjustment);

  const merged: ChatTurn[] = [];
  const mergedCounts = { user: 0, assistant: 0 };
  for (const turn of nonEmpty.turns) {
    const previous = merged[merged.length - 1];
    if (previous && previous.role === turn.role) {
      merged[merged.length - 1] = mergeTurns(previous, turn);
      mergedCounts[turn.role] += 1;
    } else {
      merged.push({
        role: turn.role,
        content: turn.content,
        ...(turn.parts === undefined ? {} : { parts: [...turn.parts] }),
        messageIds: [...turn.messageIds],
      });
    }
  }
  for (const role of ["user", "assistant"] as const) {
    const count = mergedCounts[role];
    if (count > 0) {
      adjustments.push(
        `Joined ${count} ${role} message${count === 1 ? "" : "s"} onto the one before (Anthropic needs user and assistant turns to alternate)`,
      );
    }
  }

  if (merged[0]?.role === "assistant") {
    merged.unshift({ role: "user", content: conversationContinuesText, messageIds: [] });
    adjustments.push(
      `Added a "${conversationContinuesText}" user turn at the start (Anthropic needs the conversation to start with a user message)`,
    );
  }

  // A final assistant turn is a prefill the model continues; Anthropic rejects it with trailing whitespace.
  const last = merged[merged.length - 1];
  if (last?.role === "assistant" && last.content !== last.content.trimEnd()) {
    merged[merged.length - 1] = withTrimmedEnd(last);
    adjustments.push("Trimmed trailing whitespace from the last answer (Anthropic continues it and rejects trailing whitespace)");
  }

  return { system: normaliseSystemPrompt(system), turns: merged.map(toolResultsFirst), adjustments };
}

/** Two neighbours of one role as one turn: texts joined by a blank line, parts in order. */
function mergeTurns(previous: ChatTurn, turn: ChatTurn): ChatTurn {
  const messageIds = [...previous.messageIds, ...turn.messageIds];
  if (previous.parts === undefined && turn.parts === undefined) {
    return { role: previous.role, content: `${previous.content}\n\n${turn.content}`, messageIds };
  }
  const parts = [...partsOfTurn(previous), ...partsOfTurn(turn)];
  return { role: previous.role, content: textOfParts(parts), parts, messageIds };
}

function withTrimmedEnd(turn: ChatTurn): ChatTurn {
  if (turn.parts === undefined) return { ...turn, content: turn.content.trimEnd() };
  const parts = [...turn.parts];
  const lastPart = parts[parts.length - 1];
  if (lastPart?.type === "text") parts[parts.length - 1] = { type: "text", text: lastPart.text.trimEnd() };
  return { ...turn, content: turn.content.trimEnd(), parts };
}

/** Anthropic refuses a user turn whose text comes before its tool results; the order among each kind is kept. */
function toolResultsFirst(turn: ChatTurn): ChatTurn {
  if (turn.role !== "user" || turn.parts === undefined) return turn;
  const isResult = (part: ChatContentPart) => part.type === "tool-result";
  return { ...turn, parts: [...turn.parts.filter(isResult), ...turn.parts.filter((part) => !isResult(part))] };
}
