import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sessionResponseSchema, userListResponseSchema } from "../../protocol/http/accounts";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { registerUser, startTestServer, type TestResponse, type TestServer } from "../../tools/harness/test-server";
import { createTestDatabase } from "../support/postgres";

const password = "correct horse battery";

function assertError(response: TestResponse, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status} ${JSON.stringify(response.body)}`);
  assert.equal(errorResponseSchema.parse(response.body).error.code, code);
}

/**
 * Finding 7 of the hardening issue: the first admin of a server that does not take anonymous
 * sign-ups comes from a one-time token printed on the console; registering never tells which names
 * exist; names are NFKC-normalised and look-alikes of taken names are refused. On both databases.
 */
function describeRegistration(label: string, databaseEnvironment: () => Promise<Record<string, string>>) {
  describe(`registration hardening (${label})`, function () {
    this.timeout(60_000);
    let server: TestServer;
    let environment: Record<string, string>;

    async function start(extra: Record<string, string> = {}, dataDirectory?: string): Promise<void> {
      server = await startTestServer({ environment: { ...environment, ...extra }, dataDirectory });
    }

    beforeEach(async () => {
      environment = await databaseEnvironment();
    });

    afterEach(async () => {
      await server?.dispose();
    });

    const register = (body: Record<string, unknown>) => server.request("POST", "/auth/register", { body });
    const signIn = (name: string, secret = password) => server.request("POST", "/auth/sign-in", { body: { name, password: secret } });

    it("closed: the first anonymous registrant is refused; the one-time admin token makes the first admin, once", async () => {
      await start({ REGISTRATION: "closed" });
      const token = server.adminToken;
      assert.ok(token && token.length >= 32, "a fresh server prints a one-time admin token");
      assertError(await register({ name: "intruder", password }), 403, "registration_closed");
      assertError(await register({ name: "intruder", password, adminToken: `${token}x` }), 403, "forbidden");
      assertError(await signIn("intruder"), 401, "invalid_credentials");

      assert.equal((await register({ name: "founder", password, adminToken: token })).status, 202);
      const founder = sessionResponseSchema.parse((await signIn("founder")).body);
      assert.equal(founder.user.role, "admin");
      // once: the token has done its work
      assertError(await register({ name: "second", password, adminToken: token }), 403, "forbidden");
      // stored only as a hash
      const stored = await server.database("settings").select("key", "value");
      assert.ok(!JSON.stringify(stored).includes(token));
      assert.ok(!server.logLines.join("\n").includes(token), "the token never reaches the log");
    });

    it("approval: the first anonymous registrant waits for an admin; the token's holder becomes it", async () => {
      await start({ REGISTRATION: "approval" });
      assert.equal((await register({ name: "early", password })).status, 202);
      assertError(await signIn("early"), 403, "account_pending");
      const admin = await registerUser(server, "operator", password, { adminToken: server.adminToken });
      assert.equal(admin.user.role, "admin");
      const users = userListResponseSchema.parse((await server.request("GET", "/admin/users", { token: admin.accessToken })).body).users;
      assert.deepEqual(
        users.map((user) => [user.name, user.role, user.status]),
        [
          ["early", "member", "pending"],
          ["operator", "admin", "active"],
        ],
      );
    });

    it("prints a new token on every start while there is no admin, and none once there is", async () => {
      await start({ REGISTRATION: "closed" });
      const first = server.adminToken;
      const dataDirectory = server.dataDirectory;
      await server.close();
      await start({ REGISTRATION: "closed" }, dataDirectory);
      const second = server.adminToken;
      assert.ok(second && second !== first);
      assertError(await register({ name: "founder", password, adminToken: first }), 403, "forbidden");
      await registerUser(server, "founder", password, { adminToken: second });
      await server.close();
      await start({ REGISTRATION: "closed" }, dataDirectory);
      assert.equal(server.adminToken, undefined);
      fs.rmSync(dataDirectory, { recursive: true, force: true });
    });

    it("answers the same for a taken name, a free one, a look-alike and a pending one", async () => {
      await start();
      await registerUser(server, "Oscar");
      const answers = [];
      for (const name of ["fresh", "oscar", "0scar", "Оscar"]) answers.push(await register({ name, password: "another password" }));
      for (const answer of answers) {
        assert.equal(answer.status, 202);
        assert.deepEqual(answer.body, answers[0]!.body);
      }
      // only the free name became an account
      assert.equal((await signIn("fresh", "another password")).status, 200);
      for (const name of ["0scar", "Оscar"]) assertError(await signIn(name, "another password"), 401, "invalid_credentials");
      const admin = sessionResponseSchema.parse((await signIn("oscar")).body);
      const users = userListResponseSchema.parse((await server.request("GET", "/admin/users", { token: admin.accessToken })).body).users;
      assert.deepEqual(users.map((user) => user.name).sort(), ["Oscar", "fresh"]);
    });

    it("refuses look-alikes of a taken name: other scripts, digits for letters, rn for m, l for I", async () => {
      await start();
      await registerUser(server, "admin");
      await registerUser(server, "Ilya");
      // Cyrillic а, Cyrillic і, r and n for m, Greek capitals, digit 1 for I, small l for capital I
      for (const name of ["аdmin", "admіn", "adrnin", "ΑDMΙΝ", "1lya", "llya"]) {
        assert.equal((await register({ name, password: "look-alike password" })).status, 202);
        assertError(await signIn(name, "look-alike password"), 401, "invalid_credentials");
      }
      // a name that merely shares letters is fine
      assert.equal((await registerUser(server, "admins")).user.role, "member");
    });

    it("stores names NFKC-normalised: one name, however its characters were composed", async () => {
      await start();
      await registerUser(server, "admin");
      assert.equal((await register({ name: "ｊｏｅ", password })).status, 202);
      const session = sessionResponseSchema.parse((await signIn("joe")).body);
      assert.equal(session.user.name, "joe");
      assert.equal((await signIn("ＪＯＥ")).status, 200);
      // a second "joe" by another spelling is the same name
      assert.equal((await register({ name: "joe", password: "another password" })).status, 202);
      assertError(await signIn("joe", "another password"), 401, "invalid_credentials");
      // what normalising makes of a name must still be a name: ½ becomes 1⁄2 (a fraction slash)
      assertError(await register({ name: "half½", password }), 400, "validation_failed");
    });

    it("fills the name forms of accounts made by an older version, at start", async () => {
      await start();
      await registerUser(server, "admin");
      await registerUser(server, "Grace");
      await server.database("users").update({ name_skeleton: null, name_skeleton_lower: null, name_skeleton_upper: null });
      const dataDirectory = server.dataDirectory;
      await server.close();
      await start({}, dataDirectory);
      const rows = await server
        .database("users")
        .orderBy("name")
        .select("name", "name_skeleton", "name_skeleton_lower", "name_skeleton_upper");
      assert.deepEqual(
        rows.map((row: Record<string, string>) => [row.name, row.name_skeleton, row.name_skeleton_lower, row.name_skeleton_upper]),
        [
          // folded as confusables.txt folds them: m looks like rn, capital I like small l
          ["Grace", "Grace", "grace", "GRACE"],
          ["admin", "adrnin", "adrnin", "ADMlN"],
        ],
      );
      // and a look-alike is refused against them
      assert.equal((await register({ name: "Grаce", password: "look-alike password" })).status, 202);
      assertError(await signIn("Grаce", "look-alike password"), 401, "invalid_credentials");
      fs.rmSync(dataDirectory, { recursive: true, force: true });
    });
  });
}

describeRegistration("SQLite", async () => ({}));
describeRegistration("PostgreSQL", async () => ({ DATABASE_URL: await createTestDatabase() }));

describe("data files are the server's user's only", function () {
  this.timeout(30_000);
  const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

  it("makes the data folder 0700 and the database, its WAL and the secret key 0600", async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-modes-"));
    const dataDirectory = path.join(parent, "data");
    const server = await startTestServer({ dataDirectory });
    try {
      // a write, so SQLite has its -wal and -shm files
      await registerUser(server, "admin");
      assert.equal(modeOf(dataDirectory), 0o700);
      for (const file of ["juggler.sqlite", "juggler.sqlite-wal", "juggler.sqlite-shm", "secret.key"]) {
        assert.equal(modeOf(path.join(dataDirectory, file)).toString(8), "600", file);
      }
    } finally {
      await server.close();
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it("tightens a data folder and files that an older version (or a copy) left readable by others", async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-modes-"));
    const dataDirectory = path.join(parent, "data");
    let server = await startTestServer({ dataDirectory });
    await server.close();
    fs.chmodSync(dataDirectory, 0o755);
    for (const file of ["juggler.sqlite", "secret.key"]) fs.chmodSync(path.join(dataDirectory, file), 0o644);
    server = await startTestServer({ dataDirectory });
    try {
      assert.equal(modeOf(dataDirectory), 0o700);
      for (const file of ["juggler.sqlite", "secret.key"]) assert.equal(modeOf(path.join(dataDirectory, file)).toString(8), "600", file);
      assert.ok(server.logLines.some((line) => line.includes("data folder was readable by others")));
    } finally {
      await server.close();
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });
});
