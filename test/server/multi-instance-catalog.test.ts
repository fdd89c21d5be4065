import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startFakeProviders, type FakeProviders } from "../../tools/fake-providers";
import { FAKE_API_KEYS } from "../../tools/harness/provider-setup";
import { startTestServer, type TestServer } from "../../tools/harness/test-server";
import { createTestDatabase } from "../support/postgres";

/**
 * The background catalog refresh on several instances: one instance per interval refreshes for the
 * whole team (the others would only ask the providers the same question again).
 */
describe("several instances on one PostgreSQL: the background catalog refresh", function () {
  this.timeout(60_000);
  let fakes: FakeProviders;
  const servers: TestServer[] = [];

  before(async function () {
    fakes = await startFakeProviders();
  });
  after(async function () {
    for (const server of servers) await server.dispose();
    await fakes?.close();
  });

  it("runs on one instance per interval, and every instance serves the models it found", async function () {
    const environment = {
      DATABASE_URL: await createTestDatabase(),
      SECRET_KEY: crypto.randomBytes(32).toString("hex"),
      ANTHROPIC_API_KEY: FAKE_API_KEYS.anthropic,
      ANTHROPIC_BASE_URL: fakes.anthropic.url,
      // the first background refresh runs 5 s after start, then every minute
      CATALOG_REFRESH_MINUTES: "1",
    };
    for (let index = 0; index < 3; index += 1) servers.push(await startTestServer({ environment }));
    const refreshedBy = () => servers.filter((server) => server.logLines.some((line) => line.includes('"models refreshed"')));
    const deadline = Date.now() + 15_000;
    while (refreshedBy().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(refreshedBy().length, 1, "a background refresh ran");
    // every instance's first refresh has fallen due by now (they started within a few seconds)
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.equal(refreshedBy().length, 1, "refreshed by one instance only");

    // every instance knows the models the one refresh stored
    for (const server of servers) {
      const models = await server.services.catalog.listAllModels();
      assert.ok(
        models.models.some((model) => model.provider === "anthropic"),
        "the refreshed models are seen on every instance",
      );
    }
  });
});
