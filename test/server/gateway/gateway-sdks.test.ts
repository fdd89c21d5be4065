import assert from "node:assert/strict";
import type Anthropic from "@anthropic-ai/sdk";
import type { ProviderKind } from "../../../protocol/http/providers";
import { parseEchoText } from "../../../tools/fake-providers";
import { chatRequests } from "../../support/chat-helpers";
import {
  fakeReportedUsage,
  ledgerRows,
  openAiErrorOf,
  startGatewayFixture,
  waitForLedgerRows,
  type GatewayFixture,
} from "./gateway-fixture";

/**
 * The gateway driven by the official SDKs as clients — groq-sdk (an OpenAI-shaped client) at
 * /openai/v1 and @anthropic-ai/sdk at /anthropic/v1 — streaming and not, against each provider's fake:
 * the conversation reaches the provider converted for it, the answer comes back in the client's
 * format, and the ledger holds exactly the usage the fake reports.
 */
const kinds: ProviderKind[] = ["anthropic", "groq", "ollama"];

describe("gateway: the official SDKs against every provider", function () {
  this.timeout(30_000);
  let fixture: GatewayFixture;

  before(async () => {
    fixture = await startGatewayFixture();
  });
  afterEach(() => fixture.fakes.reset());
  after(async () => {
    await fixture?.dispose();
  });

  /** The first visible model of a provider that answers (a retired Anthropic model is listed last). */
  const modelOf = (kind: ProviderKind) =>
    kind === "ollama" ? fixture.models.ollama.find((id) => id.includes("llama3.2"))! : fixture.models[kind][0]!;

  for (const kind of kinds) {
    for (const isStream of [false, true]) {
      it(`OpenAI client → ${kind}, ${isStream ? "streamed" : "not streamed"}: echo of the conversation, usage as the fake reports it`, async () => {
        const before = (await ledgerRows(fixture.server)).length;
        const client = fixture.openAi();
        const messages = [
          { role: "system" as const, content: "Answer briefly." },
          { role: "user" as const, content: "What is 2 + 2?" },
          { role: "assistant" as const, content: "4" },
          { role: "user" as const, content: "And times 3?" },
        ];
        let text = "";
        let reportedUsage: { prompt_tokens?: number | null; completion_tokens?: number | null } | undefined;
        let finishReason: string | null | undefined;
        if (isStream) {
          const stream = await client.chat.completions.create({
            model: modelOf(kind),
            messages,
            stream: true,
            stream_options: { include_usage: true },
          } as never);
          let chunks = 0;
          for await (const chunk of stream as unknown as AsyncIterable<any>) {
            chunks += 1;
            text += chunk.choices[0]?.delta?.content ?? "";
            finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
            if (chunk.usage) reportedUsage = chunk.usage;
          }
          assert.ok(chunks > 3, "the answer came in several chunks");
        } else {
          const completion = await client.chat.completions.create({ model: modelOf(kind), messages });
          text = completion.choices[0]!.message.content ?? "";
          finishReason = completion.choices[0]!.finish_reason;
          reportedUsage = completion.usage;
        }
        const echoed = parseEchoText(text);
        assert.equal(echoed.system, "Answer briefly.");
        assert.deepEqual(echoed.messages, [
          { role: "user", text: "What is 2 + 2?" },
          { role: "assistant", text: "4" },
          { role: "user", text: "And times 3?" },
        ]);
        assert.equal(finishReason, "stop");

        const fake = await fakeReportedUsage(fixture, kind);
        const rows = await waitForLedgerRows(fixture.server, before + 1);
        const row = rows.at(-1)!;
        assert.equal(row.client_kind, "gateway");
        assert.equal(row.client_name, "laptop");
        assert.equal(row.api_key_id, fixture.memberKeyId);
        assert.equal(row.user_id, fixture.memberId);
        assert.equal(row.model_id, modelOf(kind));
        assert.equal(row.status, "complete");
        assert.deepEqual([row.input_tokens, row.output_tokens], [fake.input, fake.output]);
        assert.equal(row.cached_input_tokens, fake.cached ?? null, "cached input exactly as reported (missing stays missing)");
        assert.deepEqual([reportedUsage?.prompt_tokens, reportedUsage?.completion_tokens], [fake.input, fake.output]);
        assert.equal(typeof row.time_to_first_token_ms, "number");
        assert.ok(row.duration_ms >= row.time_to_first_token_ms);
      });

      it(`Anthropic client → ${kind}, ${isStream ? "streamed" : "not streamed"}: echo of the conversation, usage as the fake reports it`, async () => {
        const before = (await ledgerRows(fixture.server)).length;
        const client = fixture.anthropic();
        const body = {
          model: modelOf(kind),
          max_tokens: 2000,
          system: "Answer briefly.",
          messages: [
            { role: "user" as const, content: "What is 2 + 2?" },
            { role: "assistant" as const, content: "4" },
            { role: "user" as const, content: [{ type: "text" as const, text: "And times 3?" }] },
          ],
        };
        let message: Anthropic.Message;
        if (isStream) {
          const stream = client.messages.stream(body);
          let deltas = 0;
          stream.on("text", () => (deltas += 1));
          message = await stream.finalMessage();
          assert.ok(deltas > 3, "the answer came in several deltas");
        } else {
          message = await client.messages.create(body);
        }
        const text = message.content.map((block) => (block.type === "text" ? block.text : "")).join("");
        const echoed = parseEchoText(text);
        assert.equal(echoed.system, "Answer briefly.");
        assert.deepEqual(echoed.messages, [
          { role: "user", text: "What is 2 + 2?" },
          { role: "assistant", text: "4" },
          { role: "user", text: "And times 3?" },
        ]);
        assert.equal(message.stop_reason, "end_turn");
        assert.equal(message.model, modelOf(kind));

        const fake = await fakeReportedUsage(fixture, kind);
        const rows = await waitForLedgerRows(fixture.server, before + 1);
        const row = rows.at(-1)!;
        assert.equal(row.client_name, "laptop");
        assert.deepEqual([row.input_tokens, row.output_tokens], [fake.input, fake.output]);
        assert.equal(row.cached_input_tokens, fake.cached ?? null);
        // Anthropic's input_tokens leaves out what was read from the prompt cache
        assert.equal(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0), fake.input);
        assert.equal(message.usage.output_tokens, fake.output);
      });
    }
  }

  it("OpenAI-shaped requests reach Anthropic with Anthropic's rules applied (system on top, turns alternating)", async () => {
    await fixture.openAi().chat.completions.create({
      model: fixture.models.anthropic[0]!,
      messages: [
        { role: "system", content: "One." },
        { role: "developer", content: "Two." },
        { role: "assistant", content: "Hello." },
        { role: "user", content: "First" },
        { role: "user", content: "Second" },
      ],
    });
    const body: any = chatRequests(fixture.fakes, "anthropic").at(-1)!.body;
    assert.equal(body.system.includes("One.") && body.system.includes("Two."), true);
    assert.equal(body.messages[0].role, "user", "a user turn comes first");
    assert.deepEqual(
      body.messages.map((message: any) => message.role),
      ["user", "assistant", "user"],
    );
    assert.equal(body.messages[2].content, "First\n\nSecond");
  });

  it("Anthropic-shaped requests reach Groq as chat completions, the system prompt first", async () => {
    await fixture.anthropic().messages.create({
      model: fixture.models.groq[0]!,
      max_tokens: 300,
      system: [{ type: "text", text: "Be terse." }],
      messages: [{ role: "user", content: "Hi" }],
      stop_sequences: ["STOP"],
      // deprecated in this SDK's types (the newest Claude models refuse it), still part of the API
      ...({ temperature: 0.5 } as object),
    });
    const body: any = chatRequests(fixture.fakes, "groq").at(-1)!.body;
    assert.deepEqual(body.messages, [
      { role: "system", content: "Be terse." },
      { role: "user", content: "Hi" },
    ]);
    assert.equal(body.max_completion_tokens, 300);
    assert.equal(body.temperature, 0.5);
    assert.deepEqual(body.stop, ["STOP"]);
    assert.equal(body.stream, true, "the adapter always streams from the provider");
  });

  it("lists the visible models in both formats; a hidden model is neither listed nor served", async () => {
    const openAiModels = await fixture.openAi().models.list();
    const ids = openAiModels.data.map((model) => model.id);
    const visible = [...fixture.models.anthropic, ...fixture.models.groq, ...fixture.models.ollama];
    assert.deepEqual([...ids].sort(), [...visible].sort());
    const anthropicIds: string[] = [];
    for await (const model of fixture.anthropic().models.list({ limit: 3 })) anthropicIds.push(model.id);
    assert.deepEqual(anthropicIds, ids, "the SDK's auto-pagination walks every page");
    const one = await fixture.anthropic().models.retrieve(fixture.models.groq[0]!);
    assert.equal(one.id, fixture.models.groq[0]);

    const hidden = fixture.models.groq[1]!;
    const hide = await fixture.server.request("PATCH", "/admin/models", {
      token: fixture.adminToken,
      body: { changes: [{ id: hidden, isVisible: false }] },
    });
    assert.equal(hide.status, 200);
    try {
      assert.ok(!(await fixture.openAi().models.list()).data.some((model) => model.id === hidden));
      await assert.rejects(
        fixture.openAi().chat.completions.create({ model: hidden, messages: [{ role: "user", content: "x" }] }),
        (error: any) => {
          assert.equal(error.status, 404);
          assert.equal(openAiErrorOf(error).code, "model_not_found");
          return true;
        },
      );
      await assert.rejects(
        fixture.anthropic().messages.create({ model: hidden, max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
        (error: any) => {
          assert.equal(error.status, 404);
          assert.equal(error.error?.error?.type, "not_found_error");
          return true;
        },
      );
      assert.equal(chatRequests(fixture.fakes, "groq").length, 0, "the provider was never called");
    } finally {
      await fixture.server.request("PATCH", "/admin/models", {
        token: fixture.adminToken,
        body: { changes: [{ id: hidden, isVisible: true }] },
      });
    }
  });
});
