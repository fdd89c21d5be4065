import type { ErrorDetail } from "../../../protocol/http/error-codes";
import type { Model } from "../../../protocol/http/models";
import type { ChatProvider, ProviderError } from "../providers/chat-provider";
import { FALLBACK_CONTEXT_WINDOW_TOKENS } from "./context-builder";

/** A model that may answer, with its provider's adapter and the circuit it is counted on. */
export interface ModelTarget {
  model: Model;
  provider: ChatProvider;
  /** (provider, key, model): a model reached with another key is another circuit. */
  circuitKey: string;
}

/** Why an answer moved on to the next model: the model it left and the error that made it. */
export interface FallbackStep {
  fromModelId: string;
  error: ErrorDetail;
}

/**
 * Which target answers after `targets[index]` failed with `error` before its first token, or
 * undefined when none may: a retryable failure (rate limit, overload, 5xx, network, stall) goes to
 * the next target; a conversation too long for the window goes to the next target whose window is
 * larger; anything else (a bad key, a bad request) is not the model's load and is not retried elsewhere.
 */
export function chooseFallbackIndex(targets: readonly ModelTarget[], index: number, error: ProviderError): number | undefined {
  if (error.code === "provider_context_too_long") {
    const window = windowOf(targets[index]!.model);
    for (let next = index + 1; next < targets.length; next += 1) {
      if (windowOf(targets[next]!.model) > window) return next;
    }
    return undefined;
  }
  if (!error.retryable) return undefined;
  return index + 1 < targets.length ? index + 1 : undefined;
}

function windowOf(model: Model): number {
  return model.contextWindow ?? FALLBACK_CONTEXT_WINDOW_TOKENS;
}
