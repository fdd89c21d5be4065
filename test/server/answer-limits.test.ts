import assert from "node:assert/strict";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { registerUser } from "../../tools/harness/test-server";
import {
  chatRequests,
  createConversation,
  longMessage,
  openAnswerStream,
  send,
  startChatFixture,
  waitForAnswer,
  waitUntil,
  type ChatFixture,
} from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/**
 * Finding 8 of the hardening issue: a disabled account's answers stop at once, and one member
 * cannot have more than MAX_PARALLEL_ANSWERS_PER_USER answers being written.
 */
function describeAnswerLimits(label: string, environment: () => Promise<Record<string, string>>) {
  describe(`answers and accounts (${label})`, function () {
    this.timeout(60_000);
    let fixture: ChatFixture;

    beforeEach(async () => {
      fixture = await startChatFixture({
        server: { environment: { ...(await environment()), MAX_PARALLEL_ANSWERS_PER_USER: "2" } },
        kinds: ["groq"],
      });
      // slow answers, so that they are still being written while the test acts
      fixture.fakes.groq.setTokenDelayMs(100);
    });

    afterEach(async () => {
      await fixture?.dispose();
    });

    it("stops a disabled member's answer at once: interrupted, partial text kept, the provider request closed", async () => {
      const { server, memberToken, adminToken } = fixture;
      const model = fixture.models.groq[0]!;
      const conversation = await createConversation(server, memberToken);
      const sent = await send(server, memberToken, conversation.id, longMessage(200), model);
      const stream = await openAnswerStream(server, memberToken, sent.assistantMessage.id);
      await stream.waitFor((event) => event.event === "text-delta", 20_000);

      const member = (await server.request("GET", "/admin/users", { token: adminToken })).body.users.find(
        (user: { name: string }) => user.name === "member",
      );
      const disabled = await server.request("PATCH", `/admin/users/${member.id}`, { token: adminToken, body: { status: "disabled" } });
      assert.equal(disabled.status, 200);

      await stream.ended;
      const terminal = stream.events.at(-1)!;
      assert.equal(terminal.event, "generation-error", JSON.stringify(terminal));
      assert.equal(terminal.data.error.code, "account_disabled");
      assert.equal(terminal.data.message.status, "interrupted");
      assert.ok(terminal.data.message.content.length > 0, "the partial text is kept");
      // the provider saw the request go away, long before the 200-word answer could have finished
      const request = chatRequests(fixture.fakes, "groq").at(-1)!;
      await waitUntil(() => (request.clientClosed ? true : undefined), 10_000, "the provider request to close");
      const stored = await server.database("messages").where({ id: sent.assistantMessage.id }).first();
      assert.equal(stored.status, "interrupted");
      assert.equal(stored.error_code, "account_disabled");
    });

    it("refuses a third answer at once with 429 too_many_answers, and takes it when one has finished", async () => {
      const { server, memberToken } = fixture;
      const model = fixture.models.groq[0]!;
      const conversations = await Promise.all([1, 2, 3].map(() => createConversation(server, memberToken)));
      const first = await send(server, memberToken, conversations[0].id, longMessage(60), model);
      await send(server, memberToken, conversations[1].id, longMessage(60), model);
      const refused = await server.request("POST", `/conversations/${conversations[2].id}/messages`, {
        token: memberToken,
        body: { content: "One more", modelId: model },
      });
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      const error = errorResponseSchema.parse(refused.body).error;
      assert.equal(error.code, "too_many_answers");
      assert.equal(error.retryable, true);
      // nothing was written for the refused send
      const detail = await server.request("GET", `/conversations/${conversations[2].id}`, { token: memberToken });
      assert.equal(detail.body.messages.length, 0);

      // another member is not affected
      const other = await registerUser(server, "other");
      const theirs = await createConversation(server, other.accessToken);
      await send(server, other.accessToken, theirs.id, "Hello", model);

      // stopping one frees its place
      assert.equal(
        (await server.request("POST", `/messages/${first.assistantMessage.id}/stop`, { token: memberToken, body: {} })).status,
        200,
      );
      const accepted = await send(server, memberToken, conversations[2].id, "One more", model);
      await waitForAnswer(server, memberToken, accepted.assistantMessage.id);
    });

    it("counts sends that arrive at the same moment: never more than the limit start", async () => {
      const { server, memberToken } = fixture;
      const model = fixture.models.groq[0]!;
      const conversations = await Promise.all([1, 2, 3, 4, 5].map(() => createConversation(server, memberToken)));
      const responses = await Promise.all(
        conversations.map((conversation) =>
          server.request("POST", `/conversations/${conversation.id}/messages`, {
            token: memberToken,
            body: { content: longMessage(40), modelId: model },
          }),
        ),
      );
      const statuses = responses.map((response) => response.status).sort();
      assert.deepEqual(statuses, [202, 202, 429, 429, 429]);
    });
  });
}

describeAnswerLimits("SQLite", async () => ({}));
describeAnswerLimits("PostgreSQL", async () => ({ DATABASE_URL: await createTestDatabase() }));
