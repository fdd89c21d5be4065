import assert from "node:assert/strict";
import { HttpTransport } from "../../extension/src/server-client/http-transport";
import { SessionKeeper } from "../../extension/src/server-client/session-keeper";
import { MemoryTokenStore } from "../../extension/src/server-client/token-store";
import { PASSWORD, recordingFetch, startExtensionTestEnvironment, type ExtensionTestEnvironment } from "./extension-test-environment";

const ACCESS_TOKEN_TTL_SECONDS = 30;

describe("extension: SessionKeeper (the session and its tokens)", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;

  before(async () => {
    environment = await startExtensionTestEnvironment({ environment: { ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS) } });
  });

  after(async () => {
    await environment?.dispose();
  });

  /** A keeper over the session `name` signed in with (stored in a fresh token store). */
  async function keeperFor(name: string, fetchFunction = recordingFetch().fetch) {
    const tokenStore = new MemoryTokenStore();
    await environment.signedInClient(name, { tokenStore });
    const transport = new HttpTransport({ serverUrl: environment.server.url, fetch: fetchFunction }, 5_000);
    const keeper = new SessionKeeper({ transport, tokenStore, now: Date.now, refreshLeewayMs: 10_000 });
    return { keeper, transport, tokenStore };
  }

  it("restores the stored session once, however many ask at the same time", async () => {
    const { keeper } = await keeperFor("keeper-restores");
    const changes: string[] = [];
    keeper.onSessionChanged((session) => changes.push(session?.user.name ?? "none"));
    const restored = await Promise.all([keeper.restore(), keeper.restore(), keeper.getAccessToken()]);
    assert.equal(restored[0]?.user.name, "keeper-restores");
    assert.equal(restored[1], restored[0]);
    assert.equal(restored[2], restored[0]?.accessToken);
    assert.deepEqual(changes, ["keeper-restores"]);
  });

  it("authorises with one shared refresh when the token expired, and stores the rotated session", async () => {
    const recorder = recordingFetch();
    const { keeper, transport, tokenStore } = await keeperFor("keeper-refreshes", recorder.fetch);
    const before = await tokenStore.get();
    environment.advanceServerClock((ACCESS_TOKEN_TTL_SECONDS + 5) * 1000);
    const responses = await Promise.all(
      [1, 2, 3].map(() => keeper.sendAuthorized((token) => transport.send("GET", "/me", { token }), undefined)),
    );
    assert.deepEqual(
      responses.map((response) => response.status),
      [200, 200, 200],
    );
    assert.equal(recorder.requests.filter((request) => request.path === "/api/v1/auth/refresh").length, 1);
    assert.notEqual((await tokenStore.get())?.refreshToken, before?.refreshToken);
  });

  it("ends the session when the account is disabled: expired first, then changed, and the stored session goes", async () => {
    const { keeper, transport, tokenStore } = await keeperFor("keeper-disabled");
    await keeper.restore();
    const heard: string[] = [];
    keeper.onSessionExpired((error) => heard.push(`expired ${error.code}`));
    keeper.onSessionChanged((session) => heard.push(`changed ${session ? "signed in" : "none"}`));
    // A fresh admin token: another test moved the server's clock past the first one's lifetime.
    const admin = await environment.server.request("POST", "/auth/sign-in", { body: { name: "admin", password: PASSWORD } });
    const disabled = await environment.server.request("PATCH", `/admin/users/${keeper.user!.id}`, {
      token: admin.body.accessToken,
      body: { status: "disabled" },
    });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    await assert.rejects(keeper.sendAuthorized((token) => transport.send("GET", "/me", { token }), undefined));
    assert.deepEqual(heard, ["expired account_disabled", "changed none"]);
    assert.equal(keeper.current, undefined);
    assert.equal(await tokenStore.get(), undefined);
  });

  it("drops the session of a server the client no longer talks to", async () => {
    const { keeper } = await keeperFor("keeper-moves");
    await keeper.restore();
    const changes: Array<string | undefined> = [];
    keeper.onSessionChanged((session) => changes.push(session?.user.name));
    keeper.serverChanged(environment.server.url);
    assert.deepEqual(changes, [], "the same server keeps it");
    keeper.serverChanged("http://elsewhere.example");
    assert.deepEqual(changes, [undefined]);
    assert.equal(keeper.current, undefined);
  });
});
