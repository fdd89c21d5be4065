import assert from "node:assert/strict";
import { FAKE_API_KEYS } from "../../tools/harness/provider-setup";
import { generationEventSchemas, messageSchema, regenerateResponseSchema } from "../../protocol/http/index";
import { parseEchoText } from "../../tools/fake-providers";
import {
  chatRequests,
  createConversation,
  getMessage,
  longMessage,
  openAnswerStream,
  send,
  sendAndWait,
  startChatFixture,
  streamUrl,
  textOfDeltas,
  waitForAnswer,
  waitUntil,
  type ChatFixture,
} from "../support/chat-helpers";
import { openSse } from "../../tools/harness/sse-client";
import { startTestServer } from "../../tools/harness/test-server";

describe("generation: send, stream, stop, re-attach, regenerate", function () {
  let fixture: ChatFixture;
  let groqModel: string;
  let anthropicModel: string;

  before(async function () {
    fixture = await startChatFixture();
    groqModel = fixture.models.groq[0]!;
    anthropicModel = fixture.models.anthropic[0]!;
  });
  after(async function () {
    await fixture?.dispose();
  });
  afterEach(function () {
    fixture.fakes.anthropic.setTokenDelayMs(0);
    fixture.fakes.groq.setTokenDelayMs(0);
    fixture.fakes.ollama.setTokenDelayMs(0);
  });

  it("streams an answer over SSE with sequence ids and stores it complete with usage, timings and finish reason", async function () {
    const { server, memberToken: token } = fixture;
    const conversation = await createConversation(server, token);
    const sent = await send(server, token, conversation.id, "Explain closures in one line", anthropicModel);

    const stream = await openAnswerStream(server, token, sent.assistantMessage.id);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.match(stream.headers.get("cache-control") ?? "", /no-cache/);
    assert.equal(stream.headers.get("x-accel-buffering"), "no");
    assert.equal(await stream.ended, "server");

    const events = stream.events;
    assert.deepEqual(
      events.map((event) => Number(event.id)),
      events.map((_event, index) => index + 1),
      "ids are 1, 2, 3 … without gaps",
    );
    for (const event of events) {
      const schema = generationEventSchemas[event.event as keyof typeof generationEventSchemas];
      assert.ok(schema, `unknown event ${event.event}`);
      schema.parse(event.data);
    }
    assert.equal(events[0]!.event, "generation-start");
    assert.deepEqual(events[0]!.data, {
      messageId: sent.assistantMessage.id,
      conversationId: conversation.id,
      provider: "anthropic",
      modelId: anthropicModel,
    });
    assert.ok(events.filter((event) => event.event === "text-delta").length > 1);
    assert.equal(events.at(-2)!.event, "usage");
    assert.equal(events.at(-1)!.event, "generation-end");

    const stored = messageSchema.parse(await getMessage(server, token, sent.assistantMessage.id));
    assert.equal(stored.status, "complete");
    assert.equal(stored.content, textOfDeltas(events));
    assert.deepEqual(events.at(-1)!.data.message, stored);
    const echo = parseEchoText(stored.content);
    assert.deepEqual(echo.messages, [{ role: "user", text: "Explain closures in one line" }]);
    assert.ok(echo.system && echo.system.length > 0, "a system prompt was sent");
    assert.equal(typeof stored.inputTokens, "number");
    assert.equal(typeof stored.outputTokens, "number");
    // the cost of the answer at the price in force (the model has a default price), and the cache reads Anthropic reported (0)
    assert.equal(typeof stored.costMicroUsd, "number");
    assert.deepEqual(events.at(-2)!.data, {
      inputTokens: stored.inputTokens,
      outputTokens: stored.outputTokens,
      cachedInputTokens: 0,
      costMicroUsd: stored.costMicroUsd,
    });
    assert.equal(stored.finishReason, "stop");
    assert.equal(stored.finishReasonRaw, "end_turn");
    assert.equal(typeof stored.timeToFirstTokenMs, "number");
    assert.equal(typeof stored.durationMs, "number");
    assert.ok(stored.durationMs! >= stored.timeToFirstTokenMs!);
    assert.equal(stored.error, null);
    assert.ok(stored.context);
    assert.equal(stored.context!.firstMessageId, sent.userMessage.id);
    assert.equal(stored.context!.lastMessageId, sent.userMessage.id);
    assert.equal(stored.context!.includedMessageCount, 1);
    assert.equal(stored.context!.leftOutMessageCount, 0);
    assert.equal(stored.context!.summary, null);
    assert.equal(stored.context!.modelId, anthropicModel);
  });

  it("replays the whole stream of a finished answer, and honours Last-Event-ID and the lastEventId query", async function () {
    const { server, memberToken: token } = fixture;
    const conversation = await createConversation(server, token);
    const { sent, events } = await sendAndWait(server, token, conversation.id, "one two three four five", groqModel);

    const replay = await openAnswerStream(server, token, sent.assistantMessage.id);
    await replay.ended;
    assert.deepEqual(replay.events, events);

    const fromThree = await openAnswerStream(server, token, sent.assistantMessage.id, 3);
    await fromThree.ended;
    assert.deepEqual(fromThree.events, events.slice(3));

    const byQuery = await openSse(`${streamUrl(server, sent.assistantMessage.id)}?lastEventId=2`, { token });
    await byQuery.ended;
    assert.deepEqual(byQuery.events, events.slice(2));

    const bad = await openAnswerStream(server, token, sent.assistantMessage.id, "abc");
    assert.equal(bad.status, 400);
  });

  it("a client that disconnects mid-stream re-attaches with Last-Event-ID and gets exactly the rest", async function () {
    const { server, memberToken: token, fakes } = fixture;
    fakes.groq.setTokenDelayMs(8);
    const conversation = await createConversation(server, token);
    const sent = await send(server, token, conversation.id, longMessage(80), groqModel);

    const first = await openAnswerStream(server, token, sent.assistantMessage.id);
    await first.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 6);
    first.close();
    assert.equal(await first.ended, "client");
    const seen = [...first.events];
    const lastId = Number(seen.at(-1)!.id);

    // the answer goes on without any client
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await openAnswerStream(server, token, sent.assistantMessage.id, lastId);
    assert.equal(await second.ended, "server");
    assert.equal(Number(second.events[0]!.id), lastId + 1, "no gap and no repeat at the seam");
    const all = [...seen, ...second.events];
    assert.deepEqual(
      all.map((event) => Number(event.id)),
      all.map((_event, index) => index + 1),
    );
    assert.equal(all.at(-1)!.event, "generation-end");
    const stored = await getMessage(server, token, sent.assistantMessage.id);
    assert.equal(stored.status, "complete");
    assert.equal(textOfDeltas(all), stored.content);
    assert.deepEqual(parseEchoText(stored.content).messages.at(-1), { role: "user", text: longMessage(80) });
  });

  it("stop aborts the provider request (the fake sees the connection close) and keeps the partial text", async function () {
    const { server, memberToken: token, fakes } = fixture;
    fakes.anthropic.setTokenDelayMs(30);
    const conversation = await createConversation(server, token);
    const sent = await send(server, token, conversation.id, longMessage(150), anthropicModel);
    const stream = await openAnswerStream(server, token, sent.assistantMessage.id);
    await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 4);

    const stopped = await server.request("POST", `/messages/${sent.assistantMessage.id}/stop`, { token });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    const message = messageSchema.parse(stopped.body.message);
    assert.equal(message.status, "stopped");
    assert.ok(message.content.length > 0, "partial text kept");
    assert.ok(message.content.startsWith("ECHO model="));
    assert.equal(message.error, null);

    await stream.ended;
    const terminal = stream.events.at(-1)!;
    assert.equal(terminal.event, "generation-end");
    assert.equal(terminal.data.message.status, "stopped");
    assert.equal(textOfDeltas(stream.events), message.content);

    const request = chatRequests(fakes, "anthropic").at(-1)!;
    await fakes.anthropic.waitForRequest((entry) => entry === request && entry.clientClosed, 5000);
    assert.equal(request.completed, false);

    const stored = await getMessage(server, token, sent.assistantMessage.id);
    assert.equal(stored.status, "stopped");
    assert.equal(stored.content, message.content);

    const again = await server.request("POST", `/messages/${sent.assistantMessage.id}/stop`, { token });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "generation_not_active");

    // the conversation goes on, and the stopped partial answer is part of the next context, with a note that it was cut off
    const next = await sendAndWait(server, token, conversation.id, "continue", groqModel);
    const echo = parseEchoText(next.answer.content);
    assert.deepEqual(
      echo.messages.map((entry) => entry.role),
      ["user", "assistant", "user"],
    );
    assert.equal(echo.messages[1]!.text, `${message.content}\n\n[Note from Juggler: this answer was cut off: it was stopped by the user.]`);
  });

  it("flushes partial text to the database while streaming", async function () {
    const { server, memberToken: token, fakes } = fixture;
    fakes.ollama.setTokenDelayMs(25);
    const conversation = await createConversation(server, token);
    const sent = await send(server, token, conversation.id, longMessage(150), fixture.models.ollama[0]!);
    const partial = await waitUntil(
      async () => {
        const message = await getMessage(server, token, sent.assistantMessage.id);
        return message.status === "streaming" && message.content.length > 0 ? message : undefined;
      },
      8000,
      "a partial flush",
    );
    assert.ok(partial.content.startsWith("ECHO model="));
    const stopped = await server.request("POST", `/messages/${sent.assistantMessage.id}/stop`, { token });
    assert.equal(stopped.body.message.status, "stopped");
    assert.ok(stopped.body.message.content.startsWith(partial.content));
  });

  it("regenerates an answer as a sibling, on another model, and moves the leaf to it", async function () {
    const { server, memberToken: token } = fixture;
    const conversation = await createConversation(server, token);
    const first = await sendAndWait(server, token, conversation.id, "Name a prime number", groqModel);

    const response = await server.request("POST", `/messages/${first.answer.id}/regenerate`, { token, body: { modelId: anthropicModel } });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    const regenerated = regenerateResponseSchema.parse(response.body);
    assert.equal(regenerated.assistantMessage.parentId, first.sent.userMessage.id);
    assert.equal(regenerated.assistantMessage.modelId, anthropicModel);
    assert.equal(regenerated.assistantMessage.provider, "anthropic");
    assert.equal(regenerated.conversation.leafMessageId, regenerated.assistantMessage.id);
    const { message } = await waitForAnswer(server, token, regenerated.assistantMessage.id);
    assert.equal(message.status, "complete");
    // the rerun saw the question only, not the sibling answer it replaces
    assert.deepEqual(parseEchoText(message.content).messages, [{ role: "user", text: "Name a prime number" }]);

    const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
    assert.deepEqual(
      detail.body.messages.map((entry: { id: string }) => entry.id),
      [first.sent.userMessage.id, regenerated.assistantMessage.id],
    );
    assert.equal(detail.body.conversation.modelId, anthropicModel);
    assert.equal((await getMessage(server, token, first.answer.id)).status, "complete", "the first answer is still there");

    // without a model: the same model as the original answer
    const same = await server.request("POST", `/messages/${first.answer.id}/regenerate`, { token, body: {} });
    assert.equal(same.status, 202);
    assert.equal(same.body.assistantMessage.modelId, groqModel);
    await waitForAnswer(server, token, same.body.assistantMessage.id);

    const onUser = await server.request("POST", `/messages/${first.sent.userMessage.id}/regenerate`, { token, body: {} });
    assert.equal(onUser.status, 400);
  });

  it("saves the user message even when the provider cannot be reached; the answer is an error", async function () {
    const { server, memberToken: token, adminToken } = fixture;
    // a new address needs the key again (a stored key only goes where it was saved for)
    const unreachable = await server.request("PATCH", "/admin/providers/groq", {
      token: adminToken,
      body: { baseUrl: "http://127.0.0.1:9", apiKey: FAKE_API_KEYS.groq },
    });
    assert.equal(unreachable.status, 200);
    try {
      const conversation = await createConversation(server, token);
      const sent = await send(server, token, conversation.id, "Is anyone there?", groqModel);
      const { events, message } = await waitForAnswer(server, token, sent.assistantMessage.id);
      assert.equal(events.at(-1)!.event, "generation-error");
      assert.equal(events.at(-1)!.data.error.code, "provider_unreachable");
      assert.equal(message.status, "error");
      assert.equal(message.error.code, "provider_unreachable");
      // the member is not told where the provider lives
      assert.ok(!JSON.stringify(events).includes("127.0.0.1:9"), JSON.stringify(message.error));
      const user = await getMessage(server, token, sent.userMessage.id);
      assert.equal(user.content, "Is anyone there?");
      assert.equal(user.status, "complete");
    } finally {
      await server.request("PATCH", "/admin/providers/groq", {
        token: adminToken,
        body: { baseUrl: fixture.fakes.groq.url, apiKey: FAKE_API_KEYS.groq },
      });
    }
  });

  it("an answer no longer in memory (after a restart) streams one terminal event with the stored message", async function () {
    const local = await startChatFixture({ kinds: ["groq"] });
    let restarted: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      const conversation = await createConversation(local.server, local.memberToken);
      const { sent, answer } = await sendAndWait(local.server, local.memberToken, conversation.id, "hello", local.models.groq[0]!);
      await local.server.close();
      restarted = await startTestServer({ dataDirectory: local.server.dataDirectory });
      const stream = await openAnswerStream(restarted, local.memberToken, sent.assistantMessage.id, 7);
      await stream.ended;
      assert.equal(stream.events.length, 1);
      assert.equal(stream.events[0]!.event, "generation-end");
      assert.equal(stream.events[0]!.id, "8");
      assert.deepEqual(stream.events[0]!.data.message, answer);
    } finally {
      await restarted?.close();
      await local.dispose();
    }
  });

  it("graceful shutdown ends an open stream with a final event, close() resolves, and the answer is interrupted", async function () {
    const local = await startChatFixture({ kinds: ["anthropic"], fakes: { tokenDelayMs: 40 } });
    let restarted: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      const { server, memberToken: token } = local;
      const conversation = await createConversation(server, token);
      const sent = await send(server, token, conversation.id, longMessage(200), local.models.anthropic[0]!);
      const stream = await openAnswerStream(server, token, sent.assistantMessage.id);
      await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 3);

      await server.close();
      assert.equal(await stream.ended, "server");
      const terminal = stream.events.at(-1)!;
      assert.equal(terminal.event, "generation-error");
      assert.equal(terminal.data.error.code, "server_shutting_down");
      assert.equal(terminal.data.message.status, "interrupted");
      assert.equal(terminal.data.message.content, textOfDeltas(stream.events));

      restarted = await startTestServer({ dataDirectory: server.dataDirectory });
      const stored = await getMessage(restarted, token, sent.assistantMessage.id);
      assert.equal(stored.status, "interrupted");
      assert.equal(stored.content, terminal.data.message.content);
      assert.equal(stored.error.code, "server_shutting_down");
    } finally {
      await restarted?.close();
      await local.dispose();
    }
  });
});
