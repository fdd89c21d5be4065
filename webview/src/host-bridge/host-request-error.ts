import type { ErrorCode } from "../../../protocol/http/error-codes";

/** Why a request to the extension host failed: the host's coded error, or no valid answer in time. */
export type HostRequestErrorCode = ErrorCode | "timeout" | "invalid_response";

export class HostRequestError extends Error {
  override readonly name = "HostRequestError";
  constructor(
    readonly code: HostRequestErrorCode,
    message: string,
    readonly isRetryable = false,
  ) {
    super(message);
  }
}

/** Plain words for any failure of a request, for showing to the person. */
export function describeRequestFailure(error: unknown): string {
  if (error instanceof HostRequestError) {
    if (error.code === "timeout") return "VS Code did not answer in time. Try again.";
    if (error.code === "invalid_response") return "VS Code sent an answer this view does not understand. Reload the window and try again.";
    return error.message;
  }
  return "Something went wrong. Try again.";
}
