import assert from "node:assert/strict";
import net from "node:net";
import type { ProviderKind } from "../../../protocol/http/providers";
import { isAbortError } from "../../../server/src/providers/abort-error";
import { ProviderError, type ChatProvider, type ChatStreamEvent, type ChatTurn } from "../../../server/src/providers/chat-provider";
import { createChatProvider } from "../../../server/src/providers/create-chat-provider";
import {
  defaultAnthropicModels,
  parseEchoText,
  startFakeProviders,
  type FakeProviders,
  type FaultSpecInput,
} from "../../../tools/fake-providers";
import { readFixtureJson, readFixtureLines } from "../../../tools/fake-providers/read-fixture";
import { closedPortUrl } from "../../../tools/harness/free-port";

/**
 * The three adapters against the local fakes (real wire formats, real SDKs): echo and replay,
 * every injectable fault, and stop. What is asserted is what the generation job relies on.
 */
const kinds: ProviderKind[] = ["anthropic", "groq", "ollama"];
const chatModels: Record<ProviderKind, string> = {
  // not a model the SDK warns about as deprecated (it would console.warn on every call)
  anthropic: "claude-haiku-4-5-20251001",
  groq: "llama-3.3-70b-versatile",
  ollama: "llama3.2:latest",
};
const keys: Record<ProviderKind, string | undefined> = { anthropic: "fake-anthropic-key", groq: "fake-groq-key", ollama: undefined };

interface Collected {
  text: string;
  deltas: number;
  usage: Extract<ChatStreamEvent, { type: "usage" }> | undefined;
  finish: Extract<ChatStreamEvent, { type: "finish" }> | undefined;
  error: unknown;
}

async function collect(stream: AsyncIterable<ChatStreamEvent>, onDelta?: (count: number) => void): Promise<Collected> {
  const collected: Collected = { text: "", deltas: 0, usage: undefined, finish: undefined, error: undefined };
  try {
    for await (const event of stream) {
      if (event.type === "text-delta") {
        collected.text += event.text;
        collected.deltas += 1;
        onDelta?.(collected.deltas);
      } else if (event.type === "usage") collected.usage = event;
      else if (event.type === "finish") collected.finish = event;
    }
  } catch (error) {
    collected.error = error;
  }
  return collected;
}

