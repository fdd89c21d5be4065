import { z } from "zod";
import { attachmentListInputSchema, attachmentSchema } from "./attachments";
import { errorCodeSchema, errorDetailSchema } from "./error-codes";
import { MESSAGE_PAGE_DEFAULT, MESSAGE_PAGE_MAX } from "./message-page-sizes";
import { modelIdSchema } from "./models";
import { maxOutputTokensSchema, systemPromptTextSchema, temperatureSchema } from "./prompts";
import { providerKindSchema } from "./providers";

export const MESSAGE_MAX_CHARACTERS = 200_000;
export const TITLE_MAX_LENGTH = 200;
/** The workspace folder a conversation belongs to (a URI as VS Code names the folder). */
export const WORKSPACE_HINT_MAX_LENGTH = 500;
export const CONVERSATION_PAGE_MAX = 200;
export { MESSAGE_PAGE_DEFAULT, MESSAGE_PAGE_MAX } from "./message-page-sizes";

export const messageRoleSchema = z.enum(["system", "user", "assistant"]);
export type MessageRole = z.infer<typeof messageRoleSchema>;

/**
 * streaming: a generation job is producing it; complete: the model finished;
 * stopped: the user stopped it; error: the provider failed (partial text kept);
 * interrupted: the server stopped while it streamed (partial text kept).
 */
export const messageStatusSchema = z.enum(["streaming", "complete", "stopped", "error", "interrupted"]);
export type MessageStatus = z.infer<typeof messageStatusSchema>;

/** Normalised finish reason, with the provider's own value kept beside it. */
export const finishReasonSchema = z.enum(["stop", "length", "content-filter", "tool-calls", "error", "other"]);
export type FinishReason = z.infer<typeof finishReasonSchema>;

/**
 * What an answer saw, in constant size whatever the length of the conversation: the branch between
 * `firstMessageId` and `lastMessageId` (the question) defines the messages that were sent, so their ids
 * are not listed. Older messages were either summarised (`summary`) or left out (`leftOutMessageCount`).
 * "Show Context" (GET /messages/:id/context) re-reads that stretch of the branch, paged.
 */
export const CONTEXT_RECORD_VERSION = 2;
export const contextRecordSchema = z.object({
  version: z.literal(CONTEXT_RECORD_VERSION),
  modelId: z.string(),
  provider: providerKindSchema,
  contextWindowTokens: z.number().int().nullable(),
  /** The output limit requested (what the window fitting reserved for the answer). */
  reservedOutputTokens: z.number().int(),
  /** Which system prompt was sent (its text is served by Show Context). */
  systemPromptId: z.string().max(100),
  /** The oldest message sent as it was written; null when none was (e.g. a record migrated from an empty one). */
  firstMessageId: z.string().nullable(),
  /** The newest message sent: the question this answer replies to. */
  lastMessageId: z.string().nullable(),
  /** Messages of the branch from firstMessageId to lastMessageId, both included (some may have been skipped: see adjustments). */
  includedMessageCount: z.number().int().min(0),
  /** The summary of older messages sent in their place, if one was. */
  summary: z
    .object({
      id: z.string(),
      /** How many of the oldest messages it stands for. */
      messageCount: z.number().int().min(0),
      /** The model that wrote it. */
      modelId: z.string(),
    })
    .nullable(),
  /** Older messages neither sent nor summarised (the window was full, or summarising failed). */
  leftOutMessageCount: z.number().int().min(0),
  /** What had to change to meet the window or the provider's rules, in plain words (a few, each short). */
  adjustments: z.array(z.string().max(300)).max(12),
  /** Request settings besides the model. */
  settings: z.object({
    maxOutputTokens: z.number().int(),
    temperature: z.number().nullable(),
  }),
  /** Juggler's estimate of the input (system prompt, summary and messages); the provider's count is the answer's inputTokens. */
  estimatedInputTokens: z.number().int(),
  /**
   * Set when another model answered than the one asked for (a fallback): the model asked for and
   * why it did not answer. `modelId` and `provider` above are the model that did. Absent in records
   * from before fallbacks.
   */
  fallback: z
    .object({
      requestedModelId: z.string(),
      /** The requested model's failure (its code says why: provider_overloaded, provider_rate_limited …). */
      reason: z.object({ code: errorCodeSchema, message: z.string().max(300) }),
    })
    .nullable()
    .optional(),
});
export type ContextRecord = z.infer<typeof contextRecordSchema>;

