/**
 * Issue 11 in a real VS Code (code-server 4.139 = VS Code 1.139), driven with Playwright like a
 * person would, against the real team server and the fake providers: the extension installed from
 * its `.vsix`. Steps (each an `it`, in order; after a failed step the rest are skipped): sign in →
 * an answer in the chat shows its tokens, cost and speed, and the status bar's tooltip the month's
 * use against the budget → "Juggler: Show Usage" draws its chart in the theme's colours with a table
 * below, regrouped by user → a spent budget's refusal reaches the chat, naming the limit and its
 * reset. Screenshots go to test-results/screenshots/ (docs/screenshots/ with `npm run screenshots`).
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { ADMIN_NAME, ADMIN_PASSWORD, startTeamEnvironment, type TeamEnvironment } from "../../tools/harness/team-environment";
import type { CodeServer } from "../../tools/vscode-host/code-server-process";
import { followJourney } from "../../tools/vscode-host/journey-lifecycle";
import { REPO_ROOT } from "../../tools/vscode-host/provision";
import { chatParts, findWebview, sendChatMessage, waitUntil, signInWithCommand } from "../../tools/vscode-host/juggler-workbench";
import { screenshot } from "../../tools/vscode-host/workbench-driver";
import { screenshotPath } from "../support/screenshot-path";
import { prepareJourneyMachine } from "./support/journey-machine";

const FAILURE_SCREENSHOT = path.join(REPO_ROOT, "test-results", "usage-journey-failure.png");

/**
 * Runs the command of exactly this title from the Command Palette: "Juggler: Show Usage" also
 * matches "Juggler: Show Conversation Usage", which the palette may list first, so the row is clicked
 * rather than Enter pressed on the first one.
 */
async function runExactCommand(workbench: Page, title: string): Promise<void> {
  await workbench.locator(".monaco-workbench").focus();
  await workbench.keyboard.press("F1");
  const input = workbench.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  const row = workbench.locator(".quick-input-list .monaco-list-row").filter({ hasText: new RegExp(`^${title}`) });
  await row.first().click();
}

