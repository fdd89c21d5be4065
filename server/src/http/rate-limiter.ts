import { AppError } from "../domain/app-error";

export interface RateLimiterOptions {
  /** Attempts allowed per key within one window. */
  limit: number;
  windowMs: number;
  now: () => number;
  /** Most keys kept in memory; beyond it the oldest are forgotten (bounds memory under a flood of made-up names). */
  maxKeys?: number;
}

/**
 * A sliding-window limiter in memory: each key keeps the times of its attempts in the last
 * window. Kept in memory on purpose: it guards one process's sign-in endpoint against password
 * guessing; a restart forgetting it costs an attacker one window at most.
 */
export class RateLimiter {
  private readonly attempts = new Map<string, number[]>();
  private readonly maxKeys: number;
  private callsSinceSweep = 0;

  constructor(private readonly options: RateLimiterOptions) {
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /**
   * Records an attempt for every key, or, when any key is over its limit, records nothing and
   * returns how many seconds until the earliest of them frees a slot.
   */
  attempt(keys: string[]): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.options.now();
    this.sweepOccasionally(now);
    const windowStart = now - this.options.windowMs;
    let retryAfterMs = 0;
    for (const key of keys) {
      const recent = this.recentAttempts(key, windowStart);
      if (recent.length >= this.options.limit) {
        // The slot frees when the oldest attempt that still counts leaves the window.
        const oldestCounting = recent[recent.length - this.options.limit] ?? now;
        retryAfterMs = Math.max(retryAfterMs, oldestCounting + this.options.windowMs - now);
      }
    }
    if (retryAfterMs > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    for (const key of keys) {
      const recent = this.recentAttempts(key, windowStart);
      recent.push(now);
      // Re-insert so Map order stays "least recently used first" for eviction.
      this.attempts.delete(key);
      this.attempts.set(key, recent);
    }
    this.evictOverflow();
    return { allowed: true };
  }

  /** Like attempt(), but throws 429 rate_limited with a Retry-After header. */
  consume(keys: string[]): void {
    const result = this.attempt(keys);
    if (!result.allowed) {
      throw new AppError(
        429,
        "rate_limited",
        `Too many attempts; try again in ${result.retryAfterSeconds} second${result.retryAfterSeconds === 1 ? "" : "s"}`,
        true,
        { "Retry-After": String(result.retryAfterSeconds) },
      );
    }
  }

  private recentAttempts(key: string, windowStart: number): number[] {
    const times = this.attempts.get(key);
    if (times === undefined) return [];
    const firstRecent = times.findIndex((time) => time > windowStart);
    return firstRecent === -1 ? [] : firstRecent === 0 ? times : times.slice(firstRecent);
  }

  private sweepOccasionally(now: number): void {
    this.callsSinceSweep += 1;
    if (this.callsSinceSweep < 1000) return;
    this.callsSinceSweep = 0;
    const windowStart = now - this.options.windowMs;
    for (const [key, times] of this.attempts) {
      if ((times[times.length - 1] ?? 0) <= windowStart) this.attempts.delete(key);
    }
  }

  private evictOverflow(): void {
    while (this.attempts.size > this.maxKeys) {
      const oldest = this.attempts.keys().next();
      if (oldest.done) return;
      this.attempts.delete(oldest.value);
    }
  }
}
