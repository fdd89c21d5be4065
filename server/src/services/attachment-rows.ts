import crypto from "node:crypto";
import type { AttachmentContent, AttachmentRow } from "../storage/attachment-repository";
import { estimateAttachmentTokens } from "./context-builder";

/**
 * The rows of a question's attachments, in the order given (a send, or an import of one): an image
 * carries its decoded bytes (`imageBytes` by position) and its size is its byte count.
 */
export function toAttachmentRows(
  attachments: readonly AttachmentContent[],
  imageBytes: ReadonlyMap<number, Buffer>,
  messageId: string,
  createdAt: number,
): AttachmentRow[] {
  return attachments.map((attachment, position) => ({
    id: crypto.randomUUID(),
    message_id: messageId,
    position,
    kind: attachment.kind,
    path: attachment.path,
    language: attachment.language,
    start_line: attachment.startLine,
    end_line: attachment.endLine,
    content: attachment.content,
    media_type: attachment.image?.mediaType ?? null,
    data: imageBytes.get(position) ?? null,
    character_count: attachment.image?.byteSize ?? attachment.content.length,
    token_estimate: estimateAttachmentTokens(attachment),
    created_at: createdAt,
  }));
}
