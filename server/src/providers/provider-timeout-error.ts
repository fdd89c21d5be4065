/** The reason a call is given up when the provider's response headers did not arrive in time (mapped to provider_unreachable). */
export class ProviderTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`No response within ${timeoutMs} ms`);
    this.name = "ProviderTimeoutError";
  }
}
