/**
 * Saves view state through getState/setState without writing on every keystroke or scroll event:
 * the state is read and written once activity pauses, and `flush()` writes at once (used when the
 * page is being hidden, since VS Code may discard a hidden webview's page right after).
 */
export class DebouncedStateWriter<State> {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    /** Reads the current state when it is time to write (so layout is measured once, not per event). */
    private readonly readState: () => State,
    private readonly write: (state: State) => void,
    private readonly delayMs = 250,
  ) {}

  schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.delayMs);
  }

  /** Writes now if a write is pending. */
  flush(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.write(this.readState());
  }
}
