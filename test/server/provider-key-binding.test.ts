import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { SecretBox } from "../../server/src/services/secret-box";
import { providerResponseSchema, testConnectionResponseSchema } from "../../protocol/http/providers";
import { startFakeGroq, type FakeGroq } from "../../tools/fake-providers";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";
import { createTestDatabase } from "../support/postgres";

/**
 * Finding 1 of the hardening issue: an admin (or anyone who can change a provider's row) must not be
 * able to send the stored key to a host of their choosing. A stored key goes only to the base URL it
 * was saved with; changing the URL needs the key again in the same request.
 */
function describeKeyBinding(label: string, databaseUrl: () => Promise<string | undefined>) {
  describe(`provider keys are bound to their base URL (${label})`, function () {
    this.timeout(60_000);
    const groqKey = `gsk_${crypto.randomBytes(24).toString("hex")}`;
    let genuine: FakeGroq;
    let attacker: FakeGroq;
    let server: TestServer;
    let adminToken: string;
    let currentDatabaseUrl: string | undefined;
    const environment = () => (currentDatabaseUrl === undefined ? {} : { DATABASE_URL: currentDatabaseUrl });

    beforeEach(async () => {
      genuine = await startFakeGroq({ apiKey: groqKey });
      // the attacker's host accepts any key: it only wants to see one
      attacker = await startFakeGroq({});
      currentDatabaseUrl = await databaseUrl();
      server = await startTestServer({ environment: environment() });
      adminToken = (await registerUser(server, "admin")).accessToken;
      const saved = await server.request("PATCH", "/admin/providers/groq", {
        token: adminToken,
        body: { apiKey: groqKey, baseUrl: genuine.url, isActive: true },
      });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
    });

    afterEach(async () => {
      const dataDirectory = server?.dataDirectory;
      await server?.dispose();
      // a restarted server was given its folder, so dispose() leaves it
      if (dataDirectory) fs.rmSync(dataDirectory, { recursive: true, force: true });
      await genuine?.close();
      await attacker?.close();
    });

    const keySentTo = (fake: FakeGroq) =>
      fake.requests.some((request) => `${JSON.stringify(request.headers)} ${JSON.stringify(request.body ?? null)}`.includes(groqKey));

    it("refuses a new base URL without the key, and never sends the stored key there", async () => {
      const moved = await server.request("PATCH", "/admin/providers/groq", { token: adminToken, body: { baseUrl: attacker.url } });
      assert.equal(moved.status, 400, JSON.stringify(moved.body));
      assert.equal(moved.body.error.code, "validation_failed");
      assert.match(moved.body.error.message, /apiKey/);
      const test = testConnectionResponseSchema.parse(
        (await server.request("POST", "/admin/providers/groq/test", { token: adminToken, body: {} })).body,
      );
      assert.ok(test.ok, JSON.stringify(test));
      assert.equal(attacker.requests.length, 0);
      assert.ok(keySentTo(genuine), "the key still goes to the address it was saved with");
    });

    it("moves to a new base URL when the key is entered again, or with the key removed", async () => {
      const otherKey = `gsk_${crypto.randomBytes(24).toString("hex")}`;
      const moved = await server.request("PATCH", "/admin/providers/groq", {
        token: adminToken,
        body: { baseUrl: attacker.url, apiKey: otherKey },
      });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      await server.request("POST", "/admin/providers/groq/test", { token: adminToken, body: {} });
      assert.equal(keySentTo(attacker), false, "the old key never went to the new address");
      assert.ok(attacker.requests.some((request) => JSON.stringify(request.headers).includes(otherKey)));

      const cleared = await server.request("PATCH", "/admin/providers/groq", {
        token: adminToken,
        body: { baseUrl: genuine.url, apiKey: null },
      });
      assert.equal(providerResponseSchema.parse(cleared.body).provider.hasKey, false);
      // the same address written differently is no move: /openai/v1 is the SDK's own path
      await server.request("PATCH", "/admin/providers/groq", { token: adminToken, body: { apiKey: groqKey } });
      const same = await server.request("PATCH", "/admin/providers/groq", {
        token: adminToken,
        body: { baseUrl: `${genuine.url}/openai/v1/` },
      });
      assert.equal(same.status, 200, JSON.stringify(same.body));
    });

    it("does not send a stored key to an address written into the database behind the server's back", async () => {
      await server.database("providers").where({ kind: "groq" }).update({ base_url: attacker.url });
      const dataDirectory = server.dataDirectory;
      await server.close();
      // the same data folder (SECRET_KEY) and database: only the row's address changed
      server = await startTestServer({ dataDirectory, environment: environment() });
      adminToken = (await server.request("POST", "/auth/sign-in", { body: { name: "admin", password: "correct horse battery" } })).body
        .accessToken;
      const test = testConnectionResponseSchema.parse(
        (await server.request("POST", "/admin/providers/groq/test", { token: adminToken, body: {} })).body,
      );
      assert.equal(test.ok, false);
      if (!test.ok) assert.equal(test.error.code, "provider_not_configured");
      assert.equal(attacker.requests.length, 0);
    });

    it("binds a key stored by an older version (bound to its provider only) to the address it has at the upgrade", async () => {
      const secretKey = fs.readFileSync(path.join(server.dataDirectory, "secret.key"), "utf8").trim();
      await server
        .database("providers")
        .where({ kind: "groq" })
        .update({ encrypted_key: new SecretBox(secretKey).encrypt(groqKey, "groq") });
      const dataDirectory = server.dataDirectory;
      await server.close();
      server = await startTestServer({ dataDirectory, environment: environment() });
      const test = await server.services.providers.testConnection("groq");
      assert.ok(test.ok, JSON.stringify(test));
      const row = await server.database("providers").where({ kind: "groq" }).first();
      assert.throws(() => new SecretBox(secretKey).decrypt(row.encrypted_key, "groq"), "re-encrypted, bound to its address");
    });
  });
}

describeKeyBinding("SQLite", async () => undefined);

describeKeyBinding("PostgreSQL", createTestDatabase);
