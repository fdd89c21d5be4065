import type { Model } from "../../../protocol/http/models";
import type { Logger } from "../logger";
import { createAbortError } from "../providers/abort-error";
import {
  ProviderError,
  type ChatProvider,
  type ChatSampling,
  type ChatStreamEvent,
  type ChatToolChoice,
  type ChatToolDefinition,
  type PreparedConversation,
} from "../providers/chat-provider";
import { DEFAULT_RETRY_BASE_DELAY_MS, retryDelayMs, shouldRetry, waitUnlessAborted } from "../services/retry-policy";
import { StallWatchdog } from "../services/stall-watchdog";

/** How hard to try: the same settings as the chat's answers (PROVIDER_MAX_RETRIES and friends). */
export interface CallPolicy {
  maxRetries: number;
  retryMaxDelayMs: number;
  retryBaseDelayMs?: number;
  stallTimeoutMs: number;
}

export interface CallModelRequest {
  model: Model;
  provider: ChatProvider;
  /** Already prepared for this provider (its `prepareConversation`). */
  conversation: PreparedConversation;
  maxOutputTokens: number;
  tools?: ChatToolDefinition[];
  toolChoice?: ChatToolChoice;
  allowParallelToolCalls?: boolean;
  sampling?: ChatSampling;
  /** Aborted when the client goes away: the provider request is closed, the call throws an AbortError. */
  signal: AbortSignal;
  policy: CallPolicy;
  logger: Logger;
}

/** Events that carry part of the answer: after one of them a retry would repeat what the client already has. */
function isOutput(event: ChatStreamEvent): boolean {
  return event.type === "text-delta" || event.type === "tool-call-start" || event.type === "tool-call-delta";
}

/**
 * The gateway's one way to call a model: the adapter's stream, with the retry policy the chat uses
 * (retryable failures only, and only before the first output: services/retry-policy.ts) and the same
 * stall watchdog. Events are passed on as they arrive, never buffered.
 *
 * This is also where fallback models will be tried (issue 8 builds the chat's "call a model with
 * retries and fallbacks" path): when a retryable failure before the first output exhausts the retries,
 * the next model of the fallback chain is called here, with the conversation prepared for its
 * provider. Nothing outside this function needs to change for that.
 */
export async function* callModel(request: CallModelRequest): AsyncGenerator<ChatStreamEvent, void, undefined> {
  const { policy, signal } = request;
  for (let attempt = 0; ; attempt += 1) {
    if (signal.aborted) throw createAbortError();
    const watchdog = new StallWatchdog(policy.stallTimeoutMs, signal);
    let hasOutput = false;
    try {
      const stream = request.provider.streamChat({
        model: request.model.name,
        conversation: request.conversation,
        maxOutputTokens: request.maxOutputTokens,
        ...(request.tools === undefined ? {} : { tools: request.tools }),
        ...(request.toolChoice === undefined ? {} : { toolChoice: request.toolChoice }),
        ...(request.allowParallelToolCalls === undefined ? {} : { allowParallelToolCalls: request.allowParallelToolCalls }),
        ...(request.sampling === undefined ? {} : { sampling: request.sampling }),
        signal: watchdog.signal,
        onActivity: () => watchdog.activity(),
      });
      for await (const event of stream) {
        if (isOutput(event)) hasOutput = true;
        yield event;
      }
      return;
    } catch (caught) {
      if (signal.aborted) throw createAbortError();
      const error = watchdog.hasStalled
        ? new ProviderError("provider_stalled", `${request.model.id} stopped sending, so the request was cut off`, true)
        : caught;
      if (!(error instanceof ProviderError)) throw error;
      if (!shouldRetry({ isRetryable: error.retryable, hasFirstToken: hasOutput, attempt, maxRetries: policy.maxRetries })) throw error;
      const delayMs = retryDelayMs(
        attempt,
        error.options.retryAfterMs,
        policy.retryMaxDelayMs,
        policy.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
      );
      request.logger.info("retrying provider request", { modelId: request.model.id, code: error.code, attempt: attempt + 1, delayMs });
      await waitUnlessAborted(delayMs, signal);
    } finally {
      watchdog.stop();
    }
  }
}
