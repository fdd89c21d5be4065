import assert from "node:assert/strict";
import { sessionResponseSchema } from "../../protocol/http/accounts";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { registerUser, startTestServer, type TestResponse, type TestServer } from "../../tools/harness/test-server";
import { createTestDatabase } from "../support/postgres";

const password = "correct horse battery";

function assertError(response: TestResponse, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status} ${JSON.stringify(response.body)}`);
  assert.equal(errorResponseSchema.parse(response.body).error.code, code);
}

/**
 * Finding 5 of the hardening issue: an access token belongs to its session (its refresh-token
 * family). When the session ends — sign-out, reuse of a rotated refresh token — its access tokens
 * stop working at once, not when they expire up to 15 minutes later.
 */
function describeSessionEnd(label: string, environment: () => Promise<Record<string, string>>) {
  describe(`access tokens end with their session (${label})`, function () {
    this.timeout(60_000);
    let server: TestServer;

    beforeEach(async () => {
      server = await startTestServer({ environment: await environment() });
    });

    afterEach(async () => {
      await server?.dispose();
    });

    const me = (token: string) => server.request("GET", "/me", { token });
    const signIn = async () =>
      sessionResponseSchema.parse((await server.request("POST", "/auth/sign-in", { body: { name: "ada", password } })).body);

    it("refuses the access token of a session that signed out, at once, and keeps other sessions working", async () => {
      await registerUser(server, "ada");
      const laptop = await signIn();
      const desktop = await signIn();
      // used once, so a cached "still valid" answer would be there to be wrong
      assert.equal((await me(laptop.accessToken)).status, 200);

      assert.equal((await server.request("POST", "/auth/sign-out", { body: { refreshToken: laptop.refreshToken } })).status, 204);
      assertError(await me(laptop.accessToken), 401, "unauthenticated");
      assert.equal((await me(desktop.accessToken)).status, 200);
    });

    it("refuses every access token of a family revoked for the reuse of a rotated refresh token", async () => {
      await registerUser(server, "ada");
      const first = await signIn();
      const rotated = sessionResponseSchema.parse(
        (await server.request("POST", "/auth/refresh", { body: { refreshToken: first.refreshToken } })).body,
      );
      assert.equal((await me(rotated.accessToken)).status, 200);
      assert.equal((await me(first.accessToken)).status, 200, "a rotation alone ends nothing");

      // a stolen copy of the first refresh token comes back: the family ends, and with it both access tokens
      assertError(
        await server.request("POST", "/auth/refresh", { body: { refreshToken: first.refreshToken } }),
        401,
        "refresh_token_invalid",
      );
      assertError(await me(rotated.accessToken), 401, "unauthenticated");
      assertError(await me(first.accessToken), 401, "unauthenticated");
    });

    it("refuses reads and writes alike with the ended session's token", async () => {
      await registerUser(server, "ada");
      const session = await signIn();
      assert.equal((await server.request("GET", "/conversations", { token: session.accessToken })).status, 200);
      await server.request("POST", "/auth/sign-out", { body: { refreshToken: session.refreshToken } });
      assertError(await server.request("GET", "/conversations", { token: session.accessToken }), 401, "unauthenticated");
      assertError(await server.request("POST", "/conversations", { token: session.accessToken, body: {} }), 401, "unauthenticated");
    });
  });
}

describeSessionEnd("SQLite", async () => ({}));
describeSessionEnd("PostgreSQL", async () => ({ DATABASE_URL: await createTestDatabase() }));
