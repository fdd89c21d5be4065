import assert from "node:assert/strict";
import { contextRecordSchema } from "../../protocol/http/conversations";
import { modelFallbackListResponseSchema } from "../../protocol/http/models";
import type { RecordedRequest } from "../../tools/fake-providers";
import { chatRequests, createConversation, sendAndWait, startChatFixture, waitForAnswer, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/** The text of each turn a request carried, as one provider-neutral list: [role, text] after the system prompt. */
function turnsOf(kind: "anthropic" | "groq", request: RecordedRequest): { system: string; turns: Array<[string, string]> } {
  const body = request.body as {
    system?: string | Array<{ text: string }>;
    messages: Array<{ role: string; content: string | Array<{ type: string; text?: string }> }>;
  };
  const textOf = (content: string | Array<{ type: string; text?: string }>) =>
    typeof content === "string" ? content : content.map((part) => part.text ?? "").join("");
  if (kind === "anthropic") {
    const system = typeof body.system === "string" ? body.system : (body.system ?? []).map((part) => part.text).join("");
    return { system, turns: body.messages.map((message) => [message.role, textOf(message.content)]) };
  }
  const [first, ...rest] = body.messages;
  assert.equal(first?.role, "system");
  return { system: textOf(first!.content), turns: rest.map((message) => [message.role, textOf(message.content)]) };
}

function describeFallbacks(label: string, environment: () => Promise<Record<string, string>>) {
  describe(`fallback models (${label})`, function () {
    this.timeout(90_000);
    let fixture: ChatFixture;
    let groqModel: string;
    let otherGroqModel: string;
    let anthropicModel: string;

    beforeEach(async () => {
      fixture = await startChatFixture({
        server: { environment: { ...(await environment()), PROVIDER_BREAKER_FAILURES: "3", PROVIDER_BREAKER_COOLDOWN_MS: "600" } },
        kinds: ["groq", "anthropic"],
      });
      groqModel = fixture.models.groq[0]!;
      otherGroqModel = fixture.models.groq[1]!;
      anthropicModel = fixture.models.anthropic[0]!;
    });

    afterEach(async () => {
      await fixture?.dispose();
    });

    const setFallbacks = (modelId: string, fallbackModelIds: string[], token = fixture.adminToken) =>
      fixture.server.request("PUT", "/admin/model-fallbacks", { token, body: { modelId, fallbackModelIds } });

    it("lets admins set, read and clear a model's ordered fallbacks, and refuses members and bad lists", async () => {
      const set = await setFallbacks(groqModel, [anthropicModel, otherGroqModel]);
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual(modelFallbackListResponseSchema.parse(set.body).fallbacks, [
        { modelId: groqModel, fallbackModelIds: [anthropicModel, otherGroqModel] },
      ]);
      const read = await fixture.server.request("GET", "/admin/model-fallbacks", { token: fixture.adminToken });
      assert.deepEqual(read.body, set.body);

      assert.equal((await setFallbacks(groqModel, [anthropicModel], fixture.memberToken)).status, 403);
      assert.equal((await fixture.server.request("GET", "/admin/model-fallbacks", { token: fixture.memberToken })).status, 403);
      for (const [fallbacks, status] of [
        [[groqModel], 400],
        [[anthropicModel, anthropicModel], 400],
        [["groq:no-such-model"], 404],
        [["not a model id"], 400],
        [Array.from({ length: 6 }, (_, index) => `groq:m${index}`), 400],
      ] as Array<[string[], number]>) {
        const refused = await setFallbacks(groqModel, fallbacks);
        assert.equal(refused.status, status, `${JSON.stringify(fallbacks)}: ${JSON.stringify(refused.body)}`);
      }
      // nothing changed by the refused ones
      assert.deepEqual((await fixture.server.request("GET", "/admin/model-fallbacks", { token: fixture.adminToken })).body, set.body);

      assert.deepEqual((await setFallbacks(groqModel, [])).body, { fallbacks: [] });
    });

    it("answers from the fallback when the model stays overloaded, with the same context, and says so", async () => {
      const { server, memberToken, fakes } = fixture;
      const conversation = await createConversation(server, memberToken);
      await sendAndWait(server, memberToken, conversation.id, "My name is Ada and I like Rust.", groqModel);
      await sendAndWait(server, memberToken, conversation.id, "What is a borrow checker?", groqModel);
      await setFallbacks(groqModel, [anthropicModel]);
      // the first try and both retries (PROVIDER_MAX_RETRIES=2) are refused
      fakes.groq.setFaults({ fault: "overloaded", times: 3, retryAfterSeconds: 0 });
      const groqBefore = chatRequests(fakes, "groq").length;

      const { answer, events } = await sendAndWait(server, memberToken, conversation.id, "And what is my name?", groqModel);
      assert.equal(answer.status, "complete", JSON.stringify(answer.error));
      assert.equal(answer.modelId, anthropicModel, "the fallback answered");
      assert.equal(answer.provider, "anthropic");
      assert.ok(answer.content.length > 0);
      const record = contextRecordSchema.parse(answer.context);
      assert.equal(record.modelId, anthropicModel);
      assert.equal(record.provider, "anthropic");
      assert.equal(record.fallback?.requestedModelId, groqModel);
      assert.equal(record.fallback?.reason.code, "provider_overloaded");
      assert.ok(Buffer.byteLength(JSON.stringify(record)) <= 2048);
      assert.equal(events.at(-1)!.data.message.modelId, anthropicModel);

      // at the wire: the fallback received what the first model was sent, converted for its provider
      const groqTries = chatRequests(fakes, "groq").slice(groqBefore);
      assert.equal(groqTries.length, 3);
      const sentToGroq = turnsOf("groq", groqTries[0]!);
      const sentToAnthropic = turnsOf("anthropic", chatRequests(fakes, "anthropic").at(-1)!);
      assert.deepEqual(sentToAnthropic, sentToGroq);
      assert.equal(sentToGroq.turns.length, 5);
      assert.match(sentToGroq.turns[0]![1], /My name is Ada/);

      // the stored answer and the conversation: the conversation keeps the model the user chose
      const stored = await server.request("GET", `/messages/${answer.id}`, { token: memberToken });
      assert.equal(stored.body.message.modelId, anthropicModel);
      assert.equal(stored.body.message.context.fallback.requestedModelId, groqModel);
      const detail = await server.request("GET", `/conversations/${conversation.id}`, { token: memberToken });
      assert.equal(detail.body.conversation.modelId, groqModel);

      // "rerun on the original model": a sibling answer from groq, now that it answers again
      const rerun = await server.request("POST", `/messages/${answer.id}/regenerate`, { token: memberToken, body: { modelId: groqModel } });
      assert.equal(rerun.status, 202, JSON.stringify(rerun.body));
      const rerunAnswer = (await waitForAnswer(server, memberToken, rerun.body.assistantMessage.id)).message;
      assert.equal(rerunAnswer.status, "complete");
      assert.equal(rerunAnswer.modelId, groqModel);
      assert.equal(rerunAnswer.context.fallback ?? null, null);
    });

    it("skips a model whose circuit opened for the cool-down, then tries it again", async () => {
      const { server, memberToken, fakes } = fixture;
      await setFallbacks(groqModel, [anthropicModel]);
      const conversation = await createConversation(server, memberToken);
      fakes.groq.setFaults({ fault: "server-error", times: 3 });
      const first = await sendAndWait(server, memberToken, conversation.id, "First question", groqModel);
      assert.equal(first.answer.modelId, anthropicModel);
      assert.equal(first.answer.context.fallback.reason.code, "provider_error");

      // three failures in a row opened groq's circuit: the next answer does not wait on it
      const groqBefore = chatRequests(fakes, "groq").length;
      const second = await sendAndWait(server, memberToken, conversation.id, "Second question", groqModel);
      assert.equal(second.answer.modelId, anthropicModel);
      assert.equal(chatRequests(fakes, "groq").length, groqBefore, "groq was skipped");
      assert.equal(second.answer.context.fallback.reason.code, "provider_error");

      // after the cool-down (600 ms here) one answer tries it again, and it answers
      await new Promise((resolve) => setTimeout(resolve, 700));
      const third = await sendAndWait(server, memberToken, conversation.id, "Third question", groqModel);
      assert.equal(third.answer.modelId, groqModel);
      assert.equal(chatRequests(fakes, "groq").length, groqBefore + 1);
    });

    it("moves a conversation too long for the window to a fallback with a larger window only", async () => {
      const { server, memberToken, fakes } = fixture;
      const models = (await server.request("GET", "/models", { token: memberToken })).body.models as Array<{
        id: string;
        contextWindow: number | null;
      }>;
      const windowOf = (id: string) => models.find((model) => model.id === id)!.contextWindow!;
      assert.ok(windowOf(otherGroqModel) <= windowOf(groqModel) && windowOf(anthropicModel) > windowOf(groqModel));
      await setFallbacks(groqModel, [otherGroqModel, anthropicModel]);
      fakes.groq.setFaults({ fault: "context-too-long", times: 1, model: groqModel.slice("groq:".length) });
      const groqBefore = chatRequests(fakes, "groq").length;
      const conversation = await createConversation(server, memberToken);
      const { answer } = await sendAndWait(server, memberToken, conversation.id, "A long story", groqModel);
      assert.equal(answer.status, "complete", JSON.stringify(answer.error));
      assert.equal(answer.modelId, anthropicModel);
      assert.equal(answer.context.fallback.reason.code, "provider_context_too_long");
      // not retried, and the smaller-window fallback was not asked
      assert.equal(chatRequests(fakes, "groq").length, groqBefore + 1);
    });

    it("does not fall back for a refused key, nor after the first token", async () => {
      const { server, memberToken, fakes } = fixture;
      await setFallbacks(groqModel, [anthropicModel]);
      const conversation = await createConversation(server, memberToken);
      const anthropicBefore = chatRequests(fakes, "anthropic").length;

      fakes.groq.setFaults({ fault: "unauthorized", times: 1 });
      const refused = await sendAndWait(server, memberToken, conversation.id, "Hello", groqModel);
      assert.equal(refused.answer.status, "error");
      assert.equal(refused.answer.error.code, "provider_invalid_key");
      assert.equal(refused.answer.modelId, groqModel);

      fakes.groq.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 2 });
      const cut = await sendAndWait(server, memberToken, conversation.id, "Tell me a long story about a lighthouse keeper", groqModel);
      assert.equal(cut.answer.status, "error");
      assert.ok(cut.answer.content.length > 0, "the partial answer is kept");
      assert.equal(cut.answer.modelId, groqModel);
      assert.equal(chatRequests(fakes, "anthropic").length, anthropicBefore, "the fallback was never asked");
    });

    it("ends with the last model's error when every model fails", async () => {
      const { server, memberToken, fakes } = fixture;
      await setFallbacks(groqModel, [anthropicModel]);
      fakes.groq.setFaults({ fault: "overloaded", times: 3, retryAfterSeconds: 0 });
      fakes.anthropic.setFaults({ fault: "overloaded", times: 3, retryAfterSeconds: 0 });
      const conversation = await createConversation(server, memberToken);
      const { answer } = await sendAndWait(server, memberToken, conversation.id, "Anyone?", groqModel);
      assert.equal(answer.status, "error");
      assert.equal(answer.error.code, "provider_overloaded");
      assert.equal(answer.modelId, anthropicModel, "the record says which model failed last");
      assert.equal(answer.context.fallback.requestedModelId, groqModel);
    });
  });
}

describeFallbacks("SQLite", async () => ({}));
describeFallbacks("PostgreSQL", async () => ({ DATABASE_URL: await createTestDatabase() }));
