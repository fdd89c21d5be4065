import assert from "node:assert/strict";
import crypto from "node:crypto";
import {
  createConversation,
  getMessage,
  longMessage,
  send,
  sendAndWait,
  startChatFixture,
  type ChatFixture,
} from "../support/chat-helpers";
import { openSse } from "../../tools/harness/sse-client";
import { registerUser } from "../../tools/harness/test-server";

describe("ownership: another user's conversation or message is 404 on every endpoint", function () {
  let fixture: ChatFixture;
  let intruderToken: string;
  let model: string;

  before(async function () {
    fixture = await startChatFixture({ kinds: ["groq"] });
    intruderToken = (await registerUser(fixture.server, "intruder")).accessToken;
    model = fixture.models.groq[0]!;
  });
  after(async function () {
    await fixture?.dispose();
  });

  it("refuses get, patch, delete, send, message get, stream, stop and regenerate with the same 404 as an unknown id", async function () {
    const { server, memberToken: ownerToken, fakes } = fixture;
    const conversation = await createConversation(server, ownerToken, { title: "Private" });
    const done = await sendAndWait(server, ownerToken, conversation.id, "secret question", model);
    fakes.groq.setTokenDelayMs(40);
    const streaming = await send(server, ownerToken, conversation.id, longMessage(300), model);

    const unknownConversation = crypto.randomUUID();
    const unknownMessage = crypto.randomUUID();
    const attempts: Array<{ name: string; method: string; path: (conversationId: string, messageId: string) => string; body?: unknown }> = [
      { name: "get conversation", method: "GET", path: (c) => `/conversations/${c}` },
      { name: "rename", method: "PATCH", path: (c) => `/conversations/${c}`, body: { title: "mine now" } },
      { name: "switch model", method: "PATCH", path: (c) => `/conversations/${c}`, body: { modelId: model } },
      { name: "delete", method: "DELETE", path: (c) => `/conversations/${c}` },
      { name: "send", method: "POST", path: (c) => `/conversations/${c}/messages`, body: { content: "hi", modelId: model } },
      { name: "get message", method: "GET", path: (_c, m) => `/messages/${m}` },
      { name: "stop", method: "POST", path: (_c, m) => `/messages/${m}/stop` },
      { name: "regenerate", method: "POST", path: (_c, m) => `/messages/${m}/regenerate`, body: { modelId: model } },
    ];
    for (const attempt of attempts) {
      for (const messageId of [done.answer.id, done.sent.userMessage.id, streaming.assistantMessage.id]) {
        const foreign = await server.request(attempt.method, attempt.path(conversation.id, messageId), {
          token: intruderToken,
          body: attempt.body,
        });
        const unknown = await server.request(attempt.method, attempt.path(unknownConversation, unknownMessage), {
          token: intruderToken,
          body: attempt.body,
        });
        assert.equal(foreign.status, 404, `${attempt.name}: ${foreign.status} ${JSON.stringify(foreign.body)}`);
        assert.equal(foreign.body.error.code, "not_found");
        assert.deepEqual(foreign.body, unknown.body, `${attempt.name}: indistinguishable from an unknown id`);
      }
    }

    for (const messageId of [done.answer.id, streaming.assistantMessage.id]) {
      const stream = await openSse(`${server.url}/api/v1/messages/${messageId}/stream`, { token: intruderToken });
      assert.equal(stream.status, 404);
      assert.equal((stream.errorBody as { error: { code: string } }).error.code, "not_found");
    }

    // a foreign message as parentId in the intruder's own conversation is refused without leaking it
    const own = await createConversation(server, intruderToken);
    const asParent = await server.request("POST", `/conversations/${own.id}/messages`, {
      token: intruderToken,
      body: { content: "hi", modelId: model, parentId: done.answer.id },
    });
    assert.equal(asParent.status, 400);

    const list = await server.request("GET", "/conversations", { token: intruderToken });
    assert.deepEqual(
      list.body.conversations.map((entry: { id: string }) => entry.id),
      [own.id],
    );

    // nothing changed for the owner, and the answer was not stopped by the intruder
    const detail = await server.request("GET", `/conversations/${conversation.id}`, { token: ownerToken });
    assert.equal(detail.status, 200);
    assert.equal(detail.body.conversation.title, "Private");
    assert.equal(detail.body.messages.length, 4);
    assert.equal((await getMessage(server, ownerToken, streaming.assistantMessage.id)).status, "streaming");
    const stopped = await server.request("POST", `/messages/${streaming.assistantMessage.id}/stop`, { token: ownerToken });
    assert.equal(stopped.status, 200);
    fakes.groq.setTokenDelayMs(0);
  });
});
