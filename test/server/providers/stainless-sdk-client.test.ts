import assert from "node:assert/strict";
import http from "node:http";
import type Anthropic from "@anthropic-ai/sdk";
import type Groq from "groq-sdk";
import type { ProviderKind } from "../../../protocol/http/providers";
import { isAbortError } from "../../../server/src/providers/abort-error";
import { ProviderError } from "../../../server/src/providers/chat-provider";
import type { ProviderCallContext } from "../../../server/src/providers/map-provider-error";
import { StainlessSdkClient, type StainlessSdk } from "../../../server/src/providers/stainless-sdk-client";
import { closedPortUrl } from "../../../tools/harness/free-port";
import { closeLoopbackServer, listenOnLoopback } from "../../../tools/harness/loopback-server";

/**
 * The SDK client the Anthropic and Groq adapters list models with, with each real SDK against a local HTTP
 * server that answers what each case needs: one client per connection, no retries of its own, a
 * connect timeout, and every kind of failure turned into the same ProviderError.
 */
const apiKey = "sk-test-0123456789abcdefSECRET";

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before sending the headers. */
  delayMs?: number;
}

/** Per SDK: how to load it and one request that lists models (the streamed answers go through provider-event-stream.ts). */
interface SdkCase<Client> {
  kind: Extract<ProviderKind, "anthropic" | "groq">;
  load: () => Promise<StainlessSdk<Client>>;
  listModels: (client: Client, signal?: AbortSignal) => Promise<unknown>;
}

const anthropic: SdkCase<Anthropic> = {
  kind: "anthropic",
  load: () => import("@anthropic-ai/sdk"),
  listModels: async (client, signal) => {
    for await (const model of client.models.list({}, { signal })) void model;
  },
};

const groq: SdkCase<Groq> = {
  kind: "groq",
  load: () => import("groq-sdk"),
  listModels: (client, signal) => client.models.list({ signal }),
};

