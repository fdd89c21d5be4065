/**
 * The fake providers, exercised through the official SDKs exactly as the server's adapters will use
 * them: if an SDK cannot talk to a fake, or a fault does not surface as the SDK's usual error, these
 * tests fail.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import Anthropic, { APIError as AnthropicApiError } from "@anthropic-ai/sdk";
import Groq, { APIError as GroqApiError } from "groq-sdk";
import { Ollama } from "ollama";
import {
  buildEchoText,
  defaultAnthropicModels,
  estimateTokenCount,
  parseEchoText,
  startFakeProviders,
  type EchoInput,
  type FakeProviders,
  type FaultName,
} from "../../tools/fake-providers";
import { readFixtureJson, readFixtureLines, readFixtureText } from "../../tools/fake-providers/read-fixture";

const conversation = {
  system: "You are terse.",
  messages: [
    { role: "user" as const, content: "What is 2 + 2?" },
    { role: "assistant" as const, content: "It is 4." },
    { role: "user" as const, content: "And times 3?\nShow your work." },
  ],
};

function expectedEcho(model: string): EchoInput {
  return {
    model,
    system: conversation.system,
    messages: conversation.messages.map((message) => ({ role: message.role, text: message.content })),
  };
}

const conversationCharacters = conversation.system.length + conversation.messages.reduce((sum, message) => sum + message.content.length, 0);

/** Runs `consume` and returns what it gathered before it threw, plus the error. */
async function captureFailure<T>(gathered: T, consume: (gathered: T) => Promise<void>): Promise<{ gathered: T; error: unknown }> {
  try {
    await consume(gathered);
  } catch (error) {
    return { gathered, error };
  }
  assert.fail("expected the call to fail");
}

