import assert from "node:assert/strict";
import net from "node:net";
import { TeamServerClient } from "../../extension/src/server-client/team-server-client";
import { TeamServerError } from "../../extension/src/server-client/team-server-error";
import { MemoryTokenStore, type StoredSession } from "../../extension/src/server-client/token-store";
import { API_VERSION } from "../../protocol/http/meta";
import { startExtensionTestEnvironment, startStubServer, type ExtensionTestEnvironment } from "./extension-test-environment";

describe("extension: TeamServerClient", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;

  before(async () => {
    environment = await startExtensionTestEnvironment();
  });

  after(async () => {
    await environment?.dispose();
  });

  it("connects to a server of its API version and makes typed, validated calls", async () => {
    const client = await environment.signedInClient("typed-calls");
    const meta = await client.connect();
    assert.equal(meta.apiVersion, API_VERSION);
    assert.equal(client.user?.name, "typed-calls");

    const { models } = await client.call("listModels");
    assert.ok(models.some((model) => model.id === environment.models.anthropic[0]));
    const { conversation } = await client.call("createConversation", { body: { modelId: environment.models.anthropic[0] } });
    const detail = await client.call("getConversation", { params: { conversationId: conversation.id } });
    assert.equal(detail.conversation.id, conversation.id);
    assert.deepEqual(detail.messages, []);
    const page = await client.call("listConversations", { query: { limit: 10 } });
    assert.ok(page.conversations.some((listed) => listed.id === conversation.id));
    // 204 without a body
    assert.equal(await client.call("deleteConversation", { params: { conversationId: conversation.id } }), undefined);
  });

  it("registers, then signs in to learn the outcome: signed in, or the name not available (the server never says which)", async () => {
    const client = new TeamServerClient({ serverUrl: environment.server.url, tokenStore: new MemoryTokenStore() });
    const created = await client.register({ name: "newcomer", password: "a newcomer's password" });
    assert.equal(created.kind, "signed-in");
    assert.equal(client.user?.name, "newcomer");

    const other = new TeamServerClient({ serverUrl: environment.server.url, tokenStore: new MemoryTokenStore() });
    // the same name in other letters, and a look-alike with a Cyrillic е: neither is created
    for (const name of ["NEWCOMER", "nеwcomer"]) {
      assert.deepEqual(await other.register({ name, password: "someone else's password" }), { kind: "name-unavailable" });
    }
    assert.equal(other.isSignedIn, false);
  });

  it("turns error responses into TeamServerError with the server's code and status", async () => {
    const client = await environment.signedInClient("error-mapping");
    await assert.rejects(
      client.call("createConversation", { body: { modelId: "not a model id" } }),
      (error: unknown) =>
        error instanceof TeamServerError && error.status === 400 && error.code === "validation_failed" && error.message.length > 0,
    );
    await assert.rejects(
      client.call("getConversation", { params: { conversationId: "does-not-exist" } }),
      (error: unknown) => error instanceof TeamServerError && error.status === 404 && error.code === "not_found",
    );
    // a member is not an admin
    await assert.rejects(client.call("listProviders"), (error: unknown) => error instanceof TeamServerError && error.code === "forbidden");

    const signedOut = new TeamServerClient({ serverUrl: environment.server.url, tokenStore: new MemoryTokenStore() });
    await assert.rejects(
      signedOut.signIn({ name: "error-mapping", password: "wrong password" }),
      (error: unknown) => error instanceof TeamServerError && error.code === "invalid_credentials",
    );
    await assert.rejects(
      signedOut.call("listModels"),
      (error: unknown) => error instanceof TeamServerError && error.code === "not_signed_in",
    );
  });

  it("restores a stored session once for calls made at the same time", async () => {
    const tokenStore = new MemoryTokenStore();
    await environment.signedInClient("restores-once", { tokenStore });
    const restored = new TeamServerClient({ serverUrl: environment.server.url, tokenStore });
    // Both calls find no session in memory and read the store; neither may conclude "not signed in".
    const [me, models] = await Promise.all([restored.call("getMe"), restored.call("listModels")]);
    assert.equal(me.user.name, "restores-once");
    assert.ok(models.models.length > 0);
  });

  it("says plainly when the server cannot be reached", async () => {
    const port = await closedPort();
    const client = new TeamServerClient({ serverUrl: `http://127.0.0.1:${port}/`, tokenStore: new MemoryTokenStore() });
    await assert.rejects(client.connect(), (error: unknown) => {
      assert.ok(error instanceof TeamServerError);
      assert.equal(error.code, "offline");
      assert.equal(error.retryable, true);
      assert.match(error.message, new RegExp(`Can't reach the Juggler server at http://127\\.0\\.0\\.1:${port}\\.`));
      return true;
    });
  });

  it("refuses a server that speaks another API version, saying what to update", async () => {
    const stub = await startStubServer((request, response) => {
      assert.equal(request.url, "/api/v1/meta");
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ name: "juggler-team-server", serverVersion: "9.0.0", apiVersion: 99, registration: "open" }));
    });
    try {
      const client = new TeamServerClient({ serverUrl: stub.url, tokenStore: new MemoryTokenStore() });
      await assert.rejects(client.connect(), (error: unknown) => {
        assert.ok(error instanceof TeamServerError);
        assert.equal(error.code, "incompatible_server");
        assert.equal(
          error.message,
          `This Juggler server speaks API v99; this extension needs v${API_VERSION} — update the Juggler extension to talk to it.`,
        );
        return true;
      });
    } finally {
      await stub.close();
    }
  });

  it("refuses something that is not a Juggler server", async () => {
    const stub = await startStubServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html" });
      response.end("<html>a router's login page</html>");
    });
    try {
      const client = new TeamServerClient({ serverUrl: stub.url, tokenStore: new MemoryTokenStore() });
      await assert.rejects(
        client.connect(),
        (error: unknown) =>
          error instanceof TeamServerError && error.code === "incompatible_server" && /not a Juggler team server/.test(error.message),
      );
    } finally {
      await stub.close();
    }
  });

  it("rejects a response that does not match the protocol, and a non-JSON error page", async () => {
    const stub = await startStubServer((request, response) => {
      if (request.url === "/api/v1/models") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ models: [{ id: 42 }] }));
        return;
      }
      response.writeHead(502, { "content-type": "text/html" });
      response.end("<html>Bad Gateway</html>");
    });
    const session: StoredSession = {
      serverUrl: stub.url,
      user: { id: "u1", name: "someone", role: "member", status: "active", lastModelId: null, createdAt: new Date().toISOString() },
      accessToken: "token",
      accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString(),
      refreshToken: "refresh",
      refreshTokenExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    };
    try {
      const client = new TeamServerClient({ serverUrl: stub.url, tokenStore: new MemoryTokenStore(session) });
      await assert.rejects(
        client.call("listModels"),
        (error: unknown) => error instanceof TeamServerError && error.code === "invalid_response",
      );
      await assert.rejects(
        client.call("getMe"),
        (error: unknown) =>
          error instanceof TeamServerError && error.status === 502 && error.code === "invalid_response" && error.retryable,
      );
    } finally {
      await stub.close();
    }
  });

  it("signs out: the refresh token is revoked on the server and the stored session is gone", async () => {
    const tokenStore = new MemoryTokenStore();
    const client = await environment.signedInClient("signs-out", { tokenStore });
    const stored = await tokenStore.get();
    assert.ok(stored);
    await client.signOut();
    assert.equal(await tokenStore.get(), undefined);
    assert.equal(client.isSignedIn, false);
    const refresh = await environment.server.request("POST", "/auth/refresh", { body: { refreshToken: stored.refreshToken } });
    assert.equal(refresh.status, 401);
    assert.equal(refresh.body.error.code, "refresh_token_invalid");
  });
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
