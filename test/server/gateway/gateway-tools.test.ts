import assert from "node:assert/strict";
import type { ProviderKind } from "../../../protocol/http/providers";
import { parseEchoText } from "../../../tools/fake-providers";
import { chatRequests } from "../../support/chat-helpers";
import { anthropicErrorOf, openAiErrorOf, startGatewayFixture, type GatewayFixture } from "./gateway-fixture";

/**
 * Tools through the gateway, at the wire: a client's tools reach each provider in its own format, the
 * provider's tool call (the fakes' tool-call reply) comes back in the client's format, streamed or
 * not, and the client's tool result goes back to the provider paired with its call (the fakes refuse
 * a result that answers no call, as the real APIs do). Where a target cannot do what is asked, the
 * client gets its API's 400.
 */
const kinds: ProviderKind[] = ["anthropic", "groq", "ollama"];
const weatherParameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };

describe("gateway: tools", function () {
  this.timeout(30_000);
  let fixture: GatewayFixture;

  before(async () => {
    fixture = await startGatewayFixture();
  });
  afterEach(() => fixture.fakes.reset());
  after(async () => {
    await fixture?.dispose();
  });

  const modelOf = (kind: ProviderKind) =>
    kind === "ollama" ? fixture.models.ollama.find((id) => id.includes("llama3.2"))! : fixture.models[kind][0]!;

  for (const kind of kinds) {
    for (const isStream of [false, true]) {
      it(`OpenAI client → ${kind} (${isStream ? "streamed" : "not streamed"}): the call comes back as tool_calls, the result goes back paired`, async () => {
        fixture.fakes[kind].setReply({ toolCall: { name: "get_weather", arguments: { city: "Oslo" }, text: "Checking." } });
        const client = fixture.openAi();
        const tools = [
          { type: "function" as const, function: { name: "get_weather", description: "Weather by city", parameters: weatherParameters } },
        ];
        const question = { role: "user" as const, content: "Weather in Oslo?" };
        let text = "";
        let call: { id: string; name: string; arguments: string } | undefined;
        let finishReason: string | null | undefined;
        if (isStream) {
          const stream = await client.chat.completions.create({ model: modelOf(kind), messages: [question], tools, stream: true });
          for await (const chunk of stream) {
            const delta = chunk.choices[0]?.delta;
            text += delta?.content ?? "";
            for (const piece of delta?.tool_calls ?? []) {
              assert.equal(piece.index, 0);
              if (piece.id) call = { id: piece.id, name: piece.function?.name ?? "", arguments: "" };
              call!.arguments += piece.function?.arguments ?? "";
            }
            finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
          }
        } else {
          const completion = await client.chat.completions.create({ model: modelOf(kind), messages: [question], tools });
          const message = completion.choices[0]!.message;
          text = message.content ?? "";
          const first = message.tool_calls?.[0];
          call = first && { id: first.id, name: first.function.name, arguments: first.function.arguments };
          finishReason = completion.choices[0]!.finish_reason;
        }
        assert.equal(text, "Checking.");
        assert.ok(call && call.id.length > 0);
        assert.equal(call.name, "get_weather");
        assert.deepEqual(JSON.parse(call.arguments), { city: "Oslo" });
        assert.equal(finishReason, "tool_calls");

        fixture.fakes[kind].setReply("echo");
        const followUp = await client.chat.completions.create({
          model: modelOf(kind),
          tools,
          messages: [
            question,
            {
              role: "assistant",
              content: "Checking.",
              tool_calls: [{ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }],
            },
            { role: "tool", tool_call_id: call.id, content: "3 °C, snow" },
          ],
        });
        const echoed = parseEchoText(followUp.choices[0]!.message.content ?? "");
        assert.equal(echoed.messages.length >= 3, true, JSON.stringify(echoed.messages));
        const sent: any = chatRequests(fixture.fakes, kind).at(-1)!.body;
        assert.ok(JSON.stringify(sent.messages).includes("3 °C, snow"), "the tool's result reached the provider");
      });

      it(`Anthropic client → ${kind} (${isStream ? "streamed" : "not streamed"}): the call comes back as tool_use, the result goes back paired`, async () => {
        fixture.fakes[kind].setReply({ toolCall: { name: "get_weather", arguments: { city: "Rome" } } });
        const client = fixture.anthropic();
        const tools = [{ name: "get_weather", description: "Weather by city", input_schema: weatherParameters as { type: "object" } }];
        const question = { role: "user" as const, content: "Weather in Rome?" };
        const body = { model: modelOf(kind), max_tokens: 500, tools, messages: [question] };
        const message = isStream ? await client.messages.stream(body).finalMessage() : await client.messages.create(body);
        assert.equal(message.stop_reason, "tool_use");
        const toolUse = message.content.find((block) => block.type === "tool_use");
        assert.ok(toolUse && toolUse.type === "tool_use");
        assert.equal(toolUse.name, "get_weather");
        assert.deepEqual(toolUse.input, { city: "Rome" });

        fixture.fakes[kind].setReply("echo");
        const followUp = await client.messages.create({
          model: modelOf(kind),
          max_tokens: 2000,
          tools,
          messages: [
            question,
            {
              role: "assistant",
              content: message.content.map((block) =>
                block.type === "tool_use"
                  ? { type: "tool_use" as const, id: block.id, name: block.name, input: block.input }
                  : { type: "text" as const, text: block.type === "text" ? block.text : "" },
              ),
            },
            {
              role: "user",
              content: [
                { type: "tool_result", tool_use_id: toolUse.id, content: "21 °C, sun" },
                { type: "text", text: "Thanks" },
              ],
            },
          ],
        });
        assert.equal(followUp.stop_reason, "end_turn");
        const sent: any = chatRequests(fixture.fakes, kind).at(-1)!.body;
        assert.ok(JSON.stringify(sent.messages).includes("21 °C, sun"), "the tool's result reached the provider");
      });
    }
  }

  it("a tool call from Anthropic reaches an OpenAI client, and its result goes back to Anthropic as a tool_result block", async () => {
    fixture.fakes.anthropic.setReply({ toolCall: { name: "get_weather", arguments: { city: "Lima" } } });
    const client = fixture.openAi();
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: weatherParameters } }];
    const first = await client.chat.completions.create({
      model: modelOf("anthropic"),
      tools,
      messages: [{ role: "user", content: "Lima?" }],
    });
    const call = first.choices[0]!.message.tool_calls![0]!;
    assert.match(call.id, /^toolu_/, "the provider's own id, passed through");
    fixture.fakes.anthropic.setReply("echo");
    await client.chat.completions.create({
      model: modelOf("anthropic"),
      tools,
      messages: [
        { role: "user", content: "Lima?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: "19 °C" },
        { role: "user", content: "Warm?" },
      ],
    });
    const sent: any = chatRequests(fixture.fakes, "anthropic").at(-1)!.body;
    assert.deepEqual(sent.messages.slice(1), [
      { role: "assistant", content: [{ type: "tool_use", id: call.id, name: "get_weather", input: { city: "Lima" } }] },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: call.id, content: "19 °C" },
          { type: "text", text: "Warm?" },
        ],
      },
    ]);
    assert.deepEqual(sent.tools, [{ name: "get_weather", input_schema: weatherParameters }]);
  });

  it("a target that cannot do what is asked answers the client's 400: Ollama forced to call, a model without tools", async () => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: weatherParameters } }];
    await assert.rejects(
      fixture
        .openAi()
        .chat.completions.create({ model: modelOf("ollama"), tools, tool_choice: "required", messages: [{ role: "user", content: "x" }] }),
      (error: any) => {
        assert.equal(error.status, 400);
        assert.equal(openAiErrorOf(error).type, "invalid_request_error");
        return true;
      },
    );
    const withoutTools = fixture.models.ollama.find((id) => id.includes("gemma3"))!;
    await assert.rejects(
      fixture.anthropic().messages.create({
        model: withoutTools,
        max_tokens: 100,
        tools: [{ name: "get_weather", input_schema: weatherParameters as { type: "object" } }],
        messages: [{ role: "user", content: "x" }],
      }),
      (error: any) => {
        assert.equal(error.status, 400);
        assert.equal(anthropicErrorOf(error).type, "invalid_request_error");
        assert.match(anthropicErrorOf(error).message, /does not support tools/);
        return true;
      },
    );
  });
});
