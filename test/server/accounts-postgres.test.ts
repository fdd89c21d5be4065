import assert from "node:assert/strict";
import { sessionResponseSchema } from "../../protocol/http/accounts";
import { createTestDatabase } from "../support/postgres";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";

const password = "correct horse battery";

/**
 * The decisions that depend on concurrency, on real PostgreSQL: its default isolation (read
 * committed) would let two transactions both see "no admin yet" without the table lock.
 * SQLite serialises writers by itself; the main suite covers it.
 */
describe("accounts on PostgreSQL", function () {
  this.timeout(120_000);
  let server: TestServer;
  const founders = Array.from({ length: 8 }, (_, index) => `founder${index}`);

  before(async () => {
    server = await startTestServer({ environment: { DATABASE_URL: await createTestDatabase(), AUTH_RATE_LIMIT_PER_MINUTE: "1000" } });
  });

  after(async () => {
    await server?.dispose();
  });

  it("makes exactly one admin when several first registrations arrive at once", async () => {
    const responses = await Promise.all(founders.map((name) => server.request("POST", "/auth/register", { body: { name, password } })));
    for (const response of responses) assert.equal(response.status, 202, JSON.stringify(response.body));
    const roles = await Promise.all(
      founders.map(async (name) => {
        const session = await server.request("POST", "/auth/sign-in", { body: { name, password } });
        return sessionResponseSchema.parse(session.body).user.role;
      }),
    );
    assert.equal(roles.filter((role) => role === "admin").length, 1);
  });

  it("gives a name once when the same name (in any case, or a look-alike) registers several times at once", async () => {
    // each with a password of its own: whichever won, only its password signs in
    const attempts = ["Twin", "twin", "TWIN", "Тwin"].map((name, index) => ({ name, password: `${password} ${index}` }));
    const responses = await Promise.all(attempts.map((body) => server.request("POST", "/auth/register", { body })));
    assert.deepEqual(
      responses.map((response) => response.status),
      [202, 202, 202, 202],
    );
    const signIns = await Promise.all(attempts.map((body) => server.request("POST", "/auth/sign-in", { body })));
    assert.equal(
      signIns.filter((response) => response.status === 200).length,
      1,
      JSON.stringify(signIns.map((response) => response.status)),
    );
  });

  it("lets only one of two simultaneous refreshes with the same token win, and then revokes the family", async () => {
    const session = await registerUser(server, "racer");
    const responses = await Promise.all(
      [1, 2].map(() => server.request("POST", "/auth/refresh", { body: { refreshToken: session.refreshToken } })),
    );
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [200, 401]);
    const winner = responses.find((response) => response.status === 200);
    // the loser counted as reuse: the winner's new token is revoked too
    assert.equal((await server.request("POST", "/auth/refresh", { body: { refreshToken: winner?.body.refreshToken } })).status, 401);
  });

  /** Signs in whichever of these accounts is an active admin now. */
  async function signInAnAdmin(names: string[]) {
    for (const name of names) {
      const response = await server.request("POST", "/auth/sign-in", { body: { name, password } });
      if (response.status === 200 && response.body.user.role === "admin") return sessionResponseSchema.parse(response.body);
    }
    throw new Error("no admin among " + names.join(", "));
  }

  it("keeps one active admin when two admins demote each other at once", async () => {
    const admin = await signInAnAdmin(founders);
    const other = await registerUser(server, "second-admin");
    await server.request("PATCH", `/admin/users/${other.user.id}`, { token: admin.accessToken, body: { role: "admin" } });

    const responses = await Promise.all([
      server.request("PATCH", `/admin/users/${other.user.id}`, { token: admin.accessToken, body: { role: "member" } }),
      server.request("PATCH", `/admin/users/${admin.user.id}`, { token: other.accessToken, body: { role: "member" } }),
    ]);
    // Either one demotion wins and the other meets the last-admin rule (409), or the second
    // request is refused because its caller was just demoted (403). Never both demoted.
    assert.equal(
      responses.filter((response) => response.status === 200).length,
      1,
      JSON.stringify(responses.map((response) => response.body)),
    );
    const remaining = await signInAnAdmin([...founders, "second-admin"]);
    const users = (await server.request("GET", "/admin/users", { token: remaining.accessToken })).body.users;
    assert.equal(users.filter((user: { role: string; status: string }) => user.role === "admin" && user.status === "active").length, 1);
  });

  it("stores and reads the registration policy", async () => {
    const admin = await signInAnAdmin([...founders, "second-admin"]);
    const changed = await server.request("PATCH", "/admin/settings", { token: admin.accessToken, body: { registration: "closed" } });
    assert.deepEqual(changed.body, { registration: "closed", summariserModelId: null });
    assert.equal((await server.request("GET", "/meta")).body.registration, "closed");
    assert.equal((await server.request("POST", "/auth/register", { body: { name: "late", password } })).status, 403);
  });
});
