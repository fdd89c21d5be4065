import assert from "node:assert/strict";
import { mapNetworkFailure, mapProviderFailure, type ProviderCallContext } from "../../../server/src/providers/map-provider-error";

/**
 * Real error bodies as providers sent them (public issue threads; docs/providers.md has each
 * provider's errors), run through the mapping a caller relies on: code, retryable, retry-after.
 */
const anthropic: ProviderCallContext = {
  kind: "anthropic",
  baseUrl: "https://api.anthropic.com",
  model: "claude-sonnet-4-5",
  secrets: ["sk-ant-secret-value-1234"],
};
const groq: ProviderCallContext = { kind: "groq", baseUrl: "https://api.groq.com", model: "llama-3.3-70b-versatile" };
const ollama: ProviderCallContext = { kind: "ollama", baseUrl: "http://localhost:11434", model: "llama3.2" };

describe("mapProviderFailure", () => {
  it("Anthropic 401 invalid x-api-key → provider_invalid_key, not retryable, in plain words", () => {
    const error = mapProviderFailure(anthropic, { status: 401, type: "authentication_error", message: "invalid x-api-key" });
    assert.equal(error.code, "provider_invalid_key");
    assert.equal(error.retryable, false);
    assert.equal(error.message, "Anthropic rejected the API key — check it in Team Settings");
  });

  it("Groq 401 invalid_api_key → provider_invalid_key", () => {
    const error = mapProviderFailure(groq, {
      status: 401,
      type: "invalid_request_error",
      code: "invalid_api_key",
      message: "Invalid API Key",
    });
    assert.equal(error.code, "provider_invalid_key");
    assert.match(error.message, /^Groq rejected the API key/);
  });

  it("Anthropic 429 with retry-after → provider_rate_limited, retryable, with retryAfterMs", () => {
    const error = mapProviderFailure(anthropic, {
      status: 429,
      type: "rate_limit_error",
      message: "This request would exceed the rate limit for your organization (…) of 20,000 input tokens per minute.",
      headers: new Headers({ "retry-after": "7" }),
    });
    assert.equal(error.code, "provider_rate_limited");
    assert.equal(error.retryable, true);
    assert.equal(error.options.retryAfterMs, 7000);
    assert.match(error.message, /try again in 7 seconds/);
  });

  it('Groq 429 rate_limit_exceeded (type "tokens") → provider_rate_limited', () => {
    const error = mapProviderFailure(groq, {
      status: 429,
      type: "tokens",
      code: "rate_limit_exceeded",
      message:
        "Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_…` on tokens per minute (TPM): Limit 12000, Used 4437, Requested 9854. Please try again in 11.455s.",
      headers: { "retry-after": "12" },
    });
    assert.equal(error.code, "provider_rate_limited");
    assert.equal(error.options.retryAfterMs, 12_000);
  });

  it("529 overloaded_error, a 503, and an overloaded error event mid-stream → provider_overloaded, retryable", () => {
    for (const failure of [
      { status: 529, type: "overloaded_error", message: "Overloaded" },
      { status: 503, message: "server busy, please try again.  maximum pending requests exceeded" },
      { type: "overloaded_error", message: "Overloaded" },
    ]) {
      const error = mapProviderFailure(anthropic, failure);
      assert.equal(error.code, "provider_overloaded", JSON.stringify(failure));
      assert.equal(error.retryable, true);
    }
  });

  it("other 5xx → provider_error, retryable", () => {
    const error = mapProviderFailure(anthropic, { status: 500, type: "api_error", message: "Internal server error" });
    assert.equal(error.code, "provider_error");
    assert.equal(error.retryable, true);
  });

  it("unknown models on each provider → provider_model_not_found, naming the model", () => {
    const cases: Array<[ProviderCallContext, { status: number; type?: string; code?: string; message: string }]> = [
      [anthropic, { status: 404, type: "not_found_error", message: "model: sonnet4" }],
      [
        groq,
        {
          status: 404,
          type: "invalid_request_error",
          code: "model_not_found",
          message: "The model `llama-3.1-405b-reasoning` does not exist or you do not have access to it.",
        },
      ],
      [ollama, { status: 404, message: "model 'llama3.2' not found" }],
      [ollama, { status: 404, message: 'model "llama3.2" not found, try pulling it first' }],
    ];
    for (const [context, failure] of cases) {
      const error = mapProviderFailure(context, failure);
      assert.equal(error.code, "provider_model_not_found", failure.message);
      assert.equal(error.retryable, false);
      assert.ok(error.message.includes(`"${context.model}"`), error.message);
    }
  });

  it("a 404 that is not about a model (wrong base URL path) → provider_bad_request pointing at the base URL", () => {
    const error = mapProviderFailure(anthropic, { status: 404, type: "not_found_error", message: "Not Found" });
    assert.equal(error.code, "provider_bad_request");
    assert.match(error.message, /check its base URL/);
    // the address itself only for admins
    assert.ok(!error.message.includes(anthropic.baseUrl), error.message);
    assert.match(error.adminMessage, new RegExp(`at ${anthropic.baseUrl.replace(/[.]/g, "\\.")} — check the base URL`));
  });

  it("never shows members an address the provider's own words carry (a proxy's upstream), and admins do see it", () => {
    const error = mapProviderFailure(ollama, {
      status: 502,
      message: "upstream http://10.1.2.3:11434/api/chat failed; proxy at localhost:11434 gave up",
    });
    assert.ok(!/10\.1\.2\.3|localhost:11434/.test(error.message), error.message);
    assert.match(error.message, /\(address hidden\)/);
    assert.match(error.adminMessage, /http:\/\/10\.1\.2\.3:11434/);
  });

  it("400 prompt is too long → provider_context_too_long with the provider's figures", () => {
    const error = mapProviderFailure(anthropic, {
      status: 400,
      type: "invalid_request_error",
      message: "prompt is too long: 210000 tokens > 200000 maximum",
    });
    assert.equal(error.code, "provider_context_too_long");
    assert.equal(error.retryable, false);
    assert.match(error.message, /210000 tokens > 200000 maximum/);
  });

  it("OpenAI-style context_length_exceeded and 413 too large → provider_context_too_long", () => {
    assert.equal(
      mapProviderFailure(groq, { status: 400, code: "context_length_exceeded", message: "Please reduce the length of the messages." }).code,
      "provider_context_too_long",
    );
    assert.equal(
      mapProviderFailure(groq, { status: 413, message: "Request too large for model … please reduce your message size and try again." })
        .code,
      "provider_context_too_long",
    );
  });

  it("other 400s → provider_bad_request, not retryable, with the provider's words", () => {
    const error = mapProviderFailure(anthropic, {
      status: 400,
      type: "invalid_request_error",
      message: 'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row',
    });
    assert.equal(error.code, "provider_bad_request");
    assert.equal(error.retryable, false);
    assert.match(error.message, /roles must alternate/);
  });

  it("never repeats the key if a provider echoes it", () => {
    const error = mapProviderFailure(anthropic, { status: 400, message: "Bad key format: sk-ant-secret-value-1234" });
    assert.ok(!error.message.includes("sk-ant-secret-value-1234"));
    assert.ok(!String(error.options.providerMessage).includes("sk-ant-secret-value-1234"));
  });
});

