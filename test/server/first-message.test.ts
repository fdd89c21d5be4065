import assert from "node:assert/strict";
import { createConversationResponseSchema } from "../../protocol/http/conversations";
import { chatRequests, startChatFixture, waitForAnswer, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/**
 * A new conversation and its first message in one call (issue 7: "sending the first message of a
 * new conversation is one call"): `POST /conversations` with `message` answers like a send — the
 * saved question and its streaming answer — and a first message that is refused leaves no empty
 * conversation behind.
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`a conversation started with its first message (${backend})`, function () {
    this.timeout(60_000);
    let fixture: ChatFixture;
    let model: string;

    before(async () => {
      const database = backend === "PostgreSQL" ? { DATABASE_URL: await createTestDatabase() } : {};
      // one answer at a time per member, so a test can have a first message refused after its conversation exists
      fixture = await startChatFixture({ server: { environment: { ...database, MAX_PARALLEL_ANSWERS_PER_USER: "1" } }, kinds: ["groq"] });
      model = fixture.models.groq[0]!;
    });
    afterEach(async () => {
      fixture.fakes.reset();
      await fixture.server.request("PATCH", "/admin/budgets/team", { token: fixture.adminToken, body: { requestsPerMinute: null } });
    });
    after(async () => {
      await fixture?.dispose();
    });

    const conversationCount = async () =>
      ((await fixture.server.request("GET", "/conversations?limit=100", { token: fixture.memberToken })).body.conversations as unknown[])
        .length;

    it("creates the conversation, saves the message and starts its answer in one call", async () => {
      const before = chatRequests(fixture.fakes, "groq").length;
      const response = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { modelId: model, workspaceHint: "file:///home/ada/project", message: { content: "What is a monad?" } },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      const created = createConversationResponseSchema.parse(response.body);
      assert.equal(created.conversation.modelId, model);
      assert.equal(created.conversation.workspaceHint, "file:///home/ada/project");
      assert.equal(created.userMessage?.content, "What is a monad?");
      assert.equal(created.userMessage?.conversationId, created.conversation.id);
      assert.equal(created.assistantMessage?.status, "streaming");
      assert.equal(created.assistantMessage?.parentId, created.userMessage?.id);

      const { message } = await waitForAnswer(fixture.server, fixture.memberToken, created.assistantMessage!.id);
      assert.equal(message.status, "complete");
      const sent = chatRequests(fixture.fakes, "groq").slice(before);
      assert.equal(sent.length, 1);
      assert.match(JSON.stringify(sent[0]!.body), /What is a monad\?/);

      // the conversation holds the exchange, like one made in two calls
      const detail = await fixture.server.request("GET", `/conversations/${created.conversation.id}`, { token: fixture.memberToken });
      assert.deepEqual(
        detail.body.messages.map((stored: { role: string }) => stored.role),
        ["user", "assistant"],
      );
    });

    it("refuses a first message without a model, or an empty one, with a 400 and creates nothing", async () => {
      const count = await conversationCount();
      for (const body of [
        { message: { content: "hello" } },
        { modelId: model, message: { content: "   " } },
        { modelId: model, message: {} },
      ]) {
        const response = await fixture.server.request("POST", "/conversations", { token: fixture.memberToken, body });
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.equal(response.body.error.code, "validation_failed");
      }
      const unknownModel = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { modelId: "groq:no-such-model", message: { content: "hello" } },
      });
      assert.equal(unknownModel.status, 400);
      assert.equal(unknownModel.body.error.code, "model_unavailable");
      // a preset that names no model does not give the first message one
      const preset = await fixture.server.request("POST", "/admin/presets", {
        token: fixture.adminToken,
        body: { name: "Terse, any model", systemPrompt: "Answer in one line." },
      });
      assert.equal(preset.status, 201, JSON.stringify(preset.body));
      const withoutModel = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { presetId: preset.body.preset.id, message: { content: "hello" } },
      });
      assert.equal(withoutModel.status, 400, JSON.stringify(withoutModel.body));
      assert.equal(withoutModel.body.error.code, "validation_failed");
      assert.match(withoutModel.body.error.message, /modelId/);
      assert.equal(await conversationCount(), count);
    });

    it("sends a first message to the model its preset names, with the preset's prompt", async () => {
      const preset = await fixture.server.request("POST", "/admin/presets", {
        token: fixture.adminToken,
        body: { name: "Groq reviewer", systemPrompt: "Review the code for bugs first.", modelId: model },
      });
      assert.equal(preset.status, 201, JSON.stringify(preset.body));
      const response = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { presetId: preset.body.preset.id, message: { content: "Is this loop right?" } },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      const created = createConversationResponseSchema.parse(response.body);
      assert.equal(created.conversation.modelId, model);
      const { message } = await waitForAnswer(fixture.server, fixture.memberToken, created.assistantMessage!.id);
      assert.equal(message.status, "complete");
      const request = chatRequests(fixture.fakes, "groq").at(-1)!;
      assert.match(JSON.stringify(request.body), /Review the code for bugs first\./);
    });

    it("leaves no empty conversation when the budget refuses the first message, and counts the request once", async () => {
      const limited = await fixture.server.request("PATCH", "/admin/budgets/team", {
        token: fixture.adminToken,
        body: { requestsPerMinute: 1 },
      });
      assert.equal(limited.status, 200, JSON.stringify(limited.body));
      const count = await conversationCount();
      // one request a minute: the first call is that one request (not two: creating and sending)
      const first = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { modelId: model, message: { content: "first" } },
      });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      await waitForAnswer(fixture.server, fixture.memberToken, first.body.assistantMessage.id);
      const groqBefore = chatRequests(fixture.fakes, "groq").length;
      const second = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { modelId: model, message: { content: "second" } },
      });
      assert.equal(second.status, 429, JSON.stringify(second.body));
      assert.equal(second.body.error.code, "budget_exceeded");
      assert.equal(await conversationCount(), count + 1, "only the first conversation exists");
      assert.equal(chatRequests(fixture.fakes, "groq").length, groqBefore, "no provider was called");
    });

    it("removes the new conversation again when its first message is refused after it was made", async () => {
      // an answer still being written: the member's one parallel answer is taken
      fixture.fakes.groq.setTokenDelayMs(50);
      const running = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { modelId: model, message: { content: "a long answer, please" } },
      });
      assert.equal(running.status, 201, JSON.stringify(running.body));
      const count = await conversationCount();
      const refused = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { modelId: model, message: { content: "and another" } },
      });
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, "too_many_answers");
      assert.equal(await conversationCount(), count, "no empty conversation left behind");
      fixture.fakes.groq.setTokenDelayMs(0);
      await waitForAnswer(fixture.server, fixture.memberToken, running.body.assistantMessage.id);
    });

    it("switches a conversation's model in one call, which also makes it the member's model for new conversations", async () => {
      const created = await fixture.server.request("POST", "/conversations", { token: fixture.memberToken, body: { modelId: model } });
      const other = fixture.models.groq.find((id) => id !== model)!;
      const switched = await fixture.server.request("PATCH", `/conversations/${created.body.conversation.id}`, {
        token: fixture.memberToken,
        body: { modelId: other },
      });
      assert.equal(switched.status, 200, JSON.stringify(switched.body));
      assert.equal(switched.body.conversation.modelId, other);
      const me = await fixture.server.request("GET", "/me", { token: fixture.memberToken });
      assert.equal(me.body.user.lastModelId, other);
    });
  });
}
