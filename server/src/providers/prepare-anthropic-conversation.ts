import type { ChatTurn, PreparedConversation } from "./chat-provider";
import { dropEmptyTurns, normaliseSystemPrompt } from "./drop-empty-turns";

/** The text of the user turn put before a conversation that starts with an answer. */
export const conversationContinuesText = "(conversation continues)";

/**
 * Anthropic's message rules (docs/providers.md#anthropic-system-prompt-and-turn-order): the system prompt is a top-level field, not a
 * message; the first message must be from the user; roles should alternate (older API versions
 * reject two user turns in a row, newer ones merge them silently — we merge visibly); no message
 * may be empty. Every change is recorded in plain words so the answer's snapshot shows it.
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
      merged[merged.length - 1] = {
        role: previous.role,
        content: `${previous.content}\n\n${turn.content}`,
        messageIds: [...previous.messageIds, ...turn.messageIds],
      };
      mergedCounts[turn.role] += 1;
    } else {
      merged.push({ role: turn.role, content: turn.content, messageIds: [...turn.messageIds] });
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
    merged[merged.length - 1] = { ...last, content: last.content.trimEnd() };
    adjustments.push("Trimmed trailing whitespace from the last answer (Anthropic continues it and rejects trailing whitespace)");
  }

  return { system: normaliseSystemPrompt(system), turns: merged, adjustments };
}
