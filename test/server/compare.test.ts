import assert from "node:assert/strict";
import { registerUser } from "../../tools/harness/test-server";
import { createConversation, sendAndWait, startChatFixture, waitForAnswer, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/**
 * Compare: one question to 2–4 models at once (POST …/messages with `modelIds`), sibling answers that
 * stream concurrently; one running turn per conversation; the per-user cap counts each answer; bad
 * input is a clear 4xx and stores nothing.
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`compare: one question, several models at once on ${backend}`, function () {
    this.timeout(60_000);
    let fixture: ChatFixture;

    before(async function () {
      const database = backend === "PostgreSQL" ? { DATABASE_URL: await createTestDatabase() } : {};
      fixture = await startChatFixture({ server: { environment: { MAX_PARALLEL_ANSWERS_PER_USER: "3", ...database } } });
    });
    after(async function () {
      await fixture?.dispose();
    });

    async function branchLength(conversationId: string, token = fixture.memberToken): Promise<number> {
      const detail = await fixture.server.request("GET", `/conversations/${conversationId}`, { token });
      return detail.body.branchMessageCount;
    }

    it("streams the answers concurrently; a send during the turn is a conflict; afterwards the conversation goes on", async function () {
      const { server, memberToken: token, models, fakes } = fixture;
      const modelIds = [models.anthropic[0]!, models.groq[0]!, models.ollama[0]!];
      const conversation = await createConversation(server, token);
      // slow tokens: all three are streaming at the same time
      for (const kind of ["anthropic", "groq", "ollama"] as const) fakes[kind].setTokenDelayMs(30);
      try {
        const response = await server.request("POST", `/conversations/${conversation.id}/messages`, {
          token,
          body: { content: "Explain closures", modelIds },
        });
        assert.equal(response.status, 202, JSON.stringify(response.body));
        assert.equal(response.body.assistantMessages.length, 3);
        const busy = await server.request("POST", `/conversations/${conversation.id}/messages`, {
          token,
          body: { content: "And another", modelId: modelIds[0] },
        });
        assert.equal(busy.status, 409, "one running turn per conversation");
        const finished = await Promise.all(
          response.body.assistantMessages.map((answer: { id: string }) => waitForAnswer(server, token, answer.id)),
        );
        assert.deepEqual(
          finished.map(({ message }) => [message.modelId, message.status]),
          modelIds.map((modelId) => [modelId, "complete"]),
        );
        for (const { message } of finished) {
          assert.ok(message.timeToFirstTokenMs !== null && message.durationMs !== null && message.outputTokens !== null);
        }
        // they overlapped: each started before any other ended
        const starts = finished.map(({ message }) => Date.parse(message.createdAt));
        const ends = finished.map(({ message }) => Date.parse(message.updatedAt));
        assert.ok(Math.max(...starts) < Math.min(...ends), "the answers streamed concurrently");
      } finally {
        for (const kind of ["anthropic", "groq", "ollama"] as const) fakes[kind].setTokenDelayMs(0);
      }
      const next = await sendAndWait(server, token, conversation.id, "Go on", models.groq[0]!);
      assert.equal(next.answer.status, "complete");
      assert.equal(await branchLength(conversation.id), 4);
    });

    it("refuses too many or too few models, duplicates, an unknown model, both fields, and a compare over the cap, storing nothing", async function () {
      const { server, memberToken: token, models } = fixture;
      const conversation = await createConversation(server, token);
      const all = [...models.anthropic, ...models.groq, ...models.ollama];
      assert.ok(all.length >= 5, "five models to ask for");
      const cases: Array<[string, Record<string, unknown>, number, string]> = [
        ["five models", { modelIds: all.slice(0, 5) }, 400, "validation_failed"],
        ["one model", { modelIds: all.slice(0, 1) }, 400, "validation_failed"],
        ["the same model twice", { modelIds: [all[0], all[0]] }, 400, "validation_failed"],
        ["both fields", { modelId: all[0], modelIds: all.slice(0, 2) }, 400, "validation_failed"],
        ["neither field", {}, 400, "validation_failed"],
        ["an unknown model", { modelIds: [all[0], "groq:not-a-model"] }, 400, "model_unavailable"],
        ["four answers over a cap of three", { modelIds: all.slice(0, 4) }, 429, "too_many_answers"],
      ];
      for (const [what, body, status, code] of cases) {
        const response = await server.request("POST", `/conversations/${conversation.id}/messages`, {
          token,
          body: { content: "Refused", ...body },
        });
        assert.equal(response.status, status, `${what}: ${JSON.stringify(response.body)}`);
        assert.equal(response.body.error.code, code, what);
      }
      assert.equal(await branchLength(conversation.id), 0, "nothing stored");
      const other = await registerUser(server, "outsider");
      const foreign = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token: other.accessToken,
        body: { content: "Mine", modelIds: all.slice(0, 2) },
      });
      assert.equal(foreign.status, 404);
    });
  });
}
