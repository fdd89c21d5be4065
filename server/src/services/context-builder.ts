import { CONTEXT_RECORD_VERSION, type ContextRecord, type Message } from "../../../protocol/http/conversations";
import type { Model } from "../../../protocol/http/models";
import type { ChatProvider, ChatTurn, PreparedConversation } from "../providers/chat-provider";
import { estimateConversationTokens, estimateMessageTokens } from "./token-estimate";

/**
 * Builds what one answer sees: the branch root→question, turned into provider-neutral turns,
 * fitted to the target model's window, then converted to the provider's rules. Pure: the
 * generation job loads the branch (one indexed walk) and stores the snapshot this returns.
 */

/** Sent as the system prompt of every conversation. The conversation may mix models, so it says so. */
/** Names the system prompt in context records (Show Context serves its text by this id). */
export const SYSTEM_PROMPT_ID = "juggler-default-v1";
export const SYSTEM_PROMPT =
  "You are a helpful assistant for software developers, used inside VS Code through Juggler. " +
  "Answer in Markdown and put code in fenced code blocks with a language tag. " +
  "Earlier answers in this conversation may have been written by other models; treat them as part of the conversation.";

/** When a provider does not tell a model's window, assume a small one rather than overflow it. */
export const FALLBACK_CONTEXT_WINDOW_TOKENS = 8192;
/** Output reserved when the model does not tell its maximum, capped at a quarter of the window. */
export const DEFAULT_RESERVED_OUTPUT_TOKENS = 4096;

/** Answers that count as conversation; a streaming one is still being written and is not context. */
const finishedAnswerStatuses = new Set<Message["status"]>(["complete", "stopped", "error", "interrupted"]);

export interface BuiltContext {
  conversation: PreparedConversation;
  /** The output limit to request: what the window fitting reserved. */
  maxOutputTokens: number;
  snapshot: ContextRecord;
}

export interface TurnConversion {
  system: string | undefined;
  turns: ChatTurn[];
  adjustments: string[];
}

/** Branch messages (oldest first) → neutral turns. Failed answers without text are left out. */
export function convertBranchToTurns(branch: readonly Message[], systemPrompt: string | undefined = SYSTEM_PROMPT): TurnConversion {
  const systemParts = systemPrompt === undefined ? [] : [systemPrompt];
  const turns: ChatTurn[] = [];
  let skippedEmptyAnswers = 0;
  for (const message of branch) {
    if (message.role === "system") {
      if (message.content.trim() !== "") systemParts.push(message.content);
      continue;
    }
    if (message.role === "user") {
      turns.push({ role: "user", content: message.content, messageIds: [message.id] });
      continue;
    }
    if (finishedAnswerStatuses.has(message.status) && message.content.trim() !== "") {
      turns.push({ role: "assistant", content: message.content, messageIds: [message.id] });
    } else {
      skippedEmptyAnswers += 1;
    }
  }
  const adjustments =
    skippedEmptyAnswers === 0
      ? []
      : [`Left out ${skippedEmptyAnswers} answer${skippedEmptyAnswers === 1 ? "" : "s"} without text (failed or unfinished)`];
  return { system: systemParts.length === 0 ? undefined : systemParts.join("\n\n"), turns, adjustments };
}

export interface WindowBudget {
  contextWindowTokens: number | null;
  reservedOutputTokens: number;
  /** Tokens the input may use: the window minus the reserved output. */
  inputBudgetTokens: number;
}

export function computeWindowBudget(model: Pick<Model, "contextWindow" | "maxOutputTokens">): WindowBudget {
  const window = model.contextWindow ?? FALLBACK_CONTEXT_WINDOW_TOKENS;
  const reservedOutputTokens = Math.max(1, Math.min(model.maxOutputTokens ?? DEFAULT_RESERVED_OUTPUT_TOKENS, Math.floor(window / 4)));
  return { contextWindowTokens: model.contextWindow, reservedOutputTokens, inputBudgetTokens: window - reservedOutputTokens };
}

export interface FittedTurns {
  turns: ChatTurn[];
  droppedMessageIds: string[];
  adjustments: string[];
}

/**
 * Drops the oldest turns until the estimate fits the budget. The newest user turn (the question
 * being answered) is never dropped, and after a cut the kept part starts with a user turn: an
 * answer without its question only confuses the model. Never silent: the ids go to the snapshot.
 */
export function fitTurnsToBudget(
  system: string | undefined,
  turns: readonly ChatTurn[],
  budget: WindowBudget,
  modelId: string,
): FittedTurns {
  let total = estimateConversationTokens(system, turns);
  if (total <= budget.inputBudgetTokens) return { turns: [...turns], droppedMessageIds: [], adjustments: [] };

  let newestUserIndex = -1;
  for (let index = turns.length - 1; index >= 0; index -= 1) {
    if (turns[index]!.role === "user") {
      newestUserIndex = index;
      break;
    }
  }
  const keepFrom = newestUserIndex === -1 ? turns.length - 1 : newestUserIndex;
  let start = 0;
  const dropped: string[] = [];
  const dropOne = () => {
    const turn = turns[start]!;
    total -= estimateMessageTokens(turn.content);
    dropped.push(...turn.messageIds);
    start += 1;
  };
  while (total > budget.inputBudgetTokens && start < keepFrom) {
    dropOne();
    while (start < keepFrom && turns[start]!.role !== "user") dropOne();
  }
  const adjustments = [
    `Left out the ${dropped.length} oldest message${dropped.length === 1 ? "" : "s"} to fit ${modelId}'s context window ` +
      `(${budget.contextWindowTokens ?? `${FALLBACK_CONTEXT_WINDOW_TOKENS} assumed`} tokens, ${budget.reservedOutputTokens} reserved for the answer)`,
  ];
  if (total > budget.inputBudgetTokens) {
    adjustments.push("The newest message alone is larger than the window allows; it was sent anyway");
  }
  return { turns: turns.slice(start), droppedMessageIds: dropped, adjustments };
}

/** The whole pipeline for one answer: branch → turns → window fitting → provider rules → snapshot. */
export function buildContext(branch: readonly Message[], model: Model, provider: Pick<ChatProvider, "prepareConversation">): BuiltContext {
  const converted = convertBranchToTurns(branch);
  const budget = computeWindowBudget(model);
  const fitted = fitTurnsToBudget(converted.system, converted.turns, budget, model.id);
  const conversation = provider.prepareConversation(converted.system, fitted.turns);
  const dropped = new Set(fitted.droppedMessageIds);
  const sentStretch = branch.filter((message) => message.role !== "system" && !dropped.has(message.id));
  const snapshot: ContextRecord = {
    version: CONTEXT_RECORD_VERSION,
    modelId: model.id,
    provider: model.provider,
    contextWindowTokens: budget.contextWindowTokens,
    reservedOutputTokens: budget.reservedOutputTokens,
    systemPromptId: SYSTEM_PROMPT_ID,
    firstMessageId: sentStretch[0]?.id ?? null,
    lastMessageId: sentStretch.at(-1)?.id ?? null,
    includedMessageCount: sentStretch.length,
    summary: null,
    leftOutMessageCount: dropped.size,
    adjustments: [...converted.adjustments, ...fitted.adjustments, ...conversation.adjustments],
    settings: { maxOutputTokens: budget.reservedOutputTokens, temperature: null },
    estimatedInputTokens: estimateConversationTokens(conversation.system, conversation.turns),
  };
  return { conversation, maxOutputTokens: budget.reservedOutputTokens, snapshot };
}
