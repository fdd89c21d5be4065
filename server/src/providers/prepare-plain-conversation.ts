import type { ChatTurn, PreparedConversation } from "./chat-provider";
import { dropEmptyTurns, normaliseSystemPrompt } from "./drop-empty-turns";

/**
 * Groq (OpenAI chat completions) and Ollama (/api/chat) take any order of roles with the system
 * prompt as the first message (docs/providers.md#groq-requests, #ollama-chat-requests); only empty turns are left out.
 */
export function preparePlainConversation(system: string | undefined, turns: readonly ChatTurn[]): PreparedConversation {
  const nonEmpty = dropEmptyTurns(turns);
  return {
    system: normaliseSystemPrompt(system),
    turns: nonEmpty.turns.map((turn) => ({
      role: turn.role,
      content: turn.content,
      ...(turn.parts === undefined ? {} : { parts: [...turn.parts] }),
      messageIds: [...turn.messageIds],
    })),
    adjustments: nonEmpty.adjustment ? [nonEmpty.adjustment] : [],
  };
}
