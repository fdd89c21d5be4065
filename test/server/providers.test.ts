import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { adminModelListResponseSchema } from "../../protocol/http/models";
import { providerListResponseSchema, providerResponseSchema, testConnectionResponseSchema } from "../../protocol/http/providers";
import { defaultAnthropicModels, startFakeProviders, type FakeProviders } from "../../tools/fake-providers";
import { registerUser, startTestServer, type TestResponse, type TestServer } from "../../tools/harness/test-server";
import { closedPortUrl } from "../../tools/harness/free-port";

describe("providers (admin): settings, keys, test connection", () => {
  // Keys unique to this run, so finding one anywhere cannot be a coincidence.
  const anthropicKey = `sk-ant-api03-${crypto.randomBytes(24).toString("hex")}`;
  const groqKey = `gsk_${crypto.randomBytes(24).toString("hex")}`;
  const wrongKey = `sk-ant-wrong-${crypto.randomBytes(24).toString("hex")}`;
  const secrets = [anthropicKey, groqKey, wrongKey];

  let fakes: FakeProviders;
  let server: TestServer;
  let adminToken: string;
  let memberToken: string;
  const responses: TestResponse[] = [];

  /** Every response of this suite is kept, to check afterwards that no key ever left the server. */
  async function call(method: string, apiPath: string, options: { body?: unknown; token?: string } = {}): Promise<TestResponse> {
    const response = await server.request(method, apiPath, options);
    responses.push(response);
    return response;
  }

  before(async () => {
    fakes = await startFakeProviders({ anthropic: { apiKey: anthropicKey }, groq: { apiKey: groqKey } });
    server = await startTestServer();
    adminToken = (await registerUser(server, "admin")).accessToken;
    memberToken = (await registerUser(server, "member")).accessToken;
  });

  afterEach(() => fakes.reset());

  after(async () => {
    await server?.dispose();
    await fakes?.close();
  });

  it("lists the three providers, off, without keys, at their public base URLs", async () => {
    const response = await call("GET", "/admin/providers", { token: adminToken });
    assert.equal(response.status, 200);
    const { providers } = providerListResponseSchema.parse(response.body);
    assert.deepEqual(
      providers.map((provider) => [
        provider.kind,
        provider.isActive,
        provider.hasKey,
        provider.keyMasked,
        provider.needsKey,
        provider.baseUrl,
      ]),
      [
        ["anthropic", false, false, null, true, "https://api.anthropic.com"],
        ["groq", false, false, null, true, "https://api.groq.com"],
        ["ollama", false, false, null, false, "http://localhost:11434"],
      ],
    );
    for (const provider of providers) {
      assert.equal(provider.modelCount, 0);
      assert.equal(provider.lastRefreshedAt, null);
      assert.equal(provider.lastError, null);
    }
  });

  it("refuses members (403) and anonymous callers (401) on every provider endpoint", async () => {
    const endpoints: Array<[string, string, unknown?]> = [
      ["GET", "/admin/providers"],
      ["PATCH", "/admin/providers/anthropic", { isActive: false }],
      ["POST", "/admin/providers/anthropic/test"],
      ["POST", "/admin/providers/anthropic/refresh-models"],
    ];
    for (const [method, apiPath, body] of endpoints) {
      const asMember = await call(method, apiPath, { token: memberToken, body });
      assert.equal(asMember.status, 403, `${method} ${apiPath}`);
      assert.equal(asMember.body.error.code, "forbidden");
      const anonymous = await call(method, apiPath, { body });
      assert.equal(anonymous.status, 401, `${method} ${apiPath}`);
    }
  });

  it("stores a key encrypted and shows it only masked (last 4 characters)", async () => {
    const response = await call("PATCH", "/admin/providers/anthropic", {
      token: adminToken,
      body: { apiKey: anthropicKey, baseUrl: `${fakes.anthropic.url}/v1/` },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const { provider } = providerResponseSchema.parse(response.body);
    assert.equal(provider.hasKey, true);
    assert.equal(provider.keyMasked, `••••${anthropicKey.slice(-4)}`);
    // pasted with the API path, stored as the base URL the SDK expects
    assert.equal(provider.baseUrl, fakes.anthropic.url);
    // its first key turns the provider on, and its models are read at once: the well-known ones are
    // visible to members without a visit to the model list (issue 13)
    assert.equal(provider.isActive, true);
    assert.notEqual(provider.lastRefreshedAt, null);
    assert.ok(provider.visibleModelCount > 0, JSON.stringify(provider));
    const memberModels = await call("GET", "/models", { token: memberToken });
    assert.equal(memberModels.status, 200);
    assert.ok(
      memberModels.body.models.some((model: { provider: string }) => model.provider === "anthropic"),
      "a member sees Anthropic's models",
    );
    // the admin's choice stands: turned off, it stays off when the key is saved again
    assert.equal(
      (await call("PATCH", "/admin/providers/anthropic", { token: adminToken, body: { isActive: false } })).body.provider.isActive,
      false,
    );
    const again = await call("PATCH", "/admin/providers/anthropic", { token: adminToken, body: { apiKey: anthropicKey } });
    assert.equal(again.body.provider.isActive, false);

    const row = await server.database("providers").where({ kind: "anthropic" }).first();
    assert.ok(typeof row.encrypted_key === "string" && row.encrypted_key.length > 0);
    assert.ok(!row.encrypted_key.includes(anthropicKey));
    assert.ok(!Buffer.from(JSON.stringify(row)).includes(anthropicKey));
    for (const part of row.encrypted_key.split(".")) {
      assert.ok(!Buffer.from(part, "base64").toString("latin1").includes(anthropicKey.slice(8)), "the key is not merely encoded");
    }
  });

  it("tests a connection while the provider is still off: ok with the model count", async () => {
    const response = await call("POST", "/admin/providers/anthropic/test", { token: adminToken });
    assert.equal(response.status, 200);
    const result = testConnectionResponseSchema.parse(response.body);
    assert.ok(result.ok, JSON.stringify(result));
    // retired models are listed only on request, and could not answer anyway
    assert.equal(result.modelCount, defaultAnthropicModels.filter((model) => model.lifecycle !== "retired").length);
    assert.ok(result.latencyMs >= 0);
    assert.ok(fakes.anthropic.requests.some((request) => request.path === "/v1/models"));
  });

  it("reports a wrong key as ok:false provider_invalid_key, in plain words (still a 200)", async () => {
    assert.equal((await call("PATCH", "/admin/providers/anthropic", { token: adminToken, body: { apiKey: wrongKey } })).status, 200);
    const response = await call("POST", "/admin/providers/anthropic/test", { token: adminToken });
    assert.equal(response.status, 200);
    const result = testConnectionResponseSchema.parse(response.body);
    assert.ok(!result.ok);
    assert.equal(result.error.code, "provider_invalid_key");
    assert.equal(result.error.message, "Anthropic rejected the API key — check it in Team Settings");
    // and a refresh with that key fails the same way, recorded as the provider's last error
    const refresh = await call("POST", "/admin/providers/anthropic/refresh-models", { token: adminToken });
    assert.equal(refresh.status, 502);
    assert.equal(refresh.body.error.code, "provider_invalid_key");
    const { providers } = providerListResponseSchema.parse((await call("GET", "/admin/providers", { token: adminToken })).body);
    assert.equal(providers[0].lastError?.code, "provider_invalid_key");
    // the right key again clears that stale error
    const fixed = await call("PATCH", "/admin/providers/anthropic", { token: adminToken, body: { apiKey: anthropicKey } });
    assert.equal(providerResponseSchema.parse(fixed.body).provider.lastError, null);
  });

  it("reports an unreachable base URL as ok:false provider_unreachable, and a refresh as 502", async () => {
    const unreachable = await closedPortUrl();
    assert.equal((await call("PATCH", "/admin/providers/ollama", { token: adminToken, body: { baseUrl: unreachable } })).status, 200);
    const response = await call("POST", "/admin/providers/ollama/test", { token: adminToken });
    assert.equal(response.status, 200);
    const result = testConnectionResponseSchema.parse(response.body);
    assert.ok(!result.ok);
    assert.equal(result.error.code, "provider_unreachable");
    assert.match(result.error.message, /Could not reach Ollama at http:\/\/127\.0\.0\.1:\d+: the connection was refused/);
    const refresh = await call("POST", "/admin/providers/ollama/refresh-models", { token: adminToken });
    assert.equal(refresh.status, 502);
    assert.equal(refresh.body.error.code, "provider_unreachable");
    assert.equal(refresh.body.error.retryable, true);
  });

  it("says a provider without a key is not configured: test ok:false, turning it on 409", async () => {
    const test = await call("POST", "/admin/providers/groq/test", { token: adminToken });
    assert.equal(test.status, 200);
    assert.deepEqual(test.body.ok, false);
    assert.equal(test.body.error.code, "provider_not_configured");
    const turnOn = await call("PATCH", "/admin/providers/groq", { token: adminToken, body: { isActive: true } });
    assert.equal(turnOn.status, 409);
    assert.equal(turnOn.body.error.code, "provider_not_configured");
    const refresh = await call("POST", "/admin/providers/groq/refresh-models", { token: adminToken });
    assert.equal(refresh.status, 409);
    assert.equal(refresh.body.error.code, "provider_not_configured");
  });

  it("turns a provider on with its key, and off again when the key is removed", async () => {
    const on = await call("PATCH", "/admin/providers/groq", {
      token: adminToken,
      body: { apiKey: groqKey, baseUrl: fakes.groq.url, isActive: true },
    });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    assert.equal(on.body.provider.isActive, true);
    const test = testConnectionResponseSchema.parse((await call("POST", "/admin/providers/groq/test", { token: adminToken })).body);
    assert.ok(test.ok, JSON.stringify(test));

    const removed = await call("PATCH", "/admin/providers/groq", { token: adminToken, body: { apiKey: null } });
    assert.equal(removed.status, 200);
    assert.equal(removed.body.provider.hasKey, false);
    assert.equal(removed.body.provider.keyMasked, null);
    assert.equal(removed.body.provider.isActive, false);
    const row = await server.database("providers").where({ kind: "groq" }).first();
    assert.equal(row.encrypted_key, null);
    await assert.rejects(
      server.services.providers.getChatProvider("groq"),
      (error: { code?: string }) => error.code === "provider_not_configured",
    );
  });

  it("uses a changed key right away (cached adapters are rebuilt)", async () => {
    await call("PATCH", "/admin/providers/groq", { token: adminToken, body: { apiKey: groqKey, isActive: true } });
    const before = await server.services.providers.getChatProvider("groq");
    assert.equal(await server.services.providers.getChatProvider("groq"), before, "the adapter is reused between sends");
    await call("PATCH", "/admin/providers/groq", { token: adminToken, body: { apiKey: wrongKey } });
    const test = testConnectionResponseSchema.parse((await call("POST", "/admin/providers/groq/test", { token: adminToken })).body);
    assert.ok(!test.ok);
    assert.equal(test.error.code, "provider_invalid_key");
    assert.notEqual(await server.services.providers.getChatProvider("groq"), before);
    await call("PATCH", "/admin/providers/groq", { token: adminToken, body: { apiKey: groqKey } });
  });

  it("refuses bad input with a 4xx naming the problem", async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ["/admin/providers/openai", { isActive: true }, 404, "not_found"],
      ["/admin/providers/anthropic", {}, 400, "validation_failed"],
      ["/admin/providers/anthropic", { baseUrl: "ftp://example.com" }, 400, "validation_failed"],
      ["/admin/providers/anthropic", { isActive: "yes" }, 400, "validation_failed"],
      ["/admin/providers/anthropic", { apiKey: "" }, 400, "validation_failed"],
      ["/admin/providers/ollama", { apiKey: "something" }, 400, "validation_failed"],
    ];
    for (const [apiPath, body, status, code] of cases) {
      const response = await call("PATCH", apiPath, { token: adminToken, body });
      assert.equal(response.status, status, `${apiPath} ${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, code);
    }
    assert.equal((await call("POST", "/admin/providers/nope/test", { token: adminToken })).status, 404);
    const notJson = await server.request("PATCH", "/admin/providers/anthropic", {
      token: adminToken,
      rawBody: "isActive=true",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(notJson.status, 415);
  });

  it("refreshes models through every endpoint and answers in the protocol's shapes", async () => {
    await call("PATCH", "/admin/providers/anthropic", {
      token: adminToken,
      body: { apiKey: anthropicKey, baseUrl: fakes.anthropic.url, isActive: true },
    });
    const refresh = await call("POST", "/admin/providers/anthropic/refresh-models", { token: adminToken });
    assert.equal(refresh.status, 200, JSON.stringify(refresh.body));
    adminModelListResponseSchema.parse(refresh.body);
    adminModelListResponseSchema.parse((await call("GET", "/admin/models", { token: adminToken })).body);
    providerListResponseSchema.parse((await call("GET", "/admin/providers", { token: adminToken })).body);
    assert.equal((await call("GET", "/models", { token: memberToken })).status, 200);
  });

  it("never puts a key in any response body, header or log line", () => {
    assert.ok(responses.length > 20);
    for (const response of responses) {
      const text = JSON.stringify(response.body) + JSON.stringify([...response.headers.entries()]);
      for (const secret of secrets) assert.ok(!text.includes(secret), `a key appeared in a response: ${text.slice(0, 200)}`);
    }
    assert.ok(server.logLines.length > 0);
    for (const line of server.logLines) {
      for (const secret of secrets) assert.ok(!line.includes(secret), `a key appeared in the log: ${line.slice(0, 200)}`);
    }
  });
});

describe("providers: keys at rest across restarts, and environment presets", () => {
  let fakes: FakeProviders;
  const anthropicKey = `sk-ant-api03-${crypto.randomBytes(24).toString("hex")}`;

  before(async () => {
    fakes = await startFakeProviders({ anthropic: { apiKey: anthropicKey } });
  });

  after(async () => {
    await fakes?.close();
  });

  function temporaryDataDirectory(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "juggler-providers-"));
  }

  it("keeps a key usable after a restart with the same data folder, and unreadable without its SECRET_KEY", async () => {
    const dataDirectory = temporaryDataDirectory();
    try {
      let server = await startTestServer({ dataDirectory });
      const { accessToken } = await registerUser(server, "admin");
      await server.request("PATCH", "/admin/providers/anthropic", {
        token: accessToken,
        body: { apiKey: anthropicKey, baseUrl: fakes.anthropic.url, isActive: true },
      });
      await server.close();

      server = await startTestServer({ dataDirectory });
      const signIn = await server.request("POST", "/auth/sign-in", { body: { name: "admin", password: "correct horse battery" } });
      const token = signIn.body.accessToken as string;
      const { providers } = providerListResponseSchema.parse((await server.request("GET", "/admin/providers", { token })).body);
      assert.equal(providers[0].hasKey, true);
      assert.equal(providers[0].isActive, true);
      const test = testConnectionResponseSchema.parse((await server.request("POST", "/admin/providers/anthropic/test", { token })).body);
      assert.ok(test.ok, JSON.stringify(test));
      await server.close();

      // another SECRET_KEY cannot open it: a clear error, never a crash or a garbled key sent out
      server = await startTestServer({ dataDirectory, environment: { SECRET_KEY: "x".repeat(48) } });
      const refused = await server.services.providers.getChatProvider("anthropic").then(
        () => undefined,
        (error: { code?: string; message?: string }) => error,
      );
      assert.equal(refused?.code, "provider_not_configured");
      assert.match(refused?.message ?? "", /SECRET_KEY/);
      const listed = await server.services.providers.testConnection("anthropic");
      assert.equal(listed.ok, false);
      await server.close();
    } finally {
      fs.rmSync(dataDirectory, { recursive: true, force: true });
    }
  });

  it("applies presets on every start, overwriting only what they set", async () => {
    const dataDirectory = temporaryDataDirectory();
    const presets = { ANTHROPIC_API_KEY: anthropicKey, ANTHROPIC_BASE_URL: fakes.anthropic.url, OLLAMA_BASE_URL: fakes.ollama.url };
    try {
      let server = await startTestServer({ dataDirectory, environment: presets });
      const { accessToken } = await registerUser(server, "admin");
      let providers = providerListResponseSchema.parse(
        (await server.request("GET", "/admin/providers", { token: accessToken })).body,
      ).providers;
      assert.deepEqual(
        providers.map((provider) => [provider.kind, provider.isActive, provider.hasKey, provider.baseUrl]),
        [
          ["anthropic", true, true, fakes.anthropic.url],
          ["groq", false, false, "https://api.groq.com"],
          ["ollama", true, false, fakes.ollama.url],
        ],
      );
      const row = await server.database("providers").where({ kind: "anthropic" }).first();
      assert.ok(!String(row.encrypted_key).includes(anthropicKey));
      // the admin turns Anthropic off and points Groq somewhere
      await server.request("PATCH", "/admin/providers/anthropic", { token: accessToken, body: { isActive: false } });
      await server.request("PATCH", "/admin/providers/groq", { token: accessToken, body: { baseUrl: "https://groq.example.com" } });
      await server.close();

      server = await startTestServer({ dataDirectory, environment: presets });
      const signIn = await server.request("POST", "/auth/sign-in", { body: { name: "admin", password: "correct horse battery" } });
      providers = providerListResponseSchema.parse(
        (await server.request("GET", "/admin/providers", { token: signIn.body.accessToken })).body,
      ).providers;
      // the preset key turns Anthropic on again; Groq keeps what the admin set
      assert.equal(providers[0].isActive, true);
      assert.equal(providers[1].baseUrl, "https://groq.example.com");
      const test = await server.services.providers.testConnection("anthropic");
      assert.ok(test.ok, JSON.stringify(test));
      for (const line of server.logLines) assert.ok(!line.includes(anthropicKey), line);
      await server.close();
    } finally {
      fs.rmSync(dataDirectory, { recursive: true, force: true });
    }
  });
});
