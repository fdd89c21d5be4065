import type { ErrorDetail } from "../../../protocol/http/error-codes";

export interface CircuitBreakerOptions {
  /** Failures in a row that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit skips its model before one call may try it again. */
  coolDownMs: number;
  now: () => number;
  /** Most circuits remembered; beyond it the oldest are forgotten (closed). */
  maxCircuits?: number;
}

interface Circuit {
  failuresInARow: number;
  openedAt: number | undefined;
  /** Why it opened: the last failure, told to the user of the answer that skipped it. */
  lastError: ErrorDetail | undefined;
}

/**
 * One circuit per (provider, key, model): after `failureThreshold` retryable failures in a row the
 * model is skipped for `coolDownMs` (answers go straight to a fallback instead of waiting out the
 * retries of a model that is down), then one call may try it again: a success closes the circuit,
 * a failure opens it for another cool-down. In memory: each server instance learns on its own.
 */
export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();

  constructor(private readonly options: CircuitBreakerOptions) {}

  /** The error that opened the circuit when `key` is to be skipped now; undefined when it may be called. */
  openReason(key: string): ErrorDetail | undefined {
    const circuit = this.circuits.get(key);
    if (circuit?.openedAt === undefined) return undefined;
    if (this.options.now() - circuit.openedAt >= this.options.coolDownMs) return undefined;
    return circuit.lastError;
  }

  recordSuccess(key: string): void {
    this.circuits.delete(key);
  }

  recordFailure(key: string, error: ErrorDetail): void {
    const circuit = this.circuits.get(key) ?? { failuresInARow: 0, openedAt: undefined, lastError: undefined };
    circuit.failuresInARow += 1;
    circuit.lastError = error;
    // the first failure past the threshold opens it; a failed trial after a cool-down opens it again
    if (circuit.failuresInARow >= this.options.failureThreshold) circuit.openedAt = this.options.now();
    this.circuits.delete(key);
    this.circuits.set(key, circuit);
    const maxCircuits = this.options.maxCircuits ?? 10_000;
    while (this.circuits.size > maxCircuits) this.circuits.delete(this.circuits.keys().next().value as string);
  }
}