describe("fake providers (through the official SDKs)", function () {
  this.timeout(10_000);
  let fakes: FakeProviders;

  before(async () => {
    fakes = await startFakeProviders();
  });
  afterEach(() => fakes.reset());
  after(async () => {
    await fakes.close();
  });

  const anthropicClient = (options: Partial<ConstructorParameters<typeof Anthropic>[0]> = {}): Anthropic =>
    new Anthropic({ apiKey: fakes.anthropic.apiKey, baseURL: fakes.anthropic.url, maxRetries: 0, logLevel: "off", ...options });
  const groqClient = (options: Partial<ConstructorParameters<typeof Groq>[0]> = {}): Groq =>
    new Groq({ apiKey: fakes.groq.apiKey, baseURL: fakes.groq.url, maxRetries: 0, logLevel: "off", ...options });
  const ollamaClient = (): Ollama => new Ollama({ host: fakes.ollama.url });

  describe("Anthropic", () => {
    const model = "claude-sonnet-4-6";

    async function streamText(
      client: Anthropic,
      gathered: { text: string; inputTokens?: number; outputTokens?: number; stopReason?: string | null; types: string[] },
      body: Partial<Anthropic.MessageCreateParamsStreaming> = {},
      signal?: AbortSignal,
    ): Promise<void> {
      const stream = await client.messages.create(
        { model, max_tokens: 1024, system: conversation.system, messages: conversation.messages, ...body, stream: true },
        { signal },
      );
      for await (const event of stream) {
        gathered.types.push(event.type);
        if (event.type === "message_start") gathered.inputTokens = event.message.usage.input_tokens;
        if (event.type === "content_block_delta" && event.delta.type === "text_delta") gathered.text += event.delta.text;
        if (event.type === "message_delta") {
          gathered.outputTokens = event.usage.output_tokens;
          gathered.stopReason = event.delta.stop_reason;
        }
      }
    }

    it("streams an echo of the whole conversation in several deltas, with usage", async () => {
      const gathered = { text: "", types: [] as string[] } as Parameters<typeof streamText>[1];
      await streamText(anthropicClient(), gathered);

      assert.equal(gathered.text, buildEchoText(expectedEcho(model)));
      assert.deepEqual(parseEchoText(gathered.text), expectedEcho(model));
      assert.ok(gathered.types.filter((type) => type === "content_block_delta").length > 5);
      assert.deepEqual(gathered.types.slice(0, 2), ["message_start", "content_block_start"]);
      assert.deepEqual(gathered.types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
      assert.equal(gathered.inputTokens, estimateTokenCount("x".repeat(conversationCharacters)));
      assert.equal(gathered.outputTokens, estimateTokenCount(gathered.text));
      assert.equal(gathered.stopReason, "end_turn");

      const [recorded] = fakes.anthropic.requests;
      assert.equal(recorded.method, "POST");
      assert.equal(recorded.path, "/v1/messages");
      assert.equal(recorded.completed, true);
      assert.equal(recorded.clientClosed, false);
      // SDK 1.14 authenticates with a Bearer token and its own API version date.
      assert.equal(recorded.headers.authorization, `Bearer ${fakes.anthropic.apiKey}`);
      assert.match(String(recorded.headers["anthropic-version"]), /^\d{4}-\d{2}-\d{2}$/);
    });

    it("frames the stream like the recorded SSE fixture: named events, a ping, no [DONE]", async () => {
      const response = await fetch(`${fakes.anthropic.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": fakes.anthropic.apiKey, "anthropic-version": "2023-06-01", "content-type": "application/json" },
        body: JSON.stringify({ model, max_tokens: 100, stream: true, messages: [{ role: "user", content: "Hello there friend" }] }),
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
      assert.match(response.headers.get("request-id") ?? "", /^req_/);
      const eventNames = (text: string): string[] =>
        [...text.matchAll(/^event: (\S+)$/gm)].map((match) => match[1]).filter((name, index, all) => name !== all[index - 1]);
      const body = await response.text();
      assert.deepEqual(eventNames(body), eventNames(readFixtureText("anthropic/sdk-basic_response.sse.txt")));
      assert.doesNotMatch(body, /\[DONE\]/);
    });

    it("answers without streaming, counts tokens, and stops at max_tokens like the API", async () => {
      const client = anthropicClient();
      const { data: message, response } = await client.messages
        .create({ model, max_tokens: 1024, system: conversation.system, messages: conversation.messages })
        .withResponse();
      assert.match(response.headers.get("request-id") ?? "", /^req_/);
      assert.equal(message.stop_reason, "end_turn");
      const [block] = message.content;
      assert.equal(block.type === "text" ? block.text : undefined, buildEchoText(expectedEcho(model)));
      assert.equal(message.usage.output_tokens, estimateTokenCount(buildEchoText(expectedEcho(model))));

      const counted = await client.messages.countTokens({ model, system: conversation.system, messages: conversation.messages });
      assert.equal(counted.input_tokens, message.usage.input_tokens);

      const short = await client.messages.create({ model, max_tokens: 5, messages: conversation.messages });
      const [shortBlock] = short.content;
      assert.equal(short.stop_reason, "max_tokens");
      assert.ok(shortBlock.type === "text" && buildEchoText(expectedEcho(model)).startsWith(shortBlock.text));
      assert.ok(short.usage.output_tokens <= 5);
    });

    it("lists models across pages with the SDK auto-pagination, forwards and backwards", async () => {
      const client = anthropicClient();
      const ids: string[] = [];
      for await (const info of client.models.list({ limit: 3 })) ids.push(info.id);
      assert.deepEqual(
        ids,
        defaultAnthropicModels.map((info) => info.id),
      );
      const listCalls = fakes.anthropic.requests.filter((request) => request.path === "/v1/models");
      assert.equal(listCalls.length, 3);
      assert.equal(listCalls[1].query.after_id, ids[2]);

      const backwards = await client.models.list({ before_id: ids[4], limit: 2 });
      assert.deepEqual(
        backwards.data.map((info) => info.id),
        [ids[2], ids[3]],
      );
      assert.equal(backwards.has_more, true);

      const aliased = await client.models.retrieve("claude-haiku-4-5");
      assert.equal(aliased.id, "claude-haiku-4-5-20251001");
      assert.equal(aliased.max_input_tokens, 200000);
      // Retired models stay listed (lifecycle) but cannot be used.
      const retired = (await client.models.retrieve("claude-3-5-haiku-20241022")).lifecycle;
      assert.equal(retired, "retired");
      await assert.rejects(
        client.messages.create({ model: "claude-3-5-haiku-20241022", max_tokens: 50, messages: conversation.messages }),
        (error: unknown) => error instanceof Anthropic.NotFoundError,
      );
    });

    it("enforces the role rules of the real API", async () => {
      const client = anthropicClient();
      const rejected: Array<[string, unknown[], RegExp]> = [
        ["empty messages", [], /at least one message is required/],
        [
          "assistant first",
          [
            { role: "assistant", content: "Hi" },
            { role: "user", content: "Hello" },
          ],
          /first message must use the "user" role/,
        ],
        [
          "system role in messages",
          [
            { role: "user", content: "Hi" },
            { role: "system", content: "Be brief" },
          ],
          /Unexpected role "system"/,
        ],
        [
          "empty turn",
          [
            { role: "user", content: "" },
            { role: "assistant", content: "Hi" },
            { role: "user", content: "Hello" },
          ],
          /messages\.0: all messages must have non-empty content/,
        ],
        [
          "prefill ending in whitespace",
          [
            { role: "user", content: "Hi" },
            { role: "assistant", content: "Sure, " },
          ],
          /final assistant content cannot end with trailing whitespace/,
        ],
      ];
      for (const [label, messages, expected] of rejected) {
        await assert.rejects(
          client.messages.create({ model, max_tokens: 100, messages: messages as Anthropic.MessageParam[] }),
          (error: unknown) => {
            assert.ok(error instanceof Anthropic.BadRequestError, label);
            assert.equal(error.status, 400);
            assert.equal(error.type, "invalid_request_error");
            // `message` is "400 <whole body as JSON>"; SDK 1.14 exposes the API's own text as `apiMessage`.
            assert.match(error.apiMessage ?? "", expected, label);
            return true;
          },
        );
      }

      // The current API merges consecutive same-role turns instead of rejecting them...
      const twoUserTurns: Anthropic.MessageParam[] = [
        { role: "user", content: "First part." },
        { role: "user", content: "Second part." },
      ];
      const merged = await client.messages.create({ model, max_tokens: 200, messages: twoUserTurns });
      assert.equal(merged.stop_reason, "end_turn");
      // ...but the pre-2024 strict rule can be switched on.
      fakes.anthropic.setRequiresAlternatingRoles(true);
      await assert.rejects(client.messages.create({ model, max_tokens: 200, messages: twoUserTurns }), (error: unknown) => {
        assert.ok(error instanceof Anthropic.BadRequestError);
        assert.equal(
          error.apiMessage,
          'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row',
        );
        return true;
      });
    });

    it("checks the key and the anthropic-version header, accepting both header styles", async () => {
      await assert.rejects(anthropicClient({ apiKey: "wrong" }).models.list(), (error: unknown) => {
        assert.ok(error instanceof Anthropic.AuthenticationError);
        assert.equal(error.status, 401);
        assert.match(error.message, /invalid x-api-key/);
        return true;
      });
      const post = (headers: Record<string, string>): Promise<Response> =>
        fetch(`${fakes.anthropic.url}/v1/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ model, max_tokens: 50, messages: [{ role: "user", content: "Hi" }] }),
        });
      const withoutVersion = await post({ "x-api-key": fakes.anthropic.apiKey });
      assert.equal(withoutVersion.status, 400);
      assert.deepEqual(((await withoutVersion.json()) as { error: unknown }).error, {
        type: "invalid_request_error",
        message: "anthropic-version: header is required",
      });
      const classic = await post({ "x-api-key": fakes.anthropic.apiKey, "anthropic-version": "2023-06-01" });
      assert.equal(classic.status, 200);
    });

    it("turns each HTTP fault into the SDK error a real response would give, once", async () => {
      const client = anthropicClient();
      const cases: Array<[FaultName, new (...args: never[]) => AnthropicApiError, number, RegExp]> = [
        ["unauthorized", Anthropic.AuthenticationError, 401, /invalid x-api-key/],
        ["rate-limited", Anthropic.RateLimitError, 429, /exceed the rate limit/],
        ["overloaded", Anthropic.OverloadedError, 529, /Overloaded/],
        ["server-error", Anthropic.InternalServerError, 500, /Internal server error/],
        ["context-too-long", Anthropic.BadRequestError, 400, /prompt is too long: \d+ tokens > 200000 maximum/],
        ["model-not-found", Anthropic.NotFoundError, 404, /model: claude-sonnet-4-6/],
      ];
      for (const [fault, errorClass, status, message] of cases) {
        fakes.anthropic.setFaults({ fault, retryAfterSeconds: 7 });
        await assert.rejects(client.messages.create({ model, max_tokens: 50, messages: conversation.messages }), (error: unknown) => {
          assert.ok(error instanceof errorClass, fault);
          assert.equal(error.status, status, fault);
          assert.match(error.message, message, fault);
          assert.match(error.requestID ?? "", /^req_/, fault);
          if (fault === "rate-limited") {
            assert.equal(error.headers?.get("retry-after"), "7");
            assert.equal(error.headers?.get("anthropic-ratelimit-requests-remaining"), "0");
          }
          return true;
        });
        const next = await client.messages.create({ model, max_tokens: 50, messages: conversation.messages });
        assert.equal(next.stop_reason, "end_turn", `${fault} should apply once`);
      }
      assert.deepEqual(
        fakes.anthropic.requests.map((request) => request.fault),
        cases.flatMap(([fault]) => [fault, undefined]),
      );
    });

    it("lets the SDK retry a rate limit after retry-after, then succeed", async () => {
      fakes.anthropic.setFaults({ fault: "rate-limited", times: 2, retryAfterSeconds: 0.02 });
      const message = await anthropicClient({ maxRetries: 2 }).messages.create({ model, max_tokens: 50, messages: conversation.messages });
      assert.equal(message.stop_reason, "end_turn");
      assert.deepEqual(
        fakes.anthropic.requests.map((request) => [request.status, request.headers["x-stainless-retry-count"]]),
        [
          [429, "0"],
          [429, "1"],
          [200, "2"],
        ],
      );
    });

    it("sends an overloaded error event mid-stream after the given number of deltas", async () => {
      fakes.anthropic.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 3 });
      const { gathered, error } = await captureFailure({ text: "", types: [] as string[] }, (gathered) =>
        streamText(anthropicClient(), gathered),
      );
      assert.ok(error instanceof Anthropic.APIError);
      assert.equal(error.status, undefined);
      assert.equal(error.type, "overloaded_error");
      assert.equal(gathered.text, `ECHO model=${model} system="You `);
      assert.ok(!gathered.types.includes("message_stop"));
    });

    it("surfaces a reset connection and a malformed chunk as errors after partial text", async () => {
      fakes.anthropic.setFaults({ fault: "reset-mid-stream", afterDeltas: 2 });
      const reset = await captureFailure({ text: "", types: [] as string[] }, (gathered) => streamText(anthropicClient(), gathered));
      assert.equal(reset.gathered.text, `ECHO model=${model} `);
      assert.ok(reset.error instanceof Error);
      assert.equal(fakes.anthropic.requests[0].clientClosed, false, "the fake, not the client, closed it");

      fakes.anthropic.setFaults({ fault: "malformed-chunk", afterDeltas: 1 });
      const malformed = await captureFailure({ text: "", types: [] as string[] }, (gathered) => streamText(anthropicClient(), gathered));
      assert.equal(malformed.gathered.text, "ECHO ");
      assert.ok(malformed.error instanceof SyntaxError);
    });

    it("sees a stop (AbortController) as clientClosed, also during a stall", async () => {
      fakes.anthropic.setTokenDelayMs(30);
      const controller = new AbortController();
      const stream = await anthropicClient().messages.create(
        { model, max_tokens: 1024, messages: conversation.messages, stream: true },
        { signal: controller.signal },
      );
      let deltas = 0;
      try {
        for await (const event of stream) {
          if (event.type === "content_block_delta" && ++deltas === 2) controller.abort();
        }
      } catch {
        // aborted
      }
      assert.equal(deltas, 2);
      const stopped = await fakes.anthropic.waitForRequest((request) => request.clientClosed);
      assert.equal(stopped.completed, false);

      fakes.anthropic.reset();
      fakes.anthropic.setFaults({ fault: "stall", afterDeltas: 1 });
      const stallController = new AbortController();
      const stalled = await anthropicClient().messages.create(
        { model, max_tokens: 1024, messages: conversation.messages, stream: true },
        { signal: stallController.signal },
      );
      setTimeout(() => stallController.abort(), 150);
      let stalledText = "";
      try {
        for await (const event of stalled) {
          if (event.type === "content_block_delta" && event.delta.type === "text_delta") stalledText += event.delta.text;
        }
      } catch {
        // aborted
      }
      assert.equal(stalledText, "ECHO ");
      const closed = await fakes.anthropic.waitForRequest((request) => request.clientClosed);
      assert.equal(closed.fault, "stall");
    });

    it("replays the recorded stream and reassembles its exact text", async () => {
      fakes.anthropic.setReply("replay");
      const recordedText = readFixtureLines("anthropic/anthropic-text.chunks.txt")
        .map((line) => JSON.parse(line) as { type: string; delta?: { text?: string } })
        .filter((payload) => payload.type === "content_block_delta")
        .map((payload) => payload.delta?.text ?? "")
        .join("");
      const gathered = { text: "", types: [] as string[] } as Parameters<typeof streamText>[1];
      await streamText(anthropicClient(), gathered);
      assert.equal(gathered.text, recordedText);
      assert.equal(
        gathered.text,
        "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?",
      );
      assert.equal(gathered.inputTokens, 12);
      assert.equal(gathered.outputTokens, 30);
    });
  });

  describe("Groq", () => {
    const model = "llama-3.3-70b-versatile";
    const groqMessages = [{ role: "system" as const, content: conversation.system }, ...conversation.messages];

    it("streams an echo with a role chunk, content chunks, usage in x_groq and top level, then [DONE]", async () => {
      const stream = await groqClient().chat.completions.create({ model, messages: groqMessages, stream: true });
      let text = "";
      let roleChunks = 0;
      let finishReason: string | null = null;
      let groqUsage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
      let topLevelUsage: unknown;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice.delta.role === "assistant") roleChunks += 1;
        text += choice.delta.content ?? "";
        if (choice.finish_reason) {
          finishReason = choice.finish_reason;
          groqUsage = chunk.x_groq?.usage ?? undefined;
          topLevelUsage = (chunk as { usage?: unknown }).usage;
        }
      }
      assert.equal(text, buildEchoText(expectedEcho(model)));
      assert.equal(roleChunks, 1);
      assert.equal(finishReason, "stop");
      assert.equal(groqUsage?.prompt_tokens, estimateTokenCount("x".repeat(conversationCharacters)));
      assert.equal(groqUsage?.completion_tokens, estimateTokenCount(text));
      assert.deepEqual(topLevelUsage, groqUsage);

      const [recorded] = fakes.groq.requests;
      assert.equal(recorded.path, "/openai/v1/chat/completions");
      assert.equal(recorded.headers.authorization, `Bearer ${fakes.groq.apiKey}`);
      assert.equal(recorded.completed, true);
    });

    it("answers without streaming and honours max_completion_tokens", async () => {
      const client = groqClient();
      const completion = await client.chat.completions.create({ model, messages: groqMessages });
      assert.equal(completion.choices[0].message.content, buildEchoText(expectedEcho(model)));
      assert.equal(completion.choices[0].finish_reason, "stop");
      assert.equal(completion.usage?.total_tokens, (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));
      assert.match(completion.x_groq?.id ?? "", /^req_/);

      const short = await client.chat.completions.create({ model, messages: groqMessages, max_completion_tokens: 4 });
      assert.equal(short.choices[0].finish_reason, "length");
      assert.ok(buildEchoText(expectedEcho(model)).startsWith(short.choices[0].message.content ?? "-"));
    });

    it("lists chat and non-chat models with context_window and max_completion_tokens, and rejects chat on whisper", async () => {
      const client = groqClient();
      const list = await client.models.list();
      const byId = new Map(
        list.data.map((entry) => [entry.id, entry as typeof entry & { context_window: number; max_completion_tokens: number }]),
      );
      assert.equal(byId.get("whisper-large-v3")?.context_window, 448);
      assert.ok(byId.has("playai-tts"));
      assert.ok(byId.has("meta-llama/llama-guard-4-12b"));
      assert.equal(byId.get(model)?.max_completion_tokens, 32768);
      await assert.rejects(
        client.chat.completions.create({ model: "whisper-large-v3", messages: groqMessages }),
        (error: unknown) => error instanceof Groq.BadRequestError,
      );
    });

    it("turns each HTTP fault into the SDK error a real response would give", async () => {
      const client = groqClient();
      const cases: Array<[FaultName, new (...args: never[]) => GroqApiError, number, string | undefined]> = [
        ["unauthorized", Groq.AuthenticationError, 401, "invalid_api_key"],
        ["rate-limited", Groq.RateLimitError, 429, "rate_limit_exceeded"],
        ["overloaded", Groq.InternalServerError, 503, undefined],
        ["server-error", Groq.InternalServerError, 500, undefined],
        ["context-too-long", Groq.BadRequestError, 400, "context_length_exceeded"],
        ["model-not-found", Groq.NotFoundError, 404, "model_not_found"],
      ];
      for (const [fault, errorClass, status, code] of cases) {
        fakes.groq.setFaults({ fault, retryAfterSeconds: 3 });
        await assert.rejects(client.chat.completions.create({ model, messages: groqMessages, stream: true }), (error: unknown) => {
          assert.ok(error instanceof errorClass, fault);
          assert.equal(error.status, status, fault);
          // For HTTP errors groq-sdk keeps the whole body in `error.error`: { error: { message, type, code } }.
          assert.equal((error.error as { error?: { code?: string } }).error?.code, code, fault);
          assert.match(error.headers?.get("x-request-id") ?? "", /^req_/);
          if (fault === "rate-limited") {
            assert.equal(error.headers?.get("retry-after"), "3");
            assert.equal(error.headers?.get("x-ratelimit-remaining-tokens"), "0");
          }
          return true;
        });
      }
      await assert.rejects(groqClient({ apiKey: "wrong" }).models.list(), (error: unknown) => error instanceof Groq.AuthenticationError);
    });

    it("sends mid-stream errors as a data line with an error key, and malformed chunks as bad JSON", async () => {
      const consume = async (gathered: { text: string }): Promise<void> => {
        const stream = await groqClient().chat.completions.create({ model, messages: groqMessages, stream: true });
        for await (const chunk of stream) gathered.text += chunk.choices[0]?.delta.content ?? "";
      };
      fakes.groq.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 2 });
      const overloaded = await captureFailure({ text: "" }, consume);
      assert.equal(overloaded.gathered.text, `ECHO model=${model} `);
      assert.ok(overloaded.error instanceof Groq.APIError);
      assert.equal(overloaded.error.status, undefined);
      assert.match(overloaded.error.message, /Service Unavailable/);

      fakes.groq.setFaults({ fault: "malformed-chunk", afterDeltas: 0 });
      const malformed = await captureFailure({ text: "" }, consume);
      assert.equal(malformed.gathered.text, "");
      assert.ok(malformed.error instanceof SyntaxError);

      fakes.groq.setFaults({ fault: "reset-mid-stream", afterDeltas: 1 });
      const reset = await captureFailure({ text: "" }, consume);
      assert.equal(reset.gathered.text, "ECHO ");
      assert.ok(reset.error instanceof Error);
    });

    it("sees an aborted stream as clientClosed", async () => {
      fakes.groq.setTokenDelayMs(30);
      const controller = new AbortController();
      const stream = await groqClient().chat.completions.create(
        { model, messages: groqMessages, stream: true },
        { signal: controller.signal },
      );
      try {
        for await (const chunk of stream) if (chunk.choices[0]?.delta.content) controller.abort();
      } catch {
        // aborted
      }
      const stopped = await fakes.groq.waitForRequest((request) => request.clientClosed);
      assert.equal(stopped.completed, false);
    });

    it("replays the recorded 663-chunk stream and reassembles its exact text", async () => {
      fakes.groq.setReply("replay");
      const recordedText = readFixtureLines("groq/groq-text.chunks.txt")
        .map((line) => (JSON.parse(line) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? "")
        .join("");
      const stream = await groqClient().chat.completions.create({ model, messages: groqMessages, stream: true });
      let text = "";
      let completionTokens: number | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        completionTokens = chunk.x_groq?.usage?.completion_tokens ?? completionTokens;
      }
      assert.ok(recordedText.length > 2000);
      assert.equal(text, recordedText);
      assert.equal(completionTokens, 662);
    });

    it("accepts faults and settings over HTTP on /__control", async () => {
      const control = (pathname: string, body?: unknown): Promise<Response> =>
        fetch(`${fakes.groq.url}/__control/${pathname}`, { method: body === undefined ? "GET" : "POST", body: JSON.stringify(body) });
      assert.equal((await control("faults", { fault: "server-error", times: 2 })).status, 200);
      assert.equal((await control("faults", { fault: "no-such-fault" })).status, 400);
      assert.equal(fakes.groq.listFaults()[0]?.fault, "server-error", "an invalid request must not clear the plan");
      assert.equal((await control("settings", { reply: { text: "Fixed answer." } })).status, 200);
      const client = groqClient();
      for (let attempt = 0; attempt < 2; attempt += 1) {
        await assert.rejects(
          client.chat.completions.create({ model, messages: groqMessages }),
          (error: unknown) => error instanceof Groq.InternalServerError,
        );
      }
      const completion = await client.chat.completions.create({ model, messages: groqMessages });
      assert.equal(completion.choices[0].message.content, "Fixed answer.");
      const { requests } = (await (await control("requests")).json()) as { requests: Array<{ status: number; fault?: string }> };
      assert.deepEqual(
        requests.map((request) => [request.status, request.fault ?? null]),
        [
          [500, "server-error"],
          [500, "server-error"],
          [200, null],
        ],
      );
      assert.equal((await control("reset", {})).status, 200);
      assert.equal(fakes.groq.requests.length, 0);
    });
  });

  describe("Ollama", () => {
    const model = "llama3.2";
    const ollamaMessages = [{ role: "system", content: conversation.system }, ...conversation.messages];

    it("streams an NDJSON echo ending with done, done_reason and token counts", async () => {
      const stream = await ollamaClient().chat({ model, messages: ollamaMessages, stream: true });
      let text = "";
      let parts = 0;
      let final: { done_reason: string; prompt_eval_count: number; eval_count: number } | undefined;
      for await (const part of stream) {
        text += part.message.content;
        parts += 1;
        if (part.done) final = part;
      }
      assert.equal(text, buildEchoText(expectedEcho(model)));
      assert.ok(parts > 5);
      assert.equal(final?.done_reason, "stop");
      assert.equal(final?.prompt_eval_count, estimateTokenCount("x".repeat(conversationCharacters)));
      assert.equal(final?.eval_count, estimateTokenCount(text));
      assert.equal(fakes.ollama.requests[0].path, "/api/chat");
    });

    it("answers without streaming, and shortens an over-long prompt silently like Ollama", async () => {
      const client = ollamaClient();
      const long = "word ".repeat(4000); // 20,000 characters: 5,000 estimated tokens
      const truncated = await client.chat({ model, messages: [{ role: "user", content: long }] });
      assert.equal(truncated.done, true);
      assert.equal(truncated.prompt_eval_count, 4096, "default loaded context");
      const widened = await client.chat({ model, messages: [{ role: "user", content: long }], options: { num_ctx: 8192 } });
      assert.equal(widened.prompt_eval_count, 5000);
      const short = await client.chat({ model, messages: ollamaMessages, options: { num_predict: 3 } });
      assert.equal(short.done_reason, "length");
    });

    it("lists models, shows context length and capabilities, reports its version", async () => {
      const client = ollamaClient();
      const { models } = await client.list();
      assert.deepEqual(
        models.map((entry) => entry.name),
        ["deepseek-r1:latest", "llama3.2:latest", "gemma3:latest", "nomic-embed-text:latest"],
      );
      const shown = await client.show({ model: "gemma3" });
      assert.deepEqual(shown.capabilities, ["completion", "vision"]);
      // Typed as a Map by ollama-js, but on the wire (and at runtime) it is a plain object.
      const modelInfo = shown.model_info as unknown as Record<string, unknown>;
      assert.equal(modelInfo[`${String(modelInfo["general.architecture"])}.context_length`], 131072);
      assert.match((await client.version()).version, /^\d+\.\d+\.\d+$/);
    });

    it("answers unknown and non-chat models with Ollama errors", async () => {
      const client = ollamaClient();
      for (const [call, status, message] of [
        [() => client.show({ model: "nope" }), 404, "model 'nope' not found"],
        [() => client.chat({ model: "nope", messages: ollamaMessages }), 404, "model 'nope' not found"],
        [() => client.chat({ model: "nomic-embed-text", messages: ollamaMessages }), 400, '"nomic-embed-text" does not support chat'],
      ] as const) {
        await assert.rejects(call(), (error: unknown) => {
          // ollama-js throws a ResponseError (not exported) carrying the HTTP status and the `error` text.
          assert.ok(error instanceof Error);
          assert.equal(error.name, "ResponseError");
          assert.equal((error as Error & { status_code: number }).status_code, status);
          assert.equal(error.message, message);
          return true;
        });
      }
    });

    it("turns faults into Ollama errors, mid-stream ones into an error line", async () => {
      const client = ollamaClient();
      fakes.ollama.setFaults([{ fault: "overloaded" }, { fault: "overloaded-mid-stream", afterDeltas: 2 }]);
      await assert.rejects(client.chat({ model, messages: ollamaMessages, stream: true }), (error: unknown) => {
        assert.equal((error as { status_code?: number }).status_code, 503);
        assert.match((error as Error).message, /server busy/);
        return true;
      });
      const midStream = await captureFailure({ text: "" }, async (gathered) => {
        for await (const part of await client.chat({ model, messages: ollamaMessages, stream: true }))
          gathered.text += part.message.content;
      });
      assert.equal(midStream.gathered.text, `ECHO model=${model} `);
      assert.equal((midStream.error as Error).message, "an error was encountered while running the model");
    });

    it("sees an aborted stream as clientClosed, and replays the documented answer", async () => {
      fakes.ollama.setTokenDelayMs(30);
      const stream = await ollamaClient().chat({ model, messages: ollamaMessages, stream: true });
      try {
        for await (const part of stream) if (part.message.content) stream.abort();
      } catch {
        // AbortError from ollama-js
      }
      const stopped = await fakes.ollama.waitForRequest((request) => request.clientClosed);
      assert.equal(stopped.completed, false);

      fakes.ollama.reset();
      fakes.ollama.setReply("replay");
      const documented = readFixtureJson("ollama/api-chat.nonstream.response.json") as { message: { content: string }; eval_count: number };
      let text = "";
      let evalCount = 0;
      for await (const part of await ollamaClient().chat({ model, messages: ollamaMessages, stream: true })) {
        text += part.message.content;
        if (part.done) evalCount = part.eval_count;
      }
      assert.equal(text, documented.message.content);
      assert.equal(evalCount, documented.eval_count);
    });
  });

  it("echoes one conversation identically on all three providers (only the model differs)", async () => {
    const anthropicMessage = await anthropicClient().messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 1024,
      system: conversation.system,
      messages: conversation.messages,
    });
    const groqCompletion = await groqClient().chat.completions.create({
      model: "llama-3.1-8b-instant",
      messages: [{ role: "system", content: conversation.system }, ...conversation.messages],
    });
    const ollamaResponse = await ollamaClient().chat({
      model: "gemma3",
      messages: [{ role: "system", content: conversation.system }, ...conversation.messages],
    });
    const [anthropicBlock] = anthropicMessage.content;
    const echoes = [
      anthropicBlock.type === "text" ? anthropicBlock.text : "",
      groqCompletion.choices[0].message.content ?? "",
      ollamaResponse.message.content,
    ].map((text) => ({ ...parseEchoText(text), model: "any" }));
    assert.deepEqual(echoes[0], { ...expectedEcho("any") });
    assert.deepEqual(echoes[1], echoes[0]);
    assert.deepEqual(echoes[2], echoes[0]);
  });

  describe("tool-call replies", () => {
    const toolCall = { name: "lookup", arguments: { term: "keyset", limit: 2 }, text: "One moment." };
    const anthropicTools = [{ name: "lookup", input_schema: { type: "object" as const, properties: {} } }];
    const openAiTools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object", properties: {} } } }];

    it("Anthropic: the SDK's stream helper assembles the tool_use block; unanswered or stray tool use is refused", async () => {
      fakes.anthropic.setReply({ toolCall });
      const client = anthropicClient();
      const streamed = await client.messages
        .stream({ model: "claude-haiku-4-5", max_tokens: 200, tools: anthropicTools, messages: [{ role: "user", content: "Look it up" }] })
        .finalMessage();
      assert.equal(streamed.stop_reason, "tool_use");
      assert.deepEqual(
        streamed.content.map((block) =>
          block.type === "tool_use" ? { name: block.name, input: block.input } : block.type === "text" ? block.text : block.type,
        ),
        ["One moment.", { name: "lookup", input: toolCall.arguments }],
      );
      const whole = await client.messages.create({
        model: "claude-haiku-4-5",
        max_tokens: 200,
        tools: anthropicTools,
        messages: [{ role: "user", content: "Look it up" }],
      });
      assert.equal(whole.stop_reason, "tool_use");
      const toolUse = whole.content.find((block) => block.type === "tool_use");
      assert.ok(toolUse && toolUse.type === "tool_use" && toolUse.id.startsWith("toolu_"));

      await assert.rejects(
        client.messages.create({ model: "claude-haiku-4-5", max_tokens: 200, messages: [{ role: "user", content: "Look it up" }] }),
        (error: unknown) => error instanceof AnthropicApiError && error.status === 400,
        "a call of a tool the request did not declare",
      );
      fakes.anthropic.setReply("echo");
      await assert.rejects(
        client.messages.create({
          model: "claude-haiku-4-5",
          max_tokens: 200,
          messages: [
            { role: "user", content: "Look it up" },
            { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: {} }] },
            { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_other", content: "x" }] },
          ],
        }),
        (error: unknown) => error instanceof AnthropicApiError && error.status === 400 && /tool_result/.test(error.message),
      );
    });

    it("Groq: tool_calls in one chunk with finish_reason tool_calls; a tool message must answer a call", async () => {
      fakes.groq.setReply({ toolCall });
      const client = groqClient();
      const stream = await client.chat.completions.create({
        model: "llama-3.3-70b-versatile",
        stream: true,
        tools: openAiTools,
        messages: [{ role: "user", content: "Look it up" }],
      });
      let text = "";
      let argumentsText = "";
      let finishReason: string | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) argumentsText += call.function?.arguments ?? "";
        finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      }
      assert.equal(text, "One moment.");
      assert.deepEqual(JSON.parse(argumentsText), toolCall.arguments);
      assert.equal(finishReason, "tool_calls");
      const whole = await client.chat.completions.create({
        model: "llama-3.3-70b-versatile",
        tools: openAiTools,
        messages: [{ role: "user", content: "x" }],
      });
      assert.equal(whole.choices[0]?.finish_reason, "tool_calls");
      assert.equal(whole.choices[0]?.message.tool_calls?.[0]?.function.name, "lookup");

      fakes.groq.setReply("echo");
      await assert.rejects(
        client.chat.completions.create({
          model: "llama-3.3-70b-versatile",
          messages: [
            { role: "user", content: "x" },
            { role: "tool", tool_call_id: "call_nobody_made", content: "x" },
          ],
        }),
        (error: unknown) => error instanceof GroqApiError && error.status === 400,
      );
    });

    it("Ollama: the call arrives whole with object arguments; a model without tools refuses them", async () => {
      fakes.ollama.setReply({ toolCall });
      const client = ollamaClient();
      const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }];
      let calls: unknown[] = [];
      for await (const line of await client.chat({ model: "llama3.2", stream: true, tools, messages: [{ role: "user", content: "x" }] })) {
        calls = [...calls, ...(line.message.tool_calls ?? [])];
      }
      assert.deepEqual(calls, [{ function: { name: "lookup", arguments: toolCall.arguments } }]);
      await assert.rejects(client.chat({ model: "gemma3", tools, messages: [{ role: "user", content: "x" }] }), /does not support tools/);
    });
  });

  it("runs from the command line, prints the three URLs and exits cleanly on SIGTERM", async () => {
    const mainPath = path.join(__dirname, "../../tools/fake-providers/main.ts");
    const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), mainPath, "--groq-key", "cli-key"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const urls = new Map<string, string>();
      for await (const line of createInterface({ input: child.stdout })) {
        const [name, url] = line.split(" ");
        urls.set(name, url);
        if (urls.size === 3) break;
      }
      assert.deepEqual([...urls.keys()], ["anthropic", "groq", "ollama"]);
      const models = await new Groq({ apiKey: "cli-key", baseURL: urls.get("groq"), maxRetries: 0 }).models.list();
      assert.ok(models.data.length > 0);
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
