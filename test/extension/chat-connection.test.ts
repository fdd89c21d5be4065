import assert from "node:assert/strict";
import net from "node:net";
import { ChatConnection, type ChatConnectionListener, type ChatConnectionTiming } from "../../extension/src/chat/chat-connection";
import { TeamServerClient } from "../../extension/src/server-client/team-server-client";
import { TeamServerError } from "../../extension/src/server-client/team-server-error";
import { MemoryTokenStore, type StoredSession } from "../../extension/src/server-client/token-store";
import {
  PASSWORD,
  startExtensionTestEnvironment,
  startStubServer,
  startSwitchableProxy,
  waitUntil,
  type ExtensionTestEnvironment,
} from "./extension-test-environment";

function sessionFor(serverUrl: string): StoredSession {
  return {
    serverUrl,
    user: { id: "u1", name: "someone", role: "member", status: "active", lastModelId: null, createdAt: new Date().toISOString() },
    accessToken: "token",
    accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString(),
    refreshToken: "refresh",
    refreshTokenExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
  };
}

describe("extension: ChatConnection (the chat's connection and account)", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;
  const connections: ChatConnection[] = [];

  before(async () => {
    environment = await startExtensionTestEnvironment();
  });

  afterEach(() => {
    for (const connection of connections.splice(0)) connection.dispose();
  });

  after(async () => {
    await environment?.dispose();
  });

  /** A connection whose listener records what it heard, in order. */
  function connect(client: TeamServerClient, timing?: ChatConnectionTiming): { connection: ChatConnection; heard: string[] } {
    const heard: string[] = [];
    const listener: ChatConnectionListener = {
      accountLoaded: (models, user) => heard.push(`account ${user.name} with ${models.length} models`),
      ready: async () => {
        heard.push("ready");
      },
      accountChanged: () => heard.push("account changed"),
      stateChanged: () => heard.push(`state ${connection.state}`),
      userChanged: () => heard.push("user changed"),
      modelsLoaded: (models) => heard.push(`models ${models.length}`),
    };
    const connection: ChatConnection = new ChatConnection(client, listener, undefined, timing);
    connections.push(connection);
    return { connection, heard };
  }

  function modelCount(): number {
    return environment.models.anthropic.length + environment.models.groq.length + environment.models.ollama.length;
  }

  async function setVisibility(modelId: string, isVisible: boolean): Promise<void> {
    const response = await environment.server.request("PATCH", "/admin/models", {
      token: environment.adminToken,
      body: { changes: [{ id: modelId, isVisible }] },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
  }

  it("starts signed out without a stored session, and says so to operations", async () => {
    const client = new TeamServerClient({ serverUrl: environment.server.url, tokenStore: new MemoryTokenStore() });
    const { connection, heard } = connect(client);
    await connection.start();
    assert.equal(connection.state, "signed-out");
    assert.deepEqual(heard, ["state signed-out"]);
    assert.throws(
      () => connection.requireReady(),
      (error: unknown) => error instanceof TeamServerError && error.code === "not_signed_in",
    );
  });

  it("connects a stored session: the account is loaded before the state says ready, then ready runs", async () => {
    const tokenStore = new MemoryTokenStore();
    await environment.signedInClient("connects", { tokenStore });
    const client = new TeamServerClient({ serverUrl: environment.server.url, tokenStore });
    const { connection, heard } = connect(client);
    await connection.start();
    assert.equal(connection.state, "ready");
    assert.deepEqual(heard, [
      "state connecting",
      `account connects with ${environment.models.anthropic.length + environment.models.groq.length + environment.models.ollama.length} models`,
      "state ready",
      "ready",
    ]);
    connection.requireReady();
  });

  it("refuses a server of another API version with a banner that opens the settings", async () => {
    const stub = await startStubServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ name: "juggler-team-server", serverVersion: "9.0.0", apiVersion: 99, registration: "open" }));
    });
    try {
      const client = new TeamServerClient({ serverUrl: stub.url, tokenStore: new MemoryTokenStore(sessionFor(stub.url)) });
      const { connection } = connect(client);
      await connection.start();
      assert.equal(connection.state, "incompatible-server");
      assert.equal(connection.banner?.action?.command, "openSettings");
      assert.throws(
        () => connection.requireReady(),
        (error: unknown) => error instanceof TeamServerError && error.code === "incompatible_server" && /API v99/.test(error.message),
      );
    } finally {
      await stub.close();
    }
  });

  it("goes offline with a Retry banner when the server cannot be reached", async () => {
    const port = await closedPort();
    const serverUrl = `http://127.0.0.1:${port}`;
    const client = new TeamServerClient({ serverUrl, tokenStore: new MemoryTokenStore(sessionFor(serverUrl)), requestTimeoutMs: 2_000 });
    const { connection } = connect(client);
    await connection.start();
    assert.equal(connection.state, "offline");
    assert.equal(connection.banner?.action?.command, "retryConnection");
    assert.match(connection.banner?.message ?? "", /Can't reach the Juggler server/);
    assert.throws(
      () => connection.requireReady(),
      (error: unknown) => error instanceof TeamServerError && error.code === "offline" && error.retryable,
    );
  });

  it("goes offline as soon as a request cannot reach the server, stays so quietly, and connects again by itself once it is back", async () => {
    const proxy = await startSwitchableProxy(environment.server.url);
    try {
      await environment.signedInClient("comes-and-goes");
      const client = new TeamServerClient({ serverUrl: proxy.url, tokenStore: new MemoryTokenStore() });
      await client.signIn({ name: "comes-and-goes", password: PASSWORD });
      const { connection, heard } = connect(client, { checkIntervalMs: 0, reconnectDelayMs: 20, maxReconnectDelayMs: 60 });
      await connection.start();
      assert.equal(connection.state, "ready");

      await proxy.goDown();
      await assert.rejects(
        client.call("listConversations"),
        (error: unknown) => error instanceof TeamServerError && error.code === "offline",
      );
      // Right away, not at some later check: the status bar must not show a model of a server that is gone.
      assert.equal(connection.state, "offline");
      assert.equal(connection.banner?.action?.command, "retryConnection");
      const heardWhenOffline = heard.length;
      // Several attempts to connect again fail meanwhile; none of them makes the state flicker.
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.deepEqual(heard.slice(heardWhenOffline - 1), ["state offline"]);

      await proxy.comeBack();
      await waitUntil(() => connection.state === "ready", "connected again by itself");
      assert.deepEqual(heard.slice(heardWhenOffline, heardWhenOffline + 1), [`account comes-and-goes with ${modelCount()} models`]);
      assert.equal(heard.at(-1), "ready");
      assert.equal(connection.banner, null);
    } finally {
      await proxy.close();
    }
  });

  it("checks a connected server on its own: hears the models an admin changed, and notices when nobody uses a server that went away", async () => {
    const proxy = await startSwitchableProxy(environment.server.url);
    const hiddenId = environment.models.groq[0]!;
    try {
      await environment.signedInClient("watches");
      const client = new TeamServerClient({ serverUrl: proxy.url, tokenStore: new MemoryTokenStore(), requestTimeoutMs: 2_000 });
      await client.signIn({ name: "watches", password: PASSWORD });
      const { connection, heard } = connect(client, { checkIntervalMs: 30, reconnectDelayMs: 60_000, maxReconnectDelayMs: 60_000 });
      await connection.start();
      await waitUntil(() => heard.includes(`models ${modelCount()}`), "a check");
      await setVisibility(hiddenId, false);
      await waitUntil(() => heard.includes(`models ${modelCount() - 1}`), "the check after the admin hid a model");
      await proxy.goDown();
      await waitUntil(() => connection.state === "offline", "offline without any request of the user's");
      assert.match(connection.banner?.message ?? "", /Can't reach the Juggler server/);
    } finally {
      await setVisibility(hiddenId, true);
      await proxy.close();
    }
  });

  it("asks to sign in again when the session ends, and forgets the account when someone else signs in", async () => {
    const tokenStore = new MemoryTokenStore();
    const client = await environment.signedInClient("expires", { tokenStore });
    const { connection, heard } = connect(client);
    await connection.start();
    const userId = client.user!.id;
    await environment.server.request("PATCH", `/admin/users/${userId}`, { token: environment.adminToken, body: { status: "disabled" } });
    await assert.rejects(client.call("getMe"));
    await waitUntil(() => connection.state === "needs-sign-in", "the session to end");
    assert.equal(connection.banner?.action?.command, "signIn");
    assert.ok(!heard.includes("account changed"), "an ended session keeps the conversation on screen");

    await environment.server.request("PATCH", `/admin/users/${userId}`, { token: environment.adminToken, body: { status: "active" } });
    await environment.signedInClient("someone-else");
    await client.signIn({ name: "someone-else", password: PASSWORD });
    await waitUntil(() => connection.state === "ready", "connected as the other account");
    assert.ok(heard.includes("account changed"));
    assert.equal(connection.banner, null);
  });
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
