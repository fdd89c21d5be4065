import assert from "node:assert/strict";
import { createConversation, openAnswerStream, startChatFixture, type ChatFixture } from "../support/chat-helpers";

/**
 * Sends join the transaction the writes of their event-loop turn share (GroupedWrites): one commit
 * for all of them, each in its own savepoint, so a refused send is rolled back alone.
 */
describe("sends of one turn share a transaction", function () {
  let fixture: ChatFixture;

  before(async function () {
    fixture = await startChatFixture();
  });
  after(async function () {
    await fixture?.dispose();
  });

  it("writes them in one commit, each answered on its own, and rolls a refused one back alone", async function () {
    const { server, memberToken, adminToken } = fixture;
    const model = fixture.models.groq[0]!;
    const me = (await server.request("GET", "/me", { token: memberToken })).body.user.id as string;
    const mine = await Promise.all([1, 2, 3].map(() => createConversation(server, memberToken)));
    const theirs = await createConversation(server, adminToken);
    const begun: string[] = [];
    const countBegins = (query: { sql: string }) => {
      if (/^begin/i.test(query.sql)) begun.push(query.sql);
    };
    server.database.on("query", countBegins);
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      // one turn: none of these awaits anything before the next starts
      outcomes = await Promise.allSettled([
        server.services.generation.sendMessage(me, mine[0].id, { content: "first", modelId: model }),
        server.services.generation.sendMessage(me, theirs.id, { content: "not mine", modelId: model }),
        server.services.generation.sendMessage(me, mine[1].id, { content: "second", modelId: model }),
        server.services.generation.sendMessage(me, mine[2].id, { content: "third", modelId: model }),
      ]);
    } finally {
      server.database.off("query", countBegins);
    }
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ["fulfilled", "rejected", "fulfilled", "fulfilled"],
    );
    assert.equal((outcomes[1] as PromiseRejectedResult).reason.code, "not_found");
    assert.equal(begun.length, 1, `one transaction for the four sends: ${JSON.stringify(begun)}`);
    for (const [index, content] of ["first", "second", "third"].entries()) {
      const sent = (outcomes[index === 0 ? 0 : index + 1] as PromiseFulfilledResult<{ assistantMessage: { id: string } }>).value;
      await waitForAnswerToEnd(sent.assistantMessage.id);
      const page = await server.request("GET", `/conversations/${mine[index].id}`, { token: memberToken });
      assert.deepEqual(
        page.body.messages.map((message: { role: string; status: string }) => [message.role, message.status]),
        [
          ["user", "complete"],
          ["assistant", "complete"],
        ],
      );
      assert.equal(page.body.messages[0].content, content);
    }
    const other = await server.request("GET", `/conversations/${theirs.id}`, { token: adminToken });
    assert.deepEqual(other.body.messages, [], "nothing was written into someone else's conversation");
  });

  async function waitForAnswerToEnd(messageId: string): Promise<void> {
    const stream = await openAnswerStream(fixture.server, fixture.memberToken, messageId);
    assert.equal(await stream.ended, "server");
  }
});