export const messageSiblingPositionSchema = z.object({
  /** 1 = the oldest. */
  position: z.number().int().min(1),
  count: z.number().int().min(1),
});
export type MessageSiblingPosition = z.infer<typeof messageSiblingPositionSchema>;

export const messageSchema = z.object({
  id: z.string(),
  conversationId: z.string(),
  parentId: z.string().nullable(),
  role: messageRoleSchema,
  content: z.string(),
  status: messageStatusSchema,
  /** For answers: who answered. */
  provider: providerKindSchema.nullable(),
  modelId: z.string().nullable(),
  /** As the provider reported them; null when it did not report. */
  inputTokens: z.number().int().nullable(),
  outputTokens: z.number().int().nullable(),
  timeToFirstTokenMs: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
  /**
   * For answers: the cost in micro-dollars (1 USD = 1,000,000) at the price in force when the answer
   * ended; null when not known (no price for its model, or tokens not reported). Absent from servers
   * before the ledger.
   */
  costMicroUsd: z.number().int().nullable().optional(),
  finishReason: finishReasonSchema.nullable(),
  finishReasonRaw: z.string().nullable(),
  error: errorDetailSchema.nullable(),
  /** For answers: what the request carried (null for user messages, and while it is being prepared). */
  context: contextRecordSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /**
   * Where the message stands among the messages with the same parent (edits of a question, answers
   * regenerated or rerun on another model), oldest first: the chat's "‹ 2/3 ›". Sent with history
   * pages and with the messages a send or a regenerate creates; absent elsewhere (a stream's events).
   */
  siblings: messageSiblingPositionSchema.optional(),
  /** A question's editor context (files, selections), listed without their text; absent when it has none. */
  attachments: z.array(attachmentSchema).optional(),
});
export type Message = z.infer<typeof messageSchema>;

/** `GET /messages/:id/siblings`: the message and its siblings (same parent, same conversation), oldest first. */
export const messageSiblingsResponseSchema = z.object({ messages: z.array(messageSchema) });
export type MessageSiblingsResponse = z.infer<typeof messageSiblingsResponseSchema>;

export const conversationSchema = z.object({
  id: z.string(),
  title: z.string(),
  /** The model the conversation uses next (the last one chosen). */
  modelId: z.string().nullable(),
  leafMessageId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Last time a message was added (or the creation time). */
  lastMessageAt: z.string(),
  /**
   * Library fields (this server always sends them; absent is read as false / null). Pinned
   * conversations are listed apart, on top; archived ones only when asked for. An archived
   * conversation is never pinned.
   */
  isPinned: z.boolean().optional(),
  isArchived: z.boolean().optional(),
  /** The workspace folder the conversation was started in, or moved to (null: none). */
  workspaceHint: z.string().nullable().optional(),
  /**
   * The conversation's own system prompt (null: its owner's default). Sent with a single
   * conversation (create, get, PATCH), not in lists.
   */
  systemPrompt: z.string().nullable().optional(),
  /** Sampling settings set by a preset or PATCH (null: the model's own). */
  temperature: z.number().nullable().optional(),
  maxOutputTokens: z.number().int().nullable().optional(),
});
export type Conversation = z.infer<typeof conversationSchema>;

/** A query-string flag: "true" or "false". */
const queryFlagSchema = z.enum(["true", "false"]).transform((value) => value === "true");

export const conversationListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(CONVERSATION_PAGE_MAX).default(50),
  /** Opaque cursor from the previous page's nextCursor. */
  cursor: z.string().max(200).optional(),
  /** Archived conversations instead of the others (default false). */
  archived: queryFlagSchema.optional(),
  /** Only pinned (true) or only unpinned (false) ones; absent: both. */
  pinned: queryFlagSchema.optional(),
  /** Only the conversations of this workspace folder. */
  workspace: z.string().min(1).max(WORKSPACE_HINT_MAX_LENGTH).optional(),
  /** Only titles containing this text (case-insensitive). */
  titleContains: z.string().trim().min(1).max(TITLE_MAX_LENGTH).optional(),
});
export type ConversationListQuery = z.infer<typeof conversationListQuerySchema>;

export const conversationListResponseSchema = z.object({
  conversations: z.array(conversationSchema),
  nextCursor: z.string().nullable(),
});
export type ConversationListResponse = z.infer<typeof conversationListResponseSchema>;

