import type { Knex } from "knex";
import { isPostgres } from "./database";

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
        if (batch.length === 1) {
          // alone in the batch, no savepoint is needed: its failure fails the transaction
          outcomes.push({ isWritten: true, value: await batch[0]!.work(transaction) });
          return;
        }
        const savepoints = new SavepointPerWrite(transaction, isPostgres(this.database));
        for (const [index, { work }] of batch.entries()) {
          await savepoints.open();
          let value: unknown;
          try {
            value = await work(transaction);
          } catch (error) {
            outcomes.push({ isWritten: false, error });
            await savepoints.undo();
            continue;
          }
          outcomes.push({ isWritten: true, value });
          // a failure here fails the transaction, and with it every write of the batch
          await savepoints.keep(index === batch.length - 1);
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
 * The savepoint each write of a shared transaction runs in, so that a failing one is rolled back
 * alone. Named by hand rather than through knex's nested `transaction()`, which builds a whole knex
 * instance per savepoint and names each one afresh (`trx123`): a new SQL text to prepare for every
 * write. The writes run one after another, so one name serves them all; a write may still nest its
 * own (knex-named) savepoints inside.
 *
 * Round trips are what a write's savepoint costs on PostgreSQL (decision 0033): the release of one
 * write's savepoint and the next one's start go in one query, the last write's is released by the
 * commit, and after a rollback the savepoint is still there for the next write (on both databases,
 * `ROLLBACK TO` keeps it). SQLite runs one statement per call, in process.
 */
class SavepointPerWrite {
  private isOpen = false;

  constructor(
    private readonly transaction: Knex.Transaction,
    private readonly canChainStatements: boolean,
  ) {}

  async open(): Promise<void> {
    if (this.isOpen) return;
    await this.transaction.raw("SAVEPOINT grouped_write");
    this.isOpen = true;
  }

  /** The write succeeded: what it wrote stays. `isLast`: the commit follows, which releases it. */
  async keep(isLast: boolean): Promise<void> {
    if (isLast) return;
    if (this.canChainStatements) {
      await this.transaction.raw("RELEASE SAVEPOINT grouped_write; SAVEPOINT grouped_write");
      return;
    }
    await this.transaction.raw("RELEASE SAVEPOINT grouped_write");
    this.isOpen = false;
  }

  /** The write failed: nothing it wrote stays (on PostgreSQL this also leaves the aborted state a failed statement puts the transaction in). */
  async undo(): Promise<void> {
    await this.transaction.raw("ROLLBACK TO SAVEPOINT grouped_write");
  }
}
