import { isAbortError } from "./abort-error";
import { mapNetworkFailure, type ProviderCallContext } from "./map-provider-error";

/**
 * Runs an adapter call with an overall deadline (e.g. "test connection" answers within seconds).
 * The adapter sees an aborted signal and throws an AbortError; when it was our deadline rather than
 * the caller's own signal, that becomes provider_unreachable ("did not answer within …").
 */
export async function callWithTimeout<T>(
  context: ProviderCallContext,
  timeoutMs: number,
  call: (signal: AbortSignal) => Promise<T>,
  callerSignal?: AbortSignal,
): Promise<T> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = callerSignal ? AbortSignal.any([deadline, callerSignal]) : deadline;
  try {
    return await call(signal);
  } catch (error) {
    if (isAbortError(error) && deadline.aborted && !callerSignal?.aborted) {
      throw mapNetworkFailure(context, deadline.reason, "request", timeoutMs);
    }
    throw error;
  }
}