describe("provider adapters against the fake providers", () => {
  let fakes: FakeProviders;

  before(async () => {
    fakes = await startFakeProviders();
  });

  afterEach(() => fakes.reset());

  after(async () => {
    await fakes?.close();
  });

  function adapter(kind: ProviderKind, overrides: { baseUrl?: string; apiKey?: string; connectTimeoutMs?: number } = {}): ChatProvider {
    return createChatProvider(kind, {
      baseUrl: overrides.baseUrl ?? fakes[kind].url,
      apiKey: overrides.apiKey ?? keys[kind],
      connectTimeoutMs: overrides.connectTimeoutMs ?? 5_000,
    });
  }

  function chat(
    kind: ProviderKind,
    turns: ChatTurn[],
    options: { system?: string; signal?: AbortSignal; maxOutputTokens?: number; provider?: ChatProvider } = {},
  ) {
    const provider = options.provider ?? adapter(kind);
    return provider.streamChat({
      model: chatModels[kind],
      conversation: provider.prepareConversation(options.system, turns),
      maxOutputTokens: options.maxOutputTokens ?? 1000,
      signal: options.signal ?? new AbortController().signal,
    });
  }

  const conversation: ChatTurn[] = [
    { role: "user", content: "What is 2+2?", messageIds: ["m1"] },
    { role: "assistant", content: "4", messageIds: ["m2"] },
    { role: "user", content: "And times 3?\nShow your work.", messageIds: ["m3"] },
  ];

  for (const kind of kinds) {
    describe(kind, () => {
      it("streams an answer whose text reassembles exactly, with usage and finish reason (echo)", async () => {
        const result = await collect(chat(kind, conversation, { system: "Answer tersely." }));
        assert.equal(result.error, undefined, String(result.error));
        assert.ok(result.deltas > 1, "the answer came in several deltas");
        const echoed = parseEchoText(result.text);
        assert.equal(echoed.model, chatModels[kind]);
        assert.equal(echoed.system, "Answer tersely.");
        assert.deepEqual(
          echoed.messages,
          conversation.map((turn) => ({ role: turn.role, text: turn.content })),
        );
        assert.equal(result.finish?.finishReason, "stop");
        assert.ok(typeof result.usage?.inputTokens === "number" && result.usage.inputTokens > 0);
        assert.ok(typeof result.usage?.outputTokens === "number" && result.usage.outputTokens > 0);
      });

      it("reports length when the answer hits maxOutputTokens", async () => {
        const result = await collect(chat(kind, conversation, { maxOutputTokens: 3 }));
        assert.equal(result.error, undefined, String(result.error));
        assert.equal(result.finish?.finishReason, "length");
      });

      it("lists chat models only, with context windows", async () => {
        const models = await adapter(kind).listModels();
        assert.ok(models.length > 0);
        assert.ok(models.some((model) => model.name === chatModels[kind]));
        for (const model of models) assert.ok(model.contextWindow === null || model.contextWindow > 1000, model.name);
      });

      const faultCases: Array<{ fault: FaultSpecInput; code: string; retryable: boolean; partial?: boolean }> = [
        { fault: { fault: "unauthorized" }, code: "provider_invalid_key", retryable: false },
        { fault: { fault: "rate-limited", retryAfterSeconds: 3 }, code: "provider_rate_limited", retryable: true },
        { fault: { fault: "overloaded" }, code: "provider_overloaded", retryable: true },
        { fault: { fault: "server-error" }, code: "provider_error", retryable: true },
        { fault: { fault: "context-too-long" }, code: "provider_context_too_long", retryable: false },
        { fault: { fault: "model-not-found" }, code: "provider_model_not_found", retryable: false },
        {
          fault: { fault: "overloaded-mid-stream", afterDeltas: 2 },
          // Ollama's in-stream error line is the recorded "an error was encountered while running the model"
          code: kind === "ollama" ? "provider_error" : "provider_overloaded",
          retryable: true,
          partial: true,
        },
        { fault: { fault: "reset-mid-stream", afterDeltas: 2 }, code: "provider_stream_broken", retryable: true, partial: true },
        { fault: { fault: "malformed-chunk", afterDeltas: 2 }, code: "provider_stream_broken", retryable: true, partial: true },
      ];
      for (const { fault, code, retryable, partial } of faultCases) {
        it(`maps the ${fault.fault} fault to ${code}${partial ? " after the first deltas" : ""}`, async () => {
          fakes[kind].setFaults(fault);
          const result = await collect(chat(kind, conversation));
          assert.ok(result.error instanceof ProviderError, `expected a ProviderError, got ${String(result.error)}`);
          assert.equal(result.error.code, code, result.error.message);
          assert.equal(result.error.retryable, retryable);
          assert.ok(
            result.error.message.includes(kind === "anthropic" ? "Anthropic" : kind === "groq" ? "Groq" : "Ollama") ||
              code === "provider_context_too_long",
            result.error.message,
          );
          if (fault.fault === "rate-limited") assert.equal(result.error.options.retryAfterMs, 3000);
          assert.equal(result.finish, undefined, "no finish after a failure");
          if (partial) assert.equal(result.deltas, 2, "the deltas before the fault were delivered");
          else assert.equal(result.deltas, 0);
        });
      }

      it("maps a wrong key on the models list to provider_invalid_key", async function () {
        if (kind === "ollama") this.skip(); // Ollama has no key
        await assert.rejects(
          adapter(kind, { apiKey: "wrong-key" }).listModels(),
          (error: unknown) => error instanceof ProviderError && error.code === "provider_invalid_key",
        );
      });

      it("maps a closed port to provider_unreachable, for chat and for the models list", async () => {
        const provider = adapter(kind, { baseUrl: await closedPortUrl() });
        const result = await collect(chat(kind, conversation, { provider }));
        assert.ok(result.error instanceof ProviderError);
        assert.equal(result.error.code, "provider_unreachable");
        assert.equal(result.error.retryable, true);
        await assert.rejects(
          provider.listModels(),
          (error: unknown) => error instanceof ProviderError && error.code === "provider_unreachable",
        );
      });

      it("gives up with provider_unreachable when the provider accepts the connection but never answers", async () => {
        const sockets = new Set<net.Socket>();
        const silent = net.createServer((socket) => sockets.add(socket));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        try {
          const provider = adapter(kind, {
            baseUrl: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
            connectTimeoutMs: 300,
          });
          const result = await collect(chat(kind, conversation, { provider }));
          assert.ok(result.error instanceof ProviderError, String(result.error));
          assert.equal(result.error.code, "provider_unreachable");
          assert.match(result.error.message, /did not answer/);
        } finally {
          for (const socket of sockets) socket.destroy();
          await new Promise<void>((resolve) => silent.close(() => resolve()));
        }
      });

      it("stops: aborting mid-answer closes the request to the provider and surfaces an AbortError", async () => {
        fakes[kind].setFaults({ fault: "stall", afterDeltas: 2 });
        const controller = new AbortController();
        const result = await collect(chat(kind, conversation, { signal: controller.signal }), (count) => {
          if (count === 2) controller.abort();
        });
        assert.ok(isAbortError(result.error), `expected an AbortError, got ${String(result.error)}`);
        assert.ok(!(result.error instanceof ProviderError));
        await fakes[kind].waitForRequest((request) => request.clientClosed, 2000);
      });

      it("stops before the answer starts, too (the request is closed, not left running)", async () => {
        fakes[kind].setTokenDelayMs(5_000);
        const controller = new AbortController();
        const stream = chat(kind, conversation, { signal: controller.signal });
        const done = collect(stream);
        await fakes[kind].waitForRequest(() => true, 2000);
        controller.abort();
        const result = await done;
        assert.ok(isAbortError(result.error), `expected an AbortError, got ${String(result.error)}`);
        await fakes[kind].waitForRequest((request) => request.clientClosed, 2000);
      });

      it("closes the request when the consumer stops iterating early", async () => {
        fakes[kind].setTokenDelayMs(50);
        for await (const event of chat(kind, conversation)) {
          if (event.type === "text-delta") break;
        }
        await fakes[kind].waitForRequest((request) => request.clientClosed, 2000);
      });
    });
  }

  describe("replaying recorded streams", () => {
    it("Anthropic: the recorded claude-sonnet-4-5 stream reassembles, with its usage and stop reason", async () => {
      fakes.anthropic.setReply("replay");
      const events = readFixtureLines("anthropic/anthropic-text.chunks.txt").map((line) => JSON.parse(line));
      const expectedText = events
        .filter((event) => event.type === "content_block_delta" && event.delta.type === "text_delta")
        .map((event) => event.delta.text)
        .join("");
      const lastDelta = events.filter((event) => event.type === "message_delta").at(-1);
      const result = await collect(chat("anthropic", conversation));
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.text, expectedText);
      assert.deepEqual(result.usage, {
        type: "usage",
        inputTokens: lastDelta.usage.input_tokens,
        outputTokens: lastDelta.usage.output_tokens,
        // reported (as 0): the recording made no use of the prompt cache
        cachedInputTokens: lastDelta.usage.cache_read_input_tokens,
      });
      assert.deepEqual(result.finish, { type: "finish", finishReason: "stop", finishReasonRaw: "end_turn" });
    });

    it("Groq: the recorded llama-3.3-70b stream reassembles, with usage from the final chunk", async () => {
      fakes.groq.setReply("replay");
      const chunks = readFixtureLines("groq/groq-text.chunks.txt").map((line) => JSON.parse(line));
      const expectedText = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("");
      const usage = chunks.at(-1).x_groq.usage;
      const result = await collect(chat("groq", conversation));
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.text, expectedText);
      // the recording says nothing of cached tokens: they stay unreported
      assert.deepEqual(result.usage, {
        type: "usage",
        inputTokens: usage.prompt_tokens,
        outputTokens: usage.completion_tokens,
        cachedInputTokens: undefined,
      });
      assert.deepEqual(result.finish, { type: "finish", finishReason: "stop", finishReasonRaw: "stop" });
    });

    it("Ollama: the documented answer streams back with prompt_eval_count / eval_count as usage", async () => {
      fakes.ollama.setReply("replay");
      const recorded = readFixtureJson("ollama/api-chat.nonstream.response.json") as {
        message: { content: string };
        prompt_eval_count: number;
        eval_count: number;
      };
      const result = await collect(chat("ollama", conversation));
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.text, recorded.message.content);
      assert.deepEqual(result.usage, { type: "usage", inputTokens: recorded.prompt_eval_count, outputTokens: recorded.eval_count });
      assert.equal(result.finish?.finishReason, "stop");
    });
  });

  describe("provider specifics", () => {
    it("Anthropic: sends system top-level and a conversation that starts with the user and alternates", async () => {
      fakes.anthropic.setRequiresAlternatingRoles(true);
      const turns: ChatTurn[] = [
        { role: "assistant", content: "Hello from another model", messageIds: ["a1"] },
        { role: "user", content: "one", messageIds: ["u1"] },
        { role: "user", content: "two", messageIds: ["u2"] },
      ];
      const result = await collect(chat("anthropic", turns, { system: "sys" }));
      assert.equal(result.error, undefined, String(result.error));
      const request = fakes.anthropic.requests.find((entry) => entry.path === "/v1/messages");
      const body = request?.body as { system: string; messages: Array<{ role: string; content: string }> };
      assert.equal(body.system, "sys");
      assert.deepEqual(body.messages, [
        { role: "user", content: "(conversation continues)" },
        { role: "assistant", content: "Hello from another model" },
        { role: "user", content: "one\n\ntwo" },
      ]);
    });

    it("Anthropic: follows the models list across pages", async () => {
      const many = Array.from({ length: 45 }, (_, index) => ({
        id: `claude-test-${String(index).padStart(2, "0")}`,
        displayName: `Claude Test ${index}`,
        createdAt: "2025-01-01T00:00:00Z",
        maxInputTokens: 100_000 + index,
        maxTokens: 8_000,
        lifecycle: "active" as const,
        line: null,
      }));
      fakes.anthropic.setModels(many);
      const models = await adapter("anthropic").listModels();
      assert.deepEqual(
        models.map((model) => model.name),
        many.map((model) => model.id),
      );
      assert.equal(models[44].contextWindow, 100_044);
      assert.equal(models[44].displayName, "Claude Test 44");
      const pages = fakes.anthropic.requests.filter((entry) => entry.path === "/v1/models");
      assert.ok(pages.length >= 3, `expected several pages, got ${pages.length}`);
    });

    it("Anthropic: leaves out retired models (listed for the record, but every request naming them fails)", async () => {
      const names = (await adapter("anthropic").listModels()).map((model) => model.name);
      const retired = defaultAnthropicModels.filter((model) => model.lifecycle === "retired").map((model) => model.id);
      assert.ok(retired.length > 0, "the fake knows a retired model");
      for (const name of retired) assert.ok(!names.includes(name), name);
      assert.ok(names.includes(chatModels.anthropic));
    });

    it("Groq: drops speech, text-to-speech and guard models from the list", async () => {
      const names = (await adapter("groq").listModels()).map((model) => model.name);
      assert.ok(names.includes("llama-3.3-70b-versatile"));
      for (const name of names) assert.doesNotMatch(name, /whisper|tts|guard/);
    });

    it("Ollama: context length from model_info, vision from capabilities, embedding-only models dropped", async () => {
      const models = await adapter("ollama").listModels();
      const byName = new Map(models.map((model) => [model.name, model]));
      assert.equal(byName.get("gemma3:latest")?.supportsVision, true);
      assert.equal(byName.get("llama3.2:latest")?.supportsVision, false);
      assert.equal(byName.get("llama3.2:latest")?.contextWindow, 131072);
      assert.equal(byName.has("nomic-embed-text:latest"), false);
      assert.ok(fakes.ollama.requests.some((entry) => entry.path === "/api/show"));
    });

    it("Ollama: asks for a context big enough for a long conversation instead of letting Ollama cut its start", async () => {
      const long: ChatTurn[] = [{ role: "user", content: "word ".repeat(8_000), messageIds: ["m1"] }];
      const result = await collect(chat("ollama", long, { maxOutputTokens: 500 }));
      assert.equal(result.error, undefined, String(result.error));
      const body = fakes.ollama.requests.find((entry) => entry.path === "/api/chat")?.body as {
        options: { num_ctx?: number; num_predict?: number };
      };
      assert.equal(body.options.num_predict, 500);
      assert.ok((body.options.num_ctx ?? 0) >= 16_384, `num_ctx ${body.options.num_ctx}`);
      // the whole prompt was read
      assert.ok((result.usage?.inputTokens ?? 0) > 4096);
    });

    it("Ollama: a short conversation leaves Ollama's context size alone (no model reload)", async () => {
      await collect(chat("ollama", conversation, { maxOutputTokens: 500 }));
      const body = fakes.ollama.requests.find((entry) => entry.path === "/api/chat")?.body as { options: { num_ctx?: number } };
      assert.equal(body.options.num_ctx, undefined);
    });
  });
});
