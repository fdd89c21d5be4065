import type { Knex } from "knex";

/** The database's clock in epoch ms: every instance judges heartbeats by this one clock, not its own. */
export const DATABASE_NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/** An answer still `streaming` whose writer is gone. */
export interface OrphanedAnswer {
  messageId: string;
  content: string;
}

/**
 * `server_instances`, `generation_leases` and `scheduled_tasks` (PostgreSQL only): which instances
 * are alive, which of them writes each answer, and who does a team-wide periodic task next.
 */
export class ServerInstanceRepository {
  constructor(private readonly database: Knex) {}

  async register(instanceId: string): Promise<void> {
    await this.database.raw(
      `INSERT INTO server_instances (id, started_at, heartbeat_at) VALUES (?, ${DATABASE_NOW_MS}, ${DATABASE_NOW_MS})
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      [instanceId],
    );
  }

  /** false: the row was gone (another instance took this one for dead); the caller registers again. */
  async beat(instanceId: string): Promise<boolean> {
    const result = await this.database.raw(`UPDATE server_instances SET heartbeat_at = ${DATABASE_NOW_MS} WHERE id = ?`, [instanceId]);
    return (result.rowCount ?? 0) > 0;
  }

  async remove(instanceId: string): Promise<void> {
    await this.database("server_instances").where("id", instanceId).delete();
  }

  /**
   * Answers `streaming` whose instance has not beaten for `staleAfterMs` (or is gone), and answers
   * that never got a lease within `unleasedAfterMs` of being created (their instance died between
   * the send's commit and the lease).
   */
  async findOrphanedAnswers(staleAfterMs: number, unleasedAfterMs: number): Promise<OrphanedAnswer[]> {
    const rows: Array<{ id: string; content: string }> = (
      await this.database.raw(
        `SELECT m.id, m.content FROM messages m
         LEFT JOIN generation_leases l ON l.message_id = m.id
         LEFT JOIN server_instances i ON i.id = l.instance_id
         WHERE m.status = 'streaming' AND (
           (l.message_id IS NULL AND m.created_at < ${DATABASE_NOW_MS} - ?)
           OR (l.message_id IS NOT NULL AND (i.id IS NULL OR i.heartbeat_at < ${DATABASE_NOW_MS} - ?))
         )
         LIMIT 500`,
        [unleasedAfterMs, staleAfterMs],
      )
    ).rows;
    return rows.map((row) => ({ messageId: row.id, content: row.content }));
  }

  /** Instances silent for `staleAfterMs`: their rows go (their answers are already found through the leases). */
  async removeStaleInstances(staleAfterMs: number): Promise<void> {
    await this.database.raw(`DELETE FROM server_instances WHERE heartbeat_at < ${DATABASE_NOW_MS} - ?`, [staleAfterMs]);
  }

  /** Deletes the leases (and their answers' events) of answers that ended more than `olderThanMs` ago. */
  async pruneFinished(olderThanMs: number): Promise<number> {
    return this.database.transaction(async (transaction) => {
      const finished: Array<{ message_id: string }> = (
        await transaction.raw(
          `DELETE FROM generation_leases WHERE finished_at IS NOT NULL AND finished_at < ${DATABASE_NOW_MS} - ? RETURNING message_id`,
          [olderThanMs],
        )
      ).rows;
      const ids = finished.map((row) => row.message_id);
      if (ids.length > 0) await transaction("generation_event_batches").whereIn("message_id", ids).delete();
      return ids.length;
    });
  }

  /**
   * true for exactly one caller per `intervalMs` across every instance: the task's next run moves
   * on in the same statement that lets this caller run it.
   */
  async claimTask(name: string, intervalMs: number): Promise<boolean> {
    const result = await this.database.raw(
      `INSERT INTO scheduled_tasks (name, next_run_at) VALUES (?, ${DATABASE_NOW_MS} + ?)
       ON CONFLICT (name) DO UPDATE SET next_run_at = excluded.next_run_at
       WHERE scheduled_tasks.next_run_at <= ${DATABASE_NOW_MS}`,
      [name, intervalMs],
    );
    return (result.rowCount ?? 0) > 0;
  }
}
