import assert from "node:assert/strict";
import type { Model } from "../../protocol/http/models";
import type { ChatProvider } from "../../server/src/providers/chat-provider";
import { ProviderError } from "../../server/src/providers/chat-provider";
import { CircuitBreaker } from "../../server/src/services/circuit-breaker";
import { chooseFallbackIndex, type ModelTarget } from "../../server/src/services/fallback-chain";

const overloaded = { code: "provider_overloaded" as const, message: "Groq is overloaded right now — try again shortly" };

describe("circuit breaker", () => {
  let now = 0;
  const breaker = () => new CircuitBreaker({ failureThreshold: 3, coolDownMs: 30_000, now: () => now });

  it("opens after the threshold of failures in a row, skips for the cool-down, then lets one call try", () => {
    now = 1_000;
    const circuits = breaker();
    circuits.recordFailure("groq/key/llama", overloaded);
    circuits.recordFailure("groq/key/llama", overloaded);
    assert.equal(circuits.openReason("groq/key/llama"), undefined, "two failures are not yet a pattern");
    circuits.recordFailure("groq/key/llama", overloaded);
    assert.deepEqual(circuits.openReason("groq/key/llama"), overloaded);
    assert.equal(circuits.openReason("groq/other-key/llama"), undefined, "another key is another circuit");
    now += 29_999;
    assert.ok(circuits.openReason("groq/key/llama"));
    now += 1;
    assert.equal(circuits.openReason("groq/key/llama"), undefined, "after the cool-down one call may try");
    // that trial fails: open again at once, for another cool-down
    circuits.recordFailure("groq/key/llama", overloaded);
    assert.ok(circuits.openReason("groq/key/llama"));
  });

  it("closes on a success: the count starts again", () => {
    now = 0;
    const circuits = breaker();
    circuits.recordFailure("k", overloaded);
    circuits.recordFailure("k", overloaded);
    circuits.recordSuccess("k");
    circuits.recordFailure("k", overloaded);
    circuits.recordFailure("k", overloaded);
    assert.equal(circuits.openReason("k"), undefined);
  });

  it("keeps a bounded number of circuits", () => {
    const circuits = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 1_000, now: () => 0, maxCircuits: 2 });
    for (const key of ["a", "b", "c"]) circuits.recordFailure(key, overloaded);
    assert.equal(circuits.openReason("a"), undefined, "the oldest was forgotten");
    assert.ok(circuits.openReason("b") && circuits.openReason("c"));
  });
});

describe("fallback chain", () => {
  const target = (id: string, contextWindow: number | null): ModelTarget => ({
    model: { id, provider: "groq", name: id, displayName: id, contextWindow, maxOutputTokens: null, supportsVision: null } as Model,
    provider: {} as ChatProvider,
    circuitKey: id,
  });
  const targets = [target("a", 8_000), target("b", 8_000), target("c", 200_000), target("d", null)];

  it("goes to the next model after a retryable failure, and nowhere after the last", () => {
    const error = new ProviderError("provider_rate_limited", "limited", true);
    assert.equal(chooseFallbackIndex(targets, 0, error), 1);
    assert.equal(chooseFallbackIndex(targets, 3, error), undefined);
  });

  it("goes to the next model with a larger window when the conversation is too long", () => {
    const error = new ProviderError("provider_context_too_long", "too long", false);
    assert.equal(chooseFallbackIndex(targets, 0, error), 2);
    assert.equal(chooseFallbackIndex(targets, 2, error), undefined, "an unknown window counts as a small one");
  });

  it("does not move for failures that are not the model's load (a bad key, a bad request)", () => {
    for (const code of ["provider_invalid_key", "provider_bad_request", "provider_model_not_found"] as const) {
      assert.equal(chooseFallbackIndex(targets, 0, new ProviderError(code, code, false)), undefined, code);
    }
  });
});
