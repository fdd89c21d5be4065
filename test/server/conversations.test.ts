import assert from "node:assert/strict";
import crypto from "node:crypto";
import {
  conversationDetailResponseSchema,
  conversationListResponseSchema,
  MESSAGE_MAX_CHARACTERS,
  sendMessageResponseSchema,
} from "../../protocol/http/conversations";
import {
  chatRequests,
  createConversation,
  lastChatRequest,
  send,
  sendAndWait,
  startChatFixture,
  waitForAnswer,
  waitUntil,
  type ChatFixture,
} from "../support/chat-helpers";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";

describe("conversations", function () {
  describe("without providers", function () {
    let server: TestServer;
    let token: string;
    let userId: string;
    // a clock the test moves, so "newest interaction first" does not depend on millisecond luck
    let clock = Date.now();

    before(async function () {
      server = await startTestServer({ now: () => clock });
      const session = await registerUser(server, "alice");
      token = session.accessToken;
      userId = session.user.id;
    });
    after(async function () {
      await server?.dispose();
    });

    it("creates a conversation with the default title, gets it with an empty branch, renames it", async function () {
      const created = await createConversation(server, token);
      assert.equal(created.title, "New conversation");
      assert.equal(created.leafMessageId, null);

      const detail = await server.request("GET", `/conversations/${created.id}`, { token });
      assert.equal(detail.status, 200);
      const parsed = conversationDetailResponseSchema.parse(detail.body);
      assert.deepEqual(parsed.messages, []);
      assert.equal(parsed.conversation.id, created.id);

      clock += 1000;
      const renamed = await server.request("PATCH", `/conversations/${created.id}`, { token, body: { title: "  Refactoring plan  " } });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.conversation.title, "Refactoring plan");
      const again = await server.request("GET", `/conversations/${created.id}`, { token });
      assert.equal(again.body.conversation.title, "Refactoring plan");
    });

    it("refuses an empty title, an empty change and an unknown model id with 4xx", async function () {
      const created = await createConversation(server, token, { title: "Keep" });
      const empty = await server.request("PATCH", `/conversations/${created.id}`, { token, body: { title: "   " } });
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error.code, "validation_failed");
      const nothing = await server.request("PATCH", `/conversations/${created.id}`, { token, body: {} });
      assert.equal(nothing.status, 400);
      const badModel = await server.request("PATCH", `/conversations/${created.id}`, { token, body: { modelId: "groq:not-a-model" } });
      assert.ok(badModel.status >= 400 && badModel.status < 500, String(badModel.status));
      assert.equal(badModel.body.error.code, "model_unavailable");
      const notJson = await server.request("PATCH", `/conversations/${created.id}`, {
        token,
        rawBody: "title=x",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      assert.equal(notJson.status, 415);
    });

    it("deletes a conversation; afterwards it is 404 everywhere", async function () {
      const created = await createConversation(server, token, { title: "Doomed" });
      const deleted = await server.request("DELETE", `/conversations/${created.id}`, { token });
      assert.equal(deleted.status, 204);
      assert.equal((await server.request("GET", `/conversations/${created.id}`, { token })).status, 404);
      assert.equal((await server.request("DELETE", `/conversations/${created.id}`, { token })).status, 404);
      const list = await server.request("GET", "/conversations?limit=200", { token });
      assert.ok(!list.body.conversations.some((conversation: { id: string }) => conversation.id === created.id));
    });

    it("lists newest interaction first and pages with an opaque cursor without gaps or repeats", async function () {
      const other = await startTestServer({ now: () => clock });
      try {
        const session = await registerUser(other, "pager");
        const ids: string[] = [];
        for (let index = 0; index < 7; index += 1) {
          clock += 1000;
          ids.push((await createConversation(other, session.accessToken, { title: `c${index}` })).id);
        }
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const query: string = cursor === null ? "?limit=3" : `?limit=3&cursor=${encodeURIComponent(cursor)}`;
          const page = await other.request("GET", `/conversations${query}`, { token: session.accessToken });
          assert.equal(page.status, 200);
          const parsed = conversationListResponseSchema.parse(page.body);
          assert.ok(parsed.conversations.length <= 3);
          seen.push(...parsed.conversations.map((conversation) => conversation.id));
          cursor = parsed.nextCursor;
          pages += 1;
        } while (cursor !== null);
        assert.equal(pages, 3);
        assert.deepEqual(seen, [...ids].reverse());

        const bad = await other.request("GET", "/conversations?cursor=not-a-cursor", { token: session.accessToken });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.error.code, "validation_failed");
        const tooMany = await other.request("GET", "/conversations?limit=100000", { token: session.accessToken });
        assert.equal(tooMany.status, 400);
      } finally {
        await other.dispose();
      }
    });

    it("pages through 1,050 conversations with many equal times in (time, id) order", async function () {
      // Rows written straight to the table: the point is the keyset paging over ties, not creating them one by one.
      const base = Date.now();
      const rows = Array.from({ length: 1050 }, (_unused, index) => ({
        id: crypto.randomUUID() as string,
        user_id: userId,
        title: `bulk ${index}`,
        model_id: null,
        leaf_message_id: null,
        created_at: base,
        updated_at: base,
        last_message_at: base - 10_000_000 - (index % 7) * 1000,
      }));
      for (let start = 0; start < rows.length; start += 100) {
        await server.database("conversations").insert(rows.slice(start, start + 100));
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor === null ? "?limit=200" : `?limit=200&cursor=${encodeURIComponent(cursor)}`;
        const page = await server.request("GET", `/conversations${query}`, { token });
        assert.equal(page.status, 200);
        seen.push(...page.body.conversations.map((conversation: { id: string }) => conversation.id));
        cursor = page.body.nextCursor;
      } while (cursor !== null);
      const bulkIds = new Set(rows.map((row) => row.id));
      const bulkSeen = seen.filter((id) => bulkIds.has(id));
      assert.equal(new Set(seen).size, seen.length, "a conversation appeared on two pages");
      const expected = [...rows]
        .sort((left, right) => right.last_message_at - left.last_message_at || (right.id < left.id ? -1 : right.id > left.id ? 1 : 0))
        .map((row) => row.id);
      assert.deepEqual(bulkSeen, expected);
    });
  });

  describe("with providers", function () {
    let fixture: ChatFixture;
    let anthropicModel: string;
    let groqModel: string;

    before(async function () {
      fixture = await startChatFixture();
      anthropicModel = fixture.models.anthropic[0]!;
      groqModel = fixture.models.groq[0]!;
    });
    after(async function () {
      await fixture?.dispose();
    });

    it("saves the user message and a streaming answer, titles the conversation from the first line, and moves it to the top", async function () {
      const { server, memberToken: token } = fixture;
      const older = await createConversation(server, token);
      const newer = await createConversation(server, token);
      const before = await server.request("GET", "/conversations", { token });
      assert.equal(before.body.conversations[0].id, newer.id);

      const content = "How do I reverse a linked list in place without recursion, keeping it O(1) in memory?\nSecond line";
      const sent = await send(server, token, older.id, content, anthropicModel);
      const parsed = sendMessageResponseSchema.parse(sent);
      assert.equal(parsed.userMessage.content, content);
      assert.equal(parsed.userMessage.role, "user");
      assert.equal(parsed.userMessage.parentId, null);
      assert.equal(parsed.assistantMessage.status, "streaming");
      assert.equal(parsed.assistantMessage.parentId, parsed.userMessage.id);
      assert.equal(parsed.assistantMessage.provider, "anthropic");
      assert.equal(parsed.assistantMessage.modelId, anthropicModel);
      assert.equal(parsed.conversation.leafMessageId, parsed.assistantMessage.id);
      assert.equal(parsed.conversation.modelId, anthropicModel);
      assert.ok(parsed.conversation.title.length <= 61);
      assert.ok(parsed.conversation.title.startsWith("How do I reverse a linked list"));
      assert.ok(parsed.conversation.title.endsWith("…"));
      await waitForAnswer(server, token, parsed.assistantMessage.id);

      const after = await server.request("GET", "/conversations", { token });
      assert.equal(after.body.conversations[0].id, older.id, "the conversation with the newest message comes first");

      const me = await server.request("GET", "/me", { token });
      assert.equal(me.body.user.lastModelId, anthropicModel, "the last used model is remembered");

      const detail = conversationDetailResponseSchema.parse((await server.request("GET", `/conversations/${older.id}`, { token })).body);
      assert.deepEqual(
        detail.messages.map((message) => [message.role, message.status]),
        [
          ["user", "complete"],
          ["assistant", "complete"],
        ],
      );
    });

    it("keeps a title the user chose", async function () {
      const { server, memberToken: token } = fixture;
      const conversation = await createConversation(server, token, { title: "My own title" });
      const sent = await send(server, token, conversation.id, "Something else entirely", groqModel);
      assert.equal(sent.conversation.title, "My own title");
      await waitForAnswer(server, token, sent.assistantMessage.id);
    });

    it("checks the model before writing anything", async function () {
      const { server, memberToken: token, adminToken } = fixture;
      const conversation = await createConversation(server, token);
      const unknown = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token,
        body: { content: "hello", modelId: "anthropic:no-such-model" },
      });
      assert.equal(unknown.body.error.code, "model_unavailable");
      assert.ok(unknown.status >= 400 && unknown.status < 500);

      // hide a model: members can no longer send to it
      const hidden = fixture.models.groq[1]!;
      const hide = await server.request("PATCH", "/admin/models", {
        token: adminToken,
        body: { changes: [{ id: hidden, isVisible: false }] },
      });
      assert.equal(hide.status, 200);
      const refused = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token,
        body: { content: "hello", modelId: hidden },
      });
      assert.equal(refused.body.error.code, "model_unavailable");
      await server.request("PATCH", "/admin/models", { token: adminToken, body: { changes: [{ id: hidden, isVisible: true }] } });

      const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.deepEqual(detail.body.messages, []);
      assert.equal(detail.body.conversation.title, "New conversation");
    });

    it("refuses a message over the length limit and a body over the size limit with 413", async function () {
      const { server, memberToken: token } = fixture;
      const conversation = await createConversation(server, token);
      const tooLong = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token,
        body: { content: "x".repeat(MESSAGE_MAX_CHARACTERS + 1), modelId: groqModel },
      });
      assert.equal(tooLong.status, 413);
      assert.equal(tooLong.body.error.code, "payload_too_large");

      const huge = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token,
        rawBody: JSON.stringify({ content: "y".repeat(2 * 1_048_576), modelId: groqModel }),
        headers: { "content-type": "application/json" },
      });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, "payload_too_large");

      const empty = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token,
        body: { content: "   ", modelId: groqModel },
      });
      assert.equal(empty.status, 400);
      const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.deepEqual(detail.body.messages, []);
    });

    it("refuses a second send while an answer in the conversation is streaming (409), then accepts it", async function () {
      const { server, memberToken: token, fakes } = fixture;
      fakes.groq.setTokenDelayMs(20);
      try {
        const conversation = await createConversation(server, token);
        const first = await send(server, token, conversation.id, "first question with a few words in it", groqModel);
        const second = await server.request("POST", `/conversations/${conversation.id}/messages`, {
          token,
          body: { content: "second question", modelId: groqModel },
        });
        assert.equal(second.status, 409);
        assert.equal(second.body.error.code, "conflict");
        await waitForAnswer(server, token, first.assistantMessage.id);
        fakes.groq.setTokenDelayMs(0);
        const third = await sendAndWait(server, token, conversation.id, "second question", groqModel);
        assert.equal(third.answer.status, "complete");
        const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
        assert.equal(detail.body.messages.length, 4);
      } finally {
        fakes.groq.setTokenDelayMs(0);
      }
    });

    it("edits as a branch: parentId null starts a sibling root, the detail shows only the current branch", async function () {
      const { server, memberToken: token, fakes } = fixture;
      const conversation = await createConversation(server, token);
      const first = await sendAndWait(server, token, conversation.id, "Original question", groqModel);
      await sendAndWait(server, token, conversation.id, "Follow-up", groqModel);

      const edited = await sendAndWait(server, token, conversation.id, "Edited question", groqModel, { parentId: null });
      assert.equal(edited.sent.userMessage.parentId, null);
      const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.deepEqual(
        detail.body.messages.map((message: { content: string; role: string }) => (message.role === "user" ? message.content : "answer")),
        ["Edited question", "answer"],
      );
      // the edited branch's model saw only the edited question
      const body = lastChatRequest(fakes, "groq").body as { messages: Array<{ role: string; content: string }> };
      assert.deepEqual(
        body.messages.filter((message) => message.role !== "system").map((message) => message.content),
        ["Edited question"],
      );

      // reply under the first answer: a branch continuing the original question
      const branch = await sendAndWait(server, token, conversation.id, "Another follow-up", groqModel, {
        parentId: first.answer.id,
      });
      assert.equal(branch.sent.userMessage.parentId, first.answer.id);
      const branchDetail = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.deepEqual(
        branchDetail.body.messages
          .filter((message: { role: string }) => message.role === "user")
          .map((message: { content: string }) => message.content),
        ["Original question", "Another follow-up"],
      );

      const foreignParent = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token,
        body: { content: "x", modelId: groqModel, parentId: crypto.randomUUID() },
      });
      assert.equal(foreignParent.status, 400);
    });

    it("switches the conversation's model with PATCH modelId (must be a visible model)", async function () {
      const { server, memberToken: token } = fixture;
      const conversation = await createConversation(server, token, { modelId: groqModel });
      assert.equal(conversation.modelId, groqModel);
      const switched = await server.request("PATCH", `/conversations/${conversation.id}`, { token, body: { modelId: anthropicModel } });
      assert.equal(switched.status, 200);
      assert.equal(switched.body.conversation.modelId, anthropicModel);
      const refused = await server.request("PATCH", `/conversations/${conversation.id}`, { token, body: { modelId: "ollama:missing" } });
      assert.equal(refused.body.error.code, "model_unavailable");
    });

    it("deleting a conversation stops its streaming answer (the provider sees the connection close) and removes its messages", async function () {
      const { server, memberToken: token, fakes } = fixture;
      fakes.groq.setTokenDelayMs(50);
      try {
        const conversation = await createConversation(server, token);
        const sent = await send(server, token, conversation.id, "a question that takes a while to answer in full", groqModel);
        // the provider is answering (headers out, not finished) when the conversation is deleted
        const request = await waitUntil(
          () => chatRequests(fakes, "groq").find((entry) => entry.status === 200 && !entry.completed && !entry.clientClosed),
          5000,
          "the streaming provider request",
        );
        const deleted = await server.request("DELETE", `/conversations/${conversation.id}`, { token });
        assert.equal(deleted.status, 204);
        await fakes.groq.waitForRequest((entry) => entry === request && entry.clientClosed, 5000);
        assert.equal((await server.request("GET", `/messages/${sent.userMessage.id}`, { token })).status, 404);
        assert.equal((await server.request("GET", `/messages/${sent.assistantMessage.id}`, { token })).status, 404);
      } finally {
        fakes.groq.setTokenDelayMs(0);
      }
    });
  });
});
