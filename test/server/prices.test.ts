import assert from "node:assert/strict";
import { priceHistoryResponseSchema, priceListResponseSchema } from "../../protocol/http/prices";
import { costOf } from "../../server/src/services/price-service";
import { findDefaultPrice } from "../../server/src/services/price-defaults";
import { startChatFixture, type ChatFixture } from "../support/chat-helpers";

/**
 * Prices: defaults for well-known Anthropic and Groq models with the date they were taken, Ollama at
 * zero, an admin's prices effective from a time (now or later, never earlier), and the cost of an
 * answer only when its price and both token counts are known.
 */
describe("prices", function () {
  this.timeout(30_000);
  let fixture: ChatFixture;
  let clock = Date.UTC(2026, 11, 1, 9);

  before(async () => {
    fixture = await startChatFixture({ server: { now: () => clock } });
  });
  after(async () => {
    await fixture?.dispose();
  });

  const list = async () =>
    priceListResponseSchema.parse((await fixture.server.request("GET", "/admin/prices", { token: fixture.adminToken })).body).prices;

  it("lists every catalog model with its default, the day it was taken and where from; Ollama's are zero; unknown models have none", async () => {
    const prices = await list();
    const byId = new Map(prices.map((price) => [price.modelId, price]));
    const haiku = byId.get("anthropic:claude-haiku-4-5-20251001")!;
    assert.deepEqual(haiku.current, {
      inputUsdPerMillionTokens: 1,
      outputUsdPerMillionTokens: 5,
      cachedInputUsdPerMillionTokens: 0.1,
      source: "default",
      effectiveFrom: null,
      takenOn: "2026-12-07",
      sourceUrl: "https://platform.claude.com/docs/en/about-claude/pricing",
    });
    assert.equal(byId.get("groq:llama-3.3-70b-versatile")!.current?.inputUsdPerMillionTokens, 0.59);
    for (const id of fixture.models.ollama) assert.equal(byId.get(id)!.current?.outputUsdPerMillionTokens, 0, id);
    // a model Juggler knows no price for: answers get no cost until an admin sets one
    assert.equal(findDefaultPrice("groq", "some-new-model"), undefined);
    assert.equal(findDefaultPrice("anthropic", "claude-sonnet-4-7"), undefined, "no guessing from a family name");
    assert.equal(
      findDefaultPrice("anthropic", "claude-sonnet-4-5-20250929")?.inputUsdPerMillionTokens,
      3,
      "a dated id takes its model's price",
    );
  });

  it("takes an admin's price now or from a later time, keeps the history, and refuses one that starts in the past", async () => {
    const modelId = fixture.models.groq[0]!;
    const now = await fixture.server.request("POST", "/admin/prices", {
      token: fixture.adminToken,
      body: { modelId, inputUsdPerMillionTokens: 0.5, outputUsdPerMillionTokens: 0.75 },
    });
    assert.equal(now.status, 201, JSON.stringify(now.body));
    assert.equal(now.body.current.source, "admin");
    assert.equal(now.body.current.cachedInputUsdPerMillionTokens, 0.5, "cached input defaults to the input price");
    const later = new Date(clock + 86_400_000).toISOString();
    const scheduled = await fixture.server.request("POST", "/admin/prices", {
      token: fixture.adminToken,
      body: {
        modelId,
        inputUsdPerMillionTokens: 0.4,
        outputUsdPerMillionTokens: 0.6,
        cachedInputUsdPerMillionTokens: 0.1,
        effectiveFrom: later,
      },
    });
    assert.equal(scheduled.status, 201);
    assert.equal(scheduled.body.current.inputUsdPerMillionTokens, 0.5, "the later price has not begun");
    assert.equal(scheduled.body.scheduled.length, 1);
    assert.equal((await fixture.server.services.prices.priceAt(modelId, clock))?.inputMicroUsdPerMillion, 500_000);
    assert.equal((await fixture.server.services.prices.priceAt(modelId, clock + 86_400_000))?.inputMicroUsdPerMillion, 400_000);

    clock += 2 * 86_400_000;
    // two days on, the access token has expired: sign in again
    const signedIn = await fixture.server.request("POST", "/auth/sign-in", { body: { name: "admin", password: "correct horse battery" } });
    fixture.adminToken = signedIn.body.accessToken;
    const current = (await list()).find((price) => price.modelId === modelId)!;
    assert.equal(current.current?.inputUsdPerMillionTokens, 0.4);
    assert.equal(current.scheduled.length, 0);

    const history = priceHistoryResponseSchema.parse(
      (await fixture.server.request("GET", `/admin/prices/history?modelId=${encodeURIComponent(modelId)}`, { token: fixture.adminToken }))
        .body,
    );
    assert.deepEqual(
      history.entries.map((entry) => [entry.source, entry.inputUsdPerMillionTokens]),
      [
        ["default", 0.59],
        ["admin", 0.5],
        ["admin", 0.4],
      ],
    );

    const past = await fixture.server.request("POST", "/admin/prices", {
      token: fixture.adminToken,
      body: {
        modelId,
        inputUsdPerMillionTokens: 1,
        outputUsdPerMillionTokens: 1,
        effectiveFrom: new Date(clock - 3_600_000).toISOString(),
      },
    });
    assert.equal(past.status, 400);
  });

  it("refuses bad prices, unknown models and members", async () => {
    const bodies = [
      { modelId: fixture.models.groq[0], inputUsdPerMillionTokens: -1, outputUsdPerMillionTokens: 1 },
      { modelId: fixture.models.groq[0], inputUsdPerMillionTokens: "1", outputUsdPerMillionTokens: 1 },
      { modelId: fixture.models.groq[0], inputUsdPerMillionTokens: 1 },
      { modelId: "nope", inputUsdPerMillionTokens: 1, outputUsdPerMillionTokens: 1 },
      { modelId: fixture.models.groq[0], inputUsdPerMillionTokens: 1, outputUsdPerMillionTokens: 1, effectiveFrom: "tomorrow" },
    ];
    for (const body of bodies) {
      const response = await fixture.server.request("POST", "/admin/prices", { token: fixture.adminToken, body });
      assert.equal(response.status, 400, JSON.stringify(body));
    }
    const unknown = await fixture.server.request("POST", "/admin/prices", {
      token: fixture.adminToken,
      body: { modelId: "groq:not-in-the-catalog", inputUsdPerMillionTokens: 1, outputUsdPerMillionTokens: 1 },
    });
    assert.equal(unknown.status, 404);
    const member = await fixture.server.request("POST", "/auth/sign-in", { body: { name: "member", password: "correct horse battery" } });
    assert.equal((await fixture.server.request("GET", "/admin/prices", { token: member.body.accessToken })).status, 403);
  });

  it("costs an answer only when its price and both counts are known, cached input at its own price", () => {
    const price = {
      inputMicroUsdPerMillion: 3_000_000,
      outputMicroUsdPerMillion: 15_000_000,
      cachedInputMicroUsdPerMillion: 300_000,
      source: "default" as const,
    };
    assert.equal(costOf(price, { inputTokens: 1000, outputTokens: 100, cachedInputTokens: null }), 3000 + 1500);
    assert.equal(costOf(price, { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 800 }), 600 + 240 + 1500);
    assert.equal(costOf(price, { inputTokens: 1000, outputTokens: null, cachedInputTokens: null }), null, "output not reported");
    assert.equal(costOf(undefined, { inputTokens: 1000, outputTokens: 100, cachedInputTokens: null }), null, "no price");
    assert.equal(
      costOf(
        { ...price, inputMicroUsdPerMillion: 50_000, outputMicroUsdPerMillion: 80_000 },
        { inputTokens: 7, outputTokens: 3, cachedInputTokens: null },
      ),
      1,
      "rounded once, on the whole answer",
    );
  });
});
