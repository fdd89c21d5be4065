import {
  CONTEXT_RECORD_VERSION,
  type ContextRecord,
  type FinishReason,
  type MessageRole,
  type MessageStatus,
} from "../../../protocol/http/conversations";
import type { Model } from "../../../protocol/http/models";
import type { ChatProvider, ChatTurn, PreparedConversation } from "../providers/chat-provider";
import { IMAGE_TOKEN_ESTIMATE } from "../../../protocol/http/attachments";
import type { AttachmentContent } from "../storage/attachment-repository";
import { limitContextRecordSize } from "./context-record-size";
import { describeCutOff, withCutOffNote } from "./partial-answer-note";
import { formatSummaryForSystemPrompt } from "./summary-prompt";
import { estimateConversationTokens, estimateMessageTokens } from "./token-estimate";

/**
 * Builds what one answer sees from a stretch of its branch that ends with the question: the
 * messages turned into provider-neutral turns, fitted to the target model's window, converted to the
 * provider's rules, and the compact record of it all. Pure: which stretch (and which summary) comes
 * from the bounded walk and the plan (plan-context.ts); the caller stores the record.
 */

/** Names the system prompt in context records (Show Context serves its text by this id). */
export const SYSTEM_PROMPT_ID = "juggler-default-v1";
/** Sent as the system prompt of every conversation. The conversation may mix models, so it says so. */
export const SYSTEM_PROMPT =
  "You are a helpful assistant for software developers, used inside VS Code through Juggler. " +
  "Answer in Markdown and put code in fenced code blocks with a language tag. " +
  "Earlier answers in this conversation may have been written by other models; treat them as part of the conversation.";

/**
 * The system prompt and sampling settings of one conversation: its own prompt, else its owner's
 * default, else Juggler's built-in one; temperature and output limit when a preset or PATCH set them
 * (null: the model's own). A prompt other than the built-in one is stored once by the hash of its
 * text (`system_prompts`), and its id is what a context record names.
 */
export interface ConversationSettings {
  systemPrompt: { id: string; content: string };
  temperature: number | null;
  /** Caps the output reserved for the answer (never above the model's maximum or a quarter of the window). */
  maxOutputTokens: number | null;
}

export const BUILT_IN_SETTINGS: ConversationSettings = {
  systemPrompt: { id: SYSTEM_PROMPT_ID, content: SYSTEM_PROMPT },
  temperature: null,
  maxOutputTokens: null,
};

/** The text of the built-in system prompt when a context record names it; null for any other id (those are stored). */
export function systemPromptText(systemPromptId: string): string | null {
  return systemPromptId === SYSTEM_PROMPT_ID ? SYSTEM_PROMPT : null;
}

/** When a provider does not tell a model's window, assume a small one rather than overflow it. */
export const FALLBACK_CONTEXT_WINDOW_TOKENS = 8192;
/** Output reserved when the model does not tell its maximum, capped at a quarter of the window. */
export const DEFAULT_RESERVED_OUTPUT_TOKENS = 4096;

/** Answers that count as conversation; a streaming one is still being written and is not context. */
const finishedAnswerStatuses = new Set<MessageStatus>(["complete", "stopped", "error", "interrupted"]);

/** One message of a branch, as much of it as a context needs. */
export interface BranchMessage {
  id: string;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  finishReason: FinishReason | null;
  /** Position on the branch (root = 1). */
  depth: number;
  /** A question's editor context, sent after its text (absent: none, or not loaded because not sent). */
  attachments?: readonly AttachmentContent[];
}

/** A summary sent in place of the oldest messages. */
export interface ContextSummary {
  id: string;
  content: string;
  /** How many of the oldest messages it stands for. */
  messageCount: number;
  /** The model that wrote it. */
  modelId: string;
}

export interface BuiltContext {
  conversation: PreparedConversation;
  /** The output limit to request: what the window fitting reserved. */
  maxOutputTokens: number;
  /** null: the model's default. */
  temperature: number | null;
  record: ContextRecord;
}

export interface TurnConversion {
  system: string | undefined;
  turns: ChatTurn[];
  adjustments: string[];
}

/** Whether an answer is sent at all: finished, with text. A user message always is. */
export function isSentAsTurn(message: Pick<BranchMessage, "role" | "status" | "content">): boolean {
  if (message.role !== "assistant") return true;
  return finishedAnswerStatuses.has(message.status) && message.content.trim() !== "";
}

/** The text a message is sent with: an answer that was cut off carries a note saying so. */
export function sentTextOf(message: BranchMessage): string {
  if (message.role === "assistant") return withCutOffNote(message.content, message);
  return withAttachments(message.content, message.attachments ?? []);
}

/**
 * A question's text followed by its files and selections, each labelled with its path (and line
 * range) in a fence longer than any run of backticks inside it. What every provider gets, and what the
 * question's token estimate counts.
 */
