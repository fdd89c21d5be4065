import { z } from "zod";

/**
 * Editor context sent with a message (`attachments` on POST /conversations/:id/messages): a file, or
 * a selection with its line range. Stored with the message (its own table), so a regenerate, a rerun
 * on another model, a compare or a branch sends the same context; they count in the message's token
 * estimate, so the context walk sees their size. Text only: binary files are refused (the extension
 * does not send them; a NUL character is refused by the server).
 */
export const ATTACHMENTS_PER_MESSAGE_MAX = 10;
export const ATTACHMENT_MAX_CHARACTERS = 200_000;
/** All of a message's attachments together. */
export const ATTACHMENTS_TOTAL_MAX_CHARACTERS = 400_000;
export const ATTACHMENT_PATH_MAX_LENGTH = 1000;

/**
 * An image (pasted or attached) travels base64-encoded in the send, is stored as bytes, and is never
 * put back into JSON history: a page lists its name, type and size only.
 */
export const IMAGE_MAX_BYTES = 700_000;
/**
 * An image's estimate in the context walk: providers count images by their pixels (Anthropic about
 * width × height / 750, near 1,600 for a 1.15-megapixel image), which is not measured here; the cap
 * is the safe side.
 */
export const IMAGE_TOKEN_ESTIMATE = 1600;
export const imageMediaTypeSchema = z.enum(["image/png", "image/jpeg", "image/gif", "image/webp"]);
export type ImageMediaType = z.infer<typeof imageMediaTypeSchema>;

export const attachmentKindSchema = z.enum(["file", "selection", "image"]);
export type AttachmentKind = z.infer<typeof attachmentKindSchema>;

const attachmentTextSchema = z
  .string()
  .max(ATTACHMENT_MAX_CHARACTERS, `An attachment must be at most ${ATTACHMENT_MAX_CHARACTERS.toLocaleString("en-US")} characters`);

export const attachmentInputSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("file"),
    /** As the workspace names it (relative to its folder). */
    path: z.string().min(1).max(ATTACHMENT_PATH_MAX_LENGTH),
    language: z.string().min(1).max(64).optional(),
    content: attachmentTextSchema,
  }),
  z
    .object({
      kind: z.literal("selection"),
      path: z.string().min(1).max(ATTACHMENT_PATH_MAX_LENGTH),
      language: z.string().min(1).max(64).optional(),
      /** 1-based, both included. */
      startLine: z.number().int().min(1),
      endLine: z.number().int().min(1),
      content: attachmentTextSchema,
    })
    .refine((value) => value.endLine >= value.startLine, { message: "endLine must not be before startLine" }),
  z.object({
    kind: z.literal("image"),
    /** A name to show (the file's, or "pasted image"). */
    path: z.string().min(1).max(ATTACHMENT_PATH_MAX_LENGTH),
    mediaType: imageMediaTypeSchema,
    /** The image's bytes, base64 (the server checks they are an image of `mediaType`). */
    data: z
      .string()
      .min(1)
      .max(Math.ceil(IMAGE_MAX_BYTES / 3) * 4, `An image must be at most ${IMAGE_MAX_BYTES.toLocaleString("en-US")} bytes`),
  }),
]);
export type AttachmentInput = z.infer<typeof attachmentInputSchema>;

export const attachmentListInputSchema = z
  .array(attachmentInputSchema)
  .max(ATTACHMENTS_PER_MESSAGE_MAX, `At most ${ATTACHMENTS_PER_MESSAGE_MAX} attachments per message`)
  .refine(
    (list) =>
      list.reduce((total, attachment) => total + (attachment.kind === "image" ? 0 : attachment.content.length), 0) <=
      ATTACHMENTS_TOTAL_MAX_CHARACTERS,
    {
      message: `Attachments must be at most ${ATTACHMENTS_TOTAL_MAX_CHARACTERS.toLocaleString("en-US")} characters in all`,
    },
  );

/** An attachment as a message lists it: what it is and its size, not its text (Show Context shows that). */
export const attachmentSchema = z.object({
  id: z.string(),
  kind: attachmentKindSchema,
  path: z.string(),
  language: z.string().nullable(),
  startLine: z.number().int().nullable(),
  endLine: z.number().int().nullable(),
  characterCount: z.number().int(),
  tokenEstimate: z.number().int(),
  /** Images: their type and size in bytes (absent for text). */
  mediaType: imageMediaTypeSchema.optional(),
  byteSize: z.number().int().optional(),
});
export type Attachment = z.infer<typeof attachmentSchema>;
