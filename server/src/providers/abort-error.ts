/**
 * How an adapter reports a stop: aborting the request's signal is the caller's own decision, not a
 * provider failure, so it is never mapped to a ProviderError. The adapter throws a DOMException named
 * "AbortError" (what `fetch` throws) and the caller checks `isAbortError(error)` or `signal.aborted`.
 */
export function createAbortError(): DOMException {
  return new DOMException("The request to the provider was stopped", "AbortError");
}

export function isAbortError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError";
}
