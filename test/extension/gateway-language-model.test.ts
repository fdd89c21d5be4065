import assert from "node:assert/strict";
import { parseEchoText } from "../../tools/fake-providers/echo-reply";
import { describeTeamModelsElsewhere, API_KEY_PLACEHOLDER } from "../../extension/src/api-keys/team-models-elsewhere";
import { GatewayKeyKeeper, VS_CODE_CHAT_KEY_NAME } from "../../extension/src/language-model/gateway-key-keeper";
import { GatewayChatError, streamGatewayChat, type GatewayStreamEvent } from "../../extension/src/language-model/gateway-chat-stream";
import { estimateMessageTokens, estimateTextTokens } from "../../extension/src/language-model/estimate-tokens";
import { startExtensionTestEnvironment, type ExtensionTestEnvironment } from "./extension-test-environment";

/** SecretStorage's shape over a Map, counting writes. */
function memorySecrets() {
  const values = new Map<string, string>();
  let writes = 0;
  return {
    values,
    get writes() {
      return writes;
    },
    get: async (key: string) => values.get(key),
    store: async (key: string, value: string) => {
      writes += 1;
      values.set(key, value);
    },
    delete: async (key: string) => {
      values.delete(key);
    },
  };
}

async function collect(stream: AsyncGenerator<GatewayStreamEvent>): Promise<GatewayStreamEvent[]> {
  const events: GatewayStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe("extension: Juggler's models for VS Code's chat, through the team gateway", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;

  before(async () => {
    environment = await startExtensionTestEnvironment({ tokenDelayMs: 2 });
  });

  after(async () => {
    await environment?.dispose();
  });

  afterEach(() => {
    environment.fakes.reset();
  });

  it("makes one key for the user with the session, keeps it, and makes a new one once forgotten", async () => {
    const client = await environment.signedInClient("key-keeper");
    const secrets = memorySecrets();
    const keeper = new GatewayKeyKeeper(client, secrets);
    // Two answers asked for at once make one key.
    const [first, second] = await Promise.all([keeper.getKey(), keeper.getKey()]);
    assert.equal(first, second);
    assert.match(first, /^jgl_/);
    assert.equal(secrets.writes, 1);
    assert.equal(await keeper.getKey(), first);
    const { apiKeys } = await client.call("listApiKeys");
    assert.deepEqual(
      apiKeys.map((key) => key.name),
      [VS_CODE_CHAT_KEY_NAME],
    );
    // Stored under the server and the user: another user of the same VS Code gets a key of their own.
    assert.deepEqual([...secrets.values.keys()], [`juggler.gatewayKey:${client.serverUrl}:${client.user!.id}`]);

    await keeper.forget();
    const replacement = await keeper.getKey();
    assert.notEqual(replacement, first);
  });

  it("streams text and the reported usage; the whole conversation reaches the provider", async () => {
    const client = await environment.signedInClient("streamer");
    const apiKey = await new GatewayKeyKeeper(client, memorySecrets()).getKey();
    const modelId = environment.models.groq[0]!;
    const events = await collect(
      streamGatewayChat({
        serverUrl: environment.server.url,
        apiKey,
        request: {
          model: modelId,
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Hi" },
            { role: "assistant", content: "Hello." },
            { role: "user", content: "Again?" },
          ],
        },
      }),
    );
    const texts = events.filter((event) => event.kind === "text").map((event) => event.text);
    assert.ok(texts.length > 1, "several deltas");
    const echo = parseEchoText(texts.join(""));
    assert.equal(echo.system, "Be brief.");
    assert.deepEqual(echo.messages, [
      { role: "user", text: "Hi" },
      { role: "assistant", text: "Hello." },
      { role: "user", text: "Again?" },
    ]);
    const usage = events.find((event) => event.kind === "usage");
    assert.ok(usage && usage.kind === "usage" && usage.inputTokens! > 0 && usage.outputTokens! > 0);
    assert.deepEqual(events.at(-1)?.kind, "usage");
    assert.ok(events.some((event) => event.kind === "finish" && event.reason === "stop"));
  });

  it("assembles a streamed tool call whole, on each provider", async () => {
    const client = await environment.signedInClient("tool-caller");
    const apiKey = await new GatewayKeyKeeper(client, memorySecrets()).getKey();
    for (const kind of ["anthropic", "groq", "ollama"] as const) {
      environment.fakes[kind].setReply({ toolCall: { name: "get_weather", arguments: { city: "Oslo", days: 3 } } });
      const events = await collect(
        streamGatewayChat({
          serverUrl: environment.server.url,
          apiKey,
          request: {
            // (the fake Ollama's llama3.2 is one of its models that take tools, as the real one)
            model: kind === "ollama" ? environment.models.ollama.find((id) => id.includes("llama3.2"))! : environment.models[kind][0]!,
            messages: [{ role: "user", content: "Weather in Oslo?" }],
            tools: [
              {
                type: "function",
                function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
              },
            ],
          },
        }),
      );
      const calls = events.filter((event) => event.kind === "tool-call");
      assert.equal(calls.length, 1, kind);
      const call = calls[0] as Extract<GatewayStreamEvent, { kind: "tool-call" }>;
      assert.equal(call.name, "get_weather");
      assert.deepEqual(JSON.parse(call.arguments), { city: "Oslo", days: 3 });
      assert.ok(call.id.length > 0, `${kind}: the call has an id to answer it by`);
    }
  });

  it("turns the gateway's refusals into coded errors: a revoked key, a spent budget", async () => {
    const client = await environment.signedInClient("refused");
    const keeper = new GatewayKeyKeeper(client, memorySecrets());
    const apiKey = await keeper.getKey();
    const request = { model: environment.models.groq[0]!, messages: [{ role: "user" as const, content: "Hi" }] };
    await collect(streamGatewayChat({ serverUrl: environment.server.url, apiKey, request }));

    const { apiKeys } = await client.call("listApiKeys");
    await client.call("revokeApiKey", { params: { keyId: apiKeys[0]!.id } });
    await assert.rejects(
      collect(streamGatewayChat({ serverUrl: environment.server.url, apiKey, request })),
      (error: unknown) => error instanceof GatewayChatError && error.status === 401 && error.code === "invalid_api_key",
    );

    // The admin gives this member a token budget that the first answer already spent.
    const admin = await environment.signedInClient("admin");
    await admin.call("updateUserBudget", { params: { userId: client.user!.id }, body: { monthlyTokens: 1 } });
    await keeper.forget();
    const freshKey = await keeper.getKey();
    await assert.rejects(
      collect(streamGatewayChat({ serverUrl: environment.server.url, apiKey: freshKey, request })),
      (error: unknown) =>
        error instanceof GatewayChatError &&
        error.status === 429 &&
        error.code === "budget_exceeded" &&
        /monthly token limit of 1 token\b/.test(error.message) &&
        /resets on/.test(error.message),
    );
  });

  it("stops the provider call when the caller gives up", async () => {
    const client = await environment.signedInClient("canceller");
    const apiKey = await new GatewayKeyKeeper(client, memorySecrets()).getKey();
    const abort = new AbortController();
    const stream = streamGatewayChat({
      serverUrl: environment.server.url,
      apiKey,
      request: { model: environment.models.anthropic[0]!, messages: [{ role: "user", content: "x".repeat(4000) }] },
      signal: abort.signal,
    });
    const first = await stream.next();
    assert.equal(first.value?.kind, "text");
    abort.abort();
    await assert.rejects(
      (async () => {
        for await (const event of stream) void event;
      })(),
      (error: unknown) => error instanceof GatewayChatError && error.code === "aborted",
    );
  });

  it("estimates token counts with the server's rule", () => {
    assert.equal(estimateTextTokens(""), 0);
    assert.equal(estimateTextTokens("abcde"), 2);
    assert.equal(estimateMessageTokens(["abcd", "efgh"]), 6);
  });

  it("writes settings for other tools that work as pasted", async () => {
    const client = await environment.signedInClient("elsewhere");
    const { models } = await client.call("listModels");
    const { key } = await client.call("createApiKey", { body: { name: "Continue" } });
    const page = describeTeamModelsElsewhere({ serverUrl: `${environment.server.url}/`, models, apiKey: key });
    assert.ok(!page.includes(API_KEY_PLACEHOLDER));
    assert.ok(page.includes(`${environment.server.url}/anthropic`));

    // VS Code's Custom Endpoint group: each model's url and the key answer a chat completion.
    const vsCodeJson = /```json\n([\s\S]*?)\n```/.exec(page)![1]!;
    const [group] = JSON.parse(vsCodeJson) as [
      { vendor: string; apiKey: string; models: { id: string; url: string; contextWindow: number }[] },
    ];
    assert.equal(group.vendor, "customendpoint");
    assert.equal(group.models.length, models.length);
    const groqModel = group.models.find((model) => model.id === environment.models.groq[0])!;
    const response = await fetch(groqModel.url, {
      method: "POST",
      headers: { authorization: `Bearer ${group.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: groqModel.id, messages: [{ role: "user", content: "Hello" }] }),
    });
    assert.equal(response.status, 200);
    const completion = (await response.json()) as { choices: { message: { content: string } }[] };
    assert.deepEqual(parseEchoText(completion.choices[0]!.message.content).messages, [{ role: "user", text: "Hello" }]);

    // Continue's config names the same base URL and the model ids.
    assert.ok(page.includes(`apiBase: "${environment.server.url}/openai/v1"`));
    for (const model of models) assert.ok(page.includes(`model: "${model.id}"`), model.id);

    // Without a key: a placeholder everywhere a key goes, never another user's key.
    const placeholderPage = describeTeamModelsElsewhere({ serverUrl: environment.server.url, models });
    assert.ok(!placeholderPage.includes("jgl_"));
    assert.ok(placeholderPage.includes(`Bearer ${API_KEY_PLACEHOLDER}`));
  });
});
