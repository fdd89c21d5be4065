import { z } from "zod";
import {
  contextRecordSchema,
  finishReasonSchema,
  messageRoleSchema,
  messageStatusSchema,
  TITLE_MAX_LENGTH,
  WORKSPACE_HINT_MAX_LENGTH,
} from "./conversations";
import {
  ATTACHMENT_MAX_CHARACTERS,
  ATTACHMENT_PATH_MAX_LENGTH,
  ATTACHMENTS_PER_MESSAGE_MAX,
  IMAGE_MAX_BYTES,
  attachmentKindSchema,
  imageMediaTypeSchema,
} from "./attachments";
import { errorCodeSchema } from "./error-codes";
import { maxOutputTokensSchema, systemPromptTextSchema, temperatureSchema } from "./prompts";
import { providerKindSchema } from "./providers";

/**
 * Export and import of a user's conversations.
 *
 * Downloads are not JSON endpoints of endpoints.ts (a Markdown file, or an export too large to hold
 * in one response object): `GET /conversations/:conversationId/export?format=json|markdown` and
 * `GET /me/export` stream a file, with the usual coded JSON error when they fail before it starts.
 * `POST /import` is an endpoint of endpoints.ts whose body is the file itself.
 */
export const conversationExportPath = "/conversations/:conversationId/export";
export const userExportPath = "/me/export";

export const exportFormatSchema = z.enum(["json", "markdown"]);
export type ExportFormat = z.infer<typeof exportFormatSchema>;
export const conversationExportQuerySchema = z.object({ format: exportFormatSchema.default("json") });

/**
 * The `format` of a Juggler export file, and the version of its shape. Version 2 added a message's
 * cost and attachments and a conversation's system prompt and settings; readers take versions 1
 * and 2 (a version 1 file simply has none of them) and refuse others.
 */
export const JUGGLER_EXPORT_FORMAT = "juggler-export";
export const JUGGLER_EXPORT_VERSION = 2;

/** Longest message text an import accepts (answers can be longer than what a member may send). */
export const IMPORT_MESSAGE_MAX_CHARACTERS = 2_000_000;
/** Messages and conversations one import may bring (a larger export is imported in parts). */
export const IMPORT_MESSAGES_MAX = 250_000;
export const IMPORT_CONVERSATIONS_MAX = 20_000;

const isoTimeSchema = z.iso.datetime({ offset: true });
const idSchema = z.string().min(1).max(100);
const tokenCountSchema = z.number().int().min(0).max(1_000_000_000).nullable();

/** Editor context stored with a question (a file, a selection, or an image with its bytes). */
export const exportedAttachmentSchema = z
  .object({
    kind: attachmentKindSchema,
    path: z.string().min(1).max(ATTACHMENT_PATH_MAX_LENGTH),
    language: z.string().min(1).max(64).nullable(),
    startLine: z.number().int().min(1).nullable(),
    endLine: z.number().int().min(1).nullable(),
    /** A file's or a selection's text ("" for an image). */
    content: z.string().max(ATTACHMENT_MAX_CHARACTERS),
    /** An image's type and bytes, base64 (null for text). */
    mediaType: imageMediaTypeSchema.nullable(),
    data: z
      .string()
      .max(Math.ceil(IMAGE_MAX_BYTES / 3) * 4)
      .nullable(),
  })
  .refine((value) => (value.kind === "image") === (value.mediaType !== null && value.data !== null), {
    message: "an image has mediaType and data, a text attachment neither",
  });
export type ExportedAttachment = z.infer<typeof exportedAttachmentSchema>;

/**
 * One message as Juggler stores it: the whole tree is there (each message names its parent), with
 * who answered, what it cost and what its request carried. Ids are the exporting server's; an import
 * gives every message a new one.
 */
