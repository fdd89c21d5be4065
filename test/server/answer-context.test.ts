import assert from "node:assert/strict";
import crypto from "node:crypto";
import { answerContextResponseSchema } from "../../protocol/http/conversations";
import { SYSTEM_PROMPT } from "../../server/src/services/context-builder";
import { defaultOllamaModels, parseEchoText } from "../../tools/fake-providers";
import { refreshAndShowModels } from "../../tools/harness/provider-setup";
import { registerUser } from "../../tools/harness/test-server";
import {
  createConversation,
  longMessage,
  openAnswerStream,
  send,
  sendAndWait,
  startChatFixture,
  waitForAnswer,
  waitUntil,
  type ChatFixture,
} from "../support/chat-helpers";

describe("Show Context: GET /messages/:id/context", function () {
  this.timeout(60_000);
  let fixture: ChatFixture;
  let groq: string;

  before(async function () {
    fixture = await startChatFixture({ kinds: ["groq", "ollama"] });
    groq = fixture.models.groq[0]!;
  });
  after(async function () {
    await fixture?.dispose();
  });
  afterEach(function () {
    fixture.fakes.reset();
  });

  it("shows each message as it was sent: cut-off answers with their note, answers without text as not sent", async function () {
    const { server, memberToken: token, fakes } = fixture;
    const conversation = await createConversation(server, token);
    fakes.groq.setFaults({ fault: "unauthorized" });
    const failed = await sendAndWait(server, token, conversation.id, "First (its answer fails)", groq);
    assert.equal(failed.answer.content, "");
    fakes.groq.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 3 });
    const broken = await sendAndWait(server, token, conversation.id, "Second (its answer breaks off)", groq);
    assert.equal(broken.answer.status, "error");
    assert.ok(broken.answer.content.length > 0);
    const last = await sendAndWait(server, token, conversation.id, "Third", groq);

    const response = await server.request("GET", `/messages/${last.answer.id}/context`, { token });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const context = answerContextResponseSchema.parse(response.body);
    assert.equal(context.systemPrompt, SYSTEM_PROMPT);
    assert.equal(context.summary, null);
    assert.equal(context.nextCursor, null);
    assert.deepEqual(context.record, last.answer.context);
    assert.equal(context.tokens.reportedInput, last.answer.inputTokens);
    assert.equal(context.tokens.reportedOutput, last.answer.outputTokens);
    const cutOffText = `${broken.answer.content}\n\n[Note from Juggler: this answer was cut off: it failed part-way (a provider error).]`;
    assert.deepEqual(
      context.messages.map(({ messageId, role, isSent, content, note, modelId, status }) => ({
        messageId,
        role,
        isSent,
        content,
        note,
        modelId,
        status,
      })),
      [
        {
          messageId: failed.sent.userMessage.id,
          role: "user",
          isSent: true,
          content: "First (its answer fails)",
          note: null,
          modelId: null,
          status: "complete",
        },
        {
          messageId: failed.answer.id,
          role: "assistant",
          isSent: false,
          content: "",
          note: "Not sent: this answer has no text (it failed or was stopped before its first word)",
          modelId: groq,
          status: "error",
        },
        {
          messageId: broken.sent.userMessage.id,
          role: "user",
          isSent: true,
          content: "Second (its answer breaks off)",
          note: null,
          modelId: null,
          status: "complete",
        },
        {
          messageId: broken.answer.id,
          role: "assistant",
          isSent: true,
          content: cutOffText,
          note: "Sent with a note that it was cut off: it failed part-way (a provider error)",
          modelId: groq,
          status: "error",
        },
        {
          messageId: last.sent.userMessage.id,
          role: "user",
          isSent: true,
          content: "Third",
          note: null,
          modelId: null,
          status: "complete",
        },
      ],
    );
    // and that is what the provider got (its echo lists what it received)
    assert.deepEqual(
      parseEchoText(last.answer.content).messages.map((message) => message.text),
      context.messages.filter((message) => message.isSent).map((message) => message.content),
    );
  });

  it("pages oldest first with a cursor that belongs to the answer", async function () {
    const { server, memberToken: token } = fixture;
    const conversation = await createConversation(server, token);
    fixture.fakes.groq.setReply({ text: "ok" });
    let last;
    for (let turn = 1; turn <= 4; turn += 1) last = await sendAndWait(server, token, conversation.id, `Question ${turn}`, groq);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=3${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = answerContextResponseSchema.parse(
        (await server.request("GET", `/messages/${last!.answer.id}/context${query}`, { token })).body,
      );
      assert.ok(page.messages.length <= 3);
      seen.push(...page.messages.map((message) => message.content));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(seen, ["Question 1", "ok", "Question 2", "ok", "Question 3", "ok", "Question 4"]);

    const firstPage = (await server.request("GET", `/messages/${last!.answer.id}/context?limit=3`, { token })).body;
    const other = await sendAndWait(server, token, conversation.id, "Question 5", groq);
    const mismatched = await server.request(
      "GET",
      `/messages/${other.answer.id}/context?cursor=${encodeURIComponent(firstPage.nextCursor)}`,
      { token },
    );
    assert.equal(mismatched.status, 400);
    assert.equal(mismatched.body.error.code, "validation_failed");
    for (const bad of ["garbage", Buffer.from('["c"]').toString("base64url")]) {
      assert.equal((await server.request("GET", `/messages/${last!.answer.id}/context?cursor=${bad}`, { token })).status, 400);
    }
    assert.equal((await server.request("GET", `/messages/${last!.answer.id}/context?limit=0`, { token })).status, 400);
  });

  it("another user's answer is a 404 like an unknown id; a question is a 400; an answer without a record a 404", async function () {
    const { server, memberToken: token } = fixture;
    const conversation = await createConversation(server, token);
    const done = await sendAndWait(server, token, conversation.id, "mine", groq);
    const intruder = (await registerUser(server, "context-intruder")).accessToken;
    const foreign = await server.request("GET", `/messages/${done.answer.id}/context`, { token: intruder });
    const unknown = await server.request("GET", `/messages/${crypto.randomUUID()}/context`, { token: intruder });
    assert.equal(foreign.status, 404);
    assert.deepEqual(foreign.body, unknown.body);

    const question = await server.request("GET", `/messages/${done.sent.userMessage.id}/context`, { token });
    assert.equal(question.status, 400);
    assert.match(question.body.error.message, /question/);

    await server.database("messages").where({ id: done.answer.id }).update({ context_snapshot: null });
    const withoutRecord = await server.request("GET", `/messages/${done.answer.id}/context`, { token });
    assert.equal(withoutRecord.status, 404);
    assert.match(withoutRecord.body.error.message, /No context was recorded/);
  });

  it("while the context is still being prepared (a summary being written): 409, then the context", async function () {
    const { server, memberToken: token, adminToken, fakes } = fixture;
    fakes.ollama.setModels([
      ...defaultOllamaModels,
      { ...defaultOllamaModels[1]!, name: "tiny-window:latest", contextLength: 1024, digest: "f".repeat(64) },
    ]);
    const tiny = (await refreshAndShowModels(server, "ollama", adminToken)).find((id) => id.includes("tiny-window"))!;
    const conversation = await createConversation(server, token);
    const turn = (index: number) => `Turn ${index}: ${"lorem ipsum dolor sit amet ".repeat(37)}`.slice(0, 1000);
    fakes.ollama.setReply({ text: "Noted." });
    await sendAndWait(server, token, conversation.id, turn(1), tiny);
    await sendAndWait(server, token, conversation.id, turn(2), tiny);
    // the summariser (a local model) now writes slowly
    fakes.ollama.setReply({ text: longMessage(60) });
    fakes.ollama.setTokenDelayMs(40);
    const sent = await send(server, token, conversation.id, turn(3), tiny);
    const stream = await openAnswerStream(server, token, sent.assistantMessage.id);
    await stream.waitFor((event) => event.event === "generation-status");
    const preparing = await server.request("GET", `/messages/${sent.assistantMessage.id}/context`, { token });
    assert.equal(preparing.status, 409);
    assert.equal(preparing.body.error.code, "conflict");
    assert.equal(preparing.body.error.retryable, true);
    fakes.ollama.setTokenDelayMs(0);
    const { message } = await waitForAnswer(server, token, sent.assistantMessage.id);
    assert.ok(message.context?.summary);
    const ready = await waitUntil(async () => {
      const response = await server.request("GET", `/messages/${sent.assistantMessage.id}/context`, { token });
      return response.status === 200 ? response.body : undefined;
    });
    assert.equal(answerContextResponseSchema.parse(ready).summary?.messageCount, 4);
  });
});
