import assert from "node:assert/strict";
import crypto from "node:crypto";
import { adminModelListResponseSchema, modelListResponseSchema } from "../../protocol/http/models";
import { providerListResponseSchema, testConnectionResponseSchema } from "../../protocol/http/providers";
import { startFakeProviders, type FakeProviders } from "../../tools/fake-providers";
import { createTestDatabase } from "../support/postgres";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";

/**
 * The provider and catalog queries on real PostgreSQL: booleans come back as true/false there
 * (0/1 on SQLite), counts as strings, and the preset upsert uses ON CONFLICT.
 */
describe("providers and catalog on PostgreSQL", function () {
  this.timeout(120_000);
  const groqKey = `gsk_${crypto.randomBytes(16).toString("hex")}`;
  let fakes: FakeProviders;
  let server: TestServer;
  let databaseUrl: string;

  before(async () => {
    fakes = await startFakeProviders({ groq: { apiKey: groqKey } });
    databaseUrl = await createTestDatabase();
    server = await startTestServer({ environment: { DATABASE_URL: databaseUrl, GROQ_API_KEY: groqKey, GROQ_BASE_URL: fakes.groq.url } });
  });

  after(async () => {
    await server?.dispose();
    await fakes?.close();
  });

  it("applies presets, refreshes, counts and serves visible models", async () => {
    const { accessToken } = await registerUser(server, "admin");
    const member = await registerUser(server, "member");
    const test = testConnectionResponseSchema.parse(
      (await server.request("POST", "/admin/providers/groq/test", { token: accessToken })).body,
    );
    assert.ok(test.ok, JSON.stringify(test));
    const refreshed = await server.request("POST", "/admin/providers/groq/refresh-models", { token: accessToken });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const models = adminModelListResponseSchema.parse(refreshed.body).models;
    assert.ok(models.every((model) => model.isAvailable === true && model.supportsVision === null));
    // The first refresh showed Groq's well-known chat models; the admin keeps one of them.
    const shownByDefault = models.filter((model) => model.isVisible).map((model) => model.id);
    assert.ok(shownByDefault.includes("groq:llama-3.3-70b-versatile"), shownByDefault.join());
    await server.request("PATCH", "/admin/models", {
      token: accessToken,
      body: { changes: shownByDefault.filter((id) => id !== "groq:llama-3.3-70b-versatile").map((id) => ({ id, isVisible: false })) },
    });
    // refresh again: nothing new, nothing gone, visibility kept (what the admin hid stays hidden)
    await server.request("POST", "/admin/providers/groq/refresh-models", { token: accessToken });
    const { providers } = providerListResponseSchema.parse((await server.request("GET", "/admin/providers", { token: accessToken })).body);
    assert.deepEqual(
      [providers[1].isActive, providers[1].hasKey, providers[1].modelCount, providers[1].visibleModelCount],
      [true, true, models.length, 1],
    );
    const list = modelListResponseSchema.parse((await server.request("GET", "/models", { token: member.accessToken })).body);
    assert.deepEqual(
      list.models.map((model) => model.id),
      ["groq:llama-3.3-70b-versatile"],
    );
  });

  it("reads the same state back after a restart", async () => {
    await server.close();
    server = await startTestServer({ dataDirectory: server.dataDirectory, environment: { DATABASE_URL: databaseUrl } });
    const list = await server.services.catalog.listVisibleModels();
    assert.deepEqual(
      list.models.map((model) => model.id),
      ["groq:llama-3.3-70b-versatile"],
    );
    const test = await server.services.providers.testConnection("groq");
    assert.ok(test.ok, JSON.stringify(test));
  });
});
