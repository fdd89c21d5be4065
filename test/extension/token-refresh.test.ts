import assert from "node:assert/strict";
import { TeamServerClient } from "../../extension/src/server-client/team-server-client";
import { TeamServerError } from "../../extension/src/server-client/team-server-error";
import { MemoryTokenStore } from "../../extension/src/server-client/token-store";
import { recordingFetch, startExtensionTestEnvironment, type ExtensionTestEnvironment } from "./extension-test-environment";

const ACCESS_TOKEN_TTL_SECONDS = 30;

describe("extension: access token refresh", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;

  before(async () => {
    environment = await startExtensionTestEnvironment({ environment: { ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS) } });
  });

  after(async () => {
    await environment?.dispose();
  });

  const countRefreshes = (requests: ReturnType<typeof recordingFetch>["requests"]) =>
    requests.filter((request) => request.path === "/api/v1/auth/refresh").length;

  it("refreshes once after the server says token_expired, retries the call, and stores the rotated tokens", async () => {
    const recorder = recordingFetch();
    const tokenStore = new MemoryTokenStore();
    const client = await environment.signedInClient("expired-once", { fetch: recorder.fetch, tokenStore });
    const before = await tokenStore.get();
    environment.advanceServerClock((ACCESS_TOKEN_TTL_SECONDS + 5) * 1000);

    const { user } = await client.call("getMe");

    assert.equal(user.name, "expired-once");
    assert.equal(countRefreshes(recorder.requests), 1);
    const meRequests = recorder.requests.filter((request) => request.path === "/api/v1/me");
    assert.deepEqual(
      meRequests.map((request) => request.status),
      [401, 200],
    );
    const after = await tokenStore.get();
    assert.ok(before && after);
    assert.notEqual(after.refreshToken, before.refreshToken, "the refresh token rotates");
    assert.notEqual(after.accessToken, before.accessToken);
  });

  it("refreshes before the call when the token is about to expire (no 401 round trip)", async () => {
    const recorder = recordingFetch();
    // The client's clock agrees with the server's here, so it sees the expiry coming.
    const client = await environment.signedInClient("expiring-soon", { fetch: recorder.fetch, now: environment.serverNow });
    environment.advanceServerClock((ACCESS_TOKEN_TTL_SECONDS - 5) * 1000); // within the 10 s leeway, not yet expired

    await client.call("listModels");

    assert.equal(countRefreshes(recorder.requests), 1);
    assert.equal(recorder.requests.filter((request) => request.status === 401).length, 0);
  });

  it("shares one refresh between concurrent calls", async () => {
    const recorder = recordingFetch();
    const client = await environment.signedInClient("concurrent", { fetch: recorder.fetch });
    environment.advanceServerClock((ACCESS_TOKEN_TTL_SECONDS + 5) * 1000);

    const results = await Promise.all([
      client.call("getMe"),
      client.call("listModels"),
      client.call("listConversations", { query: { limit: 5 } }),
      client.call("getMe"),
      client.call("listModels"),
    ]);

    assert.equal(results.length, 5);
    assert.equal(countRefreshes(recorder.requests), 1);
  });

  it("refreshes when the generation stream request meets an expired token", async () => {
    const client = await environment.signedInClient("stream-expiry");
    const model = environment.models.groq[0]!;
    const { conversation } = await client.call("createConversation", { body: { modelId: model } });
    const sent = await client.call("sendMessage", {
      params: { conversationId: conversation.id },
      body: { content: "hello", modelId: model },
    });
    environment.advanceServerClock((ACCESS_TOKEN_TTL_SECONDS + 5) * 1000);

    let text = "";
    let finalContent: string | undefined;
    for await (const event of client.streamGeneration(sent.assistantMessage.id)) {
      if (event.event === "text-delta") text += event.data.text;
      if (event.event === "generation-end") finalContent = event.data.message.content;
    }
    assert.ok(finalContent && finalContent.length > 0);
    assert.equal(text, finalContent);
  });

  it("when the refresh is refused: every call fails, onSessionExpired fires once and the stored session is deleted", async () => {
    const tokenStore = new MemoryTokenStore();
    const client = await environment.signedInClient("refused", { tokenStore });
    const stored = await tokenStore.get();
    assert.ok(stored);
    // Revoke the refresh token behind the client's back (as signing out elsewhere or an admin would).
    const revoked = await environment.server.request("POST", "/auth/sign-out", { body: { refreshToken: stored.refreshToken } });
    assert.equal(revoked.status, 204);
    environment.advanceServerClock((ACCESS_TOKEN_TTL_SECONDS + 5) * 1000);
    const expiries: TeamServerError[] = [];
    const changes: Array<unknown> = [];
    client.onSessionExpired((error) => expiries.push(error));
    client.onSessionChanged((session) => changes.push(session));

    const outcomes = await Promise.allSettled([client.call("getMe"), client.call("listModels"), client.call("getMe")]);

    for (const outcome of outcomes) {
      assert.equal(outcome.status, "rejected");
      assert.ok(outcome.reason instanceof TeamServerError);
    }
    assert.equal(expiries.length, 1);
    assert.equal(expiries[0]!.code, "refresh_token_invalid");
    assert.deepEqual(changes, [undefined]);
    assert.equal(client.isSignedIn, false);
    assert.equal(await tokenStore.get(), undefined);
    await assert.rejects(client.call("getMe"), (error: unknown) => error instanceof TeamServerError && error.code === "not_signed_in");
    assert.equal(expiries.length, 1, "no second prompt");
  });

  it("adopts a refresh another window already did instead of reusing the rotated refresh token", async () => {
    const sharedStore = new MemoryTokenStore();
    const recorder = recordingFetch();
    const firstWindow = await environment.signedInClient("two-windows", { tokenStore: sharedStore, fetch: recorder.fetch });
    // The second window starts from the same stored session (as after a reload).
    const secondWindow = new TeamServerClient({ serverUrl: environment.server.url, tokenStore: sharedStore, fetch: recorder.fetch });
    assert.ok(await secondWindow.restoreSession());
    environment.advanceServerClock((ACCESS_TOKEN_TTL_SECONDS + 5) * 1000);

    await firstWindow.call("getMe"); // refreshes and rotates the stored refresh token
    const { user } = await secondWindow.call("getMe"); // its access token is stale, its refresh token rotated away

    assert.equal(user.name, "two-windows");
    assert.equal(countRefreshes(recorder.requests), 1);
    assert.equal(secondWindow.isSignedIn, true);
  });
});
