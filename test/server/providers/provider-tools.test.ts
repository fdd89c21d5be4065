import assert from "node:assert/strict";
import type { ProviderKind } from "../../../protocol/http/providers";
import {
  ProviderError,
  type ChatProvider,
  type ChatRequest,
  type ChatStreamEvent,
  type ChatToolDefinition,
  type ChatTurn,
} from "../../../server/src/providers/chat-provider";
import { createChatProvider } from "../../../server/src/providers/create-chat-provider";
import { startFakeProviders, type FakeProviders } from "../../../tools/fake-providers";

/**
 * Tools across the three adapters, at the wire: the definitions, the choice, a conversation holding a
 * tool call and its result, and a tool-call answer, each in the provider's own format (the fakes check
 * the pairing of calls and results as the real APIs do).
 */
const kinds: ProviderKind[] = ["anthropic", "groq", "ollama"];
const chatModels: Record<ProviderKind, string> = {
  anthropic: "claude-haiku-4-5-20251001",
  groq: "llama-3.3-70b-versatile",
  // lists "tools" among its capabilities
  ollama: "llama3.2:latest",
};
const keys: Record<ProviderKind, string | undefined> = { anthropic: "fake-anthropic-key", groq: "fake-groq-key", ollama: undefined };
const chatPaths: Record<ProviderKind, string> = { anthropic: "/v1/messages", groq: "/openai/v1/chat/completions", ollama: "/api/chat" };

