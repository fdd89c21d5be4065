import type { Knex } from "knex";
import type { Attachment, AttachmentKind, ImageMediaType } from "../../../protocol/http/attachments";

/** One `message_attachments` row (migration 0014). */
export interface AttachmentRow {
  id: string;
  message_id: string;
  position: number;
  kind: string;
  path: string;
  language: string | null;
  start_line: number | null;
  end_line: number | null;
  content: string;
  media_type: string | null;
  /** An image's bytes (not read for pages). */
  data?: Buffer | null;
  character_count: number;
  token_estimate: number;
  created_at: number;
}

/** What a context sends of an attachment. */
export interface AttachmentContent {
  kind: AttachmentKind;
  path: string;
  language: string | null;
  startLine: number | null;
  endLine: number | null;
  content: string;
  /** Images: the type and the bytes, base64. */
  image?: { mediaType: ImageMediaType; data: string; byteSize: number };
}

/**
 * The attachments of ONE user's messages: every read goes through the message's conversation to its
 * owner, so another user's message ids find nothing. Callers write only under messages they have just
 * checked (a send, in its transaction).
 */
export class AttachmentRepository {
  constructor(
    private readonly database: Knex | Knex.Transaction,
    private readonly userId: string,
  ) {}

  async insert(rows: AttachmentRow[]): Promise<void> {
    if (rows.length > 0) await this.database("message_attachments").insert(rows);
  }

  /** The attachments of some messages (those a context sends, a page shows), in order, by message. */
  async findForMessages(messageIds: readonly string[], withContent: boolean): Promise<Map<string, AttachmentRow[]>> {
    const byMessage = new Map<string, AttachmentRow[]>();
    if (messageIds.length === 0) return byMessage;
    const columns = [
      "id",
      "message_id",
      "position",
      "kind",
      "path",
      "language",
      "start_line",
      "end_line",
      "media_type",
      "character_count",
      "token_estimate",
    ];
    const rows: AttachmentRow[] = await this.database("message_attachments as a")
      .join("messages as m", "m.id", "a.message_id")
      .join("conversations as c", "c.id", "m.conversation_id")
      .whereIn("a.message_id", [...new Set(messageIds)])
      .andWhere("c.user_id", this.userId)
      .orderBy([{ column: "a.message_id" }, { column: "a.position" }])
      .select([...columns, ...(withContent ? ["content", "data"] : [])].map((column) => `a.${column}`));
    for (const row of rows) {
      const list = byMessage.get(row.message_id) ?? [];
      list.push(normaliseAttachmentRow(row));
      byMessage.set(row.message_id, list);
    }
    return byMessage;
  }

  /** Every attachment of one of this user's conversations, with its content, by message (an export). */
  async findForConversation(conversationId: string): Promise<Map<string, AttachmentRow[]>> {
    const rows: AttachmentRow[] = await this.database("message_attachments as a")
      .join("messages as m", "m.id", "a.message_id")
      .join("conversations as c", "c.id", "m.conversation_id")
      .where("m.conversation_id", conversationId)
      .andWhere("c.user_id", this.userId)
      .orderBy([{ column: "a.message_id" }, { column: "a.position" }])
      .select("a.*");
    const byMessage = new Map<string, AttachmentRow[]>();
    for (const row of rows) {
      const list = byMessage.get(row.message_id) ?? [];
      list.push(normaliseAttachmentRow(row));
      byMessage.set(row.message_id, list);
    }
    return byMessage;
  }

  /** One attachment with its content, when it belongs to that message of this user's; undefined otherwise. */
  async findOne(messageId: string, attachmentId: string): Promise<AttachmentRow | undefined> {
    const row: AttachmentRow | undefined = await this.database("message_attachments as a")
      .join("messages as m", "m.id", "a.message_id")
      .join("conversations as c", "c.id", "m.conversation_id")
      .where("a.id", attachmentId)
      .andWhere("a.message_id", messageId)
      .andWhere("c.user_id", this.userId)
      .first("a.*");
    return row === undefined ? undefined : normaliseAttachmentRow(row);
  }
}

export function toAttachment(row: AttachmentRow): Attachment {
  return {
    id: row.id,
    kind: row.kind as AttachmentKind,
    path: row.path,
    language: row.language,
    startLine: row.start_line,
    endLine: row.end_line,
    characterCount: row.character_count,
    tokenEstimate: row.token_estimate,
    ...(row.kind === "image" && row.media_type !== null
      ? { mediaType: row.media_type as ImageMediaType, byteSize: row.character_count }
      : {}),
  };
}

export function toAttachmentContent(row: AttachmentRow): AttachmentContent {
  return {
    kind: row.kind as AttachmentKind,
    path: row.path,
    language: row.language,
    startLine: row.start_line,
    endLine: row.end_line,
    content: row.content,
    ...(row.kind === "image" && row.data
      ? {
          image: {
            mediaType: row.media_type as ImageMediaType,
            data: Buffer.from(row.data).toString("base64"),
            byteSize: row.data.length,
          },
        }
      : {}),
  };
}

function normaliseAttachmentRow(row: AttachmentRow): AttachmentRow {
  return {
    ...row,
    position: Number(row.position),
    start_line: row.start_line === null ? null : Number(row.start_line),
    end_line: row.end_line === null ? null : Number(row.end_line),
    character_count: Number(row.character_count),
    token_estimate: Number(row.token_estimate),
  };
}
