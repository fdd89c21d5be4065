import type { ErrorDetail } from "../../../protocol/http/error-codes";
import { providerLabels } from "../../../protocol/http/providers";
import type { Logger } from "../logger";
import { ProviderError, type ChatSampling, type ChatStreamEvent, type PreparedConversation } from "../providers/chat-provider";
import type { CircuitBreaker } from "./circuit-breaker";
import { chooseFallbackIndex, type FallbackStep, type ModelTarget } from "./fallback-chain";
import { DEFAULT_RETRY_BASE_DELAY_MS, retryDelayMs, shouldRetry, waitUnlessAborted } from "./retry-policy";
import { StallWatchdog } from "./stall-watchdog";

/** What one model is sent: the conversation converted for its provider and fitted to its window. */
export interface PreparedModelRequest {
  conversation: PreparedConversation;
  maxOutputTokens: number;
  /** The conversation's temperature (a preset or PATCH set it); absent: the model's default. */
  sampling?: ChatSampling;
}

export interface ModelCallPolicy {
  /** Retries of one model before moving on (retryable failures, before the first token only). */
  maxRetries: number;
  retryMaxDelayMs: number;
  retryBaseDelayMs?: number;
  /** After the response headers, the longest silence between chunks before the request is cut. */
  stallTimeoutMs: number;
}

export interface ModelCallOptions {
  /** The model asked for, then its fallbacks in the admin's order. */
  targets: readonly ModelTarget[];
  /**
   * The request for a target, built when it is first called: the same context each time, converted
   * for that target's provider and fitted to its window. `fallback` says why it is not the first.
   */
  prepare(target: ModelTarget, fallback: FallbackStep | null): Promise<PreparedModelRequest>;
  /** Aborting it closes the provider request; the call then ends (or throws the AbortError). */
  signal: AbortSignal;
  policy: ModelCallPolicy;
  breaker: CircuitBreaker;
  logger: Logger;
}

/**
 * What a call yields: an `attempt` before each request to a model (usage reported by an earlier,
 * failed attempt no longer counts; a new `target` means another model now answers, and `fallback`
 * says why), then the provider's events of the attempt that answers.
 */
export type ModelCallEvent = { type: "attempt"; target: ModelTarget; fallback: FallbackStep | null; attempt: number } | ChatStreamEvent;

/**
 * Calls a model with retries and fallbacks: the one path from "this model, this context" to a
 * stream of text, shared by the chat's generation jobs and anything else that calls a model for a
 * user (the OpenAI/Anthropic-compatible gateway). Before the first token, a retryable failure (429,
 * 529, 5xx, network, a stall) is retried with backoff up to `maxRetries`, then the answer moves to
 * the next fallback; a conversation too long for the window moves to a fallback with a larger one;
 * a model whose circuit is open (it kept failing) is skipped while another can answer. After the
 * first token nothing is retried or moved: the error is thrown, and the caller keeps what was said.
 *
 * Throws the last ProviderError when no model could answer; returns quietly when `signal` aborts
 * between attempts, or throws the adapter's AbortError when it aborts during one.
 */
export async function* callModelWithFallbacks(options: ModelCallOptions): AsyncGenerator<ModelCallEvent, void, undefined> {
  const { targets, signal, policy, breaker, logger } = options;
  if (targets.length === 0) throw new Error("callModelWithFallbacks needs at least one model");
  let index = 0;
  let fallback: FallbackStep | null = null;
  for (;;) {
    const target = targets[index]!;
    const openReason = breaker.openReason(target.circuitKey);
    if (openReason !== undefined && index + 1 < targets.length) {
      logger.info("model skipped: its circuit is open", { modelId: target.model.id, code: openReason.code });
      fallback = { fromModelId: target.model.id, error: openReason };
      index += 1;
      continue;
    }
    if (signal.aborted) return;
    const request = await options.prepare(target, fallback);
    let hasFirstToken = false;
    for (let attempt = 0; ; attempt += 1) {
      if (signal.aborted) return;
      yield { type: "attempt", target, fallback, attempt };
      const watchdog = new StallWatchdog(policy.stallTimeoutMs, signal);
      try {
        const stream = target.provider.streamChat({
          model: target.model.name,
          conversation: request.conversation,
          maxOutputTokens: request.maxOutputTokens,
          ...(request.sampling === undefined ? {} : { sampling: request.sampling }),
          signal: watchdog.signal,
          onActivity: () => watchdog.activity(),
        });
        for await (const event of stream) {
          if (!hasFirstToken && event.type === "text-delta" && event.text !== "") {
            hasFirstToken = true;
            breaker.recordSuccess(target.circuitKey);
          }
          yield event;
        }
        // an answer without text is still an answer: the model is up
        if (!hasFirstToken) breaker.recordSuccess(target.circuitKey);
        return;
      } catch (caught) {
        if (signal.aborted) throw caught;
        const error = watchdog.hasStalled ? stallError(target, policy.stallTimeoutMs) : toProviderError(caught, target, logger);
        // after the first token a retry would repeat or contradict text the user already saw
        if (hasFirstToken) throw error;
        if (error.retryable) breaker.recordFailure(target.circuitKey, toErrorDetail(error));
        if (shouldRetry({ isRetryable: error.retryable, hasFirstToken, attempt, maxRetries: policy.maxRetries })) {
          const delayMs = retryDelayMs(
            attempt,
            error.options.retryAfterMs,
            policy.retryMaxDelayMs,
            policy.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
          );
          logger.info("retrying provider request", { provider: target.model.provider, code: error.code, attempt: attempt + 1, delayMs });
          await waitUnlessAborted(delayMs, signal);
          continue;
        }
        const next = chooseFallbackIndex(targets, index, error);
        if (next === undefined) throw error;
        logger.info("answering with a fallback model", {
          fromModelId: target.model.id,
          toModelId: targets[next]!.model.id,
          code: error.code,
        });
        fallback = { fromModelId: target.model.id, error: toErrorDetail(error) };
        index = next;
        break;
      } finally {
        watchdog.stop();
      }
    }
  }
}

/** What a user may be told of a failure (never the provider's address: see ProviderError). */
function toErrorDetail(error: ProviderError): ErrorDetail {
  return { code: error.code, message: error.message, retryable: error.retryable };
}

function stallError(target: ModelTarget, stallTimeoutMs: number): ProviderError {
  const seconds = Math.round(stallTimeoutMs / 100) / 10;
  return new ProviderError(
    "provider_stalled",
    `${providerLabels[target.model.provider]} stopped sending for ${seconds} s, so the request was cut off`,
    true,
  );
}

function toProviderError(caught: unknown, target: ModelTarget, logger: Logger): ProviderError {
  if (caught instanceof ProviderError) return caught;
  logger.error("provider adapter threw a non-provider error", { provider: target.model.provider, error: caught });
  return new ProviderError("provider_error", `The ${target.model.provider} request failed unexpectedly`, false, { cause: caught });
}
