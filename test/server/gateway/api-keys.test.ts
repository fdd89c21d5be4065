import assert from "node:assert/strict";
import { adminApiKeyListResponseSchema, apiKeyListResponseSchema, createApiKeyResponseSchema } from "../../../protocol/http/api-keys";
import { errorResponseSchema } from "../../../protocol/http/error-codes";
import { registerUser } from "../../../tools/harness/test-server";
import { chatRequests } from "../../support/chat-helpers";
import { anthropicErrorOf, createApiKey, openAiErrorOf, startGatewayFixture, type GatewayFixture } from "./gateway-fixture";

/**
 * Personal API keys: shown once, stored as a hash, accepted as `Authorization: Bearer` or
 * `x-api-key` on the gateway (and for reading one's own usage) and nowhere else; revocable by their
 * owner and by an admin, and refused at once when revoked or when their owner is disabled.
 */
describe("personal API keys", function () {
  this.timeout(30_000);
  let fixture: GatewayFixture;

  before(async () => {
    fixture = await startGatewayFixture();
  });
  after(async () => {
    await fixture?.dispose();
  });

  const chat = (key: string, headers: "bearer" | "x-api-key" = "bearer") =>
    fetch(`${fixture.server.url}/openai/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(headers === "bearer" ? { authorization: `Bearer ${key}` } : { "x-api-key": key }),
      },
      body: JSON.stringify({ model: fixture.models.groq[0], messages: [{ role: "user", content: "hi" }] }),
    });

  it("is shown once, listed by its prefix, and stored only as a hash", async () => {
    const created = createApiKeyResponseSchema.parse(await createApiKey(fixture.server, fixture.memberToken, "Continue"));
    assert.match(created.key, /^jgl_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.apiKey.prefix, created.key.slice(0, 8));
    const listed = apiKeyListResponseSchema.parse(
      (await fixture.server.request("GET", "/me/api-keys", { token: fixture.memberToken })).body,
    );
    const entry = listed.apiKeys.find((key) => key.id === created.apiKey.id);
    assert.ok(entry);
    assert.equal(entry.name, "Continue");
    assert.ok(!JSON.stringify(listed).includes(created.key), "the key is not in any list");
    const stored = JSON.stringify(await fixture.server.database("api_keys").select("*"));
    assert.ok(!stored.includes(created.key), "the database holds no key in clear");
    assert.ok(!fixture.server.logLines.join("\n").includes(created.key), "no log line holds a key");
  });

  it("is accepted as Authorization: Bearer and as x-api-key, and records when it was last used", async () => {
    const { key, apiKey } = await createApiKey(fixture.server, fixture.memberToken, "both-headers");
    assert.equal((await chat(key, "bearer")).status, 200);
    assert.equal((await chat(key, "x-api-key")).status, 200);
    const listed = (await fixture.server.request("GET", "/me/api-keys", { token: fixture.memberToken })).body.apiKeys;
    assert.ok(listed.find((entry: any) => entry.id === apiKey.id).lastUsedAt !== null);
  });

  it("refuses a revoked key at once, in each API's shape, before any provider is called", async () => {
    const { key, apiKey } = await createApiKey(fixture.server, fixture.memberToken, "to-revoke");
    assert.equal((await chat(key)).status, 200);
    const revoked = await fixture.server.request("DELETE", `/me/api-keys/${apiKey.id}`, { token: fixture.memberToken });
    assert.equal(revoked.status, 204);
    fixture.fakes.reset();
    await assert.rejects(
      fixture.openAi(key).chat.completions.create({ model: fixture.models.groq[0]!, messages: [{ role: "user", content: "x" }] }),
      (error: any) => {
        assert.equal(error.status, 401);
        assert.equal(openAiErrorOf(error).code, "invalid_api_key");
        return true;
      },
    );
    await assert.rejects(
      fixture
        .anthropic(key)
        .messages.create({ model: fixture.models.groq[0]!, max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
      (error: any) => {
        assert.equal(error.status, 401);
        assert.equal(anthropicErrorOf(error).type, "authentication_error");
        return true;
      },
    );
    assert.equal(chatRequests(fixture.fakes, "groq").length, 0);
    const listed = (await fixture.server.request("GET", "/me/api-keys", { token: fixture.memberToken })).body.apiKeys;
    assert.ok(listed.find((entry: any) => entry.id === apiKey.id).revokedAt !== null, "a revoked key stays listed, with the time");
    assert.equal(
      (await fixture.server.request("DELETE", `/me/api-keys/${apiKey.id}`, { token: fixture.memberToken })).status,
      204,
      "revoking twice is fine",
    );
  });

  it("refuses keys that are not this server's: unknown, malformed, an access token, none at all", async () => {
    const unknown = `jgl_${"A".repeat(43)}`;
    for (const presented of [unknown, "jgl_short", "sk-not-ours", fixture.memberToken]) {
      const response = await chat(presented);
      assert.equal(response.status, 401, presented.slice(0, 12));
      assert.equal(((await response.json()) as any).error.code, "invalid_api_key");
    }
    const anonymous = await fetch(`${fixture.server.url}/anthropic/v1/messages`, { method: "POST", body: "{}" });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as any).error.type, "authentication_error");
  });

  it("belongs to its owner: another member's key id is a 404 and the key keeps working", async () => {
    const other = await registerUser(fixture.server, "other-member");
    const theirs = await createApiKey(fixture.server, other.accessToken, "theirs");
    const attempt = await fixture.server.request("DELETE", `/me/api-keys/${theirs.apiKey.id}`, { token: fixture.memberToken });
    assert.equal(attempt.status, 404);
    assert.equal(errorResponseSchema.parse(attempt.body).error.code, "not_found");
    const mine = (await fixture.server.request("GET", "/me/api-keys", { token: fixture.memberToken })).body.apiKeys;
    assert.ok(!mine.some((entry: any) => entry.id === theirs.apiKey.id), "a member lists only their own keys");
    assert.equal((await chat(theirs.key)).status, 200);
  });

  it("lets an admin list everyone's keys with their owners and revoke any of them", async () => {
    const { key, apiKey } = await createApiKey(fixture.server, fixture.memberToken, "admin-revokes");
    const asMember = await fixture.server.request("GET", "/admin/api-keys", { token: fixture.memberToken });
    assert.equal(asMember.status, 403);
    const all = adminApiKeyListResponseSchema.parse(
      (await fixture.server.request("GET", "/admin/api-keys", { token: fixture.adminToken })).body,
    );
    const entry = all.apiKeys.find((candidate) => candidate.id === apiKey.id);
    assert.equal(entry?.userId, fixture.memberId);
    assert.equal(entry?.userName, "member");
    assert.equal((await fixture.server.request("DELETE", `/admin/api-keys/${apiKey.id}`, { token: fixture.adminToken })).status, 204);
    assert.equal((await chat(key)).status, 401);
    assert.equal(
      (await fixture.server.request("DELETE", "/admin/api-keys/00000000-0000-0000-0000-000000000000", { token: fixture.adminToken }))
        .status,
      404,
    );
  });

  it("stops working the moment its owner is disabled, and works again once re-enabled", async () => {
    const user = await registerUser(fixture.server, "soon-disabled");
    const { key } = await createApiKey(fixture.server, user.accessToken, "cli");
    assert.equal((await chat(key)).status, 200);
    const disable = await fixture.server.request("PATCH", `/admin/users/${user.user.id}`, {
      token: fixture.adminToken,
      body: { status: "disabled" },
    });
    assert.equal(disable.status, 200);
    const refused = await chat(key);
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as any).error.type, "permission_error");
    await fixture.server.request("PATCH", `/admin/users/${user.user.id}`, { token: fixture.adminToken, body: { status: "active" } });
    assert.equal((await chat(key)).status, 200);
  });

  it("reads its owner's usage but never manages the account", async () => {
    const { key } = await createApiKey(fixture.server, fixture.memberToken, "script");
    const headers = { authorization: `Bearer ${key}` };
    assert.equal((await fixture.server.request("GET", "/usage", { headers })).status, 200);
    assert.equal((await fixture.server.request("GET", "/me/usage-summary", { headers: { "x-api-key": key } })).status, 200);
    for (const [method, path] of [
      ["GET", "/me"],
      ["GET", "/me/api-keys"],
      ["POST", "/me/api-keys"],
      ["GET", "/conversations"],
      ["GET", "/admin/users"],
    ] as const) {
      const response = await fixture.server.request(method, path, { headers, body: method === "POST" ? { name: "x" } : undefined });
      assert.equal(response.status, 401, `${method} ${path}`);
    }
  });

  it("refuses a name that is empty or too long", async () => {
    for (const name of ["", "   ", "x".repeat(65)]) {
      const response = await fixture.server.request("POST", "/me/api-keys", { token: fixture.memberToken, body: { name } });
      assert.ok(response.status === 400 || response.status === 413, `${JSON.stringify(name)} → ${response.status}`);
    }
  });
});
