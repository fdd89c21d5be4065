import type { Knex } from "knex";
import type { GenerationEvent, GenerationEventName } from "../../../protocol/http/generation-events";
import { ANSWER_EVENTS_CHANNEL, notificationPayloads } from "./postgres-notifications";

/** An event of an answer as stored: `data` is the JSON text of the event's data. */
export interface StoredGenerationEvent {
  messageId: string;
  sequence: number;
  event: GenerationEventName;
  data: string;
}

/**
 * The `generation_events` table (PostgreSQL only): the events of answers being written, so that a
 * stream opened on another instance replays them after its `Last-Event-ID` and follows the rest.
 * Rows live while the answer is written and a minute after; the final text is in `messages`.
 */
export class GenerationEventRepository {
  constructor(private readonly database: Knex) {}

  /**
   * Stores a batch (events of several answers) and, in the same statement, notifies
   * ANSWER_EVENTS_CHANNEL with the ids of the answers that have new events (a notification is
   * delivered when the statement commits, so a listener that reads after it sees the rows). An event
   * already there (the same answer and sequence, written by an instance that interrupted an answer
   * whose owner seemed gone) is kept.
   */
  async appendAndNotify(events: readonly StoredGenerationEvent[]): Promise<void> {
    if (events.length === 0) return;
    const messageIds = [...new Set(events.map((event) => event.messageId))];
    await this.database.raw(
      `WITH inserted AS (
         INSERT INTO generation_events (message_id, sequence, event, data)
         SELECT * FROM unnest(?::varchar[], ?::int[], ?::varchar[], ?::text[])
         ON CONFLICT DO NOTHING
       )
       SELECT pg_notify(?, payload) FROM unnest(?::text[]) AS payload`,
      [
        events.map((event) => event.messageId),
        events.map((event) => event.sequence),
        events.map((event) => event.event),
        events.map((event) => event.data),
        ANSWER_EVENTS_CHANNEL,
        notificationPayloads(messageIds),
      ],
    );
  }

  /** The answer's events after `afterSequence`, in order. */
  async listAfter(messageId: string, afterSequence: number): Promise<GenerationEvent[]> {
    const rows: Array<{ sequence: number; event: GenerationEventName; data: string }> = await this.database("generation_events")
      .where("message_id", messageId)
      .andWhere("sequence", ">", afterSequence)
      .orderBy("sequence")
      .select("sequence", "event", "data");
    return rows.map((row) => ({ sequence: row.sequence, event: row.event, data: JSON.parse(row.data) }) as GenerationEvent);
  }

  /** The text the answer's owner emitted (its text-delta events joined), and the last sequence stored. */
  async summarise(messageId: string): Promise<{ text: string; lastSequence: number }> {
    const rows: Array<{ text: string | null; last_sequence: number | null }> = (
      await this.database.raw(
        `SELECT string_agg(CASE WHEN event = 'text-delta' THEN (data::json)->>'text' END, '' ORDER BY sequence) AS text,
                max(sequence) AS last_sequence
         FROM generation_events WHERE message_id = ?`,
        [messageId],
      )
    ).rows;
    return { text: rows[0]?.text ?? "", lastSequence: rows[0]?.last_sequence ?? 0 };
  }

  async deleteOf(messageIds: readonly string[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.database("generation_events").whereIn("message_id", messageIds).delete();
  }
}