describe("vscode: usage, costs and budgets in code-server", function () {
  this.timeout(6 * 60_000);

  let team: TeamEnvironment | undefined;
  let codeServer: CodeServer | undefined;
  let page: Page | undefined;
  let tempDir: string;
  let modelId: string;

  before(async function () {
    this.timeout(10 * 60_000);
    const machine = await prepareJourneyMachine("juggler-usage-journey-");
    tempDir = machine.tempDir;
    team = await startTeamEnvironment({ withAdmin: true });
    // A Groq model: Juggler ships its price, so answers have a cost.
    modelId = team.admin!.models.groq[0]!;
    await team.server.request("PATCH", "/me/preferences", { token: team.admin!.accessToken, body: { lastModelId: modelId } });
    codeServer = await machine.startCodeServer(team.server.url);
    page = await machine.openWorkbench(codeServer);
  });

  followJourney(FAILURE_SCREENSHOT, () => ({ page, codeServer, team, tempDir }));

  it("signs in to the team server", async () => {
    await signInWithCommand(page!, { serverUrl: team!.server.url, name: ADMIN_NAME, password: ADMIN_PASSWORD }, 520);
  });

  it("shows an answer's tokens, cost and speed, and the month's use in the status bar's tooltip", async () => {
    const workbench = page!;
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    // tokens a few milliseconds apart, as a model writes them: an answer that arrives in one piece has no speed to show
    team!.fakes.groq.setTokenDelayMs(5);
    try {
      await sendChatMessage(chat, "What does a debounce do? Explain it in a few sentences.");
      await parts.completeAnswers.last().waitFor({ timeout: 60_000 });
    } finally {
      team!.fakes.groq.setTokenDelayMs(0);
    }
    const answer = parts.completeAnswers.last();
    const metadata = await answer.locator(".message__metadata").innerText();
    assert.match(metadata, /[\d,]+ → [\d,]+ tokens · (\$[\d.]+|< \$0\.0001) · [\d,.]+ (ms|s) to first token · [\d,]+ tokens\/s$/, metadata);

    // The status bar reads the month's use again after the answer (its ledger row lands moments later).
    const item = workbench.locator(".statusbar-item", { hasText: /Llama|llama/ }).first();
    await waitUntil("the tooltip to count the answer", async () => {
      await workbench.mouse.move(0, 0);
      await item.hover();
      const hover = workbench.locator(".monaco-hover, .workbench-hover").filter({ hasText: "Tokens this month" }).last();
      const text = (await hover.innerText({ timeout: 3_000 }).catch(() => "")) ?? "";
      return /Tokens this month: [1-9][\d,]* \(no limit\)/.test(text) && /Cost this month: \$[\d.]+ \(no limit\)/.test(text);
    });
    await workbench.mouse.move(0, 0);
  });

  it("opens Show Usage: a chart in the theme's colours, a table by model, regrouped by user", async () => {
    const workbench = page!;
    await runExactCommand(workbench, "Juggler: Show Usage");
    const usage = await findWebview(workbench, ".usage-page", { isInEditorArea: true });
    const row = usage.locator(".usage-table tbody tr", { hasText: modelId });
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.innerText(), /^\S+\s+1\s/, "one request for the model");
    const canvas = usage.locator(".usage-chart canvas").first();
    await canvas.waitFor();
    // The theme's charts.blue as VS Code gives it to the page, and the canvas's opaque colours.
    const { themeBlue, colours } = await canvas.evaluate((element: HTMLCanvasElement) => {
      const { data } = element.getContext("2d")!.getImageData(0, 0, element.width, element.height);
      const seen = new Set<string>();
      for (let index = 0; index < data.length; index += 4)
        if (data[index + 3] === 255) seen.add(`${data[index]},${data[index + 1]},${data[index + 2]}`);
      return { themeBlue: getComputedStyle(document.body).getPropertyValue("--vscode-charts-blue").trim(), colours: [...seen] };
    });
    assert.match(themeBlue, /^#[0-9a-f]{6}$/i, "VS Code sets --vscode-charts-blue");
    const blue = [1, 3, 5].map((start) => Number.parseInt(themeBlue.slice(start, start + 2), 16));
    // The one series is drawn in it (the canvas may round a channel by a step or two).
    const isBlue = (colour: string) => colour.split(",").every((channel, index) => Math.abs(Number(channel) - blue[index]!) <= 3);
    assert.ok(colours.some(isBlue), `a bar in charts.blue ${themeBlue}; colours: ${colours.slice(0, 12).join(" ")}`);

    await usage.locator(".usage-dimension").selectOption("user");
    await usage.locator(".usage-table tbody tr", { hasText: ADMIN_NAME }).waitFor({ timeout: 30_000 });
    await screenshot(workbench, screenshotPath("usage-view.png"));
  });

  it("refuses an answer over the budget in the chat, naming the limit and when it resets", async () => {
    const workbench = page!;
    // The admin sets a monthly token limit the first answer already spent.
    const budget = await team!.server.request("PATCH", "/admin/budgets/team", {
      token: team!.admin!.accessToken,
      body: { monthlyTokens: 10 },
    });
    assert.equal(budget.status, 200, JSON.stringify(budget.body));
    const chat = await findWebview(workbench, ".chat-app", { isInEditorArea: false });
    const parts = chatParts(chat);
    await parts.composer.click();
    await parts.composer.fill("One more question?");
    await parts.composer.press("Enter");
    const error = chat.locator(".composer__error");
    await waitUntil("the refusal under the composer", async () =>
      /monthly token limit of 10 tokens/.test((await error.innerText().catch(() => "")) ?? ""),
    );
    assert.match(await error.innerText(), /resets on \d{4}-\d{2}-\d{2} 00:00 UTC/);
  });
});
