import assert from "node:assert/strict";
import { chooseDefaultVisibleModels } from "../../server/src/services/choose-default-visible-models";

describe("chooseDefaultVisibleModels", () => {
  it("picks the newest Claude Sonnet and Haiku across both id styles, dated or not", () => {
    // Ids as Anthropic's GET /v1/models listed them in 2025 (docs/providers.md#anthropic-model-list).
    const anthropic = [
      "claude-opus-4-1-20250805",
      "claude-opus-4-20250514",
      "claude-sonnet-4-5-20250929",
      "claude-sonnet-4-20250514",
      "claude-3-7-sonnet-20250219",
      "claude-haiku-4-5-20251001",
      "claude-3-5-haiku-20241022",
      "claude-3-haiku-20240307",
    ];
    assert.deepEqual([...chooseDefaultVisibleModels("anthropic", anthropic)].sort(), [
      "claude-haiku-4-5-20251001",
      "claude-sonnet-4-5-20250929",
    ]);
    // Only Claude 3 models: the newest of each family in the older style.
    assert.deepEqual(
      [
        ...chooseDefaultVisibleModels("anthropic", ["claude-3-haiku-20240307", "claude-3-5-haiku-20241022", "claude-3-7-sonnet-20250219"]),
      ].sort(),
      ["claude-3-5-haiku-20241022", "claude-3-7-sonnet-20250219"],
    );
    // A later date of the same version wins; unknown shapes are never shown by default.
    assert.deepEqual(
      [
        ...chooseDefaultVisibleModels("anthropic", [
          "claude-sonnet-4-5-20250929",
          "claude-sonnet-4-5-20251201",
          "claude-instant-1.2",
          "sonnet",
        ]),
      ],
      ["claude-sonnet-4-5-20251201"],
    );
    assert.deepEqual([...chooseDefaultVisibleModels("anthropic", [])], []);
  });

  it("picks Groq's Llama and GPT-OSS chat models, and every Ollama chat model it is given", () => {
    const groq = [
      "llama-3.3-70b-versatile",
      "meta-llama/llama-4-maverick-17b-128e-instruct",
      "openai/gpt-oss-20b",
      "qwen/qwen3-32b",
      "moonshotai/kimi-k2-instruct",
      "groq/compound",
    ];
    assert.deepEqual([...chooseDefaultVisibleModels("groq", groq)], groq.slice(0, 3));
    assert.deepEqual([...chooseDefaultVisibleModels("ollama", ["llama3.2:latest", "qwen3:8b"])], ["llama3.2:latest", "qwen3:8b"]);
  });
});