for (const sdkCase of [anthropic, groq] as Array<SdkCase<unknown>>) {
  describe(`StainlessSdkClient with the ${sdkCase.kind} SDK`, function () {
    let server: http.Server;
    let baseUrl: string;
    let answer: Answer = { status: 200 };
    let requestCount = 0;

    before(async () => {
      server = http.createServer((request, response) => {
        requestCount += 1;
        request.resume();
        const send = () => {
          if (response.destroyed) return;
          response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
          response.end(answer.body ?? "");
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
      });
      baseUrl = await listenOnLoopback(server);
    });

    after(() => closeLoopbackServer(server));

    beforeEach(() => {
      requestCount = 0;
      answer = { status: 200 };
    });

    function clientFor(url = baseUrl, connectTimeoutMs = 5_000) {
      return new StainlessSdkClient(sdkCase.load, { baseUrl: url, apiKey, connectTimeoutMs });
    }

    const context = (url = baseUrl): ProviderCallContext => ({ kind: sdkCase.kind, baseUrl: url, secrets: [apiKey] });

    /** Runs `call` and returns what toProviderError makes of its failure. */
    async function failureOf(
      sdkClient: StainlessSdkClient<unknown>,
      call: (client: unknown) => Promise<unknown>,
      phase: "request" | "stream" = "request",
      signal?: AbortSignal,
      url?: string,
    ): Promise<Error> {
      const client = await sdkClient.get();
      try {
        await call(client);
      } catch (error) {
        return sdkClient.toProviderError(error, context(url), phase, signal);
      }
      assert.fail("the call was expected to fail");
    }

    it("builds one client per connection, even when first asked twice at once", async () => {
      const sdkClient = clientFor();
      const [first, second] = await Promise.all([sdkClient.get(), sdkClient.get()]);
      assert.equal(first, second);
      assert.equal(await sdkClient.get(), first);
      assert.notEqual(await clientFor().get(), first, "another connection gets its own client");
    });

    it("sends the key and does not retry by itself: a 429 is one request, mapped with its retry-after", async () => {
      let authorization: string | undefined;
      server.once("request", (request: http.IncomingMessage) => {
        authorization = request.headers.authorization ?? request.headers["x-api-key"]?.toString();
      });
      answer = {
        status: 429,
        headers: { "retry-after": "2" },
        body: JSON.stringify({ error: { type: "rate_limit_error", message: "slow down", code: "rate_limit_exceeded" } }),
      };
      const error = await failureOf(clientFor(), sdkCase.listModels);
      assert.equal(requestCount, 1, "the generation job retries, never the SDK");
      assert.ok(authorization?.includes(apiKey), "the key goes in the request");
      assert.ok(error instanceof ProviderError);
      assert.equal(error.code, "provider_rate_limited");
      assert.equal(error.retryable, true);
      assert.equal(error.options.retryAfterMs, 2_000);
    });

    it("maps an HTTP error by its status and body, and never repeats the key the provider echoed", async () => {
      answer = { status: 401, body: JSON.stringify({ error: { type: "authentication_error", message: `invalid x-api-key ${apiKey}` } }) };
      const unauthorized = await failureOf(clientFor(), sdkCase.listModels);
      assert.ok(unauthorized instanceof ProviderError);
      assert.equal(unauthorized.code, "provider_invalid_key");
      assert.equal(unauthorized.retryable, false);
      assert.ok(!JSON.stringify({ message: unauthorized.message, ...unauthorized.options, cause: undefined }).includes(apiKey));

      answer = { status: 500, body: JSON.stringify({ error: { type: "api_error", message: "Internal server error" } }) };
      const serverError = await failureOf(clientFor(), sdkCase.listModels);
      assert.ok(serverError instanceof ProviderError);
      assert.equal(serverError.code, "provider_error");
      assert.equal(serverError.retryable, true);
      assert.equal(serverError.options.status, 500);
    });

    it("gives up on a provider that sends no headers within the connect timeout: provider_unreachable, naming the wait", async () => {
      answer = { status: 200, body: "{}", delayMs: 2_000 };
      const error = await failureOf(clientFor(baseUrl, 200), sdkCase.listModels);
      assert.ok(error instanceof ProviderError);
      assert.equal(error.code, "provider_unreachable");
      assert.match(error.message, /did not answer within 1 second/);
    });

    it("maps a refused connection to provider_unreachable", async () => {
      const url = await closedPortUrl();
      const error = await failureOf(clientFor(url), sdkCase.listModels, "request", undefined, url);
      assert.ok(error instanceof ProviderError);
      assert.equal(error.code, "provider_unreachable");
      assert.match(error.message, /refused/);
    });

    it("reports a stop as an abort, not a provider failure", async () => {
      answer = { status: 200, body: "{}", delayMs: 2_000 };
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const error = await failureOf(clientFor(), (client) => sdkCase.listModels(client, controller.signal), "request", controller.signal);
      assert.ok(isAbortError(error), String(error));
      assert.ok(!(error instanceof ProviderError));
    });

    it("maps what is not an SDK error: a cut-off chunk, a socket closed mid-stream, anything else passes through", async () => {
      const sdkClient = clientFor();
      await sdkClient.get();
      const malformed = sdkClient.toProviderError(new SyntaxError("Unexpected end of JSON input"), context(), "stream", undefined);
      assert.ok(malformed instanceof ProviderError);
      assert.equal(malformed.code, "provider_stream_broken");

      const terminated = sdkClient.toProviderError(new TypeError("terminated"), context(), "stream", undefined);
      assert.ok(terminated instanceof ProviderError);
      assert.equal(terminated.code, "provider_stream_broken");

      const ownError = new ProviderError("provider_model_not_found", "no such model", false);
      assert.equal(sdkClient.toProviderError(ownError, context(), "request", undefined), ownError);
      const bug = new TypeError("cannot read properties of undefined");
      assert.equal(
        sdkClient.toProviderError(bug, context(), "request", undefined),
        bug,
        "a bug in the request phase is not a network failure",
      );
      const thrown = sdkClient.toProviderError("a string", context(), "request", undefined);
      assert.ok(thrown instanceof Error);
      assert.equal(thrown.message, "a string");
    });
  });
}
