import assert from "node:assert/strict";
import {
  conversationDetailResponseSchema,
  messageSiblingsResponseSchema,
  regenerateResponseSchema,
  sendMessageResponseSchema,
} from "../../protocol/http/conversations";
import { setLeafResponseSchema } from "../../protocol/http/conversation-leaf";
import { registerUser } from "../../tools/harness/test-server";
import { chatRequests, createConversation, sendAndWait, startChatFixture, waitForAnswer, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/**
 * Branches as the chat uses them: regenerate and rerun on another model (sibling answers), edit (a
 * sibling question), the siblings of a message (GET /messages/:id/siblings), each history message's
 * place among its siblings, and switching the branch in view (PUT /conversations/:id/leaf).
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`branches: siblings, rerun, edit and switching the branch in view on ${backend}`, function () {
    let fixture: ChatFixture;
    let otherToken: string;

    before(async function () {
      fixture = await startChatFixture(
        backend === "PostgreSQL" ? { server: { environment: { DATABASE_URL: await createTestDatabase() } } } : {},
      );
      otherToken = (await registerUser(fixture.server, "mallory")).accessToken;
    });
    after(async function () {
      await fixture?.dispose();
    });

    it("lists siblings oldest first, marks each page message's place, and switches branches back and forth", async function () {
      const { server, memberToken: token, models, fakes } = fixture;
      const groq = models.groq[0]!;
      const anthropic = models.anthropic[0]!;
      const conversation = await createConversation(server, token, { modelId: groq });
      const first = await sendAndWait(server, token, conversation.id, "First question", groq);
      const second = await sendAndWait(server, token, conversation.id, "Second question", groq);

      // rerun the second answer on another model: a sibling answer, shown as 2/2
      const rerun = await server.request("POST", `/messages/${second.answer.id}/regenerate`, { token, body: { modelId: anthropic } });
      assert.equal(rerun.status, 202, JSON.stringify(rerun.body));
      const rerunBody = regenerateResponseSchema.parse(rerun.body);
      assert.deepEqual(rerunBody.assistantMessage.siblings, { position: 2, count: 2 });
      assert.equal(rerunBody.conversation.modelId, anthropic);
      await waitForAnswer(server, token, rerunBody.assistantMessage.id);

      const siblings = await server.request("GET", `/messages/${second.answer.id}/siblings`, { token });
      assert.equal(siblings.status, 200, JSON.stringify(siblings.body));
      const listed = messageSiblingsResponseSchema.parse(siblings.body).messages;
      assert.deepEqual(
        listed.map((message) => [message.id, message.modelId, message.siblings]),
        [
          [second.answer.id, groq, { position: 1, count: 2 }],
          [rerunBody.assistantMessage.id, anthropic, { position: 2, count: 2 }],
        ],
      );

      // edit the first question: a sibling question (2/2) with a fresh answer, on the branch in view
      const edit = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token,
        body: { content: "First question, edited", modelId: groq, parentId: null },
      });
      assert.equal(edit.status, 202, JSON.stringify(edit.body));
      const edited = sendMessageResponseSchema.parse(edit.body);
      assert.deepEqual(edited.userMessage.siblings, { position: 2, count: 2 });
      await waitForAnswer(server, token, edited.assistantMessage.id);

      const page = async () =>
        conversationDetailResponseSchema.parse((await server.request("GET", `/conversations/${conversation.id}`, { token })).body);
      const onEdit = await page();
      assert.deepEqual(
        onEdit.messages.map((message) => [message.content.slice(0, 22), message.siblings]),
        [
          ["First question, edited", { position: 2, count: 2 }],
          [onEdit.messages[1]!.content.slice(0, 22), { position: 1, count: 1 }],
        ],
      );

      // back to the first question's branch: it ends at the rerun answer (the newest below it), whose model the conversation takes
      const setLeaf = (messageId: string, as = token, conversationId = conversation.id) =>
        server.request("PUT", `/conversations/${conversationId}/leaf`, { token: as, body: { messageId } });
      const back = await setLeaf(first.sent.userMessage.id);
      assert.equal(back.status, 200, JSON.stringify(back.body));
      const backBody = setLeafResponseSchema.parse(back.body);
      assert.equal(backBody.conversation.leafMessageId, rerunBody.assistantMessage.id);
      assert.equal(backBody.conversation.modelId, anthropic, "the conversation goes on with the model of the branch in view");
      const onFirst = await page();
      assert.deepEqual(
        onFirst.messages.map((message) => [message.id, message.siblings]),
        [
          [first.sent.userMessage.id, { position: 1, count: 2 }],
          [first.answer.id, { position: 1, count: 1 }],
          [second.sent.userMessage.id, { position: 1, count: 1 }],
          [rerunBody.assistantMessage.id, { position: 2, count: 2 }],
        ],
      );
      // to the older answer of the second question, then send: only that branch reaches the provider
      const toOlder = setLeafResponseSchema.parse((await setLeaf(second.answer.id)).body);
      assert.equal(toOlder.conversation.leafMessageId, second.answer.id);
      assert.equal(toOlder.conversation.modelId, groq);
      const before = chatRequests(fakes, "groq").length;
      await sendAndWait(server, token, conversation.id, "Third question", groq);
      const sent = chatRequests(fakes, "groq").slice(before)[0]!.body as { messages: Array<{ role: string; content: string }> };
      const userTurns = sent.messages.filter((message) => message.role === "user").map((message) => message.content);
      assert.deepEqual(userTurns, ["First question", "Second question", "Third question"]);
      assert.ok(!JSON.stringify(sent.messages).includes("edited"), "the edited branch is not sent");

      // the remembered branch survives a reload: the conversation opens where it was left
      const reopened = await page();
      assert.equal(reopened.messages.at(-1)!.role, "assistant");
      assert.equal(reopened.messages.at(-2)!.content, "Third question");
    });

    it("answers 404 for another user's ids and 400 for a message of another conversation", async function () {
      const { server, memberToken: token, models } = fixture;
      const groq = models.groq[0]!;
      const conversation = await createConversation(server, token, { modelId: groq });
      const { answer } = await sendAndWait(server, token, conversation.id, "Mine", groq);
      const other = await createConversation(server, token, { modelId: groq });

      assert.equal((await server.request("GET", `/messages/${answer.id}/siblings`, { token: otherToken })).status, 404);
      assert.equal((await server.request("GET", `/messages/not-a-message/siblings`, { token })).status, 404);
      const foreign = await server.request("PUT", `/conversations/${conversation.id}/leaf`, {
        token: otherToken,
        body: { messageId: answer.id },
      });
      assert.equal(foreign.status, 404);
      assert.equal(foreign.body.error.code, "not_found");
      const elsewhere = await server.request("PUT", `/conversations/${other.id}/leaf`, { token, body: { messageId: answer.id } });
      assert.equal(elsewhere.status, 400);
      assert.equal(elsewhere.body.error.code, "validation_failed");
      // nothing moved
      const detail = conversationDetailResponseSchema.parse(
        (await server.request("GET", `/conversations/${conversation.id}`, { token })).body,
      );
      assert.equal(detail.conversation.leafMessageId, answer.id);
    });
  });
}