/** What a user asks: never empty, never only whitespace. */
const messageContentSchema = z
  .string()
  .min(1, "Message must not be empty")
  .max(MESSAGE_MAX_CHARACTERS, `Message must be at most ${MESSAGE_MAX_CHARACTERS} characters`)
  .refine((value) => value.trim().length > 0, "Message must not be empty");

/** A new conversation's first message, sent with it in one call: what it says and the editor context it carries. */
export const firstMessageSchema = z.object({
  content: messageContentSchema,
  attachments: attachmentListInputSchema.optional(),
});
export type FirstMessage = z.infer<typeof firstMessageSchema>;

export const createConversationRequestSchema = z
  .object({
    title: z.string().trim().min(1).max(TITLE_MAX_LENGTH).optional(),
    modelId: modelIdSchema.optional(),
    /** The workspace folder it is started in. */
    workspaceHint: z.string().min(1).max(WORKSPACE_HINT_MAX_LENGTH).optional(),
    /** Start from a team preset: its system prompt, model, temperature and output limit (the fields given here win). */
    presetId: z.string().min(1).max(100).optional(),
    systemPrompt: systemPromptTextSchema.nullable().optional(),
    temperature: temperatureSchema.nullable().optional(),
    maxOutputTokens: maxOutputTokensSchema.nullable().optional(),
    /**
     * The first message, sent to the conversation's model in the same call (one round trip before
     * the answer's stream): the response then carries it and its streaming answer, like a send's.
     */
    message: firstMessageSchema.optional(),
  })
  .refine((value) => value.message === undefined || value.modelId !== undefined || value.presetId !== undefined, {
    message: "A first message needs a modelId (or a preset that names one)",
    path: ["modelId"],
  });
export type CreateConversationRequest = z.infer<typeof createConversationRequestSchema>;

export const updateConversationRequestSchema = z
  .object({
    title: z.string().trim().min(1, "Title must not be empty").max(TITLE_MAX_LENGTH).optional(),
    modelId: modelIdSchema.optional(),
    /** Pinning unarchives; archiving unpins. */
    isPinned: z.boolean().optional(),
    isArchived: z.boolean().optional(),
    /** Move to a workspace folder (null: to none). */
    workspaceHint: z.string().min(1).max(WORKSPACE_HINT_MAX_LENGTH).nullable().optional(),
    /** The conversation's own system prompt; null: back to the owner's default. The next answer uses it. */
    systemPrompt: systemPromptTextSchema.nullable().optional(),
    temperature: temperatureSchema.nullable().optional(),
    maxOutputTokens: maxOutputTokensSchema.nullable().optional(),
  })
  .refine((value) => Object.values(value).some((field) => field !== undefined), { message: "Nothing to change" })
  .refine((value) => !(value.isPinned === true && value.isArchived === true), { message: "A conversation cannot be pinned and archived" });
export type UpdateConversationRequest = z.infer<typeof updateConversationRequestSchema>;

export const conversationResponseSchema = z.object({ conversation: conversationSchema });

/** 201: the conversation; with a first message, also that message and its answer (streaming, like a send's 202). */
export const createConversationResponseSchema = conversationResponseSchema.extend({
  userMessage: messageSchema.optional(),
  assistantMessage: messageSchema.optional(),
});
export type CreateConversationResponse = z.infer<typeof createConversationResponseSchema>;

export const messagePageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MESSAGE_PAGE_MAX).default(MESSAGE_PAGE_DEFAULT),
  /** Opaque cursor from a previous page's olderCursor; absent: the newest page of the current branch. */
  cursor: z.string().max(200).optional(),
});
export type MessagePageQuery = z.infer<typeof messagePageQuerySchema>;

/**
 * A conversation and the NEWEST page of its current branch (oldest first within the page). Older
 * messages come from GET /conversations/:id/messages with `olderCursor`; no response grows with the
 * length of the conversation.
 */
export const conversationDetailResponseSchema = z.object({
  conversation: conversationSchema,
  messages: z.array(messageSchema),
  /** How many messages the current branch has, root to leaf. */
  branchMessageCount: z.number().int().min(0),
  /** Cursor for the page before `messages`; null when `messages` starts at the root. */
  olderCursor: z.string().nullable(),
});
export type ConversationDetailResponse = z.infer<typeof conversationDetailResponseSchema>;

/**
 * One page of a branch, oldest first, ending just above the cursor's message. A cursor names a message,
 * so pages are stable while new messages arrive: no gaps and no duplicates.
 */
