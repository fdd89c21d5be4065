import assert from "node:assert/strict";
import { parseRetryAfterMs } from "../../../server/src/providers/retry-after";

describe("parseRetryAfterMs", () => {
  const now = Date.parse("2026-11-25T12:00:00Z");

  it("reads seconds, fractions included", () => {
    assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "2" }), now), 2000);
    assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "0.5" }), now), 500);
  });

  it("reads an HTTP date as the time left until it", () => {
    assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "Wed, 25 Nov 2026 12:00:30 GMT" }), now), 30_000);
    assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "Wed, 25 Nov 2026 11:00:00 GMT" }), now), 0);
  });

  it("prefers retry-after-ms when present", () => {
    assert.equal(parseRetryAfterMs(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }), now), 1500);
  });

  it("takes plain header records too, in any letter case", () => {
    assert.equal(parseRetryAfterMs({ "Retry-After": "3" }, now), 3000);
  });

  it("is undefined when the provider did not say or said something unreadable", () => {
    assert.equal(parseRetryAfterMs(new Headers(), now), undefined);
    assert.equal(parseRetryAfterMs(undefined, now), undefined);
    assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "soon" }), now), undefined);
  });
});
