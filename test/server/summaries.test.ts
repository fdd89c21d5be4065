import assert from "node:assert/strict";
import { defaultOllamaModels } from "../../tools/fake-providers";
import { refreshAndShowModels } from "../../tools/harness/provider-setup";
import {
  chatRequests,
  createConversation,
  lastChatRequest,
  longMessage,
  openAnswerStream,
  send,
  sendAndWait,
  startChatFixture,
  type ChatFixture,
} from "../support/chat-helpers";

const SUMMARISER = "groq:llama-3.1-8b-instant";

describe("summaries: the team's summariser, and what happens when summarising fails", function () {
  this.timeout(60_000);
  let fixture: ChatFixture;
  let tiny: string;

  before(async function () {
    fixture = await startChatFixture({
      kinds: ["groq", "ollama"],
      server: { environment: { PROVIDER_MAX_RETRIES: "2", PROVIDER_RETRY_MAX_DELAY_MS: "50" } },
    });
    const { server, fakes, adminToken } = fixture;
    fakes.ollama.setModels([
      ...defaultOllamaModels,
      { ...defaultOllamaModels[1]!, name: "tiny-window:latest", contextLength: 1024, digest: "f".repeat(64) },
    ]);
    tiny = (await refreshAndShowModels(server, "ollama", adminToken)).find((id) => id.includes("tiny-window"))!;
    const settings = await server.request("PATCH", "/admin/settings", { token: adminToken, body: { summariserModelId: SUMMARISER } });
    assert.equal(settings.status, 200);
  });
  after(async function () {
    await fixture?.dispose();
  });
  afterEach(function () {
    fixture.fakes.groq.clearFaults();
    fixture.fakes.groq.setTokenDelayMs(0);
  });

  /** Two exchanges of ≈ 250 tokens each into the 1,024-token model: the third send needs a summary. */
  async function conversationNeedingASummary(): Promise<{ id: string; turns: string[] }> {
    const { server, memberToken: token, fakes } = fixture;
    fakes.ollama.setReply({ text: "Noted." });
    fakes.groq.setReply({ text: "The summary." });
    const conversation = await createConversation(server, token);
    const turns = [1, 2, 3, 4].map((turn) => `Turn ${turn}: ${"lorem ipsum dolor sit amet ".repeat(37)}`.slice(0, 1000));
    await sendAndWait(server, token, conversation.id, turns[0]!, tiny);
    await sendAndWait(server, token, conversation.id, turns[1]!, tiny);
    return { id: conversation.id, turns };
  }

  it("PATCH /admin/settings takes only a visible model as the summariser (or null for the automatic choice)", async function () {
    const { server, adminToken, memberToken } = fixture;
    const unknown = await server.request("PATCH", "/admin/settings", {
      token: adminToken,
      body: { summariserModelId: "groq:no-such-model" },
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "model_unavailable");
    const malformed = await server.request("PATCH", "/admin/settings", {
      token: adminToken,
      body: { summariserModelId: "not a model id" },
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, "validation_failed");

    const hidden = "groq:llama-3.3-70b-versatile";
    await server.request("PATCH", "/admin/models", { token: adminToken, body: { changes: [{ id: hidden, isVisible: false }] } });
    try {
      const refused = await server.request("PATCH", "/admin/settings", { token: adminToken, body: { summariserModelId: hidden } });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, "model_unavailable");
    } finally {
      await server.request("PATCH", "/admin/models", { token: adminToken, body: { changes: [{ id: hidden, isVisible: true }] } });
    }
    assert.equal((await server.request("GET", "/admin/settings", { token: adminToken })).body.summariserModelId, SUMMARISER, "unchanged");

    const automatic = await server.request("PATCH", "/admin/settings", { token: adminToken, body: { summariserModelId: null } });
    assert.deepEqual(automatic.body, { registration: "open", summariserModelId: null });
    const chosen = await server.request("PATCH", "/admin/settings", { token: adminToken, body: { summariserModelId: SUMMARISER } });
    assert.equal(chosen.body.summariserModelId, SUMMARISER);
    assert.equal((await server.request("PATCH", "/admin/settings", { token: memberToken, body: { summariserModelId: null } })).status, 403);
  });

  it("uses the configured summariser, retrying it like an answer", async function () {
    const { server, memberToken: token, fakes } = fixture;
    const { id, turns } = await conversationNeedingASummary();
    fakes.groq.setFaults({ fault: "server-error", times: 1 });
    const before = chatRequests(fakes, "groq").length;
    const third = await sendAndWait(server, token, id, turns[2]!, tiny);
    assert.equal(chatRequests(fakes, "groq").length - before, 2, "one failure, one retry");
    assert.equal(third.answer.context.summary.modelId, SUMMARISER);
    const summariserRequest = lastChatRequest(fakes, "groq").body as { model: string; messages: Array<{ role: string; content: string }> };
    assert.equal(summariserRequest.model, "llama-3.1-8b-instant");
    assert.match(summariserRequest.messages[0]!.content, /You summarise the earlier part of a conversation/);
  });

  it("when summarising fails, the oldest messages are left out instead, and the record says why", async function () {
    const { server, memberToken: token, fakes } = fixture;
    const { id, turns } = await conversationNeedingASummary();
    // not retryable: each of the next two sends tries once
    fakes.groq.setFaults({ fault: "model-not-found", times: 2 });
    await sendAndWait(server, token, id, turns[2]!, tiny);
    const fourth = await sendAndWait(server, token, id, turns[3]!, tiny);
    assert.equal(fourth.answer.status, "complete");
    const record = fourth.answer.context;
    assert.equal(record.summary, null);
    assert.equal(record.leftOutMessageCount, 4);
    assert.ok(
      record.adjustments.some((note: string) =>
        /^Could not summarise the older messages \(.*\), so they were left out instead$/.test(note),
      ),
      JSON.stringify(record.adjustments),
    );
    assert.ok(record.adjustments.some((note: string) => /Left out the 4 oldest messages/.test(note)));
    const received = (lastChatRequest(fakes, "ollama").body as { messages: Array<{ content: string }> }).messages.slice(1);
    assert.deepEqual(
      received.map((message) => message.content),
      [turns[2], "Noted.", turns[3]],
    );
    assert.ok(server.logLines.some((line) => line.includes("summarising failed")));
  });

  it("a stop while summarising stops the summariser too: the answer is stopped, nothing was sent to the target", async function () {
    const { server, memberToken: token, fakes } = fixture;
    const { id, turns } = await conversationNeedingASummary();
    fakes.groq.setReply({ text: longMessage(200) });
    fakes.groq.setTokenDelayMs(30);
    const targetRequestsBefore = chatRequests(fakes, "ollama").length;
    const sent = await send(server, token, id, turns[2]!, tiny);
    const stream = await openAnswerStream(server, token, sent.assistantMessage.id);
    await stream.waitFor((event) => event.event === "generation-status");
    const summariserRequest = await fakes.groq.waitForRequest(
      (request) => request.method === "POST" && request.status === 200 && !request.completed,
    );
    const stopped = await server.request("POST", `/messages/${sent.assistantMessage.id}/stop`, { token });
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.message.status, "stopped");
    assert.equal(stopped.body.message.content, "");
    assert.equal(stopped.body.message.context, null);
    await fakes.groq.waitForRequest((request) => request === summariserRequest && request.clientClosed, 5000);
    assert.equal(chatRequests(fakes, "ollama").length, targetRequestsBefore, "the target model was never called");
    await stream.ended;
    assert.equal(stream.events.at(-1)!.event, "generation-end");
  });
});
