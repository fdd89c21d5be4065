/** The first retry waits about this long, doubling each time (plus jitter) unless the provider says retry-after. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 300;

/** Where a generation job stands when a provider call fails. */
export interface FailedAttempt {
  /** The provider error's own verdict (rate limits, overload, 5xx, network: yes; a bad key or request: no). */
  isRetryable: boolean;
  /** Some text already reached the user. */
  hasFirstToken: boolean;
  /** 0 for the first call. */
  attempt: number;
  maxRetries: number;
}

/**
 * Whether to call the provider again: only for a retryable error, only while retries remain, and
 * only before the first token — after it, a retry would repeat or contradict text the user already saw.
 */
export function shouldRetry(failed: FailedAttempt): boolean {
  return failed.isRetryable && !failed.hasFirstToken && failed.attempt < failed.maxRetries;
}

/**
 * Exponential backoff with jitter (so many answers failing together do not retry in step),
 * or the provider's retry-after when it sent one; never longer than the configured cap.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  maxDelayMs: number,
  baseDelayMs = DEFAULT_RETRY_BASE_DELAY_MS,
): number {
  const backoff = baseDelayMs * 2 ** attempt;
  const delay = retryAfterMs !== undefined ? retryAfterMs : backoff + Math.random() * backoff * 0.5;
  return Math.max(0, Math.min(Math.round(delay), maxDelayMs));
}

/** Waits `delayMs`, or less when `signal` aborts meanwhile (a stop must not wait out a backoff). */
export function waitUnlessAborted(delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, delayMs);
    signal.addEventListener("abort", done, { once: true });
  });
}
