import type { ErrorCode, ErrorDetail } from "../../../protocol/http/error-codes";

/**
 * Codes the client produces itself, beside the server's own codes:
 * - offline: the server could not be reached (connection refused, DNS, reset, timeout);
 * - incompatible_server: the server speaks another API version (or is not a Juggler server);
 * - invalid_response: the server answered something that does not match the protocol;
 * - not_signed_in: a member call without a session;
 * - aborted: the caller cancelled the request.
 */
export type ClientErrorCode = "offline" | "incompatible_server" | "invalid_response" | "not_signed_in" | "aborted";

export type TeamServerErrorCode = ErrorCode | ClientErrorCode;

/** Every failure of a call to the team server, with a code to branch on and a message in plain words. */
export class TeamServerError extends Error {
  override readonly name = "TeamServerError";

  constructor(
    /** HTTP status; 0 when no response arrived. */
    readonly status: number,
    readonly code: TeamServerErrorCode,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The protocol's error shape, e.g. to answer a webview request. Client codes map onto the nearest server code. */
  toDetail(): ErrorDetail {
    return { code: toServerErrorCode(this.code), message: this.message, retryable: this.retryable };
  }
}

export function isTeamServerError(error: unknown, code?: TeamServerErrorCode): error is TeamServerError {
  return error instanceof TeamServerError && (code === undefined || error.code === code);
}

function toServerErrorCode(code: TeamServerErrorCode): ErrorCode {
  switch (code) {
    // The protocol's error codes are the server's; a client-side failure travels as internal_error
    // with its plain-words message and retryable flag, which is what the webview shows.
    case "offline":
    case "incompatible_server":
    case "invalid_response":
    case "aborted":
      return "internal_error";
    case "not_signed_in":
      return "unauthenticated";
    default:
      return code;
  }
}
