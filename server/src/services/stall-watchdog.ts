/**
 * Cuts a provider stream that went quiet. Armed when the response headers arrive (the adapter's
 * first `onActivity`; before that the connect timeout applies), re-armed by every chunk, and fired
 * after `timeoutMs` without one: it aborts its own signal, which the provider request listens to
 * besides the job's. Without it a provider that sends headers and then nothing would hold the answer
 * `streaming` until the HTTP client's body timeout (≈ 5 minutes) for every attempt.
 */
export class StallWatchdog {
  /** The signal to give the provider request: aborted by the job (a stop) or by a stall. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastActivityAt = 0;
  private isStopped = false;

  constructor(
    private readonly timeoutMs: number,
    jobSignal: AbortSignal,
  ) {
    this.signal = AbortSignal.any([jobSignal, this.controller.signal]);
  }

  /** True once the stream was cut for being quiet (and not stopped by the job). */
  get hasStalled(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * Headers or a chunk arrived: the silence starts again from now. Called for every token, so it
   * only notes the time; the one timer re-arms itself for the rest of the gap when it fires early.
   */
  activity(): void {
    if (this.isStopped || this.hasStalled) return;
    this.lastActivityAt = performance.now();
    if (this.timer === undefined) this.arm(this.timeoutMs);
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.isStopped) return;
      const quietMs = performance.now() - this.lastActivityAt;
      if (quietMs >= this.timeoutMs) this.controller.abort();
      else this.arm(this.timeoutMs - quietMs);
    }, delayMs);
    this.timer.unref();
  }

  /** The stream is over (whichever way): no more firing. */
  stop(): void {
    this.isStopped = true;
    clearTimeout(this.timer);
  }
}