const weatherTool: ChatToolDefinition = {
  name: "get_weather",
  description: "The weather in a city",
  inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

/** A question, the model's tool call, the tool's result, and a follow-up. */
const toolConversation: ChatTurn[] = [
  { role: "user", content: "Weather in Paris?", messageIds: [] },
  {
    role: "assistant",
    content: "Let me look.",
    parts: [
      { type: "text", text: "Let me look." },
      { type: "tool-call", toolCallId: "call_paris_1", toolName: "get_weather", input: { city: "Paris" } },
    ],
    messageIds: [],
  },
  {
    role: "user",
    content: "",
    parts: [{ type: "tool-result", toolCallId: "call_paris_1", toolName: "get_weather", output: "18 °C, cloudy", isError: false }],
    messageIds: [],
  },
  { role: "user", content: "And tomorrow?", messageIds: [] },
];

interface Collected {
  text: string;
  toolCalls: Array<{ toolCallId: string; toolName: string; argumentsText: string }>;
  finish: Extract<ChatStreamEvent, { type: "finish" }> | undefined;
  error: unknown;
}

async function collect(stream: AsyncIterable<ChatStreamEvent>): Promise<Collected> {
  const collected: Collected = { text: "", toolCalls: [], finish: undefined, error: undefined };
  try {
    for await (const event of stream) {
      if (event.type === "text-delta") collected.text += event.text;
      else if (event.type === "tool-call-start")
        collected.toolCalls.push({ toolCallId: event.toolCallId, toolName: event.toolName, argumentsText: "" });
      else if (event.type === "tool-call-delta") {
        const call = collected.toolCalls.find((candidate) => candidate.toolCallId === event.toolCallId);
        assert.ok(call, "a delta belongs to a started call");
        call.argumentsText += event.argumentsDelta;
      } else if (event.type === "finish") collected.finish = event;
    }
  } catch (error) {
    collected.error = error;
  }
  return collected;
}

describe("provider adapters: tools at the wire", () => {
  let fakes: FakeProviders;

  before(async () => {
    fakes = await startFakeProviders();
  });
  afterEach(() => fakes.reset());
  after(async () => {
    await fakes?.close();
  });

  function adapter(kind: ProviderKind): ChatProvider {
    return createChatProvider(kind, { baseUrl: fakes[kind].url, apiKey: keys[kind], connectTimeoutMs: 5_000 });
  }

  function chat(kind: ProviderKind, turns: ChatTurn[], extra: Partial<ChatRequest> = {}) {
    const provider = adapter(kind);
    return provider.streamChat({
      model: chatModels[kind],
      conversation: provider.prepareConversation("Be brief.", turns),
      maxOutputTokens: 500,
      signal: new AbortController().signal,
      tools: [weatherTool],
      ...extra,
    });
  }

  function lastBody(kind: ProviderKind): any {
    const requests = fakes[kind].requests.filter((request) => request.method === "POST" && request.path === chatPaths[kind]);
    assert.ok(requests.length > 0, `${kind} received no chat request`);
    return requests.at(-1)!.body;
  }

  it("Anthropic: tools, choice, tool_use and tool_result blocks as the Messages API takes them", async () => {
    const result = await collect(
      chat("anthropic", toolConversation, { toolChoice: { type: "tool", toolName: "get_weather" }, allowParallelToolCalls: false }),
    );
    assert.equal(result.error, undefined, String(result.error));
    const body = lastBody("anthropic");
    assert.deepEqual(body.tools, [{ name: "get_weather", description: "The weather in a city", input_schema: weatherTool.inputSchema }]);
    assert.deepEqual(body.tool_choice, { type: "tool", name: "get_weather", disable_parallel_tool_use: true });
    assert.deepEqual(body.messages[1].content, [
      { type: "text", text: "Let me look." },
      { type: "tool_use", id: "call_paris_1", name: "get_weather", input: { city: "Paris" } },
    ]);
    // the result and the follow-up question are one user turn (Anthropic's alternation), the result first
    assert.deepEqual(body.messages[2], {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_paris_1", content: "18 °C, cloudy" },
        { type: "text", text: "And tomorrow?" },
      ],
    });
  });

  it("Anthropic: text written before a tool result in one turn is sent after it (the API refuses the other order)", async () => {
    const turns: ChatTurn[] = [
      toolConversation[0]!,
      toolConversation[1]!,
      {
        role: "user",
        content: "Here you go:",
        parts: [
          { type: "text", text: "Here you go:" },
          { type: "tool-result", toolCallId: "call_paris_1", toolName: "get_weather", output: "18 °C", isError: true },
        ],
        messageIds: [],
      },
    ];
    const result = await collect(chat("anthropic", turns));
    assert.equal(result.error, undefined, String(result.error));
    assert.deepEqual(lastBody("anthropic").messages[2].content, [
      { type: "tool_result", tool_use_id: "call_paris_1", content: "18 °C", is_error: true },
      { type: "text", text: "Here you go:" },
    ]);
  });

  it("Groq: function tools, tool_choice, assistant tool_calls and a tool message before the follow-up", async () => {
    const result = await collect(chat("groq", toolConversation, { toolChoice: { type: "required" }, allowParallelToolCalls: false }));
    assert.equal(result.error, undefined, String(result.error));
    const body = lastBody("groq");
    assert.deepEqual(body.tools, [
      { type: "function", function: { name: "get_weather", description: "The weather in a city", parameters: weatherTool.inputSchema } },
    ]);
    assert.equal(body.tool_choice, "required");
    assert.equal(body.parallel_tool_calls, false);
    assert.deepEqual(body.messages.slice(1), [
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "Let me look.",
        tool_calls: [{ id: "call_paris_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      },
      { role: "tool", tool_call_id: "call_paris_1", content: "18 °C, cloudy" },
      { role: "user", content: "And tomorrow?" },
    ]);
  });

  it("Ollama: function tools, assistant tool_calls with object arguments, a tool message naming its tool", async () => {
    const result = await collect(chat("ollama", toolConversation));
    assert.equal(result.error, undefined, String(result.error));
    const body = lastBody("ollama");
    assert.deepEqual(body.tools, [
      { type: "function", function: { name: "get_weather", description: "The weather in a city", parameters: weatherTool.inputSchema } },
    ]);
    assert.deepEqual(body.messages.slice(1), [
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: "Let me look.", tool_calls: [{ function: { name: "get_weather", arguments: { city: "Paris" } } }] },
      { role: "tool", content: "18 °C, cloudy", tool_name: "get_weather" },
      { role: "user", content: "And tomorrow?" },
    ]);
  });

  it("Ollama: a call it must make cannot be asked for, so the request is refused before it is sent", async () => {
    const result = await collect(chat("ollama", toolConversation, { toolChoice: { type: "required" } }));
    assert.ok(result.error instanceof ProviderError, String(result.error));
    assert.equal(result.error.code, "provider_bad_request");
    assert.equal(fakes.ollama.requests.filter((request) => request.path === "/api/chat").length, 0);
  });

  it("Ollama: a model without the tools capability answers Ollama's 400, a bad request", async () => {
    const provider = adapter("ollama");
    const result = await collect(
      provider.streamChat({
        model: "gemma3:latest",
        conversation: provider.prepareConversation(undefined, [{ role: "user", content: "hi", messageIds: [] }]),
        maxOutputTokens: 100,
        signal: new AbortController().signal,
        tools: [weatherTool],
      }),
    );
    assert.ok(result.error instanceof ProviderError, String(result.error));
    assert.equal(result.error.code, "provider_bad_request");
    assert.match(result.error.message, /does not support tools/);
  });

  for (const kind of kinds) {
    it(`${kind}: a tool-call answer streams back as a call whose arguments reassemble, finishing with tool-calls`, async () => {
      fakes[kind].setReply({ toolCall: { name: "get_weather", arguments: { city: "Lyon", days: 3 }, text: "Checking the forecast." } });
      const result = await collect(chat(kind, [{ role: "user", content: "Weather in Lyon for 3 days?", messageIds: [] }]));
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.text, "Checking the forecast.");
      assert.equal(result.toolCalls.length, 1);
      const [call] = result.toolCalls;
      assert.equal(call!.toolName, "get_weather");
      assert.ok(call!.toolCallId.length > 0);
      assert.deepEqual(JSON.parse(call!.argumentsText), { city: "Lyon", days: 3 });
      assert.equal(result.finish?.finishReason, "tool-calls");
    });

    it(`${kind}: sampling settings reach the provider in its own fields`, async () => {
      const result = await collect(
        chat(kind, [{ role: "user", content: "hi", messageIds: [] }], {
          tools: undefined,
          sampling: { temperature: 0.2, topP: 0.9, stopSequences: ["END"] },
        }),
      );
      assert.equal(result.error, undefined, String(result.error));
      const body = lastBody(kind);
      const sampling =
        kind === "anthropic"
          ? { temperature: body.temperature, top_p: body.top_p, stop: body.stop_sequences }
          : kind === "groq"
            ? { temperature: body.temperature, top_p: body.top_p, stop: body.stop }
            : { temperature: body.options.temperature, top_p: body.options.top_p, stop: body.options.stop };
      assert.deepEqual(sampling, { temperature: 0.2, top_p: 0.9, stop: ["END"] });
    });
  }
});