export const exportedMessageSchema = z.object({
  id: idSchema,
  parentId: idSchema.nullable(),
  role: messageRoleSchema,
  content: z.string().max(IMPORT_MESSAGE_MAX_CHARACTERS),
  status: messageStatusSchema,
  provider: providerKindSchema.nullable(),
  modelId: z.string().max(300).nullable(),
  inputTokens: tokenCountSchema,
  outputTokens: tokenCountSchema,
  timeToFirstTokenMs: tokenCountSchema,
  durationMs: tokenCountSchema,
  finishReason: finishReasonSchema.nullable(),
  finishReasonRaw: z.string().max(64).nullable(),
  error: z.object({ code: errorCodeSchema, message: z.string().max(100_000) }).nullable(),
  /** The compact record of what an answer's request carried (its message ids are this export's). */
  context: contextRecordSchema.nullable(),
  /** An answer's cost at the price then in force, in millionths of a dollar (version 2). */
  costMicroUsd: z.number().int().min(0).nullable().optional(),
  /** A question's editor context, in order (version 2). */
  attachments: z.array(exportedAttachmentSchema).max(ATTACHMENTS_PER_MESSAGE_MAX).optional(),
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
});
export type ExportedMessage = z.infer<typeof exportedMessageSchema>;

/** A stored summary of a branch's prefix root→`coversThroughMessageId` (answers' context records name it). */
export const exportedSummarySchema = z.object({
  id: idSchema,
  coversThroughMessageId: idSchema,
  summariserModelId: z.string().min(1).max(300),
  promptVersion: z.string().min(1).max(32),
  content: z.string().max(IMPORT_MESSAGE_MAX_CHARACTERS),
  tokenEstimate: z.number().int().min(0),
  messageCount: z.number().int().min(0),
  leftOutCount: z.number().int().min(0),
  createdAt: isoTimeSchema,
});
export type ExportedSummary = z.infer<typeof exportedSummarySchema>;

export const exportedConversationSchema = z.object({
  id: idSchema,
  title: z.string().trim().min(1).max(TITLE_MAX_LENGTH),
  modelId: z.string().max(300).nullable(),
  isPinned: z.boolean(),
  isArchived: z.boolean(),
  workspaceHint: z.string().min(1).max(WORKSPACE_HINT_MAX_LENGTH).nullable(),
  /** The current branch's last message (null: no messages). */
  leafMessageId: idSchema.nullable(),
  /** Its own system prompt and settings (null: the defaults); version 2. */
  systemPrompt: systemPromptTextSchema.nullable().optional(),
  temperature: temperatureSchema.nullable().optional(),
  maxOutputTokens: maxOutputTokensSchema.nullable().optional(),
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
  lastMessageAt: isoTimeSchema,
  /** Every message of every branch; a parent before its children. */
  messages: z.array(exportedMessageSchema).max(IMPORT_MESSAGES_MAX),
  summaries: z.array(exportedSummarySchema).max(IMPORT_MESSAGES_MAX),
});
export type ExportedConversation = z.infer<typeof exportedConversationSchema>;

/**
 * A Juggler export: lossless, so importing it and exporting again gives the same file but for the
 * ids (new ones are given on import) and `exportedAt`.
 */
export const jugglerExportSchema = z.object({
  format: z.literal(JUGGLER_EXPORT_FORMAT),
  version: z.union([z.literal(1), z.literal(JUGGLER_EXPORT_VERSION)]),
  exportedAt: isoTimeSchema,
  /** Who exported (absent in a one-conversation export). */
  user: z.object({ name: z.string().max(64) }).optional(),
  conversations: z.array(exportedConversationSchema).max(IMPORT_CONVERSATIONS_MAX),
});
export type JugglerExport = z.infer<typeof jugglerExportSchema>;

export const importSourceSchema = z.enum(["juggler", "chatgpt"]);
export type ImportSource = z.infer<typeof importSourceSchema>;

/** 201: what was imported (all of it, in one transaction), and what was left out on purpose. */
export const importResponseSchema = z.object({
  source: importSourceSchema,
  conversations: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      messageCount: z.number().int().min(0),
    }),
  ),
  /** Parts of the file that were not imported, with why, e.g. "12 tool messages (ChatGPT's browsing and code runs)". */
  skipped: z.array(z.object({ reason: z.string(), count: z.number().int().min(1) })),
});
export type ImportResponse = z.infer<typeof importResponseSchema>;
