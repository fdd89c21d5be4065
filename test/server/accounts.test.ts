import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import jwt from "jsonwebtoken";
import {
  registrationAcceptedResponseSchema,
  sessionResponseSchema,
  teamSettingsSchema,
  userListResponseSchema,
  userResponseSchema,
} from "../../protocol/http/accounts";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { deriveKey } from "../../server/src/secrets";
import { registerUser, startTestServer, type TestResponse, type TestServer } from "../../tools/harness/test-server";

const password = "correct horse battery";

/** A clock the test moves by hand; the server reads it for token expiry and rate limits. */
function manualClock(start = Date.UTC(2030, 0, 1)) {
  let current = start;
  return {
    now: () => current,
    advanceSeconds: (seconds: number) => {
      current += seconds * 1000;
    },
  };
}

function assertError(response: TestResponse, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status} ${JSON.stringify(response.body)}`);
  const body = errorResponseSchema.parse(response.body);
  assert.equal(body.error.code, code);
}

function decodePayload(token: string): Record<string, unknown> {
  const payload = token.split(".")[1];
  assert.ok(payload);
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
}

function serverAccessKey(server: TestServer): Buffer {
  const secret = fs.readFileSync(path.join(server.dataDirectory, "secret.key"), "utf8").trim();
  return deriveKey(secret, "access-token");
}

const signIn = (server: TestServer, name: string, secret = password, headers?: Record<string, string>) =>
  server.request("POST", "/auth/sign-in", { body: { name, password: secret }, headers });

describe("accounts", function () {
  let server: TestServer;
  let clock: ReturnType<typeof manualClock>;

  async function start(environment: Record<string, string> = {}): Promise<TestServer> {
    clock = manualClock();
    server = await startTestServer({ environment, now: clock.now });
    return server;
  }

  afterEach(async () => {
    await server?.dispose();
  });

  describe("registration", () => {
    beforeEach(() => start());

    it("makes the first account admin and the next one a member; signing in gives a usable session", async () => {
      const first = await server.request("POST", "/auth/register", { body: { name: "Ada", password } });
      assert.equal(first.status, 202);
      registrationAcceptedResponseSchema.parse(first.body);
      const firstSession = sessionResponseSchema.parse((await signIn(server, "ada")).body);
      assert.equal(firstSession.user.role, "admin");
      assert.equal(firstSession.user.status, "active");
      assert.equal(firstSession.user.name, "Ada");
      assert.equal(firstSession.user.lastModelId, null);
      assert.equal(firstSession.user.createdAt, new Date(clock.now()).toISOString());

      const second = await registerUser(server, "grace");
      assert.equal(second.user.role, "member");

      const me = await server.request("GET", "/me", { token: second.accessToken });
      assert.equal(me.status, 200);
      assert.deepEqual(userResponseSchema.parse(me.body).user, sessionResponseSchema.parse(second).user);
    });

    it("answers a taken name (in any letter case) exactly like a free one, and creates nothing", async () => {
      await registerUser(server, "Ada");
      const free = await server.request("POST", "/auth/register", { body: { name: "grace", password } });
      for (const name of ["Ada", "ada", "ADA", " ada "]) {
        const taken = await server.request("POST", "/auth/register", { body: { name, password: "another password" } });
        assert.equal(taken.status, free.status);
        assert.deepEqual(taken.body, free.body);
        assert.deepEqual([...taken.headers.keys()].sort(), [...free.headers.keys()].sort());
        // the registrant learns the outcome only by signing in, which needs the account's password
        assertError(await signIn(server, name, "another password"), 401, "invalid_credentials");
      }
      assert.equal((await signIn(server, "ada")).status, 200, "the owner's account is untouched");
      const admin = sessionResponseSchema.parse((await signIn(server, "ada")).body);
      const users = userListResponseSchema.parse((await server.request("GET", "/admin/users", { token: admin.accessToken })).body).users;
      assert.deepEqual(users.map((user) => user.name).sort(), ["Ada", "grace"]);
    });

    it("makes exactly one admin when several first registrations arrive at once", async () => {
      const names = ["a1", "a2", "a3", "a4", "a5"];
      const responses = await Promise.all(names.map((name) => server.request("POST", "/auth/register", { body: { name, password } })));
      assert.deepEqual(
        responses.map((response) => response.status),
        names.map(() => 202),
      );
      const roles = await Promise.all(names.map(async (name) => sessionResponseSchema.parse((await signIn(server, name)).body).user.role));
      assert.equal(roles.filter((role) => role === "admin").length, 1);
    });
  });

  describe("bad input", () => {
    beforeEach(() => start({ MAX_BODY_BYTES: "4096" }));

    it("answers 400 with a code for missing or malformed fields", async () => {
      const cases: unknown[] = [
        { password },
        { name: "ada" },
        { name: "ada", password: "short" },
        { name: "a b", password },
        { name: 42, password },
        [],
      ];
      for (const body of cases) {
        const response = await server.request("POST", "/auth/register", { body });
        assertError(response, 400, "validation_failed");
      }
      assertError(await server.request("POST", "/auth/sign-in", { body: { name: "ada" } }), 400, "validation_failed");
      assertError(await server.request("POST", "/auth/refresh", { body: {} }), 400, "validation_failed");
      // no body at all (fetch sends Content-Length: 0) is a validation problem, not a media type one
      assertError(await server.request("POST", "/auth/sign-out"), 400, "validation_failed");
    });

    it("names the missing field in the message", async () => {
      const response = await server.request("POST", "/auth/register", { body: { password } });
      assert.match(response.body.error.message, /name/);
    });

    it("refuses a body that is not JSON, or not sent as JSON", async () => {
      const notJson = await server.request("POST", "/auth/register", {
        rawBody: "{name: ada",
        headers: { "content-type": "application/json" },
      });
      assertError(notJson, 400, "validation_failed");
      const plainText = await server.request("POST", "/auth/register", {
        rawBody: JSON.stringify({ name: "ada", password }),
        headers: { "content-type": "text/plain" },
      });
      assertError(plainText, 415, "unsupported_media_type");
      const form = await server.request("POST", "/auth/sign-in", {
        rawBody: `name=ada&password=${encodeURIComponent(password)}`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      assertError(form, 415, "unsupported_media_type");
      // nothing was created by any of these
      assert.equal((await registerUser(server, "ada")).user.role, "admin");
    });

    it("answers 413 for a body over the limit and for an over-long field", async () => {
      const huge = await server.request("POST", "/auth/register", { body: { name: "ada", password: "x".repeat(10_000) } });
      assertError(huge, 413, "payload_too_large");
      const longName = await server.request("POST", "/auth/register", { body: { name: "n".repeat(65), password } });
      assertError(longName, 413, "payload_too_large");
    });
  });

  describe("sign-in", () => {
    beforeEach(() => start());

    it("signs in with the right password and refuses a wrong one or an unknown name alike", async () => {
      await registerUser(server, "Ada");
      const right = await signIn(server, "ada");
      assert.equal(right.status, 200);
      assert.equal(sessionResponseSchema.parse(right.body).user.name, "Ada");

      const wrong = await signIn(server, "Ada", "not the password");
      const unknown = await signIn(server, "nobody", "not the password");
      assertError(wrong, 401, "invalid_credentials");
      assertError(unknown, 401, "invalid_credentials");
      // the same words too: nothing tells an attacker which names exist
      assert.equal(wrong.body.error.message, unknown.body.error.message);
    });

    it("gives each sign-in its own session", async () => {
      await registerUser(server, "ada");
      const one = sessionResponseSchema.parse((await signIn(server, "ada")).body);
      const two = sessionResponseSchema.parse((await signIn(server, "ada")).body);
      assert.notEqual(one.refreshToken, two.refreshToken);
      assert.notEqual(one.accessToken, two.accessToken);
    });
  });

  describe("access tokens", () => {
    beforeEach(() => start({ ACCESS_TOKEN_TTL_SECONDS: "60" }));

    it("expire after their lifetime with token_expired, and a refresh gives a working one", async () => {
      const session = await registerUser(server, "ada");
      const parsed = sessionResponseSchema.parse(session);
      assert.equal(Date.parse(parsed.accessTokenExpiresAt), clock.now() + 60_000);

      clock.advanceSeconds(59);
      assert.equal((await server.request("GET", "/me", { token: session.accessToken })).status, 200);
      clock.advanceSeconds(2);
      assertError(await server.request("GET", "/me", { token: session.accessToken }), 401, "token_expired");

      const refreshed = await server.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } });
      assert.equal(refreshed.status, 200);
      const next = sessionResponseSchema.parse(refreshed.body);
      assert.equal((await server.request("GET", "/me", { token: next.accessToken })).status, 200);
    });

    it("refuses a missing, malformed or garbage token with unauthenticated", async () => {
      const session = await registerUser(server, "ada");
      assertError(await server.request("GET", "/me"), 401, "unauthenticated");
      assertError(await server.request("GET", "/me", { headers: { authorization: session.accessToken } }), 401, "unauthenticated");
      assertError(
        await server.request("GET", "/me", { headers: { authorization: `Basic ${session.accessToken}` } }),
        401,
        "unauthenticated",
      );
      assertError(await server.request("GET", "/me", { token: "not-a-token" }), 401, "unauthenticated");
      const tampered = session.accessToken.slice(0, -2) + (session.accessToken.endsWith("AA") ? "BB" : "AA");
      assertError(await server.request("GET", "/me", { token: tampered }), 401, "unauthenticated");
    });

    describe("forged tokens", () => {
      let session: Awaited<ReturnType<typeof registerUser>>;
      let claims: Record<string, unknown>;

      beforeEach(async () => {
        session = await registerUser(server, "ada");
        claims = decodePayload(session.accessToken);
      });

      it("accepts a token we could have signed ourselves (the control for the cases below)", async () => {
        const token = jwt.sign(claims, serverAccessKey(server), { algorithm: "HS256" });
        assert.equal((await server.request("GET", "/me", { token })).status, 200);
      });

      it("refuses alg: none", async () => {
        for (const alg of ["none", "None", "NONE"]) {
          const header = Buffer.from(JSON.stringify({ alg, typ: "JWT" })).toString("base64url");
          const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
          for (const token of [`${header}.${body}.`, `${header}.${body}`]) {
            assertError(await server.request("GET", "/me", { token }), 401, "unauthenticated");
          }
        }
      });

      it("refuses a token signed with another secret", async () => {
        const token = jwt.sign(claims, crypto.randomBytes(32), { algorithm: "HS256" });
        assertError(await server.request("GET", "/me", { token }), 401, "unauthenticated");
      });

      it("refuses other algorithms, even with the server's own key", async () => {
        const key = serverAccessKey(server);
        for (const algorithm of ["HS384", "HS512"] as const) {
          const token = jwt.sign(claims, key, { algorithm });
          assertError(await server.request("GET", "/me", { token }), 401, "unauthenticated");
        }
        const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
        const rsaToken = jwt.sign(claims, privateKey, { algorithm: "RS256" });
        assertError(await server.request("GET", "/me", { token: rsaToken }), 401, "unauthenticated");
      });

      it("refuses a token for a user that does not exist", async () => {
        const token = jwt.sign({ ...claims, sub: crypto.randomUUID() }, serverAccessKey(server), { algorithm: "HS256" });
        assertError(await server.request("GET", "/me", { token }), 401, "unauthenticated");
      });
    });
  });

  describe("refresh tokens", () => {
    beforeEach(() => start());

    it("rotate: each refresh gives new tokens and the used refresh token is dead", async () => {
      const first = await registerUser(server, "ada");
      const refreshed = await server.request("POST", "/auth/refresh", { body: { refreshToken: first.refreshToken } });
      assert.equal(refreshed.status, 200);
      const second = sessionResponseSchema.parse(refreshed.body);
      assert.notEqual(second.refreshToken, first.refreshToken);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.equal(second.user.id, first.user.id);

      assertError(
        await server.request("POST", "/auth/refresh", { body: { refreshToken: first.refreshToken } }),
        401,
        "refresh_token_invalid",
      );
    });

    it("reuse of a rotated token revokes the whole family, including the newest token", async () => {
      const first = await registerUser(server, "ada");
      const second = sessionResponseSchema.parse(
        (await server.request("POST", "/auth/refresh", { body: { refreshToken: first.refreshToken } })).body,
      );
      const third = sessionResponseSchema.parse(
        (await server.request("POST", "/auth/refresh", { body: { refreshToken: second.refreshToken } })).body,
      );
      // another session of the same user, signed in separately, is a different family
      const otherDevice = sessionResponseSchema.parse((await signIn(server, "ada")).body);

      // the stolen copy of the first token comes back
      assertError(
        await server.request("POST", "/auth/refresh", { body: { refreshToken: first.refreshToken } }),
        401,
        "refresh_token_invalid",
      );
      assertError(
        await server.request("POST", "/auth/refresh", { body: { refreshToken: third.refreshToken } }),
        401,
        "refresh_token_invalid",
      );

      assert.equal((await server.request("POST", "/auth/refresh", { body: { refreshToken: otherDevice.refreshToken } })).status, 200);
    });

    it("expire after REFRESH_TOKEN_TTL_DAYS", async () => {
      await server.dispose();
      await start({ REFRESH_TOKEN_TTL_DAYS: "1" });
      const session = await registerUser(server, "ada");
      assert.equal(Date.parse(sessionResponseSchema.parse(session).refreshTokenExpiresAt), clock.now() + 86_400_000);
      clock.advanceSeconds(86_400 + 1);
      assertError(
        await server.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } }),
        401,
        "refresh_token_invalid",
      );
    });

    it("refuses an unknown refresh token", async () => {
      await registerUser(server, "ada");
      const made = crypto.randomBytes(32).toString("base64url");
      assertError(await server.request("POST", "/auth/refresh", { body: { refreshToken: made } }), 401, "refresh_token_invalid");
    });

    it("sign-out revokes the session's refresh token and leaves other sessions alone", async () => {
      const session = await registerUser(server, "ada");
      const otherDevice = sessionResponseSchema.parse((await signIn(server, "ada")).body);
      const rotated = sessionResponseSchema.parse(
        (await server.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } })).body,
      );

      const signOut = await server.request("POST", "/auth/sign-out", { body: { refreshToken: rotated.refreshToken } });
      assert.equal(signOut.status, 204);
      assertError(
        await server.request("POST", "/auth/refresh", { body: { refreshToken: rotated.refreshToken } }),
        401,
        "refresh_token_invalid",
      );
      assert.equal((await server.request("POST", "/auth/refresh", { body: { refreshToken: otherDevice.refreshToken } })).status, 200);
      // signing out twice is not an error
      assert.equal((await server.request("POST", "/auth/sign-out", { body: { refreshToken: rotated.refreshToken } })).status, 204);
    });
  });

  describe("change password", () => {
    beforeEach(() => start());

    it("revokes every refresh token and older access tokens; the new password works and the old does not", async () => {
      const session = await registerUser(server, "ada");
      const otherDevice = sessionResponseSchema.parse((await signIn(server, "ada")).body);
      const newPassword = "a much better passphrase";

      // the clock stands still: tokens issued in the same millisecond must still be told apart
      const changed = await server.request("POST", "/auth/change-password", {
        token: session.accessToken,
        body: { currentPassword: password, newPassword },
      });
      assert.equal(changed.status, 200);
      const fresh = sessionResponseSchema.parse(changed.body);

      assertError(await server.request("GET", "/me", { token: session.accessToken }), 401, "unauthenticated");
      assertError(await server.request("GET", "/me", { token: otherDevice.accessToken }), 401, "unauthenticated");
      for (const refreshToken of [session.refreshToken, otherDevice.refreshToken]) {
        assertError(await server.request("POST", "/auth/refresh", { body: { refreshToken } }), 401, "refresh_token_invalid");
      }

      assert.equal((await server.request("GET", "/me", { token: fresh.accessToken })).status, 200);
      assert.equal((await server.request("POST", "/auth/refresh", { body: { refreshToken: fresh.refreshToken } })).status, 200);
      assertError(await signIn(server, "ada"), 401, "invalid_credentials");
      assert.equal((await signIn(server, "ada", newPassword)).status, 200);
    });

    it("refuses a wrong current password without ending the session", async () => {
      const session = await registerUser(server, "ada");
      const response = await server.request("POST", "/auth/change-password", {
        token: session.accessToken,
        body: { currentPassword: "wrong password", newPassword: "another long one" },
      });
      assertError(response, 403, "invalid_credentials");
      assert.equal((await server.request("GET", "/me", { token: session.accessToken })).status, 200);
      assert.equal((await signIn(server, "ada")).status, 200);
    });

    it("needs a signed-in user and a valid new password", async () => {
      const session = await registerUser(server, "ada");
      assertError(
        await server.request("POST", "/auth/change-password", { body: { currentPassword: password, newPassword: "long enough pw" } }),
        401,
        "unauthenticated",
      );
      assertError(
        await server.request("POST", "/auth/change-password", {
          token: session.accessToken,
          body: { currentPassword: password, newPassword: "short" },
        }),
        400,
        "validation_failed",
      );
    });
  });

  describe("registration policy", () => {
    it("approval: the account waits, cannot sign in until an admin approves it", async () => {
      await start();
      const admin = await registerUser(server, "admin");
      const settings = await server.request("PATCH", "/admin/settings", { token: admin.accessToken, body: { registration: "approval" } });
      assert.deepEqual(teamSettingsSchema.parse(settings.body), { registration: "approval", summariserModelId: null });
      assert.equal((await server.request("GET", "/meta")).body.registration, "approval");

      clock.advanceSeconds(1);
      const registered = await server.request("POST", "/auth/register", { body: { name: "newcomer", password } });
      assert.equal(registered.status, 202);
      registrationAcceptedResponseSchema.parse(registered.body);

      assertError(await signIn(server, "newcomer"), 403, "account_pending");
      // the account's state is not told to someone without its password
      assertError(await signIn(server, "newcomer", "wrong password"), 401, "invalid_credentials");

      const listed = userListResponseSchema.parse((await server.request("GET", "/admin/users", { token: admin.accessToken })).body);
      assert.deepEqual(
        listed.users.map((user) => [user.name, user.status]),
        [
          ["admin", "active"],
          ["newcomer", "pending"],
        ],
      );
      const pending = listed.users[1]!;

      const approved = await server.request("PATCH", `/admin/users/${pending.id}`, {
        token: admin.accessToken,
        body: { status: "active" },
      });
      assert.equal(approved.status, 200);
      assert.equal(userResponseSchema.parse(approved.body).user.status, "active");
      const session = sessionResponseSchema.parse((await signIn(server, "newcomer")).body);
      assert.equal(session.user.role, "member");
    });

    it("closed: nobody can register, not even the first account, without the server's one-time admin token", async () => {
      await start({ REGISTRATION: "closed" });
      assert.equal((await server.request("GET", "/meta")).body.registration, "closed");
      assertError(await server.request("POST", "/auth/register", { body: { name: "founder", password } }), 403, "registration_closed");
      assert.ok(server.adminToken, "a fresh server has a one-time admin token");
      const admin = await registerUser(server, "founder", password, { adminToken: server.adminToken });
      assert.equal(admin.user.role, "admin");
      assertError(await server.request("POST", "/auth/register", { body: { name: "late", password } }), 403, "registration_closed");

      await server.request("PATCH", "/admin/settings", { token: admin.accessToken, body: { registration: "open" } });
      assert.equal((await registerUser(server, "late")).user.role, "member");
    });

    it("keeps the admin's choice across restarts, whatever REGISTRATION says then", async () => {
      await start({ REGISTRATION: "approval" });
      const admin = await registerUser(server, "founder", password, { adminToken: server.adminToken });
      await server.request("PATCH", "/admin/settings", { token: admin.accessToken, body: { registration: "closed" } });
      const dataDirectory = server.dataDirectory;
      await server.close();

      const restarted = await startTestServer({ dataDirectory, environment: { REGISTRATION: "open" }, now: clock.now });
      try {
        assert.equal((await restarted.request("GET", "/meta")).body.registration, "closed");
        assert.equal(restarted.adminToken, undefined, "the team has its admin: no token any more");
        const settings = await restarted.request("GET", "/admin/settings", {
          token: (await signIn(restarted, "founder")).body.accessToken,
        });
        assert.deepEqual(settings.body, { registration: "closed", summariserModelId: null });
      } finally {
        await restarted.close();
      }
    });

    it("refuses an unknown policy", async () => {
      await start();
      const admin = await registerUser(server, "founder");
      assertError(
        await server.request("PATCH", "/admin/settings", { token: admin.accessToken, body: { registration: "sometimes" } }),
        400,
        "validation_failed",
      );
    });
  });

  describe("admin", () => {
    let admin: Awaited<ReturnType<typeof registerUser>>;
    let member: Awaited<ReturnType<typeof registerUser>>;

    beforeEach(async () => {
      await start();
      admin = await registerUser(server, "admin");
      member = await registerUser(server, "member");
    });

    it("refuses members (403) and anonymous callers (401) on every admin endpoint", async () => {
      const calls: [string, string, unknown?][] = [
        ["GET", "/admin/users"],
        ["PATCH", `/admin/users/${admin.user.id}`, { role: "member" }],
        ["GET", "/admin/settings"],
        ["PATCH", "/admin/settings", { registration: "closed" }],
      ];
      for (const [method, apiPath, body] of calls) {
        assertError(await server.request(method, apiPath, { token: member.accessToken, body }), 403, "forbidden");
        assertError(await server.request(method, apiPath, { body }), 401, "unauthenticated");
      }
      // nothing changed
      assert.equal((await server.request("GET", "/meta")).body.registration, "open");
      assert.equal((await server.request("GET", "/me", { token: admin.accessToken })).body.user.role, "admin");
    });

    it("disabling an account refuses its access token at once, its refresh token and its sign-in", async () => {
      assert.equal((await server.request("GET", "/me", { token: member.accessToken })).status, 200);
      const disabled = await server.request("PATCH", `/admin/users/${member.user.id}`, {
        token: admin.accessToken,
        body: { status: "disabled" },
      });
      assert.equal(userResponseSchema.parse(disabled.body).user.status, "disabled");

      assertError(await server.request("GET", "/me", { token: member.accessToken }), 403, "account_disabled");
      assertError(
        await server.request("POST", "/auth/refresh", { body: { refreshToken: member.refreshToken } }),
        401,
        "refresh_token_invalid",
      );
      assertError(await signIn(server, "member"), 403, "account_disabled");

      await server.request("PATCH", `/admin/users/${member.user.id}`, { token: admin.accessToken, body: { status: "active" } });
      // enabled again: the access token from before the disabling stays dead; a new sign-in works
      assertError(await server.request("GET", "/me", { token: member.accessToken }), 401, "unauthenticated");
      const fresh = await signIn(server, "member");
      assert.equal(fresh.status, 200);
      assert.equal((await server.request("GET", "/me", { token: fresh.body.accessToken })).status, 200);
    });

    it("makes a member admin (at once, with their current token) and back", async () => {
      const promoted = await server.request("PATCH", `/admin/users/${member.user.id}`, {
        token: admin.accessToken,
        body: { role: "admin" },
      });
      assert.equal(userResponseSchema.parse(promoted.body).user.role, "admin");
      assert.equal((await server.request("GET", "/admin/users", { token: member.accessToken })).status, 200);

      await server.request("PATCH", `/admin/users/${member.user.id}`, { token: admin.accessToken, body: { role: "member" } });
      assertError(await server.request("GET", "/admin/users", { token: member.accessToken }), 403, "forbidden");
    });

    it("never lets the last active admin be demoted or disabled", async () => {
      for (const body of [{ role: "member" }, { status: "disabled" }, { status: "pending" }]) {
        assertError(await server.request("PATCH", `/admin/users/${admin.user.id}`, { token: admin.accessToken, body }), 409, "conflict");
      }
      assert.equal((await server.request("GET", "/me", { token: admin.accessToken })).body.user.role, "admin");

      // with a second admin, the first may step down
      await server.request("PATCH", `/admin/users/${member.user.id}`, { token: admin.accessToken, body: { role: "admin" } });
      const steppedDown = await server.request("PATCH", `/admin/users/${admin.user.id}`, {
        token: admin.accessToken,
        body: { role: "member" },
      });
      assert.equal(steppedDown.status, 200);
      // and now the other one is the last
      assertError(
        await server.request("PATCH", `/admin/users/${member.user.id}`, { token: member.accessToken, body: { status: "disabled" } }),
        409,
        "conflict",
      );
    });

    it("answers 404 for an unknown user and 400 for an empty or wrong change", async () => {
      assertError(
        await server.request("PATCH", `/admin/users/${crypto.randomUUID()}`, { token: admin.accessToken, body: { status: "active" } }),
        404,
        "not_found",
      );
      assertError(
        await server.request("PATCH", `/admin/users/${member.user.id}`, { token: admin.accessToken, body: {} }),
        400,
        "validation_failed",
      );
      assertError(
        await server.request("PATCH", `/admin/users/${member.user.id}`, { token: admin.accessToken, body: { role: "owner" } }),
        400,
        "validation_failed",
      );
    });
  });

  describe("preferences", () => {
    beforeEach(() => start());

    it("remembers the last model and forgets it on null", async () => {
      const session = await registerUser(server, "ada");
      const set = await server.request("PATCH", "/me/preferences", {
        token: session.accessToken,
        body: { lastModelId: "groq:llama-3.3-70b-versatile" },
      });
      assert.equal(userResponseSchema.parse(set.body).user.lastModelId, "groq:llama-3.3-70b-versatile");
      assert.equal(
        (await server.request("GET", "/me", { token: session.accessToken })).body.user.lastModelId,
        "groq:llama-3.3-70b-versatile",
      );
      // the sign-in answer carries it too, so the extension can preselect the model
      assert.equal((await signIn(server, "ada")).body.user.lastModelId, "groq:llama-3.3-70b-versatile");

      const cleared = await server.request("PATCH", "/me/preferences", { token: session.accessToken, body: { lastModelId: null } });
      assert.equal(cleared.body.user.lastModelId, null);
    });

    it("refuses a model id that is not <provider>:<name>", async () => {
      const session = await registerUser(server, "ada");
      for (const lastModelId of ["gpt-4", "openai:gpt-4", "", 7]) {
        assertError(
          await server.request("PATCH", "/me/preferences", { token: session.accessToken, body: { lastModelId } }),
          400,
          "validation_failed",
        );
      }
      assertError(await server.request("PATCH", "/me/preferences", { body: { lastModelId: null } }), 401, "unauthenticated");
    });
  });

  describe("rate limits", () => {
    beforeEach(() => start({ AUTH_RATE_LIMIT_PER_MINUTE: "3", TRUST_PROXY: "true" }));

    const from = (ip: string) => ({ "x-forwarded-for": ip });

    it("limits failing sign-ins per client address, with Retry-After; other addresses are not affected", async () => {
      await registerUser(server, "ada");
      for (const name of ["ada", "bob", "cy"])
        assertError(await signIn(server, name, "wrong password", from("10.0.0.1")), 401, "invalid_credentials");
      const limited = await signIn(server, "dee", "wrong password", from("10.0.0.1"));
      assertError(limited, 429, "rate_limited");
      const retryAfter = Number(limited.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${limited.headers.get("retry-after")}`);
      // the failing source waits, even with the right password
      assertError(await signIn(server, "ada", password, from("10.0.0.1")), 429, "rate_limited");
      // another address is not affected
      assert.equal((await signIn(server, "ada", password, from("10.0.0.2"))).status, 200);
    });

    it("does not count correct passwords: an address that keeps signing in rightly is never limited", async () => {
      await registerUser(server, "ada");
      for (let attempt = 1; attempt <= 10; attempt += 1) {
        assert.equal((await signIn(server, "ada", password, from("10.0.4.1"))).status, 200, `sign-in ${attempt}`);
      }
    });

    it("counts guesses sent in parallel: one address cannot get more than the limit through at once", async () => {
      await registerUser(server, "ada");
      const responses = await Promise.all(Array.from({ length: 10 }, () => signIn(server, "ada", "wrong password", from("10.0.5.1"))));
      const statuses = responses.map((response) => response.status);
      assert.equal(statuses.filter((status) => status === 401).length, 3, JSON.stringify(statuses));
      assert.equal(statuses.filter((status) => status === 429).length, 7, JSON.stringify(statuses));
    });

    it("one address hammering an account name does not lock its owner out (they sign in from elsewhere)", async () => {
      await registerUser(server, "ada");
      for (let round = 1; round <= 13; round += 1) {
        // the attacker's guess, refused, rate limited after the first three
        const guess = await signIn(server, "ada", `guess ${round}`, from("203.0.113.66"));
        assert.ok(guess.status === 401 || guess.status === 429, `guess ${round}: ${guess.status}`);
        // the owner, from their own address, with the right password, every time
        const owner = await signIn(server, "ADA", password, from("198.51.100.7"));
        assert.equal(owner.status, 200, `owner's sign-in ${round}: ${JSON.stringify(owner.body)}`);
      }
    });

    it("many addresses failing on one name are each slowed down for it, the owner's address is not", async () => {
      await registerUser(server, "ada");
      // the first three failures on the name only count
      for (const index of [1, 2, 3]) {
        assertError(await signIn(server, "ada", "wrong password", from(`10.0.1.${index}`)), 401, "invalid_credentials");
      }
      // past them the name is under attack: an address that fails on it must wait for that name
      assertError(await signIn(server, "Ada", "wrong password", from("10.0.1.4")), 401, "invalid_credentials");
      const blocked = await signIn(server, "ada", password, from("10.0.1.4"));
      assertError(blocked, 429, "rate_limited");
      assert.ok(Number(blocked.headers.get("retry-after")) >= 60, `Retry-After ${blocked.headers.get("retry-after")}`);
      // … for that name only
      assertError(await signIn(server, "bob", "wrong password", from("10.0.1.4")), 401, "invalid_credentials");
      // and the owner, who has not been failing, gets in
      assert.equal((await signIn(server, "ada", password, from("10.0.1.99"))).status, 200);
    });

    it("limits registration per address", async () => {
      for (const name of ["u1", "u2", "u3"]) {
        assert.equal((await server.request("POST", "/auth/register", { body: { name, password }, headers: from("10.0.2.1") })).status, 202);
      }
      const limited = await server.request("POST", "/auth/register", { body: { name: "u4", password }, headers: from("10.0.2.1") });
      assertError(limited, 429, "rate_limited");
      assert.ok(limited.headers.get("retry-after"));
      assert.equal(
        (await server.request("POST", "/auth/register", { body: { name: "u4", password }, headers: from("10.0.2.2") })).status,
        202,
      );
    });
  });

  describe("secrets in logs", () => {
    it("never writes a password or a token to a log line", async () => {
      await start({ REGISTRATION: "approval" });
      const secrets: string[] = [server.adminToken!];
      const adminPassword = "admin password 123";
      const admin = await registerUser(server, "admin", adminPassword, { adminToken: server.adminToken });
      secrets.push(adminPassword, admin.accessToken, admin.refreshToken);
      const pendingPassword = "pending password 456";
      await server.request("POST", "/auth/register", { body: { name: "pending", password: pendingPassword } });
      secrets.push(pendingPassword);
      const users = (await server.request("GET", "/admin/users", { token: admin.accessToken })).body.users as Array<{
        id: string;
        name: string;
      }>;
      const pending = users.find((user) => user.name === "pending")!;
      await server.request("PATCH", `/admin/users/${pending.id}`, { token: admin.accessToken, body: { status: "active" } });

      const wrongPassword = "guessing wrong 789";
      await signIn(server, "admin", wrongPassword);
      await signIn(server, "ghost", wrongPassword);
      secrets.push(wrongPassword);
      const session = sessionResponseSchema.parse((await signIn(server, "pending", pendingPassword)).body);
      const refreshed = sessionResponseSchema.parse(
        (await server.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } })).body,
      );
      await server.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } }); // reuse → warning logged
      secrets.push(session.accessToken, session.refreshToken, refreshed.accessToken, refreshed.refreshToken);
      const newPassword = "a new password 000";
      const changed = await server.request("POST", "/auth/change-password", {
        token: admin.accessToken,
        body: { currentPassword: adminPassword, newPassword },
      });
      secrets.push(newPassword, changed.body.accessToken, changed.body.refreshToken);
      await server.request("GET", "/me", { token: admin.accessToken }); // refused: old token
      await server.request("POST", "/auth/sign-out", { body: { refreshToken: changed.body.refreshToken } });

      const log = server.logLines.join("\n");
      assert.ok(server.logLines.length > 0, "the server logged something");
      assert.match(log, /signed in/);
      for (const secret of secrets) {
        assert.ok(typeof secret === "string" && secret.length > 0);
        assert.equal(log.includes(secret), false, "a secret reached the log");
        // a JWT's signature part alone must not leak either
        const lastPart = secret.split(".").pop() ?? secret;
        assert.equal(log.includes(lastPart), false, "part of a token reached the log");
      }
    });
  });
});
