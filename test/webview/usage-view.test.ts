import assert from "node:assert/strict";
import type { UsageFigures, UsageResponse, UsageRow } from "../../protocol/http/usage";
import type { HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";
import { screenshotPath } from "../support/screenshot-path";
import { findButtonsWithoutLabel, findUnnamedControls } from "./support/accessibility";

const SCREENSHOT_PATH = screenshotPath("webview-usage.png");
const DAY_MS = 86_400_000;

function isoDay(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

function figures(answers: number, tokens: number, costMicroUsd: number | null): UsageFigures {
  return {
    answers,
    inputTokens: tokens,
    answersWithInputTokens: answers,
    outputTokens: Math.round(tokens / 4),
    answersWithOutputTokens: answers,
    cachedInputTokens: null,
    answersWithCachedInputTokens: 0,
    costMicroUsd,
    answersWithCost: costMicroUsd === null ? 0 : answers,
    averageTimeToFirstTokenMs: 300,
    averageDurationMs: 2100,
  };
}

const MODELS = ["anthropic:claude-sonnet-4-5", "groq:llama-3.3-70b-versatile", "ollama:llama3.2"];

/** A month of answers by day and model, as `GET /usage?groupBy=day,model` answers it. */
function usageByDayAndModel(from: string, to: string): UsageResponse {
  const rows: UsageRow[] = [];
  for (let time = Date.parse(from); time <= Date.parse(to); time += DAY_MS) {
    const day = isoDay(time);
    MODELS.forEach((modelId, index) => {
      const answers = ((time / DAY_MS + index) % 5) + 1;
      rows.push({ ...figures(answers, answers * 1200 * (index + 1), index === 2 ? 0 : answers * 9_000), period: day, modelId });
    });
  }
  return { from, to, bucket: "day", groupBy: ["model"], rows, totals: figures(rows.length, 1_000_000, 1_234_000) };
}

function usageByModel(from: string, to: string): UsageResponse {
  return {
    from,
    to,
    bucket: null,
    groupBy: ["model"],
    rows: MODELS.map((modelId, index) => ({
      ...figures(40 - index, 50_000 * (3 - index), index === 2 ? 0 : 400_000 * (3 - index)),
      modelId,
    })),
    totals: figures(117, 300_000, 1_200_000),
  };
}

/** Waits until the chart's canvas has a pixel of this colour ("r,g,b"). */
async function waitForPaintedColour(page: HarnessPage["page"], colour: string): Promise<void> {
  await page.waitForFunction((wanted) => {
    const canvas = document.querySelector<HTMLCanvasElement>(".usage-chart canvas");
    if (!canvas) return false;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    for (let index = 0; index < data.length; index += 4) if (`${data[index]},${data[index + 1]},${data[index + 2]}` === wanted) return true;
    return false;
  }, colour);
}

describe("Usage webview in Chromium", function () {
  this.timeout(60_000);
  const harness = useWebviewHarness();
  let view: HarnessPage;

  type Query = { id: number; params: { from: string; to: string; groupBy: string[]; userId?: string } };

  /** Answers the pair of queries a choice makes: by period and group (chart, CSV), by group (table). */
  async function answerQueries(): Promise<[Query, Query]> {
    const first = (await view.waitForRequest("usage/query")) as Query;
    const second = (await view.waitForRequest("usage/query")) as Query;
    for (const query of [first, second]) {
      const { from, to } = query.params;
      await view.respond(query.id, query.params.groupBy.length === 2 ? usageByDayAndModel(from, to) : usageByModel(from, to));
    }
    return [first, second];
  }

  async function openLoaded(viewer: { isAdmin: boolean }) {
    view = await harness.open({ view: "usage", width: 1100, height: 900 });
    const viewerRequest = await view.waitForRequest("viewer/get");
    await view.respond(viewerRequest.id, {
      userName: viewer.isAdmin ? "ada" : "grace",
      isAdmin: viewer.isAdmin,
      users: viewer.isAdmin
        ? [
            { id: "user-1", name: "ada" },
            { id: "user-2", name: "grace" },
          ]
        : [],
    });
    const queries = await answerQueries();
    await view.page.locator(".usage-table tbody tr").first().waitFor();
    return queries;
  }

  it("draws the last 30 days by model in the theme's chart colours, with a table and the totals", async () => {
    const [detail, byGroup] = await openLoaded({ isAdmin: true });
    const today = isoDay(Date.now());
    assert.deepEqual(detail.params, { from: isoDay(Date.now() - 29 * DAY_MS), to: today, groupBy: ["day", "model"] });
    assert.deepEqual(byGroup.params.groupBy, ["model"]);
    const page = view.page;

    // The chart: a canvas of the panel's width, painted with VS Code's charts.blue and charts.orange.
    const canvas = page.locator(".usage-chart canvas").first();
    await canvas.waitFor();
    const painted = await canvas.evaluate((element: HTMLCanvasElement) => {
      const context = element.getContext("2d")!;
      const { data } = context.getImageData(0, 0, element.width, element.height);
      const colours = new Set<string>();
      for (let index = 0; index < data.length; index += 4) colours.add(`${data[index]},${data[index + 1]},${data[index + 2]}`);
      return { width: element.getBoundingClientRect().width, colours: [...colours] };
    });
    assert.ok(painted.width > 900, `the chart spans the panel (${painted.width})`);
    assert.ok(painted.colours.includes("89,164,249"), "the first series in --vscode-charts-blue (#59a4f9)");
    assert.ok(painted.colours.includes("209,134,22"), "the second in --vscode-charts-orange (#d18616)");
    const description = (await page.locator(".usage-chart").getAttribute("aria-label")) ?? "";
    assert.match(description, /^Tokens by model, .* anthropic:claude-sonnet-4-5 /);

    // The table: one row per model, the largest first, with its figures.
    const rows = page.locator(".usage-table tbody tr");
    assert.equal(await rows.count(), 3);
    assert.deepEqual(await rows.locator("th").allTextContents(), MODELS);
    assert.deepEqual(await rows.first().locator("td").allTextContents(), ["40", "150,000", "37,500", "—", "$1.20", "300 ms"]);
    assert.match((await page.locator(".usage-totals").textContent()) ?? "", /90 requests · 1,250,000 tokens · \$1\.23/);

    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });

    // A theme change redraws in the new colours: VS Code writes the variables into <html>'s style…
    await page.evaluate(() => document.documentElement.style.setProperty("--vscode-charts-blue", "#ff00ff"));
    await waitForPaintedColour(page, "255,0,255");
    // … and from dark to light swaps the body's class too.
    await page.evaluate(() => {
      document.styleSheets[0]!.insertRule("body.vscode-light { --vscode-charts-blue: #00ff00; }");
      document.body.classList.add("vscode-light");
    });
    await waitForPaintedColour(page, "0,255,0");
  });

  it("changes the period, the metric, the grouping and the member, each from the host", async () => {
    await openLoaded({ isAdmin: true });
    const page = view.page;
    // Arrow keys move through the periods as in a radio group.
    await page.locator('.usage-range[data-range="30-days"]').focus();
    await page.keyboard.press("ArrowLeft");
    const [week] = await answerQueries();
    assert.deepEqual(week.params, { from: isoDay(Date.now() - 6 * DAY_MS), to: isoDay(Date.now()), groupBy: ["day", "model"] });
    assert.equal(await page.locator('.usage-range[aria-checked="true"]').textContent(), "7 days");

    await page.locator('.usage-range[data-range="today"]').click();
    const [today] = await answerQueries();
    assert.deepEqual(today.params.groupBy, ["hour", "model"], "today is drawn by hour");

    await page.locator('.usage-range[data-range="custom"]').click();
    await answerQueries();
    await page.locator('.usage-date[aria-label^="From"]').fill("2026-01-01");
    const [custom] = await answerQueries();
    assert.equal(custom.params.from, "2026-01-01");
    assert.equal(custom.params.groupBy[0], "week", "past 120 days: by week");

    // The metric redraws what is there, without asking again.
    const before = (await view.requests("usage/query")).length;
    await page.locator(".usage-metric").selectOption("cost");
    await page.locator('.usage-chart[aria-label^="Cost (USD) by model"]').waitFor();
    assert.equal((await view.requests("usage/query")).length, before);

    await page.locator(".usage-dimension").selectOption("user");
    const [byUser] = await answerQueries();
    assert.deepEqual(byUser.params.groupBy.slice(1), ["user"]);
    await page.locator(".usage-user").selectOption("user-2");
    const [oneMember] = await answerQueries();
    assert.equal(oneMember.params.userId, "user-2");
  });

  it("offers a member no grouping by user and no member to choose", async () => {
    await openLoaded({ isAdmin: false });
    const page = view.page;
    const groupings = await page.locator(".usage-dimension").locator("option").allTextContents();
    assert.deepEqual(groupings, ["Model", "Provider", "Client"]);
    assert.equal(await page.locator(".usage-field", { hasText: "Person" }).isVisible(), false);
    assert.match((await page.locator(".usage-header__description").textContent()) ?? "", /your answers/);
    assert.deepEqual(await findButtonsWithoutLabel(page), []);
    assert.deepEqual(await findUnnamedControls(page), []);
  });

  it("exports the rows shown as CSV through the host", async () => {
    const [detail] = await openLoaded({ isAdmin: false });
    await view.page.locator(".usage-export").click();
    const save = (await view.waitForRequest("csv/save")) as { id: number; params: { suggestedFileName: string; content: string } };
    assert.equal(save.params.suggestedFileName, `juggler-usage-${detail.params.from}-to-${detail.params.to}-by-model.csv`);
    const lines = save.params.content.trimEnd().split("\r\n");
    assert.match(lines[0]!, /^period,model,answers,input_tokens,output_tokens/);
    assert.equal(lines.length, 1 + 30 * MODELS.length, "one line per day and model");
    await view.respond(save.id, { saved: true, fileName: "usage.csv" });
  });

  it("groups a team of 1,000 members by user: seven in the chart and the rest as Other, all of them in the table and the CSV", async () => {
    await openLoaded({ isAdmin: true });
    const page = view.page;
    const members = Array.from({ length: 1_000 }, (_, index) => ({
      userId: `user-${index}`,
      userName: `member-${String(index).padStart(4, "0")}`,
    }));
    await page.locator(".usage-dimension").selectOption("user");
    const detail = (await view.waitForRequest("usage/query")) as Query;
    const byGroup = (await view.waitForRequest("usage/query")) as Query;
    const { from, to } = detail.params;
    const rows: UsageRow[] = [];
    for (let time = Date.parse(from); time <= Date.parse(to); time += DAY_MS)
      members.forEach((member, index) => rows.push({ ...figures(1, 1_000 + index, 1_000), period: isoDay(time), ...member }));
    // Timed in the page, from the first answer's arrival: the harness's own transport of 30,000 rows
    // (Playwright serialising them) takes several times longer and is not the product.
    await page.evaluate(() => {
      window.addEventListener("message", () => ((window as unknown as { answeredAt?: number }).answeredAt ??= performance.now()), {
        capture: true,
      });
    });
    await view.respond(detail.id, { from, to, bucket: "day", groupBy: ["user"], rows, totals: figures(rows.length, 1, 1) });
    await view.respond(byGroup.id, {
      from,
      to,
      bucket: null,
      groupBy: ["user"],
      rows: members.map((member, index) => ({ ...figures(30, 30 * (1_000 + index), 30_000), ...member })),
      totals: figures(rows.length, 1, 1),
    });
    await page.locator(".usage-table tbody tr", { hasText: "member-0000" }).waitFor();
    const inPageMs = await page.evaluate(() => performance.now() - (window as unknown as { answeredAt: number }).answeredAt);
    console.log(
      `      ${rows.length.toLocaleString("en-US")} rows checked, drawn and tabled in ${Math.round(inPageMs)} ms in the page (measured, not asserted)`,
    );
    assert.equal(await page.locator(".usage-table tbody tr").count(), 1_000);
    assert.equal(await page.locator(".usage-table tbody tr th").first().textContent(), "member-0999", "the largest first");
    const description = (await page.locator(".usage-chart").getAttribute("aria-label")) ?? "";
    const named = description.slice(description.indexOf(":") + 2, description.indexOf(". The table"));
    assert.deepEqual(
      named.split(", ").map((entry) => entry.split(" ")[0]),
      ["member-0999", "member-0998", "member-0997", "member-0996", "member-0995", "member-0994", "member-0993", "Other"],
    );

    await page.locator(".usage-export").click();
    const save = (await view.waitForRequest("csv/save")) as { id: number; params: { content: string } };
    assert.equal(save.params.content.trimEnd().split("\r\n").length, 1 + rows.length, "every day and member, not only the chart's eight");
    await view.respond(save.id, { saved: false });
  });

  it("says when there is nothing in the period, and shows a failure in plain words", async () => {
    view = await harness.open({ view: "usage", width: 900, height: 700 });
    const viewerRequest = await view.waitForRequest("viewer/get");
    await view.respond(viewerRequest.id, { userName: "grace", isAdmin: false, users: [] });
    const first = (await view.waitForRequest("usage/query")) as Query;
    const second = (await view.waitForRequest("usage/query")) as Query;
    const empty = {
      from: first.params.from,
      to: first.params.to,
      bucket: "day",
      groupBy: ["model"],
      rows: [],
      totals: figures(0, 0, null),
    };
    await view.respond(first.id, empty);
    await view.respond(second.id, { ...empty, bucket: null });
    await view.page.locator(".usage-empty", { hasText: "No answers in this period." }).waitFor();
    assert.equal(await view.page.locator(".usage-chart").isVisible(), false);

    await view.page.locator('.usage-range[data-range="7-days"]').click();
    const failed = await view.waitForRequest("usage/query");
    await view.respondError(failed.id, { code: "internal_error", message: "Can't reach the Juggler server." });
    await view.page.locator(".usage-status--problem", { hasText: "Can't reach the Juggler server." }).waitFor();
  });
});