export const messagePageResponseSchema = z.object({
  messages: z.array(messageSchema),
  olderCursor: z.string().nullable(),
});
export type MessagePageResponse = z.infer<typeof messagePageResponseSchema>;

/** One message of an answer's context, as it was sent. */
export const contextMessageSchema = z.object({
  messageId: z.string(),
  role: z.enum(["user", "assistant"]),
  status: messageStatusSchema,
  /** For answers: the model that wrote it. */
  modelId: z.string().nullable(),
  /** The text as the request carried it (e.g. with the note that an answer was cut off). */
  content: z.string(),
  /** false: on the branch in that stretch but not sent (an answer without text); `note` says why. */
  isSent: z.boolean(),
  note: z.string().nullable(),
});
export type ContextMessage = z.infer<typeof contextMessageSchema>;

export const contextPageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MESSAGE_PAGE_MAX).default(MESSAGE_PAGE_DEFAULT),
  /** From a previous page's nextCursor; absent: the first (oldest) page. */
  cursor: z.string().max(200).optional(),
});
export type ContextPageQuery = z.infer<typeof contextPageQuerySchema>;

/** Show Context: exactly what one answer's request carried, read from its compact record. */
export const answerContextResponseSchema = z.object({
  record: contextRecordSchema,
  systemPrompt: z.string().nullable(),
  summary: z
    .object({
      id: z.string(),
      content: z.string(),
      messageCount: z.number().int(),
      modelId: z.string(),
      createdAt: z.string(),
    })
    .nullable(),
  tokens: z.object({
    estimatedInput: z.number().int(),
    /** As the provider reported them; null when it did not. */
    reportedInput: z.number().int().nullable(),
    reportedOutput: z.number().int().nullable(),
  }),
  /** A page of the messages sent, oldest first. */
  messages: z.array(contextMessageSchema),
  /** Cursor for the next (newer) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type AnswerContextResponse = z.infer<typeof answerContextResponseSchema>;

/** How many models one compare asks. */
export const COMPARE_MODELS_MIN = 2;
export const COMPARE_MODELS_MAX = 4;

export const sendMessageRequestSchema = z
  .object({
    content: messageContentSchema,
    /** The model that answers; or, instead, `modelIds` to compare. */
    modelId: modelIdSchema.optional(),
    /**
     * Compare: 2–4 models answer the same question at once, as sibling answers under it (each sees the
     * same context, converted for its provider). The branch in view goes on with the first; "continue
     * with this one" is PUT /conversations/:id/leaf with another.
     */
    modelIds: z
      .array(modelIdSchema)
      .min(COMPARE_MODELS_MIN, `modelIds: compare at least ${COMPARE_MODELS_MIN} models`)
      .max(COMPARE_MODELS_MAX, `modelIds: compare at most ${COMPARE_MODELS_MAX} models`)
      .optional(),
    /** Reply under this message instead of the conversation's leaf (editing makes a sibling branch). */
    parentId: z.string().max(100).nullable().optional(),
    /** Editor context stored with the question and sent with it to every model that answers it. */
    attachments: attachmentListInputSchema.optional(),
  })
  .refine((value) => (value.modelId === undefined) !== (value.modelIds === undefined), {
    message: "Give modelId, or modelIds (2–4 models) to compare",
  })
  .refine((value) => value.modelIds === undefined || new Set(value.modelIds).size === value.modelIds.length, {
    message: "modelIds: each model once",
  });
export type SendMessageRequest = z.infer<typeof sendMessageRequestSchema>;

/** 202: the user message is saved and the answer is being generated; stream it from /messages/:id/stream. */
export const sendMessageResponseSchema = z.object({
  conversation: conversationSchema,
  userMessage: messageSchema,
  /** The answer (compare: the first of them, the one the branch in view goes on with). */
  assistantMessage: messageSchema,
  /** Compare only: every answer, in the order of `modelIds`, each streaming on its own. */
  assistantMessages: z.array(messageSchema).optional(),
});
export type SendMessageResponse = z.infer<typeof sendMessageResponseSchema>;

/** Regenerate an answer as a sibling, optionally on another model ("rerun on model X"). */
export const regenerateRequestSchema = z.object({ modelId: modelIdSchema.optional() });
export type RegenerateRequest = z.infer<typeof regenerateRequestSchema>;

export const regenerateResponseSchema = z.object({
  conversation: conversationSchema,
  assistantMessage: messageSchema,
});
export type RegenerateResponse = z.infer<typeof regenerateResponseSchema>;

export const messageResponseSchema = z.object({ message: messageSchema });
