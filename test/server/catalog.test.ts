import assert from "node:assert/strict";
import { adminModelListResponseSchema, modelListResponseSchema, type AdminModel } from "../../protocol/http/models";
import { providerListResponseSchema } from "../../protocol/http/providers";
import { defaultGroqModels, defaultOllamaModels, startFakeProviders, type FakeProviders } from "../../tools/fake-providers";
import { FAKE_API_KEYS } from "../../tools/harness/provider-setup";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";

describe("model catalog", () => {
  let fakes: FakeProviders;
  let server: TestServer;
  let adminToken: string;
  let memberToken: string;

  async function refresh(kind: string): Promise<AdminModel[]> {
    const response = await server.request("POST", `/admin/providers/${kind}/refresh-models`, { token: adminToken });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return adminModelListResponseSchema.parse(response.body).models;
  }

  async function setVisible(ids: string[], isVisible = true) {
    const response = await server.request("PATCH", "/admin/models", {
      token: adminToken,
      body: { changes: ids.map((id) => ({ id, isVisible })) },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return adminModelListResponseSchema.parse(response.body).models;
  }

  async function memberModelIds(): Promise<string[]> {
    const response = await server.request("GET", "/models", { token: memberToken });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return modelListResponseSchema.parse(response.body).models.map((model) => model.id);
  }

  before(async () => {
    fakes = await startFakeProviders();
    server = await startTestServer();
    adminToken = (await registerUser(server, "admin")).accessToken;
    memberToken = (await registerUser(server, "member")).accessToken;
    // Through the service, not PATCH /admin/providers: the route also reads a newly turned-on
    // provider's models at once (tested below), and this suite follows the catalog from empty.
    for (const kind of ["anthropic", "groq"] as const) {
      await server.services.providers.updateProvider(kind, { apiKey: FAKE_API_KEYS[kind], baseUrl: fakes[kind].url, isActive: true });
    }
    await server.services.providers.updateProvider("ollama", { baseUrl: fakes.ollama.url, isActive: true });
  });

  afterEach(() => fakes.reset());

  after(async () => {
    await server?.dispose();
    await fakes?.close();
  });

  it("starts empty: members see no models until an admin refreshes and shows some", async () => {
    const response = await server.request("GET", "/models", { token: memberToken });
    assert.deepEqual(modelListResponseSchema.parse(response.body), { models: [], refreshedAt: null });
  });

  it("refreshes Anthropic across pages of the models list; new models are hidden by default", async () => {
    const many = Array.from({ length: 45 }, (_, index) => ({
      id: `claude-page-${String(index).padStart(2, "0")}`,
      displayName: `Claude Page ${index}`,
      createdAt: "2025-01-01T00:00:00Z",
      maxInputTokens: 200_000,
      maxTokens: 64_000,
      lifecycle: "active" as const,
      line: null,
    }));
    fakes.anthropic.setModels(many);
    const models = await refresh("anthropic");
    assert.equal(models.length, 45);
    assert.ok(fakes.anthropic.requests.filter((request) => request.path === "/v1/models").length >= 3, "several pages were read");
    const first = models.find((model) => model.id === "anthropic:claude-page-00");
    assert.deepEqual(first, {
      id: "anthropic:claude-page-00",
      provider: "anthropic",
      name: "claude-page-00",
      displayName: "Claude Page 0",
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      supportsVision: null,
      isVisible: false,
      isAvailable: true,
    });
    assert.deepEqual(await memberModelIds(), []);
  });

  it("refreshes Groq without its speech, text-to-speech and guard models", async () => {
    const models = await refresh("groq");
    const names = models.map((model) => model.name);
    assert.ok(names.includes("llama-3.3-70b-versatile"));
    for (const name of names) assert.doesNotMatch(name, /whisper|tts|guard/);
    const llama = models.find((model) => model.name === "llama-3.3-70b-versatile");
    assert.equal(llama?.contextWindow, 131072);
    assert.equal(llama?.maxOutputTokens, 32768);
    assert.equal(llama?.displayName, "llama-3.3-70b-versatile");
  });

  it("refreshes Ollama with context length and vision from /api/show, leaving out embedding models", async () => {
    const models = await refresh("ollama");
    const byName = new Map(models.map((model) => [model.name, model]));
    const gemma = defaultOllamaModels.find((model) => model.name === "gemma3:latest");
    assert.equal(byName.get("gemma3:latest")?.contextWindow, gemma?.contextLength);
    assert.equal(byName.get("gemma3:latest")?.supportsVision, true);
    assert.equal(byName.get("llama3.2:latest")?.supportsVision, false);
    assert.equal(byName.has("nomic-embed-text:latest"), false);
    assert.equal(byName.get("llama3.2:latest")?.displayName, "llama3.2:latest");
  });

  it("shows a provider's well-known chat models on its first refresh only; what an admin hides stays hidden", async () => {
    // The refreshes above were each provider's first: Groq's Llama and GPT-OSS chat models and every
    // Ollama chat model are visible; none of the made-up Anthropic ids is a Claude Sonnet or Haiku.
    const shownByDefault = [
      "groq:llama-3.1-8b-instant",
      "groq:llama-3.3-70b-versatile",
      "groq:meta-llama/llama-4-scout-17b-16e-instruct",
      "groq:openai/gpt-oss-120b",
      "ollama:deepseek-r1:latest",
      "ollama:gemma3:latest",
      "ollama:llama3.2:latest",
    ];
    assert.deepEqual((await memberModelIds()).sort(), shownByDefault);
    await setVisible(["groq:llama-3.1-8b-instant"], false);
    // A later refresh (a new model appears too) neither shows the hidden one again nor the new one.
    fakes.groq.setModels([
      ...defaultGroqModels,
      { id: "llama-5-70b", ownedBy: "Meta", created: 1790000000, contextWindow: 131072, maxCompletionTokens: 32768, canChat: true },
    ]);
    const models = await refresh("groq");
    assert.equal(models.find((model) => model.id === "groq:llama-3.1-8b-instant")?.isVisible, false);
    assert.equal(models.find((model) => model.id === "groq:llama-5-70b")?.isVisible, false);
    fakes.groq.setModels(defaultGroqModels);
    await refresh("groq");
    assert.ok(!(await memberModelIds()).includes("groq:llama-3.1-8b-instant"));
    // The admin hides the rest: the tests below start from a catalog where nothing is visible.
    await setVisible(shownByDefault, false);
    assert.deepEqual(await memberModelIds(), []);
  });

  it("shows members exactly the models an admin made visible, with refreshedAt", async () => {
    await setVisible(["anthropic:claude-page-01", "groq:llama-3.3-70b-versatile", "ollama:gemma3:latest"]);
    const response = await server.request("GET", "/models", { token: memberToken });
    const list = modelListResponseSchema.parse(response.body);
    assert.deepEqual(
      list.models.map((model) => model.id),
      ["anthropic:claude-page-01", "groq:llama-3.3-70b-versatile", "ollama:gemma3:latest"],
    );
    assert.ok(list.refreshedAt !== null && !Number.isNaN(Date.parse(list.refreshedAt)));
    // members get no admin fields
    assert.equal("isVisible" in response.body.models[0], false);
    const { providers } = providerListResponseSchema.parse((await server.request("GET", "/admin/providers", { token: adminToken })).body);
    assert.deepEqual(
      providers.map((provider) => provider.visibleModelCount),
      [1, 1, 1],
    );
    assert.equal(providers[0].modelCount, 45);
    assert.ok(providers.every((provider) => provider.lastRefreshedAt !== null));
  });

  it("serves the members' list from memory, without calling any provider", async () => {
    for (let index = 0; index < 5; index += 1) await memberModelIds();
    assert.equal(fakes.anthropic.requests.length + fakes.groq.requests.length + fakes.ollama.requests.length, 0);
    // and resolves the model of a send the same way
    const model = await server.services.catalog.getVisibleModel("groq:llama-3.3-70b-versatile");
    assert.equal(model.contextWindow, 131072);
    assert.equal(fakes.groq.requests.length, 0);
  });

  it("hides a model again, and refuses a hidden or unknown model for a send", async () => {
    await setVisible(["anthropic:claude-page-01"], false);
    assert.deepEqual(await memberModelIds(), ["groq:llama-3.3-70b-versatile", "ollama:gemma3:latest"]);
    for (const id of ["anthropic:claude-page-01", "anthropic:no-such-model"]) {
      await assert.rejects(
        server.services.catalog.getVisibleModel(id),
        (error: { status?: number; code?: string }) => error.status === 400 && error.code === "model_unavailable",
      );
    }
  });

  it("answers an unknown model id with 404 and changes nothing; a malformed one with 400", async () => {
    const unknown = await server.request("PATCH", "/admin/models", {
      token: adminToken,
      body: {
        changes: [
          { id: "groq:llama-3.1-8b-instant", isVisible: true },
          { id: "groq:not-a-model", isVisible: true },
        ],
      },
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "not_found");
    assert.match(unknown.body.error.message, /groq:not-a-model/);
    assert.ok(!(await memberModelIds()).includes("groq:llama-3.1-8b-instant"), "the valid change in the same request was not applied");
    for (const body of [
      { changes: [] },
      { changes: [{ id: "openai:gpt", isVisible: true }] },
      { changes: [{ id: "groq:x", isVisible: "yes" }] },
      {},
    ]) {
      const response = await server.request("PATCH", "/admin/models", { token: adminToken, body });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.error.code, "validation_failed");
    }
  });

  it("marks models a provider no longer lists unavailable, keeps their visibility, and stops serving them", async () => {
    fakes.ollama.setModels(defaultOllamaModels.filter((model) => model.name !== "gemma3:latest"));
    const models = await refresh("ollama");
    const gemma = models.find((model) => model.name === "gemma3:latest");
    assert.equal(gemma?.isAvailable, false);
    assert.equal(gemma?.isVisible, true);
    assert.ok(!(await memberModelIds()).includes("ollama:gemma3:latest"));
    await assert.rejects(
      server.services.catalog.getVisibleModel("ollama:gemma3:latest"),
      (error: { code?: string }) => error.code === "model_unavailable",
    );

    // back in the list: served again, still visible
    fakes.ollama.setModels(defaultOllamaModels);
    await refresh("ollama");
    assert.ok((await memberModelIds()).includes("ollama:gemma3:latest"));
  });

  it("hides every model of a provider that is turned off, and shows them again when it is back on", async () => {
    await server.request("PATCH", "/admin/providers/groq", { token: adminToken, body: { isActive: false } });
    assert.deepEqual(await memberModelIds(), ["ollama:gemma3:latest"]);
    await assert.rejects(
      server.services.catalog.getVisibleModel("groq:llama-3.3-70b-versatile"),
      (error: { code?: string }) => error.code === "model_unavailable",
    );
    await server.request("PATCH", "/admin/providers/groq", { token: adminToken, body: { isActive: true } });
    assert.deepEqual(await memberModelIds(), ["groq:llama-3.3-70b-versatile", "ollama:gemma3:latest"]);
  });

  it("keeps the catalog when a refresh fails, and records the provider's error", async () => {
    fakes.groq.setFaults({ fault: "server-error", endpoint: "models" });
    const response = await server.request("POST", "/admin/providers/groq/refresh-models", { token: adminToken });
    assert.equal(response.status, 502);
    assert.equal(response.body.error.code, "provider_error");
    assert.deepEqual(await memberModelIds(), ["groq:llama-3.3-70b-versatile", "ollama:gemma3:latest"]);
    const { providers } = providerListResponseSchema.parse((await server.request("GET", "/admin/providers", { token: adminToken })).body);
    assert.equal(providers[1].lastError?.code, "provider_error");
    await refresh("groq");
    const after = providerListResponseSchema.parse((await server.request("GET", "/admin/providers", { token: adminToken })).body);
    assert.equal(after.providers[1].lastError, null);
  });

  it("lists every model for admins, and refuses members (403) on the admin model endpoints", async () => {
    const all = adminModelListResponseSchema.parse((await server.request("GET", "/admin/models", { token: adminToken })).body).models;
    assert.ok(all.length > 50);
    assert.ok(all.some((model) => !model.isVisible));
    assert.equal((await server.request("GET", "/admin/models", { token: memberToken })).status, 403);
    assert.equal(
      (await server.request("PATCH", "/admin/models", { token: memberToken, body: { changes: [{ id: "groq:x", isVisible: true }] } }))
        .status,
      403,
    );
    assert.equal((await server.request("GET", "/models")).status, 401);
  });

  it("keeps visibility across a restart (the database, not only memory)", async () => {
    await server.close();
    server = await startTestServer({ dataDirectory: server.dataDirectory });
    const signIn = await server.request("POST", "/auth/sign-in", { body: { name: "member", password: "correct horse battery" } });
    memberToken = signIn.body.accessToken;
    adminToken = (await server.request("POST", "/auth/sign-in", { body: { name: "admin", password: "correct horse battery" } })).body
      .accessToken;
    assert.deepEqual(await memberModelIds(), ["groq:llama-3.3-70b-versatile", "ollama:gemma3:latest"]);
  });
});

describe("model catalog: background refresh", () => {
  it("refreshes active providers on its own soon after start, and stops cleanly", async function () {
    this.timeout(30_000);
    const fakes = await startFakeProviders();
    const server = await startTestServer({
      environment: { CATALOG_REFRESH_MINUTES: "1", GROQ_API_KEY: FAKE_API_KEYS.groq, GROQ_BASE_URL: fakes.groq.url },
    });
    try {
      await fakes.groq.waitForRequest((request) => request.path === "/openai/v1/models", 15_000);
      const { accessToken } = await registerUser(server, "admin");
      let models: AdminModel[] = [];
      // the request arrived; its result is stored right after
      for (let attempt = 0; attempt < 50 && models.length === 0; attempt += 1) {
        models = adminModelListResponseSchema.parse((await server.request("GET", "/admin/models", { token: accessToken })).body).models;
        if (models.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(models.some((model) => model.id === "groq:llama-3.3-70b-versatile"));
      // providers that are off are left alone
      assert.equal(fakes.anthropic.requests.length, 0);
    } finally {
      await server.dispose();
      await fakes.close();
    }
  });
});

describe("model catalog: a provider's first refresh", () => {
  let fakes: FakeProviders;
  let server: TestServer;
  let adminToken: string;

  before(async () => {
    fakes = await startFakeProviders();
    server = await startTestServer();
    adminToken = (await registerUser(server, "admin")).accessToken;
  });

  after(async () => {
    await server?.dispose();
    await fakes?.close();
  });

  async function visibleIds(): Promise<string[]> {
    const response = await server.request("GET", "/models", { token: adminToken });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return modelListResponseSchema.parse(response.body).models.map((model) => model.id);
  }

  it("shows the newest Claude Sonnet and Haiku of Anthropic's list, not Opus and not older versions, as soon as its key is saved", async () => {
    // the key alone: no isActive, no Refresh models — what a new admin does in Team Settings
    const updated = await server.request("PATCH", "/admin/providers/anthropic", {
      token: adminToken,
      body: { apiKey: FAKE_API_KEYS.anthropic, baseUrl: fakes.anthropic.url },
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.body.provider.isActive, true);
    assert.equal(updated.body.provider.visibleModelCount, 2);
    assert.deepEqual(await visibleIds(), ["anthropic:claude-haiku-5-5", "anthropic:claude-sonnet-5-5"]);
  });

  it("counts Ollama's chat models the same way in Test connection and Refresh models (no embedding model)", async () => {
    await server.request("PATCH", "/admin/providers/ollama", { token: adminToken, body: { baseUrl: fakes.ollama.url, isActive: true } });
    const tested = await server.request("POST", "/admin/providers/ollama/test", { token: adminToken, body: {} });
    assert.equal(tested.status, 200, JSON.stringify(tested.body));
    const refreshed = await server.request("POST", "/admin/providers/ollama/refresh-models", { token: adminToken, body: {} });
    const models = adminModelListResponseSchema.parse(refreshed.body).models;
    const chatModels = defaultOllamaModels.filter((model) => model.capabilities.includes("completion"));
    assert.equal(tested.body.modelCount, chatModels.length);
    assert.equal(models.length, chatModels.length);
    assert.deepEqual(
      models.filter((model) => model.isVisible).map((model) => model.name),
      chatModels.map((model) => model.name).sort(),
    );
  });
});
