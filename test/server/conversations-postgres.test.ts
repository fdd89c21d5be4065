import assert from "node:assert/strict";
import { parseEchoText } from "../../tools/fake-providers";
import { createConversation, getMessage, sendAndWait, startChatFixture, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/**
 * The conversation store's own SQL on real PostgreSQL: the recursive branch walk, keyset paging,
 * the send transaction, and crash recovery. The main suites run the same paths on SQLite.
 */
describe("conversations on PostgreSQL", function () {
  this.timeout(120_000);
  let fixture: ChatFixture;

  before(async function () {
    fixture = await startChatFixture({
      server: { environment: { DATABASE_URL: await createTestDatabase() } },
      kinds: ["anthropic", "groq"],
    });
  });
  after(async function () {
    await fixture?.dispose();
  });

  it("sends across a model switch, branches, walks the branch, pages the list and recovers streaming answers", async function () {
    const { server, memberToken: token } = fixture;
    const anthropic = fixture.models.anthropic[0]!;
    const groq = fixture.models.groq[0]!;
    const conversation = await createConversation(server, token);
    const first = await sendAndWait(server, token, conversation.id, "First on Groq", groq);
    const second = await sendAndWait(server, token, conversation.id, "Then on Anthropic", anthropic);
    assert.equal(second.answer.status, "complete");
    assert.deepEqual(
      parseEchoText(second.answer.content).messages.map((message) => message.text),
      ["First on Groq", first.answer.content, "Then on Anthropic"],
    );
    assert.equal(typeof second.answer.inputTokens, "number");

    const edited = await sendAndWait(server, token, conversation.id, "Edited first", groq, { parentId: null });
    const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
    assert.deepEqual(
      detail.body.messages.map((message: { id: string }) => message.id),
      [edited.sent.userMessage.id, edited.answer.id],
    );

    const more = [];
    for (let index = 0; index < 4; index += 1) more.push((await createConversation(server, token, { title: `extra ${index}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "?limit=2" : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
      const page = await server.request("GET", `/conversations${query}`, { token });
      assert.equal(page.status, 200);
      seen.push(...page.body.conversations.map((entry: { id: string }) => entry.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    assert.equal(seen.length, 5);
    assert.equal(new Set(seen).size, 5);

    // a row a crashed instance left streaming (its heartbeat stopped long ago, its events were
    // pruned): recovery marks it interrupted, keeping the text
    await server.database("messages").where({ id: second.answer.id }).update({ status: "streaming", content: "partial" });
    await server.database("server_instances").insert({ id: "crashed-instance", started_at: 0, heartbeat_at: 1 });
    await server
      .database("generation_leases")
      .where({ message_id: second.answer.id })
      .update({ instance_id: "crashed-instance", finished_at: null });
    await server.database("generation_event_batches").where({ message_id: second.answer.id }).delete();
    await server.services.generation.recoverInterrupted();
    const recovered = await getMessage(server, token, second.answer.id);
    assert.equal(recovered.status, "interrupted");
    assert.equal(recovered.content, "partial");

    const deleted = await server.request("DELETE", `/conversations/${conversation.id}`, { token });
    assert.equal(deleted.status, 204);
    assert.equal((await server.request("GET", `/messages/${first.answer.id}`, { token })).status, 404);
  });
});
