import assert from "node:assert/strict";
import { formatTokenCount } from "../../extension/src/chat/format-token-count";
import { groupConversationsByRecency } from "../../extension/src/chat/group-conversations-by-recency";
import type { Conversation } from "../../protocol/http/conversations";

function conversation(id: string, lastMessageAt: Date): Conversation {
  const time = lastMessageAt.toISOString();
  return { id, title: id, modelId: null, leafMessageId: null, createdAt: time, updatedAt: time, lastMessageAt: time };
}

describe("extension: conversation tree grouping and model limits", () => {
  it("groups by the last message in local time: Today, Yesterday, Previous 7 Days, Older", () => {
    const now = new Date(2026, 10, 25, 9, 30); // 25 Nov 2026, 09:30 local
    const groups = groupConversationsByRecency(
      [
        conversation("this-morning", new Date(2026, 10, 25, 0, 5)),
        conversation("late-yesterday", new Date(2026, 10, 24, 23, 59)),
        conversation("early-yesterday", new Date(2026, 10, 24, 0, 0)),
        conversation("six-days-ago", new Date(2026, 10, 19, 12, 0)),
        conversation("seven-days-ago", new Date(2026, 10, 18, 0, 0)),
        conversation("eight-days-ago", new Date(2026, 10, 17, 23, 0)),
        conversation("from-a-clock-ahead", new Date(2026, 10, 25, 11, 0)),
      ],
      now,
    );
    assert.deepEqual(
      groups.map((group) => [group.group, group.conversations.map((entry) => entry.id)]),
      [
        ["Today", ["this-morning", "from-a-clock-ahead"]],
        ["Yesterday", ["late-yesterday", "early-yesterday"]],
        ["Previous 7 Days", ["six-days-ago", "seven-days-ago"]],
        ["Older", ["eight-days-ago"]],
      ],
    );
  });

  it("leaves out empty groups", () => {
    const now = new Date(2026, 10, 25, 9, 30);
    assert.deepEqual(
      groupConversationsByRecency([conversation("old", new Date(2020, 0, 1))], now).map((group) => group.group),
      ["Older"],
    );
    assert.deepEqual(groupConversationsByRecency([], now), []);
  });

  it("writes token counts as people say them", () => {
    assert.equal(formatTokenCount(200_000), "200K");
    assert.equal(formatTokenCount(64_000), "64K");
    assert.equal(formatTokenCount(131_072), "128K");
    assert.equal(formatTokenCount(1_048_576), "1M");
    assert.equal(formatTokenCount(1_000_000), "1M");
    assert.equal(formatTokenCount(8_192), "8K");
    assert.equal(formatTokenCount(32_768), "32K");
    assert.equal(formatTokenCount(512), "512");
    assert.equal(formatTokenCount(128_500), "128.5K");
  });
});
