import { z } from "zod";

/**
 * Every error the team server returns has one of these codes. Clients branch on the code,
 * never on the message (which is plain words for a person).
 */
export const errorCodes = [
  // request shape
  "validation_failed",
  "payload_too_large",
  "unsupported_media_type",
  "not_found",
  "method_not_allowed",
  "conflict",
  // accounts and tokens
  "unauthenticated",
  "token_expired",
  "invalid_credentials",
  "forbidden",
  "registration_closed",
  "account_pending",
  "account_disabled",
  "refresh_token_invalid",
  "rate_limited",
  // models and generation
  "model_unavailable",
  "provider_not_configured",
  "generation_not_active",
  // a member already has MAX_PARALLEL_ANSWERS_PER_USER answers being written
  "too_many_answers",
  // a budget limit (monthly cost or tokens, requests per minute) would be exceeded; the message names it
  "budget_exceeded",
  "provider_invalid_key",
  "provider_rate_limited",
  "provider_overloaded",
  "provider_model_not_found",
  "provider_unreachable",
  "provider_context_too_long",
  "provider_bad_request",
  "provider_error",
  "provider_stream_broken",
  // headers arrived, then nothing for longer than the stall timeout
  "provider_stalled",
  "server_shutting_down",
  "internal_error",
] as const;

export const errorCodeSchema = z.enum(errorCodes);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const errorDetailSchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
  retryable: z.boolean().optional(),
});
export type ErrorDetail = z.infer<typeof errorDetailSchema>;

/** The one body shape of every non-2xx response. */
export const errorResponseSchema = z.object({ error: errorDetailSchema });
export type ErrorResponse = z.infer<typeof errorResponseSchema>;
