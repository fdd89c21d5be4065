import assert from "node:assert/strict";
import { budgetsResponseSchema } from "../../protocol/http/budgets";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { usageSummaryResponseSchema } from "../../protocol/http/usage";
import { registerUser } from "../../tools/harness/test-server";
import { chatRequests, createConversation, sendAndWait } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";
import { anthropicErrorOf, createApiKey, openAiErrorOf, startGatewayFixture, type GatewayFixture } from "./gateway/gateway-fixture";

/**
 * Budgets: team defaults and per-user overrides of monthly cost, monthly tokens and requests per
 * minute. A request over a limit is refused before any provider is called — the chat with a 429
 * budget_exceeded naming the limit, its value and when it resets; the gateway with a 429 in its API's
 * shape — on SQLite (requests counted in memory) and PostgreSQL (counted in the database).
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`budgets on ${backend}`, function () {
    this.timeout(60_000);
    let fixture: GatewayFixture;

    before(async () => {
      const environment = backend === "PostgreSQL" ? { DATABASE_URL: await createTestDatabase() } : {};
      fixture = await startGatewayFixture({ server: { environment } });
    });
    afterEach(async () => {
      fixture.fakes.reset();
      // every test starts without limits
      await fixture.server.request("PATCH", "/admin/budgets/team", {
        token: fixture.adminToken,
        body: { monthlyCostMicroUsd: null, monthlyTokens: null, requestsPerMinute: null },
      });
      await fixture.server.request("PATCH", `/admin/budgets/users/${fixture.memberId}`, {
        token: fixture.adminToken,
        body: { monthlyCostMicroUsd: "inherit", monthlyTokens: "inherit", requestsPerMinute: "inherit" },
      });
    });
    after(async () => {
      await fixture?.dispose();
    });

    const setUserBudget = async (userId: string, body: Record<string, unknown>) => {
      const response = await fixture.server.request("PATCH", `/admin/budgets/users/${userId}`, { token: fixture.adminToken, body });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return budgetsResponseSchema.parse(response.body);
    };

    it("refuses a send over the monthly cost limit before anything is written or any provider is called, naming the limit and the reset", async () => {
      const model = fixture.models.groq[0]!;
      const conversation = await createConversation(fixture.server, fixture.memberToken);
      // one answer, priced at the model's default price, spends more than a micro-dollar
      const { answer } = await sendAndWait(fixture.server, fixture.memberToken, conversation.id, "first question", model);
      assert.ok(answer.costMicroUsd > 0);
      // an answer's end does not wait for its ledger row (written moments later)
      await fixture.server.services.ledger.flush();
      await setUserBudget(fixture.memberId, { monthlyCostMicroUsd: 1 });
      fixture.fakes.reset();

      const refused = await fixture.server.request("POST", `/conversations/${conversation.id}/messages`, {
        token: fixture.memberToken,
        body: { content: "second question", modelId: model },
      });
      assert.equal(refused.status, 429);
      const error = errorResponseSchema.parse(refused.body).error;
      assert.equal(error.code, "budget_exceeded");
      assert.match(error.message, /monthly cost limit of \$0\.0000/);
      const nextMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
      assert.ok(error.message.includes(`resets on ${nextMonth} 00:00 UTC`), error.message);
      assert.ok(Number(refused.headers.get("retry-after")) > 0);
      assert.equal(chatRequests(fixture.fakes, "groq").length, 0, "the provider saw nothing");
      const page = (await fixture.server.request("GET", `/conversations/${conversation.id}`, { token: fixture.memberToken })).body;
      assert.equal(page.branchMessageCount, 2, "the refused question was not stored");

      // the gateway refuses the same way, in each API's shape
      await assert.rejects(
        fixture.openAi().chat.completions.create({ model, messages: [{ role: "user", content: "x" }] }),
        (caught: any) => {
          assert.equal(caught.status, 429);
          assert.equal(openAiErrorOf(caught).code, "budget_exceeded");
          assert.equal(openAiErrorOf(caught).type, "insufficient_quota");
          assert.equal(caught.headers.get("x-should-retry"), "false", "SDKs do not retry a spent monthly budget");
          return true;
        },
      );
      await assert.rejects(
        fixture.anthropic().messages.create({ model, max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
        (caught: any) => {
          assert.equal(caught.status, 429);
          assert.equal(anthropicErrorOf(caught).type, "rate_limit_error");
          assert.match(anthropicErrorOf(caught).message, /monthly cost limit/);
          return true;
        },
      );
      assert.equal(chatRequests(fixture.fakes, "groq").length, 0, "the provider saw nothing");
    });

    it("refuses over the monthly token limit, counting the chat's and the gateway's answers together", async () => {
      const model = fixture.models.anthropic[0]!;
      await fixture.openAi().chat.completions.create({ model, messages: [{ role: "user", content: "spend some tokens" }] });
      // the gateway answers before its ledger row is written (moments later)
      await fixture.server.services.ledger.flush();
      const summary = usageSummaryResponseSchema.parse(
        (await fixture.server.request("GET", "/me/usage-summary", { token: fixture.memberToken })).body,
      );
      assert.ok(summary.used.tokens > 0);
      await setUserBudget(fixture.memberId, { monthlyTokens: summary.used.tokens });
      fixture.fakes.reset();
      const conversation = await createConversation(fixture.server, fixture.memberToken);
      const refused = await fixture.server.request("POST", `/conversations/${conversation.id}/messages`, {
        token: fixture.memberToken,
        body: { content: "more", modelId: model },
      });
      assert.equal(refused.status, 429);
      assert.match(refused.body.error.message, new RegExp(`monthly token limit of ${summary.used.tokens.toLocaleString("en-US")} tokens?`));
      assert.equal(chatRequests(fixture.fakes, "anthropic").length, 0);
      const after = usageSummaryResponseSchema.parse(
        (await fixture.server.request("GET", "/me/usage-summary", { token: fixture.memberToken })).body,
      );
      assert.equal(after.limits.monthlyTokens, summary.used.tokens);
      assert.equal(after.used.tokens, summary.used.tokens, "a refused request spends nothing");
    });

    it("limits requests per minute, then lets them through again, with the wait in retry-after", async () => {
      await setUserBudget(fixture.memberId, { requestsPerMinute: 2 });
      const model = fixture.models.groq[0]!;
      const client = fixture.openAi();
      await client.chat.completions.create({ model, messages: [{ role: "user", content: "1" }] });
      await client.chat.completions.create({ model, messages: [{ role: "user", content: "2" }] });
      await assert.rejects(client.chat.completions.create({ model, messages: [{ role: "user", content: "3" }] }), (caught: any) => {
        assert.equal(caught.status, 429);
        assert.equal(openAiErrorOf(caught).code, "budget_exceeded");
        assert.match(openAiErrorOf(caught).message, /2 requests per minute/);
        const wait = Number(caught.headers.get("retry-after"));
        assert.ok(wait >= 1 && wait <= 60, String(wait));
        return true;
      });
      assert.equal(chatRequests(fixture.fakes, "groq").length, 2);
      // the chat counts against the same limit
      const conversation = await createConversation(fixture.server, fixture.memberToken);
      const refused = await fixture.server.request("POST", `/conversations/${conversation.id}/messages`, {
        token: fixture.memberToken,
        body: { content: "4", modelId: model },
      });
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.retryable, true);
    });

    it("applies the team's defaults, a user's overrides over them, and 'inherit' to go back", async () => {
      const other = await registerUser(fixture.server, `budgeted-${backend}`);
      const otherKey = await createApiKey(fixture.server, other.accessToken, "k");
      const team = await fixture.server.request("PATCH", "/admin/budgets/team", {
        token: fixture.adminToken,
        body: { requestsPerMinute: 1 },
      });
      assert.equal(team.status, 200);
      const lifted = await setUserBudget(fixture.memberId, { requestsPerMinute: null });
      assert.equal(lifted.team.requestsPerMinute, 1);
      const member = lifted.users.find((user) => user.userId === fixture.memberId)!;
      assert.deepEqual(member.overrides, { requestsPerMinute: null });
      assert.equal(member.effective.requestsPerMinute, null);
      assert.equal(lifted.users.find((user) => user.userId === other.user.id)!.effective.requestsPerMinute, 1);

      const model = fixture.models.groq[0]!;
      const ask = (key: string) => fixture.openAi(key).chat.completions.create({ model, messages: [{ role: "user", content: "x" }] });
      await ask(fixture.memberKey);
      await ask(fixture.memberKey);
      await ask(otherKey.key);
      await assert.rejects(ask(otherKey.key), (caught: any) => caught.status === 429);

      const inherited = await setUserBudget(fixture.memberId, { requestsPerMinute: "inherit" });
      assert.deepEqual(inherited.users.find((user) => user.userId === fixture.memberId)!.overrides, {});
      // requests made while unlimited were not counted: one more goes through, then the team's limit holds
      await ask(fixture.memberKey);
      await assert.rejects(ask(fixture.memberKey), (caught: any) => caught.status === 429, "the team's limit applies again");
    });

    it("is an admin's to see and change; bad values and unknown users are 4xx", async () => {
      assert.equal((await fixture.server.request("GET", "/admin/budgets", { token: fixture.memberToken })).status, 403);
      const bad = [
        { requestsPerMinute: 0 },
        { monthlyTokens: -5 },
        { monthlyCostMicroUsd: 1.5 },
        {},
        { unknown: 1 },
        { requestsPerMinute: "inherit" },
      ];
      for (const body of bad) {
        const response = await fixture.server.request("PATCH", "/admin/budgets/team", { token: fixture.adminToken, body });
        assert.equal(response.status, 400, JSON.stringify(body));
      }
      const unknown = await fixture.server.request("PATCH", "/admin/budgets/users/00000000-0000-0000-0000-000000000000", {
        token: fixture.adminToken,
        body: { requestsPerMinute: 5 },
      });
      assert.equal(unknown.status, 404);
    });
  });
}
