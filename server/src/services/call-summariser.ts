import type { Model } from "../../../protocol/http/models";
import { createAbortError } from "../providers/abort-error";
import { ProviderError, type ChatProvider, type PreparedConversation } from "../providers/chat-provider";
import type { Logger } from "../logger";
import { DEFAULT_RETRY_BASE_DELAY_MS, retryDelayMs, shouldRetry, waitUnlessAborted } from "./retry-policy";
import { StallWatchdog } from "./stall-watchdog";

export interface SummariserCall {
  provider: ChatProvider;
  model: Model;
  conversation: PreparedConversation;
  maxOutputTokens: number;
  /** The answer's signal: a stop ends the summarising too. */
  signal: AbortSignal;
  maxRetries: number;
  retryMaxDelayMs: number;
  retryBaseDelayMs?: number;
  stallTimeoutMs: number;
  logger: Logger;
}

/**
 * Asks the summariser model through the same adapter an answer uses (streamChat) and collects the
 * text. Retried like an answer on retryable errors and stalls; unlike an answer, also after some text
 * arrived, since nobody has seen it. Throws a ProviderError when it gives up (or the model answered
 * nothing) and an AbortError on a stop.
 */
export async function callSummariser(call: SummariserCall): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    if (call.signal.aborted) throw createAbortError();
    const watchdog = new StallWatchdog(call.stallTimeoutMs, call.signal);
    let text = "";
    try {
      const stream = call.provider.streamChat({
        model: call.model.name,
        conversation: call.conversation,
        maxOutputTokens: call.maxOutputTokens,
        signal: watchdog.signal,
        onActivity: () => watchdog.activity(),
      });
      for await (const event of stream) {
        if (event.type === "text-delta") text += event.text;
      }
      const summary = text.trim();
      if (summary === "") throw new ProviderError("provider_error", `${call.model.id} answered with an empty summary`, false);
      return summary;
    } catch (caught) {
      if (call.signal.aborted) throw createAbortError();
      const error = watchdog.hasStalled
        ? new ProviderError("provider_stalled", `${call.model.id} stopped sending while summarising`, true)
        : caught;
      // nobody has seen a summary's text yet, so a retry is as safe after some of it as before
      if (!(error instanceof ProviderError)) throw error;
      if (!shouldRetry({ isRetryable: error.retryable, hasFirstToken: false, attempt, maxRetries: call.maxRetries })) throw error;
      const delayMs = retryDelayMs(
        attempt,
        error.options.retryAfterMs,
        call.retryMaxDelayMs,
        call.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
      );
      call.logger.info("retrying the summariser", { modelId: call.model.id, code: error.code, attempt: attempt + 1, delayMs });
      await waitUnlessAborted(delayMs, call.signal);
    } finally {
      watchdog.stop();
    }
  }
}
