import assert from "node:assert/strict";
import type { ProviderErrorCode } from "../../server/src/providers/chat-provider";
import { isRetryableCode } from "../../server/src/providers/map-provider-error";
import { DEFAULT_RETRY_BASE_DELAY_MS, retryDelayMs, shouldRetry } from "../../server/src/services/retry-policy";

describe("retry policy of a generation job", () => {
  describe("shouldRetry", () => {
    const retryable = { isRetryable: true, hasFirstToken: false, attempt: 0, maxRetries: 2 };

    it("retries a retryable failure before the first token while retries remain", () => {
      assert.equal(shouldRetry(retryable), true);
      assert.equal(shouldRetry({ ...retryable, attempt: 1 }), true);
    });

    it("never retries once text reached the user", () => {
      assert.equal(shouldRetry({ ...retryable, hasFirstToken: true }), false);
    });

    it("stops when the retries are spent, and never retries with none allowed", () => {
      assert.equal(shouldRetry({ ...retryable, attempt: 2 }), false, "1 call + 2 retries made");
      assert.equal(shouldRetry({ ...retryable, maxRetries: 0 }), false);
    });

    it("retries only the codes worth another try: rate limits, overload, provider faults, network, broken or stalled streams", () => {
      const codes: Record<ProviderErrorCode, boolean> = {
        provider_rate_limited: true,
        provider_overloaded: true,
        provider_error: true,
        provider_unreachable: true,
        provider_stream_broken: true,
        provider_stalled: true,
        provider_invalid_key: false,
        provider_model_not_found: false,
        provider_context_too_long: false,
        provider_bad_request: false,
      };
      for (const [code, expected] of Object.entries(codes) as Array<[ProviderErrorCode, boolean]>) {
        assert.equal(shouldRetry({ ...retryable, isRetryable: isRetryableCode(code) }), expected, code);
      }
    });
  });

  describe("retryDelayMs", () => {
    it("waits what the provider's retry-after says, rounded, up to the cap", () => {
      assert.equal(retryDelayMs(0, 1_500, 10_000), 1_500);
      assert.equal(retryDelayMs(2, 1_500, 10_000), 1_500, "retry-after wins over the backoff of any attempt");
      assert.equal(retryDelayMs(0, 250.6, 10_000), 251);
      assert.equal(retryDelayMs(0, 0, 10_000), 0, "retry-after: 0 means now");
      assert.equal(retryDelayMs(0, 60_000, 2_000), 2_000, "a long retry-after is cut to the cap");
    });

    it("without retry-after, backs off exponentially from the base delay with up to 50 % jitter", () => {
      for (const attempt of [0, 1, 2, 3]) {
        const backoff = DEFAULT_RETRY_BASE_DELAY_MS * 2 ** attempt;
        const delays = Array.from({ length: 200 }, () => retryDelayMs(attempt, undefined, 60_000));
        for (const delay of delays) {
          assert.ok(delay >= backoff && delay <= backoff * 1.5, `attempt ${attempt}: ${delay} ms outside ${backoff}–${backoff * 1.5}`);
        }
        assert.ok(new Set(delays).size > 1, `attempt ${attempt}: the delays are jittered`);
      }
      const withOwnBase = retryDelayMs(1, undefined, 60_000, 100);
      assert.ok(withOwnBase >= 200 && withOwnBase <= 300, String(withOwnBase));
    });

    it("never waits longer than the cap, nor less than nothing", () => {
      assert.equal(retryDelayMs(10, undefined, 2_000), 2_000);
      assert.equal(retryDelayMs(0, -5, 2_000), 0);
    });
  });
});
