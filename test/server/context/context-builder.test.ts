import assert from "node:assert/strict";
import { contextRecordSchema, type ContextRecord } from "../../../protocol/http/conversations";
import type { Model } from "../../../protocol/http/models";
import { prepareAnthropicConversation } from "../../../server/src/providers/prepare-anthropic-conversation";
import { preparePlainConversation } from "../../../server/src/providers/prepare-plain-conversation";
import {
  buildContext,
  convertBranchToTurns,
  fitTurnsToBudget,
  SYSTEM_PROMPT,
  systemPromptText,
  SYSTEM_PROMPT_ID,
  type BranchMessage,
} from "../../../server/src/services/context-builder";
import { CONTEXT_RECORD_MAX_BYTES, limitContextRecordSize } from "../../../server/src/services/context-record-size";
import { describeCutOff, withCutOffNote } from "../../../server/src/services/partial-answer-note";
import { estimateConversationTokens, estimateMessageTokens } from "../../../server/src/services/token-estimate";

const plain = { prepareConversation: preparePlainConversation };
const anthropic = { prepareConversation: prepareAnthropicConversation };

function model(contextWindow: number | null, maxOutputTokens: number | null = null): Model {
  return {
    id: "ollama:test:latest",
    provider: "ollama",
    name: "test:latest",
    displayName: "test",
    contextWindow,
    maxOutputTokens,
    supportsVision: null,
  };
}

/** A branch of alternating question / answer starting at `firstDepth`, every text `size` characters. */
function branch(count: number, options: { firstDepth?: number; size?: number } = {}): BranchMessage[] {
  const firstDepth = options.firstDepth ?? 1;
  return Array.from({ length: count }, (_unused, index) => {
    const depth = firstDepth + index;
    const isQuestion = (depth - 1) % 2 === 0;
    return {
      id: `m${depth}`,
      role: isQuestion ? "user" : "assistant",
      content: `${isQuestion ? "question" : "answer"} ${depth} `.padEnd(options.size ?? 40, "."),
      status: "complete",
      finishReason: isQuestion ? null : "stop",
      depth,
    };
  });
}

describe("cut-off answers", () => {
  it("says why an answer ended early, and nothing for one that ended by itself", () => {
    assert.equal(describeCutOff({ status: "stopped", finishReason: null }), "it was stopped by the user");
    assert.match(describeCutOff({ status: "error", finishReason: "error" })!, /failed/);
    assert.match(describeCutOff({ status: "interrupted", finishReason: null })!, /interrupted/);
    assert.match(describeCutOff({ status: "complete", finishReason: "length" })!, /output limit/);
    assert.equal(describeCutOff({ status: "complete", finishReason: "stop" }), undefined);
    assert.equal(withCutOffNote("All done.", { status: "complete", finishReason: "stop" }), "All done.");
    assert.equal(
      withCutOffNote("Half an ans", { status: "stopped", finishReason: null }),
      "Half an ans\n\n[Note from Juggler: this answer was cut off: it was stopped by the user.]",
    );
  });
});

describe("convertBranchToTurns", () => {
  it("sends a cut-off answer with its note, leaves out answers without text, and records both", () => {
    const messages: BranchMessage[] = [
      ...branch(2),
      { id: "m3", role: "user", content: "again", status: "complete", finishReason: null, depth: 3 },
      { id: "m4", role: "assistant", content: "", status: "error", finishReason: "error", depth: 4 },
      { id: "m5", role: "user", content: "and again", status: "complete", finishReason: null, depth: 5 },
      { id: "m6", role: "assistant", content: "partial", status: "interrupted", finishReason: null, depth: 6 },
      { id: "m7", role: "user", content: "go on", status: "complete", finishReason: null, depth: 7 },
    ];
    const converted = convertBranchToTurns(messages);
    assert.equal(converted.system, SYSTEM_PROMPT);
    assert.deepEqual(
      converted.turns.map((turn) => turn.messageIds[0]),
      ["m1", "m2", "m3", "m5", "m6", "m7"],
    );
    assert.equal(
      converted.turns[4]!.content,
      "partial\n\n[Note from Juggler: this answer was cut off: it was interrupted (the server stopped).]",
    );
    assert.deepEqual(converted.adjustments, [
      "Left out 1 answer without text (failed or unfinished)",
      "Marked 1 answer as cut off (stopped, failed, interrupted or at the output limit)",
    ]);
  });
});

describe("fitTurnsToBudget", () => {
  it("drops the oldest turns, never the question, and starts the kept part at a question", () => {
    const turns = convertBranchToTurns(branch(7)).turns;
    const each = estimateMessageTokens(turns[0]!.content);
    const fitted = fitTurnsToBudget(undefined, turns, 3 * each + 1);
    assert.deepEqual(fitted.droppedMessageIds, ["m1", "m2", "m3", "m4"]);
    assert.deepEqual(
      fitted.turns.map((turn) => turn.messageIds[0]),
      ["m5", "m6", "m7"],
    );
    assert.equal(fitted.isNewestTooLarge, false);
    const tooSmall = fitTurnsToBudget(undefined, turns, 1);
    assert.deepEqual(
      tooSmall.turns.map((turn) => turn.messageIds[0]),
      ["m7"],
    );
    assert.equal(tooSmall.isNewestTooLarge, true);
  });
});

