import assert from "node:assert/strict";
import { conversationUsageResponseSchema, usageResponseSchema, type UsageFigures } from "../../protocol/http/usage";
import type { AnswerUsage } from "../../server/src/services/ledger-service";
import { UsageLedgerRepository } from "../../server/src/storage/usage-ledger-repository";
import { registerUser } from "../../tools/harness/test-server";
import { createConversation, sendAndWait } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";
import { startGatewayFixture, type GatewayFixture } from "./gateway/gateway-fixture";

/**
 * The usage API over the ledger: aggregates by time and by provider, model, client and user equal the
 * same sums made here from the answers recorded (a second method), on SQLite and PostgreSQL; figures
 * no answer reported stay null; a member never sees another's figures; price changes leave recorded
 * costs as they were; a conversation's totals by model.
 */
const DAY_MS = 86_400_000;
/** Defaults of price-defaults.ts, per million tokens in micro-dollars: input, output, cached input. */
const prices: Record<string, [number, number, number]> = {
  "anthropic:claude-haiku-4-5": [1_000_000, 5_000_000, 100_000],
  "groq:llama-3.1-8b-instant": [50_000, 80_000, 50_000],
};

/** The cost formula written out again, to check the server's. */
function expectedCost(modelId: string, input: number | null, output: number | null, cached: number | null): number | null {
  const price = prices[modelId];
  if (price === undefined || input === null || output === null) return null;
  const fromCache = Math.min(cached ?? 0, input);
  return Math.round(((input - fromCache) * price[0] + fromCache * price[2] + output * price[1]) / 1_000_000);
}

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`usage on ${backend}`, function () {
    this.timeout(60_000);
    let fixture: GatewayFixture;
    let otherId: string;
    let otherToken: string;
    const recorded: AnswerUsage[] = [];
    const today = Date.UTC(2026, 10, 18, 12); // a Wednesday
    const day = (offset: number) => new Date(today + offset * DAY_MS).toISOString().slice(0, 10);

    before(async () => {
      const environment = backend === "PostgreSQL" ? { DATABASE_URL: await createTestDatabase() } : {};
      fixture = await startGatewayFixture({ server: { environment } });
      const other = await registerUser(fixture.server, "other");
      otherId = other.user.id;
      otherToken = other.accessToken;
      // answers over five days (a week boundary on day -3, Sunday → Monday), two users, two models, the chat and two keys
      for (let index = 0; index < 60; index += 1) {
        const userId = index % 3 === 0 ? otherId : fixture.memberId;
        const modelId = index % 2 === 0 ? "anthropic:claude-haiku-4-5" : "groq:llama-3.1-8b-instant";
        const client: AnswerUsage["client"] =
          index % 4 === 0
            ? { kind: "chat" }
            : { kind: "gateway", apiKeyId: `key-${index % 2}`, apiKeyName: index % 2 === 0 ? "laptop" : "ci" };
        // some answers report nothing, some no output (stopped early), some cached input
        const input = index % 11 === 5 ? null : 100 + index * 7;
        const output = index % 7 === 3 ? null : 20 + index;
        const cached = modelId.startsWith("anthropic") && input !== null ? (index % 5) * 10 : null;
        const usage: AnswerUsage = {
          userId,
          client,
          provider: modelId.startsWith("anthropic") ? "anthropic" : "groq",
          modelId,
          status: output === null ? "stopped" : "complete",
          inputTokens: input,
          outputTokens: output,
          cachedInputTokens: cached,
          timeToFirstTokenMs: index % 6 === 0 ? null : 100 + index,
          durationMs: 1000 + index * 10,
          finishedAt: today - (index % 5) * DAY_MS - (index % 3) * 3_600_000,
        };
        await fixture.server.services.ledger.recordAnswer(usage);
        recorded.push(usage);
      }
      await fixture.server.services.ledger.flush();
    });
    after(async () => {
      await fixture?.dispose();
    });

    /** The sums of a set of recorded answers, made here. */
    function figuresOf(answers: AnswerUsage[]): UsageFigures {
      const reported = <T>(values: Array<T | null>) => values.filter((value): value is T => value !== null);
      const inputs = reported(answers.map((answer) => answer.inputTokens));
      const outputs = reported(answers.map((answer) => answer.outputTokens));
      const cached = reported(answers.map((answer) => answer.cachedInputTokens));
      const costs = reported(
        answers.map((answer) => expectedCost(answer.modelId, answer.inputTokens, answer.outputTokens, answer.cachedInputTokens)),
      );
      const firsts = reported(answers.map((answer) => answer.timeToFirstTokenMs));
      const durations = reported(answers.map((answer) => answer.durationMs));
      const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
      return {
        answers: answers.length,
        inputTokens: inputs.length === 0 ? null : sum(inputs),
        answersWithInputTokens: inputs.length,
        outputTokens: outputs.length === 0 ? null : sum(outputs),
        answersWithOutputTokens: outputs.length,
        cachedInputTokens: cached.length === 0 ? null : sum(cached),
        answersWithCachedInputTokens: cached.length,
        costMicroUsd: costs.length === 0 ? null : sum(costs),
        answersWithCost: costs.length,
        averageTimeToFirstTokenMs: firsts.length === 0 ? null : sum(firsts) / firsts.length,
        averageDurationMs: durations.length === 0 ? null : sum(durations) / durations.length,
      };
    }

    /** `key` → answers, for a grouping made here. */
    function groupAnswers(answers: AnswerUsage[], key: (answer: AnswerUsage) => string): Map<string, AnswerUsage[]> {
      const groups = new Map<string, AnswerUsage[]>();
      for (const answer of answers) groups.set(key(answer), [...(groups.get(key(answer)) ?? []), answer]);
      return groups;
    }

    const inRange = (answer: AnswerUsage, from: string, to: string) => {
      const answered = new Date(answer.finishedAt).toISOString().slice(0, 10);
      return answered >= from && answered <= to;
    };

    async function usage(query: string, token = fixture.adminToken) {
      const response = await fixture.server.request("GET", `/usage?${query}`, { token });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return usageResponseSchema.parse(response.body);
    }

    it("sums by day and model exactly as the answers add up", async () => {
      const [from, to] = [day(-4), day(0)];
      const result = await usage(`from=${from}&to=${to}&groupBy=day,model`);
      const expected = groupAnswers(
        recorded.filter((answer) => inRange(answer, from, to)),
        (answer) => `${new Date(answer.finishedAt).toISOString().slice(0, 10)}|${answer.modelId}`,
      );
      assert.equal(result.rows.length, expected.size);
      for (const row of result.rows) {
        const { period, modelId, provider, ...figures } = row;
        assert.equal(provider, modelId!.split(":")[0]);
        assert.deepEqual(figures, figuresOf(expected.get(`${period}|${modelId}`)!), `${period} ${modelId}`);
      }
      assert.deepEqual(result.totals, figuresOf(recorded.filter((answer) => inRange(answer, from, to))));
      assert.deepEqual(
        result.rows.map((row) => row.period),
        [...result.rows.map((row) => row.period)].sort(),
        "ordered by period",
      );
    });

    it("sums by model and user, by client, by week and by month; a narrower range holds fewer answers", async () => {
      const [from, to] = [day(-4), day(0)];
      const all = recorded.filter((answer) => inRange(answer, from, to));
      const byModelAndUser = await usage(`from=${from}&to=${to}&groupBy=model,user`);
      const expected = groupAnswers(all, (answer) => `${answer.modelId}|${answer.userId}`);
      assert.equal(byModelAndUser.rows.length, expected.size);
      for (const row of byModelAndUser.rows) {
        assert.equal(row.userName, row.userId === otherId ? "other" : "member");
        const { modelId, userId, userName: _name, provider: _provider, ...figures } = row;
        assert.deepEqual(figures, figuresOf(expected.get(`${modelId}|${userId}`)!));
      }
      const byClient = await usage(`from=${from}&to=${to}&groupBy=client`);
      const clients = groupAnswers(all, (answer) => (answer.client.kind === "chat" ? "chat|chat" : `gateway|${answer.client.apiKeyName}`));
      assert.deepEqual(byClient.rows.map((row) => `${row.clientKind}|${row.clientName}`).sort(), [...clients.keys()].sort());
      for (const row of byClient.rows) {
        const { clientKind, clientName, ...figures } = row;
        assert.deepEqual(figures, figuresOf(clients.get(`${clientKind}|${clientName}`)!));
      }
      const byWeek = await usage(`from=${from}&to=${to}&groupBy=week`);
      // 2026-11-14 (Sat) … 2026-11-18 (Wed): the weeks of Monday 2026-11-09 and Monday 2026-11-16
      assert.deepEqual(
        byWeek.rows.map((row) => row.period),
        ["2026-11-09", "2026-11-16"],
      );
      assert.deepEqual(byWeek.rows[0]!.answers + byWeek.rows[1]!.answers, all.length);
      const byMonth = await usage(`from=${from}&to=${to}&groupBy=month,provider`);
      assert.deepEqual(
        byMonth.rows.map((row) => `${row.period} ${row.provider}`),
        ["2026-11 anthropic", "2026-11 groq"],
      );
      const oneDay = await usage(`from=${day(-1)}&to=${day(-1)}`);
      assert.deepEqual(oneDay.totals, figuresOf(recorded.filter((answer) => inRange(answer, day(-1), day(-1)))));
    });

    it("keeps a figure no answer reported null, and counts how many reported each", async () => {
      const unreported = recorded.filter((answer) => answer.inputTokens === null);
      assert.ok(unreported.length > 0);
      const result = await usage(`from=${day(-4)}&to=${day(0)}&groupBy=model`);
      const groq = result.rows.find((row) => row.modelId === "groq:llama-3.1-8b-instant")!;
      assert.equal(groq.cachedInputTokens, null, "no Groq answer reported cached input");
      assert.equal(groq.answersWithCachedInputTokens, 0);
      assert.ok(groq.answersWithCost < groq.answers, "answers without both counts have no cost");
    });

    it("answers hours from single answers, for at most two days", async () => {
      const result = await usage(`from=${day(-1)}&to=${day(0)}&groupBy=hour,user`);
      const expected = groupAnswers(
        recorded.filter((answer) => inRange(answer, day(-1), day(0))),
        (answer) => `${new Date(Math.floor(answer.finishedAt / 3_600_000) * 3_600_000).toISOString()}|${answer.userId}`,
      );
      assert.equal(result.rows.length, expected.size);
      for (const row of result.rows) {
        const { period, userId, userName: _name, ...figures } = row;
        assert.deepEqual(figures, figuresOf(expected.get(`${period}|${userId}`)!));
      }
      const tooLong = await fixture.server.request("GET", `/usage?from=${day(-4)}&to=${day(0)}&groupBy=hour`, {
        token: fixture.adminToken,
      });
      assert.equal(tooLong.status, 400);
    });

    it("shows a member only their own figures; an admin everyone's, or one member's", async () => {
      const range = `from=${day(-4)}&to=${day(0)}`;
      const mine = await usage(`${range}&groupBy=user`, fixture.memberToken);
      assert.deepEqual(
        mine.rows.map((row) => row.userId),
        [fixture.memberId],
      );
      assert.deepEqual(mine.totals, figuresOf(recorded.filter((answer) => answer.userId === fixture.memberId)));
      const theirs = await usage(range, otherToken);
      assert.deepEqual(theirs.totals, figuresOf(recorded.filter((answer) => answer.userId === otherId)));
      const peek = await fixture.server.request("GET", `/usage?${range}&userId=${otherId}`, { token: fixture.memberToken });
      assert.equal(peek.status, 403);
      const asAdmin = await usage(`${range}&userId=${otherId}`);
      assert.deepEqual(asAdmin.totals, theirs.totals);
      const everyone = await usage(range);
      assert.deepEqual(everyone.totals, figuresOf(recorded));
    });

    it("refuses a bad query with a 400", async () => {
      for (const query of [
        "from=2026-11-20&to=2026-11-01",
        "from=2024-01-01&to=2026-01-01",
        "groupBy=day,week",
        "groupBy=model,model",
        "groupBy=colour",
        "from=2026-02-30",
        "from=yesterday",
      ]) {
        const response = await fixture.server.request("GET", `/usage?${query}`, { token: fixture.adminToken });
        assert.equal(response.status, 400, `${query}: ${JSON.stringify(response.body)}`);
      }
    });

    it("writes answers that end together in shared transactions, many per group and more than one statement holds", async () => {
      const at = today - 40 * DAY_MS;
      const together: AnswerUsage[] = Array.from({ length: 1200 }, (_unused, index) => ({
        userId: index % 2 === 0 ? fixture.memberId : otherId,
        client: { kind: "gateway", apiKeyId: "burst", apiKeyName: "burst" },
        provider: "groq",
        modelId: "groq:llama-3.1-8b-instant",
        status: "complete",
        inputTokens: 10 + index,
        outputTokens: index % 9 === 0 ? null : 5,
        cachedInputTokens: null,
        timeToFirstTokenMs: 50,
        durationMs: 100,
        finishedAt: at + index,
      }));
      await Promise.all(together.map(async (usage) => (await fixture.server.services.ledger.recordAnswer(usage)).written));
      const burstDay = new Date(at).toISOString().slice(0, 10);
      const result = await usage(`from=${burstDay}&to=${burstDay}&groupBy=user`);
      assert.deepEqual(
        result.rows.map(({ userId: _id, userName: _name, ...figures }) => figures),
        [fixture.memberId, otherId].sort().map((userId) => figuresOf(together.filter((answer) => answer.userId === userId))),
      );
    });

    it("keeps the daily and weekly rollups equal to the raw ledger summed again", async () => {
      const read = async () => ({
        daily: await fixture.server
          .database("usage_daily")
          .orderBy(["day", "user_id", "client_kind", "client_name", "provider", "model_id"]),
        weekly: await fixture.server
          .database("usage_weekly")
          .orderBy(["week", "user_id", "client_kind", "client_name", "provider", "model_id"]),
      });
      const normalise = (rows: any[]) =>
        rows.map((row) =>
          Object.fromEntries(
            Object.entries(row).map(([key, value]) => [key, typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value]),
          ),
        );
      const before = await read();
      assert.ok(before.weekly.length > 0 && before.weekly.length < before.daily.length);
      await new UsageLedgerRepository(fixture.server.database).rebuildRollups();
      const rebuilt = await read();
      assert.deepEqual(normalise(rebuilt.daily), normalise(before.daily));
      assert.deepEqual(normalise(rebuilt.weekly), normalise(before.weekly));
    });

    it("reads a range as its whole weeks and its edge days, with the same sums as day by day", async () => {
      // 2026-11-04 (Wed) … 2026-11-18 (Wed): the whole week of 2026-11-09 and edge days on both sides
      const [from, to] = ["2026-11-04", "2026-11-18"];
      const viaWeeks = await usage(`from=${from}&to=${to}&groupBy=model,user,client`);
      const byDay = await usage(`from=${from}&to=${to}&groupBy=day,model,user,client`);
      const summed = new Map<string, UsageFigures>();
      for (const row of byDay.rows) {
        const key = `${row.modelId}|${row.userId}|${row.clientKind}|${row.clientName}`;
        const answers = recorded.filter(
          (answer) =>
            inRange(answer, from, to) &&
            answer.modelId === row.modelId &&
            answer.userId === row.userId &&
            (answer.client.kind === "chat" ? "chat" : answer.client.apiKeyName) === row.clientName,
        );
        summed.set(key, figuresOf(answers));
      }
      assert.equal(viaWeeks.rows.length, summed.size);
      for (const row of viaWeeks.rows) {
        const { modelId, userId, clientKind, clientName, userName: _name, provider: _provider, ...figures } = row;
        assert.deepEqual(figures, summed.get(`${modelId}|${userId}|${clientKind}|${clientName}`));
      }
    });

    it("leaves recorded costs as they were when a price changes; later answers take the new price", async () => {
      const model = fixture.models.groq.find((id) => id === "groq:llama-3.3-70b-versatile")!;
      const conversation = await createConversation(fixture.server, fixture.memberToken);
      const first = (await sendAndWait(fixture.server, fixture.memberToken, conversation.id, "before the change", model)).answer;
      assert.equal(
        first.costMicroUsd,
        Math.round((first.inputTokens * 590_000 + first.outputTokens * 790_000) / 1_000_000),
        "the default price",
      );
      // the chat's answer is in the ledger, with its tokens exactly as the message stores them
      // the answer's end does not wait for its ledger row: wait for it here
      await fixture.server.services.ledger.flush();
      const row = (await new UsageLedgerRepository(fixture.server.database).findByMessage(first.id))!;
      assert.deepEqual(
        [
          row.client_kind,
          row.client_name,
          row.conversation_id,
          row.user_id,
          row.status,
          row.input_tokens,
          row.output_tokens,
          row.cost_micro_usd,
        ],
        ["chat", "chat", conversation.id, fixture.memberId, "complete", first.inputTokens, first.outputTokens, first.costMicroUsd],
      );
      assert.equal(row.time_to_first_token_ms, first.timeToFirstTokenMs);
      const firstDay = first.updatedAt.slice(0, 10);
      const totalsBefore = (await usage(`from=${firstDay}&to=${firstDay}&groupBy=model`)).rows.find((row) => row.modelId === model)!;

      const set = await fixture.server.request("POST", "/admin/prices", {
        token: fixture.adminToken,
        body: { modelId: model, inputUsdPerMillionTokens: 100, outputUsdPerMillionTokens: 200 },
      });
      assert.equal(set.status, 201, JSON.stringify(set.body));
      assert.equal(set.body.current.source, "admin");

      const again = (await fixture.server.request("GET", `/messages/${first.id}`, { token: fixture.memberToken })).body.message;
      assert.equal(again.costMicroUsd, first.costMicroUsd, "the answer keeps its cost");
      const totalsAfter = (await usage(`from=${firstDay}&to=${firstDay}&groupBy=model`)).rows.find((row) => row.modelId === model)!;
      assert.deepEqual(totalsAfter, totalsBefore, "history is unchanged");

      const second = (await sendAndWait(fixture.server, fixture.memberToken, conversation.id, "after the change", model)).answer;
      assert.equal(second.costMicroUsd, Math.round((second.inputTokens * 100_000_000 + second.outputTokens * 200_000_000) / 1_000_000));

      await fixture.server.services.ledger.flush();
      const totals = conversationUsageResponseSchema.parse(
        (await fixture.server.request("GET", `/conversations/${conversation.id}/usage`, { token: fixture.memberToken })).body,
      );
      assert.equal(totals.models.length, 1);
      assert.equal(totals.models[0]!.answers, 2);
      assert.equal(totals.totals.costMicroUsd, first.costMicroUsd + second.costMicroUsd);
      assert.equal(totals.totals.inputTokens, first.inputTokens + second.inputTokens);
      assert.equal(
        (await fixture.server.request("GET", `/conversations/${conversation.id}/usage`, { token: otherToken })).status,
        404,
        "another's conversation",
      );
    });
  });
}
