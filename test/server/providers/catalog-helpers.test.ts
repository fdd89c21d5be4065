import assert from "node:assert/strict";
import { resolveClaudeModelLimits } from "../../../server/src/providers/claude-model-limits";
import { isGroqChatModel } from "../../../server/src/providers/is-groq-chat-model";
import { normaliseProviderBaseUrl } from "../../../server/src/providers/normalise-provider-base-url";

describe("isGroqChatModel", () => {
  it("keeps chat models and drops the speech and guard models of Groq's documented list", () => {
    // Groq's OpenAPI example response for GET /openai/v1/models (docs/providers.md#groq-model-list), plus ids seen in the live list
    const listed = [
      { id: "llama-3.1-8b-instant", active: true, context_window: 131072 },
      { id: "whisper-large-v3", active: true, context_window: 448 },
      { id: "distil-whisper-large-v3-en", active: true },
      { id: "playai-tts", active: true },
      { id: "playai-tts-arabic", active: true },
      { id: "meta-llama/llama-guard-4-12b", active: true },
      { id: "meta-llama/llama-prompt-guard-2-86m", active: true },
      { id: "openai/gpt-oss-safeguard-20b", active: true },
      { id: "canopylabs/orpheus-v1-english", active: true },
      { id: "openai/gpt-oss-120b", active: true },
      { id: "meta-llama/llama-4-scout-17b-16e-instruct", active: true },
      { id: "groq/compound", active: true },
      { id: "llama3-70b-8192", active: false },
    ];
    assert.deepEqual(
      listed.filter(isGroqChatModel).map((model) => model.id),
      ["llama-3.1-8b-instant", "openai/gpt-oss-120b", "meta-llama/llama-4-scout-17b-16e-instruct", "groq/compound"],
    );
  });
});

describe("resolveClaudeModelLimits", () => {
  it("uses the list's own figures when it has them", () => {
    assert.deepEqual(resolveClaudeModelLimits("claude-sonnet-4-5-20250929", { maxInputTokens: 1_000_000, maxTokens: 64_000 }), {
      contextWindow: 1_000_000,
      maxOutputTokens: 64_000,
    });
  });

  it("falls back to the known Claude limits for an older list without them", () => {
    // the shape of a pre-2025 ModelInfo: id, display_name, created_at only
    assert.deepEqual(resolveClaudeModelLimits("claude-3-5-sonnet-20241022", { maxInputTokens: undefined, maxTokens: undefined }), {
      contextWindow: 200_000,
      maxOutputTokens: 8_192,
    });
    assert.equal(resolveClaudeModelLimits("claude-opus-4-1-20250805", { maxInputTokens: null, maxTokens: null }).maxOutputTokens, 32_000);
    assert.equal(resolveClaudeModelLimits("claude-opus-4-5-20251101", { maxInputTokens: null, maxTokens: null }).maxOutputTokens, 64_000);
  });

  it("says nothing it does not know", () => {
    assert.deepEqual(resolveClaudeModelLimits("some-proxy-model", { maxInputTokens: null, maxTokens: null }), {
      contextWindow: null,
      maxOutputTokens: null,
    });
  });
});

describe("normaliseProviderBaseUrl", () => {
  it("stores the base URL each SDK expects, whatever API path was pasted", () => {
    assert.equal(normaliseProviderBaseUrl("anthropic", "https://api.anthropic.com/v1/"), "https://api.anthropic.com");
    assert.equal(normaliseProviderBaseUrl("groq", "https://api.groq.com/openai/v1"), "https://api.groq.com");
    assert.equal(normaliseProviderBaseUrl("ollama", "http://gpu-box:11434/api/"), "http://gpu-box:11434");
    assert.equal(normaliseProviderBaseUrl("ollama", " http://localhost:11434 "), "http://localhost:11434");
    // a proxy path prefix stays
    assert.equal(normaliseProviderBaseUrl("anthropic", "https://proxy.example.com/anthropic"), "https://proxy.example.com/anthropic");
  });
});
