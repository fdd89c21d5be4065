import assert from "node:assert/strict";
import type { ContextRecord } from "../../protocol/http/conversations";
import {
  describeAnswerProblem,
  describeContextFit,
  describeContextFitBriefly,
  describeStreamStatus,
  formatAnswerMetadata,
  formatCost,
  modelLabelFromId,
  tokensPerSecond,
} from "../../webview/src/chat/answer-metadata";
import { maskedKeyForDisplay } from "../../webview/src/team-settings/display-formats";
import { toSafeHref } from "../../webview/src/markdown/link-policy";

describe("webview formatting and link policy (no DOM)", () => {
  it("labels a model by its provider's own name", () => {
    assert.equal(modelLabelFromId("anthropic:claude-sonnet-4-5"), "claude-sonnet-4-5");
    assert.equal(modelLabelFromId("ollama:qwen2.5-coder:7b"), "qwen2.5-coder:7b");
    assert.equal(modelLabelFromId(null), undefined);
  });

  it("writes the answer line with only the figures the provider reported", () => {
    const known = { modelId: "anthropic:claude-sonnet-4-5", inputTokens: 1234, outputTokens: 567, timeToFirstTokenMs: 320 };
    assert.equal(formatAnswerMetadata(known), "claude-sonnet-4-5 · 1,234 → 567 tokens · 320 ms to first token");
    assert.equal(formatAnswerMetadata(known, "Claude Sonnet 4.5"), "Claude Sonnet 4.5 · 1,234 → 567 tokens · 320 ms to first token");
    assert.equal(formatAnswerMetadata({ ...known, inputTokens: null, outputTokens: null }), "claude-sonnet-4-5 · 320 ms to first token");
    assert.equal(
      formatAnswerMetadata({ ...known, outputTokens: null, timeToFirstTokenMs: 12_345 }),
      "claude-sonnet-4-5 · 1,234 tokens in · 12.3 s to first token",
    );
  });

  it("adds the answer's cost and its tokens per second once they are known", () => {
    const answer = {
      modelId: "groq:llama-3.3-70b-versatile",
      inputTokens: 1000,
      outputTokens: 500,
      timeToFirstTokenMs: 200,
      durationMs: 5200,
      costMicroUsd: 12_345,
    };
    // 500 tokens in the 5,000 ms after the first one: 100 tokens/s (the wait for the first token is apart).
    assert.equal(
      formatAnswerMetadata(answer, "Llama 3.3 70B"),
      "Llama 3.3 70B · 1,000 → 500 tokens · $0.012 · 200 ms to first token · 100 tokens/s",
    );
    // No price for the model: no cost, never "$0"; an older server without the field: the same.
    assert.doesNotMatch(formatAnswerMetadata({ ...answer, costMicroUsd: null }), /\$/);
    assert.doesNotMatch(formatAnswerMetadata({ ...answer, costMicroUsd: undefined }), /\$/);
    assert.match(formatAnswerMetadata({ ...answer, costMicroUsd: 0 }), / · \$0 · /);
    // A figure missing, or the answer in one piece: no speed.
    assert.equal(tokensPerSecond({ ...answer, durationMs: null }), undefined);
    assert.equal(tokensPerSecond({ ...answer, outputTokens: null }), undefined);
    assert.equal(tokensPerSecond({ ...answer, durationMs: 200 }), undefined);
    assert.equal(tokensPerSecond(answer), 100);
  });

  it("writes costs with the digits that tell answers apart", () => {
    assert.equal(formatCost(0), "$0");
    assert.equal(formatCost(7), "< $0.0001");
    assert.equal(formatCost(123), "$0.0001");
    assert.equal(formatCost(4_560), "$0.0046");
    assert.equal(formatCost(12_345), "$0.012");
    assert.equal(formatCost(1_240_000), "$1.24");
    assert.equal(formatCost(1_234_560_000), "$1,235");
  });

  it("explains failed and interrupted answers in plain words", () => {
    assert.equal(
      describeAnswerProblem({ status: "error", error: { code: "provider_invalid_key", message: "" } }),
      "The answer failed: The provider rejected its API key. Ask your team admin to replace it.",
    );
    // A member cannot open Team Settings: the server's words for the admin are replaced by "ask your admin".
    const serverWords = { code: "provider_invalid_key" as const, message: "Anthropic rejected the API key — check it in Team Settings" };
    assert.equal(describeAnswerProblem({ status: "error", error: serverWords }), `The answer failed: ${serverWords.message}`);
    assert.equal(
      describeAnswerProblem({ status: "error", error: serverWords }, false),
      "The answer failed: The provider rejected the team's API key. Ask your Juggler admin to replace it.",
    );
    assert.match(describeAnswerProblem({ status: "interrupted", error: null }) ?? "", /team server stopped/);
    assert.equal(describeAnswerProblem({ status: "complete", error: null }), undefined);
  });

  it("says when earlier messages were summarised or left out to fit the context window", () => {
    const context: ContextRecord = {
      version: 2,
      modelId: "groq:llama",
      provider: "groq",
      contextWindowTokens: 8192,
      reservedOutputTokens: 1024,
      systemPromptId: "juggler-default-v1",
      firstMessageId: "c",
      lastMessageId: "c",
      includedMessageCount: 1,
      summary: null,
      leftOutMessageCount: 2,
      adjustments: [],
      settings: { maxOutputTokens: 1024, temperature: null },
      estimatedInputTokens: 7000,
    };
    assert.equal(describeContextFit({ context }), "2 earlier messages left out to fit the model's context window");
    assert.equal(
      describeContextFit({ context: { ...context, leftOutMessageCount: 1 } }),
      "1 earlier message left out to fit the model's context window",
    );
    assert.equal(
      describeContextFit({
        context: { ...context, leftOutMessageCount: 0, summary: { id: "s", messageCount: 1240, modelId: "ollama:qwen" } },
      }),
      "1,240 earlier messages summarised to fit the model's context window",
    );
    assert.equal(describeContextFit({ context: { ...context, leftOutMessageCount: 0 } }), undefined);
    assert.equal(
      describeContextFitBriefly({ context: { ...context, summary: { id: "s", messageCount: 1240, modelId: "ollama:qwen" } } }),
      "1,240 earlier messages summarised, 2 earlier messages left out",
    );
    assert.equal(describeContextFit({ context: null }), undefined);
  });

  it("says an answer waits while earlier messages are summarised", () => {
    assert.equal(describeStreamStatus({ phase: "summarising", messageCount: 1240 }), "Summarising 1,240 earlier messages…");
    assert.equal(describeStreamStatus({ phase: "summarising", messageCount: 1 }), "Summarising 1 earlier message…");
  });

  it("shows at most the last 4 characters of a key", () => {
    assert.equal(maskedKeyForDisplay("••••abcd"), "••••abcd");
    assert.equal(maskedKeyForDisplay("sk-ant-api03-FULLKEY-wxyz"), "••••wxyz");
    assert.equal(maskedKeyForDisplay(null), undefined);
  });

  it("keeps only http and https links (what the host opens)", () => {
    assert.equal(toSafeHref("https://example.com/a b"), "https://example.com/a%20b");
    assert.equal(toSafeHref("http://localhost:8080/"), "http://localhost:8080/");
    for (const href of [
      "mailto:team@example.com",
      "javascript:alert(1)",
      "JAVASCRIPT:alert(1)",
      " java\tscript:alert(1)",
      "\u0001javascript:alert(1)",
      "data:text/html,x",
      "vbscript:x",
      "file:///etc/passwd",
      "/relative",
      "#top",
      "",
    ]) {
      assert.equal(toSafeHref(href), undefined, href);
    }
  });
});
