import type { Knex } from "knex";
import { isTerminalGenerationEvent, type GenerationEvent, type GenerationEventName } from "../../../protocol/http/generation-events";
import { ANSWER_EVENTS_CHANNEL, notificationPayloads } from "./postgres-notifications";
import { DATABASE_NOW_MS } from "./server-instance-repository";

/** An event of an answer as stored: `data` is the JSON text of the event's data. */
export interface StoredGenerationEvent {
  messageId: string;
  sequence: number;
  event: GenerationEventName;
  data: string;
}

/** One write of an instance's answers: their new events, and the leases that start or end with them. */
export interface AnswerEventWrite {
  events: readonly StoredGenerationEvent[];
  /** Answers this instance starts writing: their lease names it (ended at once when the write holds their last event). */
  leasesStarted: readonly string[];
  /** Answers whose last event is in this write: their lease ends (pruned, with the events, a minute later). */
  leasesEnded: readonly string[];
}

/**
 * The `generation_event_batches` table (PostgreSQL only): the events of answers being written, so
 * that a stream opened on another instance replays them after its `Last-Event-ID` and follows the
 * rest. One row per answer per write, its events as one JSON array (decision 0033). Rows live while
 * the answer is written and a minute after; the final text is in `messages`.
 */
export class GenerationEventRepository {
  constructor(
    private readonly database: Knex,
    private readonly instanceId: string,
  ) {}

  /**
   * One statement for the whole write: the leases that start and end, one row per answer with its
   * events, and a NOTIFY on ANSWER_EVENTS_CHANNEL of the answers that have new ones (delivered when
   * the statement commits, so a listener that reads after it sees the rows).
   */
  async write(write: AnswerEventWrite): Promise<void> {
    const byAnswer = new Map<string, StoredGenerationEvent[]>();
    for (const event of write.events) {
      const events = byAnswer.get(event.messageId);
      if (events) events.push(event);
      else byAnswer.set(event.messageId, [event]);
    }
    const started = new Set(write.leasesStarted);
    // a lease that starts in this write is inserted already ended; the statement's parts do not see
    // each other's rows, so an UPDATE could not end it
    const endedAtStart = write.leasesEnded.filter((messageId) => started.has(messageId));
    const endedLater = write.leasesEnded.filter((messageId) => !started.has(messageId));
    const rows = [...byAnswer].map(([messageId, events]) => {
      events.sort((first, second) => first.sequence - second.sequence);
      return { messageId, lastSequence: events.at(-1)!.sequence, events: encodeEvents(events) };
    });
    await this.database.raw(
      `WITH started AS (
         INSERT INTO generation_leases (message_id, instance_id, started_at, finished_at)
         SELECT id, ?, ${DATABASE_NOW_MS}, CASE WHEN id = ANY(?::varchar[]) THEN ${DATABASE_NOW_MS} END FROM unnest(?::varchar[]) AS id
         -- an answer another instance leased (its writer gone) keeps that lease, ended here
         ON CONFLICT (message_id) DO UPDATE SET finished_at = excluded.finished_at WHERE excluded.finished_at IS NOT NULL
       ), ended AS (
         UPDATE generation_leases SET finished_at = ${DATABASE_NOW_MS} WHERE message_id = ANY(?::varchar[])
       ), inserted AS (
         INSERT INTO generation_event_batches (message_id, last_sequence, events)
         SELECT * FROM unnest(?::varchar[], ?::int[], ?::text[])
       )
       SELECT pg_notify(?, payload) FROM unnest(?::text[]) AS payload`,
      [
        this.instanceId,
        endedAtStart,
        [...started],
        endedLater,
        rows.map((row) => row.messageId),
        rows.map((row) => row.lastSequence),
        rows.map((row) => row.events),
        ANSWER_EVENTS_CHANNEL,
        notificationPayloads(rows.map((row) => row.messageId)),
      ],
    );
  }

  /**
   * The answer's events after `afterSequence`, in order. Of two writes that carry the same sequence
   * (an instance interrupting an answer whose writer only seemed gone), the first one's event is kept.
   */
  async listAfter(messageId: string, afterSequence: number): Promise<GenerationEvent[]> {
    const rows: Array<{ events: string }> = await this.database("generation_event_batches")
      .where("message_id", messageId)
      .andWhere("last_sequence", ">", afterSequence)
      .orderBy("id")
      .select("events");
    return collectEvents(rows, afterSequence);
  }

  /** The text the answer's owner emitted (its text-delta events joined), and the last sequence stored. */
  async summarise(messageId: string): Promise<{ text: string; lastSequence: number }> {
    const rows: Array<{ events: string }> = await this.database("generation_event_batches")
      .where("message_id", messageId)
      .orderBy("id")
      .select("events");
    const events = collectEvents(rows, 0);
    const text = events.map((event) => (event.event === "text-delta" ? event.data.text : "")).join("");
    return { text, lastSequence: events.at(-1)?.sequence ?? 0 };
  }
}

/** Events as a JSON array; `data` is already JSON, so nothing is encoded twice. */
function encodeEvents(events: readonly StoredGenerationEvent[]): string {
  return `[${events.map((event) => `{"sequence":${event.sequence},"event":${JSON.stringify(event.event)},"data":${event.data}}`).join(",")}]`;
}

function collectEvents(rows: ReadonlyArray<{ events: string }>, afterSequence: number): GenerationEvent[] {
  const bySequence = new Map<number, GenerationEvent>();
  for (const row of rows) {
    for (const event of JSON.parse(row.events) as GenerationEvent[]) {
      if (event.sequence > afterSequence && !bySequence.has(event.sequence)) bySequence.set(event.sequence, event);
    }
  }
  const events = [...bySequence.values()].sort((first, second) => first.sequence - second.sequence);
  // nothing follows an answer's end: a late write of the writer thought gone is not replayed after it
  const end = events.findIndex((event) => isTerminalGenerationEvent(event.event));
  return end === -1 ? events : events.slice(0, end + 1);
}