describe("buildContext: the request and its compact record", () => {
  it("sends a whole short branch and records its two ends", () => {
    const built = buildContext({ messages: branch(5), summary: null }, model(100_000), plain);
    const record = contextRecordSchema.parse(built.record);
    assert.equal(built.conversation.system, SYSTEM_PROMPT);
    assert.equal(built.conversation.turns.length, 5);
    assert.deepEqual(
      [record.firstMessageId, record.lastMessageId, record.includedMessageCount, record.leftOutMessageCount],
      ["m1", "m5", 5, 0],
    );
    assert.equal(record.systemPromptId, SYSTEM_PROMPT_ID);
    assert.equal(systemPromptText(record.systemPromptId), SYSTEM_PROMPT);
    assert.equal(record.estimatedInputTokens, estimateConversationTokens(built.conversation.system, built.conversation.turns));
    assert.equal(record.settings.maxOutputTokens, built.maxOutputTokens);
    assert.deepEqual(record.adjustments, []);
  });

  it("counts what was left out by depth, above the stretch it was given", () => {
    // messages 991…1000 of a long branch, in a window that takes only the last few
    const messages = branch(10, { firstDepth: 991, size: 400 });
    const built = buildContext({ messages, summary: null }, model(1200, 200), plain);
    const record = built.record;
    assert.ok(record.estimatedInputTokens <= 1000, String(record.estimatedInputTokens));
    const firstDepth = Number(record.firstMessageId!.slice(1));
    assert.equal(record.leftOutMessageCount, firstDepth - 1, "everything above the first message sent");
    assert.equal(record.includedMessageCount, 1000 - firstDepth + 1);
    assert.equal(firstDepth % 2, 1, "starts at a question");
    assert.match(
      record.adjustments[0]!,
      new RegExp(`^Left out the ${firstDepth - 1} oldest messages to fit the context window \\(1200 tokens, 200 reserved`),
    );
  });

  it("sends a summary at the end of the system prompt, labelled, and records what it stands for", () => {
    const messages = branch(4, { firstDepth: 41 });
    const summary = { id: "s1", content: "They discussed monads.", messageCount: 37, modelId: "ollama:small" };
    const built = buildContext({ messages, summary, notes: ["A note"] }, model(100_000), anthropic);
    assert.equal(
      built.conversation.system,
      `${SYSTEM_PROMPT}\n\n[Summary of the earlier conversation (37 messages, not repeated below)]\nThey discussed monads.`,
    );
    const record = built.record;
    assert.deepEqual(record.summary, { id: "s1", messageCount: 37, modelId: "ollama:small" });
    assert.equal(record.leftOutMessageCount, 3, "40 above the stretch, 37 of them summarised");
    assert.equal(record.firstMessageId, "m41");
    assert.deepEqual(record.adjustments.slice(0, 2), [
      "Summarised the 37 earlier messages (sent with the system prompt)",
      "Left out the 3 oldest messages to fit the context window (100000 tokens, 4096 reserved for the answer)",
    ]);
    assert.equal(record.adjustments.at(-1), "A note");
  });

  it("keeps the Anthropic rules' adjustments (a stretch that starts with an answer gets a user turn first)", () => {
    const messages = branch(3, { firstDepth: 2 });
    const built = buildContext({ messages, summary: null }, model(100_000), anthropic);
    assert.equal(built.conversation.turns[0]!.role, "user");
    assert.ok(built.record.adjustments.some((note) => /conversation continues/.test(note)));
    assert.equal(built.record.firstMessageId, "m2");
  });
});

describe("limitContextRecordSize", () => {
  const record: ContextRecord = {
    version: 2,
    modelId: `anthropic:${"m".repeat(290)}`,
    provider: "anthropic",
    contextWindowTokens: 200_000,
    reservedOutputTokens: 64_000,
    systemPromptId: SYSTEM_PROMPT_ID,
    firstMessageId: "0b7f1c3e-8e8a-4a8e-9b55-0f3b2a7c9d11",
    lastMessageId: "7c9d110b-7f1c-4e8a-8a8e-9b550f3b2a7c",
    includedMessageCount: 123_456,
    summary: { id: "9b550f3b-2a7c-4d11-8e8a-0b7f1c3e4a8e", messageCount: 99_999, modelId: `ollama:${"n".repeat(290)}` },
    leftOutMessageCount: 12,
    adjustments: Array.from({ length: 12 }, (_unused, index) => `${index} ${"adjustment ".repeat(27)}`.slice(0, 300)),
    settings: { maxOutputTokens: 64_000, temperature: null },
    estimatedInputTokens: 135_000,
  };

  it("keeps a record within 2 KB even with the longest ids and notes, saying how many notes gave way", () => {
    const limited = limitContextRecordSize(record);
    const bytes = Buffer.byteLength(JSON.stringify(limited));
    assert.ok(bytes <= CONTEXT_RECORD_MAX_BYTES, `${bytes} bytes`);
    contextRecordSchema.parse(limited);
    assert.match(limited.adjustments.at(-1)!, /^…and \d+ more adjustments$/);
    assert.deepEqual(limited.adjustments.slice(0, -1), record.adjustments.slice(0, limited.adjustments.length - 1));
  });

  it("leaves a small record as it is", () => {
    const small = { ...record, adjustments: ["one"] };
    assert.equal(limitContextRecordSize(small), small);
  });
});
