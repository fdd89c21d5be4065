import assert from "node:assert/strict";
import { readFixtureJson, readFixtureLines } from "../../../tools/fake-providers/read-fixture";
import { mapAnthropicStopReason } from "../../../server/src/providers/map-anthropic-stop-reason";
import { mapOllamaDoneReason } from "../../../server/src/providers/map-ollama-done-reason";
import { mapOpenAiFinishReason } from "../../../server/src/providers/map-openai-finish-reason";

describe("finish reasons", () => {
  it("maps the stop reason of the recorded Anthropic answers (stream and JSON)", () => {
    const json = readFixtureJson("anthropic/anthropic-text.json") as { stop_reason: string };
    const streamed = readFixtureLines("anthropic/anthropic-text.chunks.txt")
      .map((line) => JSON.parse(line) as { type: string; delta?: { stop_reason?: string } })
      .find((event) => event.type === "message_delta")?.delta?.stop_reason;
    assert.equal(json.stop_reason, "end_turn");
    assert.equal(mapAnthropicStopReason(json.stop_reason), "stop");
    assert.equal(mapAnthropicStopReason(streamed), "stop");
  });

  it("maps every Anthropic stop reason the SDK knows, and unknown ones to other", () => {
    assert.equal(mapAnthropicStopReason("stop_sequence"), "stop");
    assert.equal(mapAnthropicStopReason("max_tokens"), "length");
    assert.equal(mapAnthropicStopReason("model_context_window_exceeded"), "length");
    assert.equal(mapAnthropicStopReason("tool_use"), "tool-calls");
    assert.equal(mapAnthropicStopReason("refusal"), "content-filter");
    assert.equal(mapAnthropicStopReason("pause_turn"), "other");
    assert.equal(mapAnthropicStopReason("something_new"), "other");
    assert.equal(mapAnthropicStopReason(null), "other");
  });

  it("maps the finish reason of the recorded Groq answers", () => {
    const json = readFixtureJson("groq/groq-text.json") as { choices: Array<{ finish_reason: string }> };
    const lastChunk = JSON.parse(readFixtureLines("groq/groq-text.chunks.txt").at(-1) ?? "{}") as {
      choices: Array<{ finish_reason: string }>;
    };
    assert.equal(mapOpenAiFinishReason(json.choices[0].finish_reason), "stop");
    assert.equal(mapOpenAiFinishReason(lastChunk.choices[0].finish_reason), "stop");
    assert.equal(mapOpenAiFinishReason("length"), "length");
    assert.equal(mapOpenAiFinishReason("tool_calls"), "tool-calls");
    assert.equal(mapOpenAiFinishReason("content_filter"), "content-filter");
    assert.equal(mapOpenAiFinishReason("mystery"), "other");
  });

  it("maps Ollama's done_reason, and a bare done:true of older servers as a normal stop", () => {
    const recorded = readFixtureJson("ollama/api-chat.nonstream.response.json") as { done: boolean; done_reason?: string };
    assert.equal(recorded.done, true);
    // the documented example predates done_reason
    assert.equal(recorded.done_reason, undefined);
    assert.equal(mapOllamaDoneReason(recorded.done_reason), "stop");
    assert.equal(mapOllamaDoneReason("stop"), "stop");
    assert.equal(mapOllamaDoneReason("length"), "length");
    assert.equal(mapOllamaDoneReason("unload"), "other");
  });
});
