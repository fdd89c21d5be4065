import assert from "node:assert/strict";
import { chatRequests } from "../../support/chat-helpers";
import {
  anthropicErrorOf,
  ledgerRows,
  openAiErrorOf,
  startGatewayFixture,
  waitForLedgerRows,
  type GatewayFixture,
} from "./gateway-fixture";

/**
 * Errors at the gateway, each in its API's own shape: bad input is always a 4xx (never a 5xx), an
 * unknown route a 404, a provider's failure before the first token its proper status (after the
 * chat's retries), a failure after it an in-stream error event; a client that goes away stops the
 * provider request, and every one of these answers is in the ledger as what it was.
 */
describe("gateway: errors, retries and stops", function () {
  this.timeout(60_000);
  let fixture: GatewayFixture;

  before(async () => {
    fixture = await startGatewayFixture({ server: { environment: { MAX_BODY_BYTES: "65536" } } });
  });
  afterEach(() => fixture.fakes.reset());
  after(async () => {
    await fixture?.dispose();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${fixture.server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${fixture.memberKey}`, ...headers },
      body,
    });

  const openAiBadBodies: Array<[string, unknown]> = [
    ["an array", []],
    ["no model", { messages: [{ role: "user", content: "x" }] }],
    ["no messages", { model: "groq:llama-3.3-70b-versatile" }],
    ["empty messages", { model: "groq:llama-3.3-70b-versatile", messages: [] }],
    ["an unknown role", { model: "groq:llama-3.3-70b-versatile", messages: [{ role: "robot", content: "x" }] }],
    ["content of the wrong type", { model: "groq:llama-3.3-70b-versatile", messages: [{ role: "user", content: 42 }] }],
    [
      "an image",
      {
        model: "groq:llama-3.3-70b-versatile",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x" } }] }],
      },
    ],
    ["two choices", { model: "groq:llama-3.3-70b-versatile", n: 2, messages: [{ role: "user", content: "x" }] }],
    [
      "a JSON response format",
      { model: "groq:llama-3.3-70b-versatile", response_format: { type: "json_object" }, messages: [{ role: "user", content: "x" }] },
    ],
    ["max_tokens 0", { model: "groq:llama-3.3-70b-versatile", max_tokens: 0, messages: [{ role: "user", content: "x" }] }],
    ["a temperature of 7", { model: "groq:llama-3.3-70b-versatile", temperature: 7, messages: [{ role: "user", content: "x" }] }],
    [
      "tool arguments that are not JSON",
      {
        model: "groq:llama-3.3-70b-versatile",
        messages: [
          { role: "user", content: "x" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{not json" } }],
          },
        ],
      },
    ],
    [
      "a tool choice naming no tool",
      {
        model: "groq:llama-3.3-70b-versatile",
        tool_choice: { type: "function", function: { name: "f" } },
        messages: [{ role: "user", content: "x" }],
      },
    ],
    [
      "a non-function tool",
      { model: "groq:llama-3.3-70b-versatile", tools: [{ type: "code_interpreter" }], messages: [{ role: "user", content: "x" }] },
    ],
    ["the deprecated function role", { model: "groq:llama-3.3-70b-versatile", messages: [{ role: "function", name: "f", content: "x" }] }],
  ];
  for (const [what, body] of openAiBadBodies) {
    it(`OpenAI: ${what} is a 400 invalid_request_error`, async () => {
      const response = await post("/openai/v1/chat/completions", JSON.stringify(body));
      const answer: any = await response.json();
      assert.equal(response.status, 400, JSON.stringify(answer));
      assert.equal(answer.error.type, "invalid_request_error");
      assert.equal(typeof answer.error.message, "string");
      assert.ok("param" in answer.error && "code" in answer.error);
    });
  }

  const anthropicBadBodies: Array<[string, unknown]> = [
    ["no max_tokens", { model: "groq:llama-3.3-70b-versatile", messages: [{ role: "user", content: "x" }] }],
    ["a system role in messages", { model: "groq:llama-3.3-70b-versatile", max_tokens: 5, messages: [{ role: "system", content: "x" }] }],
    [
      "an image block",
      {
        model: "groq:llama-3.3-70b-versatile",
        max_tokens: 5,
        messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "AA==" } }] }],
      },
    ],
    [
      "a server tool",
      {
        model: "groq:llama-3.3-70b-versatile",
        max_tokens: 5,
        tools: [{ type: "web_search_20250305", name: "web_search" }],
        messages: [{ role: "user", content: "x" }],
      },
    ],
    [
      "a tool_result in an assistant turn",
      {
        model: "groq:llama-3.3-70b-versatile",
        max_tokens: 5,
        messages: [{ role: "assistant", content: [{ type: "tool_result", tool_use_id: "t" }] }],
      },
    ],
    [
      "tool_choice any without tools",
      { model: "groq:llama-3.3-70b-versatile", max_tokens: 5, tool_choice: { type: "any" }, messages: [{ role: "user", content: "x" }] },
    ],
    [
      "a temperature of 3",
      { model: "groq:llama-3.3-70b-versatile", max_tokens: 5, temperature: 3, messages: [{ role: "user", content: "x" }] },
    ],
  ];
  for (const [what, body] of anthropicBadBodies) {
    it(`Anthropic: ${what} is a 400 invalid_request_error`, async () => {
      const response = await post("/anthropic/v1/messages", JSON.stringify(body));
      const answer: any = await response.json();
      assert.equal(response.status, 400, JSON.stringify(answer));
      assert.deepEqual(Object.keys(answer).sort(), ["error", "request_id", "type"]);
      assert.equal(answer.type, "error");
      assert.equal(answer.error.type, "invalid_request_error");
      assert.equal(answer.request_id, response.headers.get("request-id"));
    });
  }

  it("answers bad JSON, a body too large, an unknown route and a wrong method in each API's shape", async () => {
    const cases: Array<[string, string, () => Promise<Response>, number]> = [
      ["openai", "invalid_request_error", () => post("/openai/v1/chat/completions", "{not json"), 400],
      ["anthropic", "invalid_request_error", () => post("/anthropic/v1/messages", "{not json"), 400],
      ["openai", "invalid_request_error", () => post("/openai/v1/chat/completions", JSON.stringify({ pad: "x".repeat(70_000) })), 413],
      ["anthropic", "request_too_large", () => post("/anthropic/v1/messages", JSON.stringify({ pad: "x".repeat(70_000) })), 413],
      ["openai", "invalid_request_error", () => post("/openai/v1/embeddings", "{}"), 404],
      ["anthropic", "not_found_error", () => post("/anthropic/v1/complete", "{}"), 404],
      ["openai", "invalid_request_error", () => fetch(`${fixture.server.url}/openai/v1/chat/completions`), 405],
      ["anthropic", "invalid_request_error", () => fetch(`${fixture.server.url}/anthropic/v1/models`, { method: "POST", body: "{}" }), 405],
    ];
    for (const [api, type, request, status] of cases) {
      const response = await request();
      const body: any = await response.json();
      assert.equal(response.status, status, `${api} ${JSON.stringify(body)}`);
      assert.equal(api === "openai" ? body.error.type : body.error.type, type);
      if (api === "anthropic") assert.equal(body.type, "error");
    }
  });

  it("never answers a 5xx to a fuzzed body", async () => {
    const pieces: unknown[] = [null, true, 0, -1, 1.5, "", "x", [], {}, [1], { role: "user" }, { type: "text" }, "\u0000", 1e308];
    const pick = (seed: number) => pieces[seed % pieces.length];
    const fields = [
      "model",
      "messages",
      "max_tokens",
      "stream",
      "tools",
      "tool_choice",
      "system",
      "stop",
      "temperature",
      "content",
      "role",
    ];
    for (let seed = 0; seed < 300; seed += 1) {
      const body: Record<string, unknown> = { model: seed % 3 === 0 ? pick(seed) : "groq:llama-3.3-70b-versatile" };
      for (let index = 0; index < 4; index += 1) body[fields[(seed * 7 + index * 3) % fields.length]!] = pick(seed * 13 + index);
      if (seed % 5 === 0)
        body.messages = [{ role: ["user", "assistant", "tool", "system", "x"][seed % 5], content: pick(seed), tool_calls: pick(seed + 1) }];
      const path = seed % 2 === 0 ? "/openai/v1/chat/completions" : "/anthropic/v1/messages";
      const response = await post(path, JSON.stringify(body));
      await response.arrayBuffer();
      assert.ok(response.status < 500, `${path} ${JSON.stringify(body)} → ${response.status}`);
    }
  });

  it("retries a provider's rate limit before the first token, as the chat does, and answers", async () => {
    fixture.fakes.groq.setFaults({ fault: "rate-limited", times: 1, retryAfterSeconds: 0 });
    const completion = await fixture
      .openAi()
      .chat.completions.create({ model: fixture.models.groq[0]!, messages: [{ role: "user", content: "x" }] });
    assert.ok(completion.choices[0]!.message.content);
    assert.equal(chatRequests(fixture.fakes, "groq").length, 2, "one refused, one answered");
  });

  it("answers a provider's failure before the first token with its status in each shape, once retries are spent", async () => {
    const before = (await ledgerRows(fixture.server)).length;
    fixture.fakes.anthropic.setFaults({ fault: "overloaded", times: 10 });
    await assert.rejects(
      fixture
        .anthropic()
        .messages.create({ model: fixture.models.anthropic[0]!, max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
      (error: any) => {
        assert.equal(error.status, 529);
        assert.equal(anthropicErrorOf(error).type, "overloaded_error");
        assert.equal(error.headers.get("x-should-retry"), "true");
        return true;
      },
    );
    assert.equal(chatRequests(fixture.fakes, "anthropic").length, 3, "the first try and two retries (PROVIDER_MAX_RETRIES)");
    fixture.fakes.reset();
    fixture.fakes.groq.setFaults({ fault: "context-too-long" });
    await assert.rejects(
      fixture.openAi().chat.completions.create({ model: fixture.models.groq[0]!, messages: [{ role: "user", content: "x" }] }),
      (error: any) => {
        assert.equal(error.status, 400);
        assert.equal(openAiErrorOf(error).code, "context_length_exceeded");
        return true;
      },
    );
    assert.equal(chatRequests(fixture.fakes, "groq").length, 1, "not retried");
    fixture.fakes.groq.setFaults({ fault: "unauthorized" });
    await assert.rejects(
      fixture.openAi().chat.completions.create({ model: fixture.models.groq[0]!, messages: [{ role: "user", content: "x" }] }),
      (error: any) => {
        // the team's provider key is wrong, not the client's request
        assert.equal(error.status, 502);
        assert.ok(!JSON.stringify(error.error).includes("fake-groq-key"), "the provider key never leaves the server");
        return true;
      },
    );
    const rows = await waitForLedgerRows(fixture.server, before + 3);
    assert.deepEqual(
      rows.slice(before).map((row) => row.status),
      ["error", "error", "error"],
    );
  });

  it("turns a failure after the first token into the API's in-stream error, keeping the partial usage in the ledger", async () => {
    const before = (await ledgerRows(fixture.server)).length;
    fixture.fakes.groq.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 3 });
    const stream = await fixture.openAi().chat.completions.create({
      model: fixture.models.groq[0]!,
      stream: true,
      messages: [{ role: "user", content: "a long question to answer" }],
    });
    let text = "";
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      })(),
      (error: any) => /Groq|overloaded|Service Unavailable/i.test(String(error.message)),
    );
    assert.ok(text.length > 0, "the text before the failure arrived");
    assert.equal(chatRequests(fixture.fakes, "groq").length, 1, "no retry after the first token");

    fixture.fakes.anthropic.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 2 });
    const anthropicStream = fixture.anthropic().messages.stream({
      model: fixture.models.anthropic[0]!,
      max_tokens: 1000,
      messages: [{ role: "user", content: "a long question to answer" }],
    });
    await assert.rejects(anthropicStream.finalMessage(), (error: any) => /overloaded/i.test(String(error.message)));
    const rows = await waitForLedgerRows(fixture.server, before + 2);
    assert.deepEqual(
      rows.slice(before).map((row) => row.status),
      ["error", "error"],
    );
    assert.equal(typeof rows.at(-1)!.input_tokens, "number", "Anthropic reported the input before failing");
  });

  it("stops the provider request when the client goes away, and records the answer as stopped", async () => {
    const before = (await ledgerRows(fixture.server)).length;
    fixture.fakes.anthropic.setTokenDelayMs(40);
    const controller = new AbortController();
    const response = await fetch(`${fixture.server.url}/anthropic/v1/messages`, {
      method: "POST",
      signal: controller.signal,
      headers: { "content-type": "application/json", "x-api-key": fixture.memberKey },
      body: JSON.stringify({
        model: fixture.models.anthropic[0]!,
        max_tokens: 2000,
        stream: true,
        messages: [{ role: "user", content: Array.from({ length: 80 }, (_unused, index) => `word${index}`).join(" ") }],
      }),
    });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    let seen = "";
    while (!seen.includes("text_delta")) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const request = await fixture.fakes.anthropic.waitForRequest((entry) => entry.clientClosed, 5000);
    assert.equal(request.completed, false, "the provider's answer was cut short");
    const rows = await waitForLedgerRows(fixture.server, before + 1);
    assert.equal(rows.at(-1)!.status, "stopped");
    assert.equal(typeof rows.at(-1)!.input_tokens, "number");
  });

  it("ends a disabled member's gateway answer at once, like their chat answers, and records it as stopped", async () => {
    const before = (await ledgerRows(fixture.server)).length;
    fixture.fakes.anthropic.setTokenDelayMs(40);
    const response = await fetch(`${fixture.server.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": fixture.memberKey },
      body: JSON.stringify({
        model: fixture.models.anthropic[0]!,
        max_tokens: 2000,
        stream: true,
        messages: [{ role: "user", content: Array.from({ length: 80 }, (_unused, index) => `word${index}`).join(" ") }],
      }),
    });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    let seen = "";
    while (!seen.includes("text_delta")) seen += new TextDecoder().decode((await reader.read()).value);
    const disabled = await fixture.server.request("PATCH", `/admin/users/${fixture.memberId}`, {
      token: fixture.adminToken,
      body: { status: "disabled" },
    });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    try {
      const request = await fixture.fakes.anthropic.waitForRequest((entry) => entry.clientClosed, 5000);
      assert.equal(request.completed, false, "the provider's answer was cut short");
      // the client's stream ends too (the answer is over), well before the 80-word answer would have
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (chunk.done) break;
      }
      const rows = await waitForLedgerRows(fixture.server, before + 1);
      assert.equal(rows.at(-1)!.status, "stopped");
    } finally {
      const enabled = await fixture.server.request("PATCH", `/admin/users/${fixture.memberId}`, {
        token: fixture.adminToken,
        body: { status: "active" },
      });
      assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
    }
  });
});
