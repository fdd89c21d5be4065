import { z } from "zod";
import { errorDetailSchema } from "./error-codes";
import { modelIdSchema } from "./models";
import { providerKindSchema } from "./providers";

export const MESSAGE_MAX_CHARACTERS = 200_000;
export const TITLE_MAX_LENGTH = 200;
export const CONVERSATION_PAGE_MAX = 200;

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

/** What an answer saw: which turns of the branch were sent to the model, and which were left out to fit. */
export const contextSnapshotSchema = z.object({
  modelId: z.string(),
  contextWindowTokens: z.number().int().nullable(),
  reservedOutputTokens: z.number().int(),
  estimatedInputTokens: z.number().int(),
  /** Ids of the messages sent, oldest first. */
  includedMessageIds: z.array(z.string()),
  /** Ids of older messages left out because the branch did not fit the window. */
  droppedMessageIds: z.array(z.string()),
  /** Messages that were merged or adjusted to satisfy the provider's rules (e.g. Anthropic's alternation). */
  adjustments: z.array(z.string()),
});
export type ContextSnapshot = z.infer<typeof contextSnapshotSchema>;

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
  finishReason: finishReasonSchema.nullable(),
  finishReasonRaw: z.string().nullable(),
  error: errorDetailSchema.nullable(),
  context: contextSnapshotSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Message = z.infer<typeof messageSchema>;

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
});
export type Conversation = z.infer<typeof conversationSchema>;

export const conversationListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(CONVERSATION_PAGE_MAX).default(50),
  /** Opaque cursor from the previous page's nextCursor. */
  cursor: z.string().max(200).optional(),
});
export type ConversationListQuery = z.infer<typeof conversationListQuerySchema>;

export const conversationListResponseSchema = z.object({
  conversations: z.array(conversationSchema),
  nextCursor: z.string().nullable(),
});
export type ConversationListResponse = z.infer<typeof conversationListResponseSchema>;

export const createConversationRequestSchema = z.object({
  title: z.string().trim().min(1).max(TITLE_MAX_LENGTH).optional(),
  modelId: modelIdSchema.optional(),
});
export type CreateConversationRequest = z.infer<typeof createConversationRequestSchema>;

export const updateConversationRequestSchema = z
  .object({
    title: z.string().trim().min(1, "Title must not be empty").max(TITLE_MAX_LENGTH).optional(),
    modelId: modelIdSchema.optional(),
  })
  .refine((value) => value.title !== undefined || value.modelId !== undefined, { message: "Nothing to change" });
export type UpdateConversationRequest = z.infer<typeof updateConversationRequestSchema>;

export const conversationResponseSchema = z.object({ conversation: conversationSchema });

/** A conversation with its current branch, root to leaf. */
export const conversationDetailResponseSchema = z.object({
  conversation: conversationSchema,
  messages: z.array(messageSchema),
});
export type ConversationDetailResponse = z.infer<typeof conversationDetailResponseSchema>;

export const sendMessageRequestSchema = z.object({
  content: z
    .string()
    .min(1, "Message must not be empty")
    .max(MESSAGE_MAX_CHARACTERS, `Message must be at most ${MESSAGE_MAX_CHARACTERS} characters`)
    .refine((value) => value.trim().length > 0, "Message must not be empty"),
  modelId: modelIdSchema,
  /** Reply under this message instead of the conversation's leaf (editing makes a sibling branch). */
  parentId: z.string().max(100).nullable().optional(),
});
export type SendMessageRequest = z.infer<typeof sendMessageRequestSchema>;

/** 202: the user message is saved and the answer is being generated; stream it from /messages/:id/stream. */
export const sendMessageResponseSchema = z.object({
  conversation: conversationSchema,
  userMessage: messageSchema,
  assistantMessage: messageSchema,
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
