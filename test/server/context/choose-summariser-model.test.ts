import assert from "node:assert/strict";
import type { Model } from "../../../protocol/http/models";
import { chooseSummariserModel, parameterBillionsOf } from "../../../server/src/services/choose-summariser-model";

function model(id: string, contextWindow: number | null = 131_072): Model {
  const [provider, ...name] = id.split(":");
  return {
    id,
    provider: provider as Model["provider"],
    name: name.join(":"),
    displayName: name.join(":"),
    contextWindow,
    maxOutputTokens: null,
    supportsVision: null,
  };
}

describe("chooseSummariserModel: the team's setting, else the cheapest visible model", () => {
  const anthropic = [
    model("anthropic:claude-opus-5-5"),
    model("anthropic:claude-sonnet-5-5"),
    model("anthropic:claude-haiku-4-5-20251001"),
    model("anthropic:claude-haiku-5-5"),
  ];
  const groq = [
    model("groq:llama-3.3-70b-versatile"),
    model("groq:openai/gpt-oss-120b"),
    model("groq:llama-3.1-8b-instant"),
    model("groq:compound"),
  ];
  const ollama = [model("ollama:llama3.2:latest", 131_072), model("ollama:qwen3:latest", 262_144), model("ollama:gemma3:latest", 262_144)];

  it("takes the configured model when it is visible", () => {
    assert.equal(
      chooseSummariserModel("groq:llama-3.3-70b-versatile", [...anthropic, ...groq, ...ollama])?.id,
      "groq:llama-3.3-70b-versatile",
    );
  });

  it("falls back to the rule when the configured model is no longer visible", () => {
    assert.equal(chooseSummariserModel("groq:gone", [...anthropic, ...groq])?.id, "groq:llama-3.1-8b-instant");
  });

  it("prefers a local Ollama model (largest window, then by id)", () => {
    assert.equal(chooseSummariserModel(null, [...anthropic, ...groq, ...ollama])?.id, "ollama:gemma3:latest");
  });

  it("then Groq's smallest model by the size in its name", () => {
    assert.equal(chooseSummariserModel(null, [...anthropic, ...groq])?.id, "groq:llama-3.1-8b-instant");
    assert.equal(parameterBillionsOf("meta-llama/llama-4-scout-17b-16e-instruct"), 17);
    assert.equal(parameterBillionsOf("compound"), Number.POSITIVE_INFINITY);
  });

  it("then Anthropic's smallest line (Haiku), the newest name first", () => {
    assert.equal(chooseSummariserModel(null, anthropic)?.id, "anthropic:claude-haiku-5-5");
    assert.equal(chooseSummariserModel(null, anthropic.slice(0, 2))?.id, "anthropic:claude-sonnet-5-5");
  });

  it("is null with no visible model", () => {
    assert.equal(chooseSummariserModel(null, []), null);
    assert.equal(chooseSummariserModel("ollama:anything", []), null);
  });
});