export function withAttachments(content: string, attachments: readonly AttachmentContent[]): string {
  if (attachments.length === 0) return content;
  const blocks = attachments.map((attachment) => {
    // an image goes as an image part to a model that sees images; the text names it either way
    if (attachment.image) return `[Image: ${attachment.path} (${attachment.image.mediaType}, ${formatBytes(attachment.image.byteSize)})]`;
    const lines = attachment.startLine === null ? "" : `, lines ${attachment.startLine}–${attachment.endLine ?? attachment.startLine}`;
    const label = `[${attachment.kind === "file" ? "File" : "Selection"}: ${attachment.path}${lines}]`;
    const longestRun = Math.max(0, ...(attachment.content.match(/`+/g) ?? []).map((run) => run.length));
    const fence = "`".repeat(Math.max(3, longestRun + 1));
    return `${label}\n${fence}${attachment.language ?? ""}\n${attachment.content}\n${fence}`;
  });
  return `${content}\n\n${blocks.join("\n\n")}`;
}

/**
 * What a question counts against a window, stored with it so later walks never estimate again: its
 * text with its files and selections as they are sent, and each image at its flat rate.
 */
export function estimateQuestionTokens(content: string, attachments: readonly AttachmentContent[]): number {
  const images = attachments.filter((attachment) => attachment.image !== undefined).length;
  return estimateMessageTokens(withAttachments(content, attachments)) + images * IMAGE_TOKEN_ESTIMATE;
}

/** One attachment's own estimate, shown beside it: an image at the flat rate, text by its length. */
export function estimateAttachmentTokens(attachment: AttachmentContent): number {
  return attachment.image ? IMAGE_TOKEN_ESTIMATE : estimateMessageTokens(attachment.content);
}

/**
 * Branch messages (oldest first) → neutral turns. Answers without text are left out; answers that
 * were cut off (stopped, failed, interrupted, or at the output limit) go with a note saying so.
 */
export function convertBranchToTurns(
  branch: readonly BranchMessage[],
  systemPrompt: string | undefined = SYSTEM_PROMPT,
  options: { canSeeImages?: boolean } = {},
): TurnConversion {
  let imagesDescribed = 0;
  const systemParts = systemPrompt === undefined ? [] : [systemPrompt];
  const turns: ChatTurn[] = [];
  let skippedEmptyAnswers = 0;
  let cutOffAnswers = 0;
  for (const message of branch) {
    if (message.role === "system") {
      if (message.content.trim() !== "") systemParts.push(message.content);
      continue;
    }
    if (!isSentAsTurn(message)) {
      skippedEmptyAnswers += 1;
      continue;
    }
    if (message.role === "assistant" && describeCutOff(message) !== undefined) cutOffAnswers += 1;
    const text = sentTextOf(message);
    const images =
      message.role === "user" ? (message.attachments ?? []).flatMap((attachment) => (attachment.image ? [attachment.image] : [])) : [];
    if (images.length > 0 && options.canSeeImages) {
      turns.push({
        role: message.role,
        content: text,
        parts: [
          { type: "text", text },
          ...images.map((image) => ({ type: "image" as const, mediaType: image.mediaType, data: image.data })),
        ],
        messageIds: [message.id],
      });
      continue;
    }
    if (images.length > 0) {
      // a model without vision gets a short note instead of the image, and the record says so
      imagesDescribed += images.length;
      const note = `[${images.length === 1 ? "The image above was" : `The ${images.length} images above were`} not sent: this model cannot see images]`;
      turns.push({ role: message.role, content: `${text}\n${note}`, messageIds: [message.id] });
      continue;
    }
    turns.push({ role: message.role, content: text, messageIds: [message.id] });
  }
  const adjustments: string[] = [];
  if (skippedEmptyAnswers > 0) {
    adjustments.push(`Left out ${plural(skippedEmptyAnswers, "answer")} without text (failed or unfinished)`);
  }
  if (imagesDescribed > 0) {
    adjustments.push(`Sent a note instead of ${plural(imagesDescribed, "image")}: this model cannot see images`);
  }
  if (cutOffAnswers > 0) {
    adjustments.push(`Marked ${plural(cutOffAnswers, "answer")} as cut off (stopped, failed, interrupted or at the output limit)`);
  }
  return { system: systemParts.length === 0 ? undefined : systemParts.join("\n\n"), turns, adjustments };
}

export interface WindowBudget {
  contextWindowTokens: number | null;
  reservedOutputTokens: number;
  /** Tokens the input may use: the window minus the reserved output. */
  inputBudgetTokens: number;
}

export function computeWindowBudget(
  model: Pick<Model, "contextWindow" | "maxOutputTokens">,
  requestedOutputTokens?: number | null,
): WindowBudget {
  const window = model.contextWindow ?? FALLBACK_CONTEXT_WINDOW_TOKENS;
  const modelOutputTokens = model.maxOutputTokens ?? DEFAULT_RESERVED_OUTPUT_TOKENS;
  const wantedOutputTokens = requestedOutputTokens == null ? modelOutputTokens : Math.min(requestedOutputTokens, modelOutputTokens);
  const reservedOutputTokens = Math.max(1, Math.min(wantedOutputTokens, Math.floor(window / 4)));
  return { contextWindowTokens: model.contextWindow, reservedOutputTokens, inputBudgetTokens: window - reservedOutputTokens };
}

export interface FittedTurns {
  turns: ChatTurn[];
  droppedMessageIds: string[];
  /** The question alone is over the budget (it is sent anyway). */
  isNewestTooLarge: boolean;
}

/**
 * Drops the oldest turns until the estimate fits the budget. The newest user turn (the question
 * being answered) is never dropped, and after a cut the kept part starts with a user turn: an
 * answer without its question only confuses the model.
 */
export function fitTurnsToBudget(system: string | undefined, turns: readonly ChatTurn[], inputBudgetTokens: number): FittedTurns {
  let total = estimateConversationTokens(system, turns);
  if (total <= inputBudgetTokens) return { turns: [...turns], droppedMessageIds: [], isNewestTooLarge: false };

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
    total -= estimateConversationTokens(undefined, [turn]);
    dropped.push(...turn.messageIds);
    start += 1;
  };
  while (total > inputBudgetTokens && start < keepFrom) {
    dropOne();
    while (start < keepFrom && turns[start]!.role !== "user") dropOne();
  }
  return { turns: turns.slice(start), droppedMessageIds: dropped, isNewestTooLarge: total > inputBudgetTokens };
}

/** Where a context's messages come from: a stretch of the branch, and the summary of what is above it. */
export interface ContextSource {
  /** Consecutive messages of the branch, oldest first, ending with the question being answered. */
  messages: readonly BranchMessage[];
  /** Sent in place of the messages above the stretch. */
  summary: ContextSummary | null;
  /** Plain-words notes for the record (e.g. why summarising failed). */
  notes?: readonly string[];
  /** The conversation's system prompt and settings (absent: the built-in ones). */
  settings?: ConversationSettings;
}

/** The whole pipeline for one answer: stretch → turns → window fitting → provider rules → compact record. */
export function buildContext(source: ContextSource, model: Model, provider: Pick<ChatProvider, "prepareConversation">): BuiltContext {
  const { messages, summary } = source;
  const question = messages.at(-1);
  if (!question) throw new Error("A context needs the question it answers");
  const settings = source.settings ?? BUILT_IN_SETTINGS;
  const budget = computeWindowBudget(model, settings.maxOutputTokens);
  const prompt = settings.systemPrompt.content;
  const system = summary === null ? prompt : `${prompt}\n\n${formatSummaryForSystemPrompt(summary)}`;
  const converted = convertBranchToTurns(messages, system, { canSeeImages: model.supportsVision === true });
  const fitted = fitTurnsToBudget(converted.system, converted.turns, budget.inputBudgetTokens);
  const conversation = provider.prepareConversation(converted.system, fitted.turns);

  // the stretch sent runs from the first kept message to the question; everything above it is
  // summarised or left out, counted by depth rather than by walking it
  const firstKeptId = fitted.droppedMessageIds.length === 0 ? messages[0]!.id : (fitted.turns[0]?.messageIds[0] ?? question.id);
  const first = messages.find((message) => message.id === firstKeptId) ?? question;
  const summarisedCount = summary?.messageCount ?? 0;
  const leftOutCount = Math.max(0, first.depth - 1 - summarisedCount);

  const adjustments: string[] = [];
  if (summary !== null) adjustments.push(`Summarised the ${plural(summarisedCount, "earlier message")} (sent with the system prompt)`);
  if (leftOutCount > 0) {
    adjustments.push(
      `Left out the ${plural(leftOutCount, "oldest message")} to fit the context window ` +
        `(${budget.contextWindowTokens ?? `${FALLBACK_CONTEXT_WINDOW_TOKENS} assumed`} tokens, ${budget.reservedOutputTokens} reserved for the answer)`,
    );
  }
  adjustments.push(...converted.adjustments);
  if (fitted.isNewestTooLarge) adjustments.push("The newest message alone is larger than the window allows; it was sent anyway");
  adjustments.push(...conversation.adjustments, ...(source.notes ?? []));

  const record: ContextRecord = limitContextRecordSize({
    version: CONTEXT_RECORD_VERSION,
    modelId: model.id,
    provider: model.provider,
    contextWindowTokens: budget.contextWindowTokens,
    reservedOutputTokens: budget.reservedOutputTokens,
    systemPromptId: settings.systemPrompt.id,
    firstMessageId: first.id,
    lastMessageId: question.id,
    includedMessageCount: question.depth - first.depth + 1,
    summary: summary === null ? null : { id: summary.id, messageCount: summary.messageCount, modelId: summary.modelId },
    leftOutMessageCount: leftOutCount,
    adjustments: adjustments.map((note) => note.slice(0, 300)),
    settings: { maxOutputTokens: budget.reservedOutputTokens, temperature: settings.temperature },
    estimatedInputTokens: estimateConversationTokens(conversation.system, conversation.turns),
  });
  return { conversation, maxOutputTokens: budget.reservedOutputTokens, temperature: settings.temperature, record };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${Math.round(bytes / 1024).toLocaleString("en-US")} KB`;
}
