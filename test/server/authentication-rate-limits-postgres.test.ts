import assert from "node:assert/strict";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";
import { createTestDatabase } from "../support/postgres";

const password = "correct horse battery";

/**
 * The sign-in limits live in PostgreSQL when the server does, so several server instances on one
 * database (behind a load balancer) count the same failures: a guesser cannot multiply its
 * allowance by the number of instances.
 */
describe("sign-in limits on PostgreSQL, across server instances", function () {
  this.timeout(120_000);
  let first: TestServer;
  let second: TestServer;

  before(async () => {
    const environment = { DATABASE_URL: await createTestDatabase(), AUTH_RATE_LIMIT_PER_MINUTE: "3", TRUST_PROXY: "true" };
    first = await startTestServer({ environment });
    second = await startTestServer({ environment });
    await registerUser(first, "ada");
  });

  after(async () => {
    await first?.dispose();
    await second?.dispose();
  });

  const signIn = (server: TestServer, name: string, secret: string, address: string) =>
    server.request("POST", "/auth/sign-in", { body: { name, password: secret }, headers: { "x-forwarded-for": address } });

  it("counts an address's failures on every instance, and still lets the owner in from elsewhere", async () => {
    assert.equal((await signIn(first, "ada", "wrong password", "203.0.113.5")).status, 401);
    assert.equal((await signIn(second, "ada", "wrong password", "203.0.113.5")).status, 401);
    assert.equal((await signIn(first, "nobody", "wrong password", "203.0.113.5")).status, 401);
    const limited = await signIn(second, "someone", "wrong password", "203.0.113.5");
    assert.equal(limited.status, 429, JSON.stringify(limited.body));
    assert.equal(errorResponseSchema.parse(limited.body).error.code, "rate_limited");
    assert.equal((await signIn(first, "ada", "wrong password", "203.0.113.5")).status, 429);

    assert.equal((await signIn(second, "ada", password, "198.51.100.1")).status, 200);
    assert.equal((await signIn(first, "ada", password, "198.51.100.1")).status, 200);
  });

  it("blocks, on every instance, an address that fails on a name under attack", async () => {
    // "ada" had two failures above (the refused attempt did not get to fail); a third, then a fourth
    // past the threshold, from addresses of their own
    assert.equal((await signIn(first, "ada", "wrong password", "203.0.113.9")).status, 401);
    assert.equal((await signIn(first, "ada", "wrong password", "203.0.113.10")).status, 401);
    const blocked = await signIn(second, "ada", password, "203.0.113.10");
    assert.equal(blocked.status, 429, JSON.stringify(blocked.body));
    // the earlier address, which failed before the name was under attack, is not blocked for it
    assert.equal((await signIn(second, "ada", password, "203.0.113.9")).status, 200);
  });
});
