import { AppError } from "../domain/app-error";
import { isAbortError } from "../providers/abort-error";
import { ProviderError, type ProviderErrorCode } from "../providers/chat-provider";
import { BudgetExceededError } from "../services/budget-service";

/**
 * What went wrong, in terms both wire formats can spell (docs/gateway.md#errors): each API writes it
 * in its own error shape and types (openai-error.ts, anthropic-error.ts).
 */
export type GatewayErrorKind =
  | "invalid_request"
  | "request_too_large"
  | "authentication"
  | "permission"
  | "not_found"
  | "method_not_allowed"
  | "model_not_found"
  | "budget_monthly"
  | "budget_rate"
  | "rate_limited"
  | "overloaded"
  | "context_too_long"
  | "upstream"
  | "unavailable"
  | "internal";

export class GatewayError extends Error {
  constructor(
    readonly kind: GatewayErrorKind,
    readonly status: number,
    message: string,
    readonly options: {
      /** The request field at fault, for OpenAI's `param`. */
      param?: string;
      /** Whether trying again may help (the `x-should-retry` header Stainless SDKs obey). */
      isRetryable?: boolean;
      retryAfterSeconds?: number;
      /** Extra response headers (WWW-Authenticate). */
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

/** A 400 about the request's content, naming the field at fault. */
export function invalidRequest(message: string, param?: string): GatewayError {
  return new GatewayError("invalid_request", 400, message, param === undefined ? {} : { param });
}

/** How each of our provider error codes reaches a gateway client. */
const providerErrorKinds: Record<ProviderErrorCode, { kind: GatewayErrorKind; status: number }> = {
  provider_rate_limited: { kind: "rate_limited", status: 429 },
  provider_overloaded: { kind: "overloaded", status: 529 },
  provider_context_too_long: { kind: "context_too_long", status: 400 },
  provider_bad_request: { kind: "invalid_request", status: 400 },
  // the team's key or catalog is at fault, not the client's request
  provider_invalid_key: { kind: "upstream", status: 502 },
  provider_model_not_found: { kind: "upstream", status: 502 },
  provider_error: { kind: "upstream", status: 502 },
  provider_unreachable: { kind: "upstream", status: 502 },
  provider_stream_broken: { kind: "upstream", status: 502 },
  provider_stalled: { kind: "upstream", status: 502 },
};

/**
 * Any failure as a GatewayError: our own, a provider's (already coded by the adapter), a refusal of
 * the app (bad key, disabled account, budget), the body parser's (bad JSON, too large), or a bug (500,
 * no details). Bad input of any kind is a 4xx.
 */
export function toGatewayError(caught: unknown): GatewayError {
  if (caught instanceof GatewayError) return caught;
  if (caught instanceof BudgetExceededError) {
    return new GatewayError(caught.limit === "requestsPerMinute" ? "budget_rate" : "budget_monthly", 429, caught.message, {
      isRetryable: caught.limit === "requestsPerMinute",
      retryAfterSeconds: caught.retryAfterSeconds,
    });
  }
  if (caught instanceof ProviderError) {
    const { kind, status } = providerErrorKinds[caught.code];
    return new GatewayError(kind, status, caught.message, {
      isRetryable: caught.retryable,
      ...(caught.options.retryAfterMs === undefined
        ? {}
        : { retryAfterSeconds: Math.max(1, Math.ceil(caught.options.retryAfterMs / 1000)) }),
    });
  }
  if (caught instanceof AppError) return fromAppError(caught);
  if (isAbortError(caught)) return new GatewayError("unavailable", 499, "The request was stopped");
  const status =
    (caught as { status?: unknown; statusCode?: unknown } | undefined)?.status ??
    (caught as { statusCode?: unknown } | undefined)?.statusCode;
  if (status === 413) return new GatewayError("request_too_large", 413, "The request body is too large");
  if (typeof status === "number" && status >= 400 && status < 500) {
    const expose = (caught as { expose?: unknown }).expose === true;
    const message = expose && caught instanceof Error ? caught.message : "The request body is not valid JSON";
    return invalidRequest(message);
  }
  return new GatewayError("internal", 500, "Something went wrong on the server; it has been logged", { isRetryable: true });
}

function fromAppError(error: AppError): GatewayError {
  const headers = error.headers;
  switch (error.code) {
    case "unauthenticated":
    case "token_expired":
      return new GatewayError("authentication", 401, error.message, { headers });
    case "account_disabled":
    case "account_pending":
    case "forbidden":
      return new GatewayError("permission", 403, error.message);
    case "model_unavailable":
      return new GatewayError("model_not_found", 404, error.message, { param: "model" });
    case "provider_not_configured":
      return new GatewayError("unavailable", 503, error.message, { isRetryable: false });
    case "server_shutting_down":
      return new GatewayError("unavailable", 503, error.message, { isRetryable: true });
    case "payload_too_large":
      return new GatewayError("request_too_large", 413, error.message);
    case "not_found":
      return new GatewayError("not_found", 404, error.message);
    case "budget_exceeded":
      return new GatewayError("budget_monthly", 429, error.message, { isRetryable: false });
    default:
      return error.status >= 400 && error.status < 500
        ? new GatewayError("invalid_request", error.status, error.message)
        : new GatewayError("internal", 500, "Something went wrong on the server; it has been logged", { isRetryable: true });
  }
}
