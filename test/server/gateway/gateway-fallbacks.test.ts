import assert from "node:assert/strict";
import { chatRequests } from "../../support/chat-helpers";
import { ledgerRows, startGatewayFixture, type GatewayFixture } from "./gateway-fixture";

/**
 * The gateway calls models the way the chat does (issue 11: "the same retries and fallbacks as the
 * chat"): a model that keeps failing before its first output hands the request to the admin's next
 * fallback, converted for that provider; the client still sees the model it asked for, and the
 * ledger prices the tokens at the model that answered.
 */
describe("gateway: fallback models", function () {
  this.timeout(60_000);
  let fixture: GatewayFixture;
  let groqModel: string;
  let anthropicModel: string;

  before(async () => {
    fixture = await startGatewayFixture({
      server: {
        environment: {
          PROVIDER_MAX_RETRIES: "1",
          PROVIDER_RETRY_MAX_DELAY_MS: "10",
          // each test fails groq on purpose: its circuit must not open and skip it in the next one
          PROVIDER_BREAKER_FAILURES: "100",
        },
      },
    });
    groqModel = fixture.models.groq[0]!;
    anthropicModel = fixture.models.anthropic[0]!;
    const set = await fixture.server.request("PUT", "/admin/model-fallbacks", {
      token: fixture.adminToken,
      body: { modelId: groqModel, fallbackModelIds: [anthropicModel] },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  afterEach(() => fixture.fakes.reset());
  after(async () => {
    await fixture?.dispose();
  });

  it("answers from the fallback when the model stays overloaded, and records the fallback's tokens", async () => {
    // the first try and its one retry are refused
    fixture.fakes.groq.setFaults({ fault: "overloaded", times: 2, retryAfterSeconds: 0 });
    const groqBefore = chatRequests(fixture.fakes, "groq").length;
    const anthropicBefore = chatRequests(fixture.fakes, "anthropic").length;
    const rowsBefore = (await ledgerRows(fixture.server)).length;

    const completion = await fixture.openAi().chat.completions.create({
      model: groqModel,
      messages: [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: "What is a borrow checker?" },
      ],
    });
    assert.equal(completion.model, groqModel, "the response names the model the client asked for");
    assert.ok((completion.choices[0]!.message.content ?? "").length > 0);
    // Anthropic's end_turn, told as OpenAI's stop (the fallback's provider decides the mapping)
    assert.equal(completion.choices[0]!.finish_reason, "stop");

    assert.equal(chatRequests(fixture.fakes, "groq").length - groqBefore, 2, "the model and its retry");
    const sentToAnthropic = chatRequests(fixture.fakes, "anthropic").slice(anthropicBefore);
    assert.equal(sentToAnthropic.length, 1);
    const body = sentToAnthropic[0]!.body as { system?: unknown; messages: Array<{ role: string; content: unknown }> };
    assert.match(JSON.stringify(body.system), /Answer briefly/, "the system prompt in Anthropic's own place");
    assert.deepEqual(
      body.messages.map((message) => message.role),
      ["user"],
    );

    const rows = (await ledgerRows(fixture.server)).slice(rowsBefore);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].model_id, anthropicModel);
    assert.equal(rows[0].provider, "anthropic");
    assert.equal(rows[0].status, "complete");
    assert.equal(rows[0].input_tokens, completion.usage?.prompt_tokens);
  });

  it("streams the fallback's answer, with only the answering model's usage", async () => {
    fixture.fakes.groq.setFaults({ fault: "server-error", times: 2 });
    const rowsBefore = (await ledgerRows(fixture.server)).length;
    const stream = await fixture.openAi().chat.completions.create({
      model: groqModel,
      stream: true,
      // groq-sdk's types lack it; the gateway takes it as OpenAI defines it
      ...({ stream_options: { include_usage: true } } as object),
      messages: [{ role: "user", content: "Say hello" }],
    });
    let text = "";
    let finishReason: string | null = null;
    let promptTokens: number | undefined;
    for await (const chunk of stream) {
      assert.equal(chunk.model, groqModel);
      text += chunk.choices[0]?.delta.content ?? "";
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      promptTokens = (chunk as { usage?: { prompt_tokens?: number } }).usage?.prompt_tokens ?? promptTokens;
    }
    assert.ok(text.length > 0);
    assert.equal(finishReason, "stop");
    const rows = (await ledgerRows(fixture.server)).slice(rowsBefore);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].model_id, anthropicModel);
    assert.equal(rows[0].input_tokens, promptTokens);
  });

  it("does not fall back once output has reached the client: the error ends the stream", async () => {
    fixture.fakes.groq.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 3 });
    const anthropicBefore = chatRequests(fixture.fakes, "anthropic").length;
    const rowsBefore = (await ledgerRows(fixture.server)).length;
    const stream = await fixture.openAi().chat.completions.create({
      model: groqModel,
      stream: true,
      messages: [{ role: "user", content: "Tell me a long story" }],
    });
    let text = "";
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      })(),
      (error: Error) => /overloaded|Service Unavailable/i.test(error.message),
    );
    assert.ok(text.length > 0, "some text arrived before the failure");
    assert.equal(chatRequests(fixture.fakes, "anthropic").length, anthropicBefore, "no fallback after the first output");
    const rows = (await ledgerRows(fixture.server)).slice(rowsBefore);
    assert.deepEqual(
      rows.map((row) => [row.model_id, row.status]),
      [[groqModel, "error"]],
    );
  });

  it("does not fall back on a failure that is not the model's: the error is the model's own", async () => {
    fixture.fakes.groq.setFaults({ fault: "unauthorized", times: 1 });
    const anthropicBefore = chatRequests(fixture.fakes, "anthropic").length;
    await assert.rejects(
      fixture.openAi().chat.completions.create({ model: groqModel, messages: [{ role: "user", content: "x" }] }),
      (error: { status?: number }) => typeof error.status === "number" && error.status >= 400,
    );
    assert.equal(chatRequests(fixture.fakes, "anthropic").length, anthropicBefore, "no fallback was called");
  });
});
