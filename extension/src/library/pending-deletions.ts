/** How long a deleted conversation can be brought back ("Undo" in the notification). */
export const UNDO_WINDOW_MS = 6_000;

export interface PendingDeletion {
  /** true when it was still pending (nothing was deleted); false when too late. */
  undo(): boolean;
  /** Settles once the conversation is deleted (rejects when that failed) or the deletion was undone. */
  readonly done: Promise<"deleted" | "undone">;
}

/**
 * Deletion with undo: the conversation disappears at once, and is deleted on the server when the
 * undo window has passed (docs/decisions/0022-library-search-and-organisation.md: a delayed delete in
 * the extension, not a soft delete on the server). Closing VS Code within the window deletes at once
 * (flush), so a delete is never silently lost; a crash within it leaves the conversation in place.
 */
export class PendingDeletions {
  private readonly pending = new Map<
    string,
    { timer: ReturnType<typeof setTimeout>; run: () => void; cancel: () => void; done: Promise<unknown> }
  >();

  constructor(
    private readonly deleteNow: (conversationId: string) => Promise<void>,
    private readonly undoWindowMs = UNDO_WINDOW_MS,
  ) {}

  isPending(conversationId: string): boolean {
    return this.pending.has(conversationId);
  }

  /** Deletes after the undo window; a second schedule of the same conversation deletes the first at once. */
  schedule(conversationId: string): PendingDeletion {
    this.pending.get(conversationId)?.run();
    let settle!: (outcome: "deleted" | "undone") => void;
    let fail!: (error: unknown) => void;
    const done = new Promise<"deleted" | "undone">((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const entry = {
      timer: setTimeout(() => entry.run(), this.undoWindowMs),
      run: () => {
        clearTimeout(entry.timer);
        if (this.pending.get(conversationId) === entry) this.pending.delete(conversationId);
        this.deleteNow(conversationId).then(() => settle("deleted"), fail);
      },
      cancel: () => {
        clearTimeout(entry.timer);
        this.pending.delete(conversationId);
        settle("undone");
      },
      done,
    };
    this.pending.set(conversationId, entry);
    return {
      undo: () => {
        if (this.pending.get(conversationId) !== entry) return false;
        entry.cancel();
        return true;
      },
      done,
    };
  }

  /** Deletes everything still pending now (the extension is shutting down), and waits for it. */
  async flush(): Promise<void> {
    const entries = [...this.pending.values()];
    for (const entry of entries) entry.run();
    await Promise.allSettled(entries.map((entry) => entry.done));
  }
}