describe("mapNetworkFailure", () => {
  const refused = Object.assign(new TypeError("fetch failed"), {
    cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
  });

  it("refused before any answer → provider_unreachable, retryable, naming where it tried", () => {
    const error = mapNetworkFailure(ollama, refused, "request");
    assert.equal(error.code, "provider_unreachable");
    assert.equal(error.retryable, true);
    assert.match(error.message, /^Could not reach Ollama: the connection was refused/);
    assert.ok(!error.message.includes("localhost:11434"), "members are not told where it lives");
    assert.match(error.adminMessage, /^Could not reach Ollama at http:\/\/localhost:11434: the connection was refused/);
  });

  it("unknown host and timeouts say so", () => {
    const dns = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.invalid"), { code: "ENOTFOUND" }),
    });
    assert.match(mapNetworkFailure(groq, dns, "request").message, /host name was not found/);
    const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    assert.match(mapNetworkFailure(groq, timeout, "request", 5000).message, /did not answer within 5 seconds/);
  });

  it("a connection that breaks after the answer began → provider_stream_broken", () => {
    const reset = Object.assign(new TypeError("terminated"), {
      cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
    });
    const error = mapNetworkFailure(anthropic, reset, "stream");
    assert.equal(error.code, "provider_stream_broken");
    assert.equal(error.retryable, true);
  });

  it("never shows credentials that are part of a base URL", () => {
    const error = mapNetworkFailure({ kind: "ollama", baseUrl: "http://admin:hunter2@ollama.internal:11434" }, refused, "request");
    assert.ok(!error.message.includes("hunter2"), error.message);
  });
});
