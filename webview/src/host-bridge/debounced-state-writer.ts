/**
 * Saves view state through getState/setState without writing on every keystroke or scroll event:
 * the state is read and written once activity pauses, and `flush()` writes at once (used when the
 * page is being hidden, since VS Code may discard a hidden webview's page right after).
 *
 * Activity that never pauses (the list following a streaming answer scrolls on every delta) must
 * not postpone the write forever: a pending write happens at the latest `maxWaitMs` after the
 * first change it covers. Otherwise a window reloaded mid-answer lost the open conversation.
 */
export class DebouncedStateWriter<State> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the oldest change not yet written was scheduled. */
  private pendingSinceMs: number | undefined;

  constructor(
    /** Reads the current state when it is time to write (so layout is measured once, not per event). */
    private readonly readState: () => State,
    private readonly write: (state: State) => void,
    private readonly delayMs = 250,
    private readonly maxWaitMs = 1000,
  ) {}

  schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const now = Date.now();
    this.pendingSinceMs ??= now;
    const remainingMaxWaitMs = this.maxWaitMs - (now - this.pendingSinceMs);
    this.timer = setTimeout(() => this.flush(), Math.max(0, Math.min(this.delayMs, remainingMaxWaitMs)));
  }

  /** Writes now if a write is pending. */
  flush(): void {
    if (this.timer === undefined) return;
    this.writeNow();
  }

  /** Writes now, pending or not (for changes that must survive an immediate reload). */
  writeNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pendingSinceMs = undefined;
    this.write(this.readState());
  }
}
