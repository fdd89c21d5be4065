import type { ErrorCode, ErrorDetail } from "../../../protocol/http/error-codes";

/**
 * A failure with a code, an HTTP status and plain words for a person. Services throw these;
 * the error middleware turns them into `{ error: { code, message, retryable? } }`.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly retryable?: boolean,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
  }

  toDetail(): ErrorDetail {
    return this.retryable === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export const notFound = (what: string) => new AppError(404, "not_found", `${what} not found`);
