import type { Knex } from "knex";

interface QueuedWrite {
  work: (transaction: Knex.Transaction) => Promise<unknown>;
  lockOrder: bigint | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Most writes one transaction takes; a longer queue is written in several. */
const MAX_WRITES_PER_TRANSACTION = 200;

/**
 * Small writes that arrive in the same event-loop turn share one transaction: one commit (one WAL
 * append on SQLite, one fsync on PostgreSQL) and, on SQLite, one new FTS5 segment instead of one per
 * write (decision 0028: an answer's final update went from ≈ 190 µs to ≈ 75 µs with 25 per commit).
 *
 * Each write runs in a savepoint of its own, so a failing one is rolled back alone and rejects only
 * its own caller; the others are committed. A write is a self-contained piece of SQL (no waiting
 * on anything but the database): everything queued waits for the slowest. The longest is a send's
 * context walk, bounded by its model's window; decision 0032 measured what sharing it saves.
 *
 * A write that takes a lock other transactions take too (on PostgreSQL, a send takes its user's
 * advisory lock) says so with `lockOrder`, the lock's key. Such writes run after the others, by key:
 * every shared transaction, on every instance, takes those locks in the same order, so two of them
 * never wait for each other (decision 0033: in any order, two instances' turns holding two members'
 * sends deadlocked), and the locks are held for the shortest part of the transaction.
 */
export class GroupedWrites {
  private queue: QueuedWrite[] = [];
  private isScheduled = false;

  constructor(private readonly database: Knex) {}

  /** Runs `work` in the next shared transaction; resolves with its result once that has committed. */
  run<T>(work: (transaction: Knex.Transaction) => Promise<T>, options: { lockOrder?: bigint } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, lockOrder: options.lockOrder, resolve: resolve as (value: unknown) => void, reject });
      if (this.isScheduled) return;
      this.isScheduled = true;
      // the writes queued in this same turn join the batch
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.isScheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_WRITES_PER_TRANSACTION);
      await this.write(batch.sort(byLockOrder));
    }
  }

  private async write(batch: QueuedWrite[]): Promise<void> {
    const outcomes: Array<{ isWritten: true; value: unknown } | { isWritten: false; error: unknown }> = [];
    try {
      await this.database.transaction(async (transaction) => {
        for (const { work } of batch) {
          try {
            // alone in the batch, no savepoint is needed: its failure fails the transaction
            const value = batch.length === 1 ? await work(transaction) : await inSavepoint(transaction, work);
            outcomes.push({ isWritten: true, value });
          } catch (error) {
            if (batch.length === 1) throw error;
            outcomes.push({ isWritten: false, error });
          }
        }
      });
    } catch (error) {
      // the transaction itself failed (or the one write in it): nothing of the batch was written
      for (const { reject } of batch) reject(error);
      return;
    }
    batch.forEach(({ resolve, reject }, index) => {
      const outcome = outcomes[index]!;
      if (outcome.isWritten) resolve(outcome.value);
      else reject(outcome.error);
    });
  }
}

/** Writes without a lock first, then by lock key (a stable sort: one key's writes keep their order). */
function byLockOrder(first: QueuedWrite, second: QueuedWrite): number {
  if (first.lockOrder === second.lockOrder) return 0;
  if (first.lockOrder === undefined) return -1;
  if (second.lockOrder === undefined) return 1;
  return first.lockOrder < second.lockOrder ? -1 : 1;
}

/**
 * Runs `work` in a savepoint of `transaction`, rolled back alone if it fails. The savepoint is named
 * by hand rather than through knex's nested `transaction()`, which builds a whole knex instance per
 * savepoint and names each one afresh (`trx123`): a new SQL text to prepare for every write. The
 * writes of a batch run one after another, so one name serves them all; `work` may still nest its
 * own (knex-named) savepoints inside. The SQL is the same on SQLite and PostgreSQL.
 */
async function inSavepoint<T>(transaction: Knex.Transaction, work: (transaction: Knex.Transaction) => Promise<T>): Promise<T> {
  await transaction.raw("SAVEPOINT grouped_write");
  let value: T;
  try {
    value = await work(transaction);
  } catch (error) {
    // on PostgreSQL this also leaves the aborted state a failed statement puts the transaction in
    await transaction.raw("ROLLBACK TO SAVEPOINT grouped_write");
    await transaction.raw("RELEASE SAVEPOINT grouped_write");
    throw error;
  }
  await transaction.raw("RELEASE SAVEPOINT grouped_write");
  return value;
}
