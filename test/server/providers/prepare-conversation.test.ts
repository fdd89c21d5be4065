import assert from "node:assert/strict";
import type { ChatTurn } from "../../../server/src/providers/chat-provider";
import { conversationContinuesText, prepareAnthropicConversation } from "../../../server/src/providers/prepare-anthropic-conversation";
import { preparePlainConversation } from "../../../server/src/providers/prepare-plain-conversation";

const user = (content: string, id = content): ChatTurn => ({ role: "user", content, messageIds: [id] });
const assistant = (content: string, id = content): ChatTurn => ({ role: "assistant", content, messageIds: [id] });

describe("prepareAnthropicConversation", () => {
  it("keeps an alternating conversation that starts with the user as it is, system on top", () => {
    const turns = [user("hi"), assistant("hello"), user("how are you?")];
    const prepared = prepareAnthropicConversation("Be brief", turns);
    assert.equal(prepared.system, "Be brief");
    assert.deepEqual(prepared.turns, turns);
    assert.deepEqual(prepared.adjustments, []);
  });

  it("joins consecutive turns of one role with a blank line, keeps every message id, and says so", () => {
    const prepared = prepareAnthropicConversation(undefined, [
      user("first", "m1"),
      user("second", "m2"),
      assistant("answer", "m3"),
      user("third", "m4"),
    ]);
    assert.deepEqual(prepared.turns, [
      { role: "user", content: "first\n\nsecond", messageIds: ["m1", "m2"] },
      { role: "assistant", content: "answer", messageIds: ["m3"] },
      { role: "user", content: "third", messageIds: ["m4"] },
    ]);
    assert.equal(prepared.adjustments.length, 1);
    assert.match(prepared.adjustments[0], /Joined 1 user message/);
  });

  it("joins consecutive answers too (e.g. an answer from another model followed by a regenerated one)", () => {
    const prepared = prepareAnthropicConversation(undefined, [
      user("q", "m1"),
      assistant("a1", "m2"),
      assistant("a2", "m3"),
      user("more", "m4"),
    ]);
    assert.deepEqual(
      prepared.turns.map((turn) => turn.role),
      ["user", "assistant", "user"],
    );
    assert.equal(prepared.turns[1].content, "a1\n\na2");
    assert.match(prepared.adjustments.join("\n"), /Joined 1 assistant message/);
  });

  it("starts with a user turn when the conversation starts with an answer", () => {
    const prepared = prepareAnthropicConversation(undefined, [assistant("Welcome!", "m1"), user("thanks", "m2")]);
    assert.deepEqual(prepared.turns[0], { role: "user", content: conversationContinuesText, messageIds: [] });
    assert.deepEqual(
      prepared.turns.map((turn) => turn.role),
      ["user", "assistant", "user"],
    );
    assert.match(prepared.adjustments.join("\n"), /start with a user message/);
  });

  it("leaves out empty turns (a stopped answer with no text) and then joins what became neighbours", () => {
    const prepared = prepareAnthropicConversation(undefined, [user("q1", "m1"), assistant("  ", "m2"), user("q2", "m3")]);
    assert.deepEqual(prepared.turns, [{ role: "user", content: "q1\n\nq2", messageIds: ["m1", "m3"] }]);
    assert.match(prepared.adjustments[0], /Left out 1 empty message/);
    assert.match(prepared.adjustments[1], /Joined 1 user message/);
  });

  it("drops a whitespace-only system prompt and leaves the input untouched", () => {
    const turns = [user("a", "m1"), user("b", "m2")];
    const copy = structuredClone(turns);
    const prepared = prepareAnthropicConversation("   ", turns);
    assert.equal(prepared.system, undefined);
    assert.deepEqual(turns, copy);
  });

  it("ends with the user's turn when the user just sent (no prefill)", () => {
    const prepared = prepareAnthropicConversation("s", [user("a"), assistant("b"), user("c"), user("d")]);
    assert.equal(prepared.turns.at(-1)?.role, "user");
    assert.equal(prepared.turns.at(-1)?.content, "c\n\nd");
  });

  it("trims trailing whitespace from a final answer, which Anthropic would reject", () => {
    const prepared = prepareAnthropicConversation(undefined, [user("q"), assistant("partial answer \n")]);
    assert.equal(prepared.turns.at(-1)?.content, "partial answer");
    assert.match(prepared.adjustments.join("\n"), /Trimmed trailing whitespace/);
  });
});

describe("preparePlainConversation (Groq, Ollama)", () => {
  it("keeps roles and order as they are (no alternation rule) and only drops empty turns", () => {
    const prepared = preparePlainConversation("Be brief", [
      assistant("Welcome", "m1"),
      user("a", "m2"),
      user("b", "m3"),
      assistant("", "m4"),
    ]);
    assert.equal(prepared.system, "Be brief");
    assert.deepEqual(
      prepared.turns.map((turn) => [turn.role, turn.content]),
      [
        ["assistant", "Welcome"],
        ["user", "a"],
        ["user", "b"],
      ],
    );
    assert.deepEqual(prepared.adjustments, ["Left out 1 empty message"]);
  });
});
