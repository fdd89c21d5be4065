import assert from "node:assert/strict";
import fs from "node:fs";
import { findButtonsWithoutLabel, findUnnamedControls } from "./support/accessibility";
import { buildBudgets, buildModels, buildPrices, buildProvider, buildProviders, buildUsers } from "./support/team-settings-fixtures";
import type { HarnessPage } from "../../tools/webview-harness/webview-harness";
import { useWebviewHarness } from "./support/use-webview-harness";
import type { Preset } from "../../protocol/http/prompts";
import { screenshotPath } from "../support/screenshot-path";

const SCREENSHOT_PATH = screenshotPath("webview-team-settings.png");
/** A preset as GET /presets lists it. */
function buildPreset(overrides: Partial<Preset> = {}): Preset {
  return {
    id: "preset-1",
    name: "Reviewer",
    systemPrompt: "You review TypeScript.",
    modelId: "anthropic:claude-haiku-4-5",
    temperature: 0.2,
    maxOutputTokens: 2000,
    createdAt: "2026-12-01T10:00:00.000Z",
    updatedAt: "2026-12-01T10:00:00.000Z",
    ...overrides,
  };
}
const NEW_KEY = "sk-ant-api03-NEWSECRETKEYVALUE-1234";

describe("Team Settings webview in Chromium", function () {
  this.timeout(60_000);
  const harness = useWebviewHarness();
  let view: HarnessPage;

  /** Opens the panel and answers its four loading requests as the host would. */
  async function openLoaded(options: { width?: number; height?: number } = {}) {
    view = await harness.open({ view: "team-settings", width: options.width ?? 1000, height: options.height ?? 900 });
    const providers = await view.waitForRequest("providers/list");
    await view.respond(providers.id, { providers: buildProviders() });
    const models = await view.waitForRequest("models/list-all");
    await view.respond(models.id, { models: buildModels() });
    const users = await view.waitForRequest("users/list");
    await view.respond(users.id, { users: buildUsers() });
    const settings = await view.waitForRequest("settings/get");
    await view.respond(settings.id, { registration: "approval", summariserModelId: null });
    const fallbacks = await view.waitForRequest("fallbacks/list");
    await view.respond(fallbacks.id, {
      fallbacks: [{ modelId: "groq:llama-3.3-70b-versatile", fallbackModelIds: ["anthropic:claude-haiku-4-5"] }],
    });
    const prices = await view.waitForRequest("prices/list");
    await view.respond(prices.id, { prices: buildPrices() });
    const budgets = await view.waitForRequest("budgets/get");
    await view.respond(budgets.id, buildBudgets());
    const presets = await view.waitForRequest("presets/list");
    await view.respond(presets.id, { presets: [buildPreset()] });
    await view.page.locator(".provider-card").first().waitFor();
    return view;
  }

  it("shows each model's price and where it comes from, and sets a new one through the host", async () => {
    await openLoaded();
    const page = view.page;
    const sonnet = page.locator('.prices-table tr[data-model-id="anthropic:claude-sonnet-4-5"]');
    assert.match((await sonnet.locator(".prices-table__source").textContent()) ?? "", /Juggler's default, taken 2026-10-01/);
    assert.equal(await sonnet.locator('[data-field="inputUsdPerMillionTokens"]').inputValue(), "3");
    const unpriced = page.locator('.prices-table tr[data-model-id="ollama:llama3.2"]');
    assert.match((await unpriced.locator(".prices-table__source").textContent()) ?? "", /No price/);

    // Save appears only once a figure changed; Enter saves.
    assert.equal(await sonnet.locator("vscode-button").isVisible(), false);
    await sonnet.locator('[data-field="outputUsdPerMillionTokens"]').fill("12.5");
    await sonnet.locator("vscode-button").click();
    const set = await view.waitForRequest("prices/set");
    assert.deepEqual(set.params, {
      modelId: "anthropic:claude-sonnet-4-5",
      inputUsdPerMillionTokens: 3,
      outputUsdPerMillionTokens: 12.5,
      cachedInputUsdPerMillionTokens: 0.3,
    });
    await view.respond(set.id, {
      ...buildPrices()[0],
      current: {
        inputUsdPerMillionTokens: 3,
        outputUsdPerMillionTokens: 12.5,
        cachedInputUsdPerMillionTokens: 0.3,
        source: "admin",
        effectiveFrom: "2026-12-07T10:00:00.000Z",
        takenOn: null,
        sourceUrl: null,
      },
    });
    await page.locator(".prices-section .status-line", { hasText: "applies from now on" }).waitFor();
    assert.match((await sonnet.locator(".prices-table__source").textContent()) ?? "", /Set by an admin, from 2026-12-07/);

    // A price without input or output is refused here, before any request.
    await unpriced.locator('[data-field="inputUsdPerMillionTokens"]').fill("1");
    await unpriced.locator("vscode-button").click();
    await page.locator(".prices-section .status-line", { hasText: "give input and output prices" }).waitFor();
  });

  it("edits the team's budget and a member's own limits: dollars, none, back to the team's", async () => {
    await openLoaded();
    const page = view.page;
    const teamCost = page.locator('.budget-team [data-limit="monthlyCostMicroUsd"]');
    assert.equal(await teamCost.inputValue(), "50.00");
    await teamCost.fill("$75.5");
    await page.locator('.budget-team [data-limit="requestsPerMinute"]').fill("30");
    await page.locator(".budget-team vscode-button").click();
    const team = await view.waitForRequest("budgets/update-team");
    assert.deepEqual(team.params, { monthlyCostMicroUsd: 75_500_000, requestsPerMinute: 30 });
    await view.respond(team.id, buildBudgets({ monthlyCostMicroUsd: 75_500_000, monthlyTokens: null, requestsPerMinute: 30 }));
    await page.locator(".budgets-section .status-line", { hasText: "team's budget is saved" }).waitFor();

    const member = page.locator('.budgets-table tr[data-user-id="user-2"]');
    const memberCost = member.locator('[data-limit="monthlyCostMicroUsd"]');
    assert.equal(await memberCost.inputValue(), "10.00", "the member's own limit");
    assert.equal(await memberCost.getAttribute("placeholder"), "team: $75.50");
    assert.equal(await member.locator('[data-limit="monthlyTokens"]').inputValue(), "", "the team's limit applies");
    await memberCost.fill("");
    await member.locator('[data-limit="monthlyTokens"]').fill("none");
    await member.locator("vscode-button").click();
    const user = await view.waitForRequest("budgets/update-user");
    assert.deepEqual(user.params, { userId: "user-2", changes: { monthlyCostMicroUsd: "inherit", monthlyTokens: null } });

    // What cannot be a limit is refused with its reason.
    await member.locator('[data-limit="requestsPerMinute"]').fill("1.5");
    await member.locator("vscode-button").click();
    await page.locator(".budgets-section .status-line", { hasText: "a whole number" }).waitFor();
  });

  /** Every text the page holds, including what form fields inside shadow roots contain. */
  function everythingOnThePage(): Promise<string> {
    return view.page.evaluate(`(() => {
      const parts = [document.documentElement.outerHTML];
      const visit = (root) => {
        for (const element of Array.from(root.querySelectorAll("*"))) {
          if ("value" in element && typeof element.value === "string") parts.push(element.value);
          if (element.shadowRoot) { parts.push(element.shadowRoot.innerHTML); visit(element.shadowRoot); }
        }
      };
      visit(document);
      return parts.join("\\n");
    })()`);
  }

  it("shows each model's fallbacks in order, adds, reorders and removes them through the host", async () => {
    await openLoaded();
    const page = view.page;
    const entry = page.locator('.fallback-entry[data-model-id="groq:llama-3.3-70b-versatile"]');
    assert.equal((await entry.locator(".fallback-entry__title").textContent())?.trim(), "Llama 3.3 70B Versatile (Groq) falls back to");
    assert.deepEqual(await entry.locator(".fallback-entry__name").allTextContents(), ["Claude Haiku 4.5 (Anthropic)"]);
    // only visible models can be chosen: hidden ones cannot answer
    const choices = await page.locator(".fallbacks-form__model option").allTextContents();
    assert.ok(!choices.some((text) => text.startsWith("Claude Opus 4.1")), choices.join(", "));

    await page.locator(".fallbacks-form__model").selectOption("groq:llama-3.3-70b-versatile");
    // the models it already falls back to (and itself) are not offered again
    const fallbackChoices = await page
      .locator(".fallbacks-form__fallback option")
      .evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value));
    assert.ok(!fallbackChoices.includes("anthropic:claude-haiku-4-5") && !fallbackChoices.includes("groq:llama-3.3-70b-versatile"));
    await page.locator(".fallbacks-form__fallback").selectOption("anthropic:claude-sonnet-4-5");
    await page.locator('vscode-button[aria-label="Add this fallback"]').click();
    type FallbacksSet = { id: number; params: { modelId: string; fallbackModelIds: string[] } };
    const add = (await view.waitForRequest("fallbacks/set")) as FallbacksSet;
    assert.deepEqual(add.params, {
      modelId: "groq:llama-3.3-70b-versatile",
      fallbackModelIds: ["anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-5"],
    });
    await view.respond(add.id, { fallbacks: [{ modelId: "groq:llama-3.3-70b-versatile", fallbackModelIds: add.params.fallbackModelIds }] });
    await page
      .locator(".fallbacks-section .status-line", { hasText: "falls back to Claude Haiku 4.5 (Anthropic), then Claude Sonnet 4.5" })
      .waitFor();

    await entry
      .locator('vscode-button[aria-label="Move Claude Sonnet 4.5 (Anthropic) in the fallbacks of Llama 3.3 70B Versatile (Groq) up"]')
      .click();
    const reorder = (await view.waitForRequest("fallbacks/set")) as FallbacksSet;
    assert.deepEqual(reorder.params.fallbackModelIds, ["anthropic:claude-sonnet-4-5", "anthropic:claude-haiku-4-5"]);
    await view.respond(reorder.id, {
      fallbacks: [{ modelId: "groq:llama-3.3-70b-versatile", fallbackModelIds: reorder.params.fallbackModelIds }],
    });
    await entry.locator(".fallback-entry__name").first().filter({ hasText: "Claude Sonnet 4.5" }).waitFor();

    await entry
      .locator('vscode-button[aria-label="Remove Claude Haiku 4.5 (Anthropic) in the fallbacks of Llama 3.3 70B Versatile (Groq)"]')
      .click();
    const remove = (await view.waitForRequest("fallbacks/set")) as FallbacksSet;
    assert.deepEqual(remove.params.fallbackModelIds, ["anthropic:claude-sonnet-4-5"]);
  });

  it("lists the team's presets, adds one with preset/create and deletes one with preset/delete", async () => {
    await openLoaded();
    const page = view.page;
    const listed = page.locator('.presets-section__preset[data-preset-id="preset-1"]');
    assert.equal(
      (await listed.locator(".presets-section__detail").textContent())?.trim(),
      "anthropic:claude-haiku-4-5 · temperature 0.2 · 2,000 output tokens · “You review TypeScript.”",
    );
    // only visible models can be chosen: a preset's model must be able to answer
    const choices = await page.locator(".presets-section__form select option").allTextContents();
    assert.equal(choices[0], "Any (the member's current model)");
    assert.ok(!choices.some((text) => text.startsWith("Claude Opus 4.1")), choices.join(", "));

    await page.getByLabel("Name", { exact: true }).fill("Terse");
    await page.getByLabel("System prompt (empty: the default)").fill("Answer in one sentence.");
    await page.getByLabel("Model (optional)").selectOption("groq:llama-3.3-70b-versatile");
    await page.getByLabel("Temperature, 0–1 (empty: the model's)").fill("0.5");
    await page.getByRole("button", { name: "Add Preset" }).click();
    const create = (await view.waitForRequest("preset/create")) as { id: number; params: Record<string, unknown> };
    assert.deepEqual(create.params, {
      name: "Terse",
      systemPrompt: "Answer in one sentence.",
      modelId: "groq:llama-3.3-70b-versatile",
      temperature: 0.5,
      maxOutputTokens: null,
    });
    const added = buildPreset({ id: "preset-2", name: "Terse", systemPrompt: "Answer in one sentence.", maxOutputTokens: null });
    await view.respond(create.id, { preset: added });
    const reload = await view.waitForRequest("presets/list");
    await view.respond(reload.id, { presets: [buildPreset(), added] });
    await page.locator(".presets-section .status-line", { hasText: "Preset added." }).waitFor();
    assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "", "the form is cleared for the next one");
    assert.equal(await page.locator(".presets-section__preset").count(), 2);

    await page.getByRole("button", { name: "Delete preset Terse" }).click();
    const remove = (await view.waitForRequest("preset/delete")) as { id: number; params: unknown };
    assert.deepEqual(remove.params, { presetId: "preset-2" });
    await view.respond(remove.id, {});
    const again = await view.waitForRequest("presets/list");
    await view.respond(again.id, { presets: [buildPreset()] });
    await page.locator(".presets-section .status-line", { hasText: "Deleted Terse." }).waitFor();
    assert.equal(await page.locator(".presets-section__preset").count(), 1);
  });

  it("edits a preset in the form with preset/update, every field as shown; Cancel goes back to adding", async () => {
    await openLoaded();
    const page = view.page;
    await page.getByRole("button", { name: "Edit preset Reviewer" }).click();
    assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Reviewer");
    assert.equal(await page.getByLabel("System prompt (empty: the default)").inputValue(), "You review TypeScript.");
    assert.equal(await page.getByLabel("Model (optional)").inputValue(), "anthropic:claude-haiku-4-5");
    assert.equal(await page.getByLabel("Temperature, 0–1 (empty: the model's)").inputValue(), "0.2");
    assert.equal(await page.getByLabel("Max output tokens (empty: the model's)").inputValue(), "2000");
    assert.equal(
      await page.evaluate(() => document.activeElement?.id === document.querySelector(".presets-section__field input")?.id),
      true,
      "the name has focus",
    );
    await page.getByLabel("Max output tokens (empty: the model's)").fill("");
    await page.getByRole("button", { name: "Save Preset" }).click();
    const update = (await view.waitForRequest("preset/update")) as { id: number; params: unknown };
    assert.deepEqual(update.params, {
      presetId: "preset-1",
      name: "Reviewer",
      systemPrompt: "You review TypeScript.",
      modelId: "anthropic:claude-haiku-4-5",
      temperature: 0.2,
      maxOutputTokens: null,
    });
    const saved = buildPreset({ maxOutputTokens: null });
    await view.respond(update.id, { preset: saved });
    const reload = await view.waitForRequest("presets/list");
    await view.respond(reload.id, { presets: [saved] });
    await page.locator(".presets-section .status-line", { hasText: "Saved Reviewer." }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Add Preset" }).count(), 1, "the form adds again");

    await page.getByRole("button", { name: "Edit preset Reviewer" }).click();
    await page.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "");
    assert.equal(await page.getByRole("button", { name: "Cancel" }).isHidden(), true);
  });

  it("keeps a preset's form filled in and says why when the server refuses it", async () => {
    await openLoaded();
    const page = view.page;
    await page.getByLabel("Name", { exact: true }).fill("Loud");
    await page.getByRole("button", { name: "Add Preset" }).click();
    const create = await view.waitForRequest("preset/create");
    await view.respondError(create.id, { code: "conflict", message: "A preset with that name already exists" });
    await page.locator('.presets-section .status-line[data-kind="error"]', { hasText: "A preset with that name already exists" }).waitFor();
    assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Loud");
  });

  it("shows each provider with only its masked key", async () => {
    await openLoaded();
    const page = view.page;
    assert.deepEqual(await page.locator(".provider-card .card__title").allTextContents(), ["Anthropic", "Groq", "Ollama"]);
    assert.equal(await page.locator('[data-provider="anthropic"] .masked-key').textContent(), "••••abcd");
    assert.equal(await page.locator('[data-provider="groq"] .masked-key').textContent(), "••••9f2e");
    assert.equal(await page.locator('[data-provider="ollama"] .provider-card__key').count(), 0, "Ollama takes no key");
    assert.equal(await page.locator('[data-provider="anthropic"] .provider-card__key').getAttribute("type"), "password");
    assert.match(
      (await page.locator('[data-provider="ollama"] .provider-card__refresh-info').textContent()) ?? "",
      /Last error: Could not connect/,
    );
    assert.match(
      (await page.locator('[data-provider="anthropic"] .provider-card__refresh-info').textContent()) ?? "",
      /Models refreshed 5 minutes ago/,
    );
  });

  it("never shows more than the last 4 characters of a key, whatever it is sent", async () => {
    view = await harness.open({ view: "team-settings" });
    const providers = await view.waitForRequest("providers/list");
    await view.respond(providers.id, { providers: [buildProvider({ kind: "anthropic", keyMasked: "sk-ant-api03-LEAKEDKEY-wxyz" })] });
    await view.page.locator(".masked-key").waitFor();
    assert.equal(await view.page.locator(".masked-key").textContent(), "••••wxyz");
    assert.doesNotMatch(await everythingOnThePage(), /LEAKED|sk-ant/);
  });

  it("saves a replacement key with provider/update, then clears the field and keeps no copy", async () => {
    await openLoaded();
    const page = view.page;
    await page.locator('[data-provider="anthropic"] .provider-card__key input').fill(NEW_KEY);
    await page.getByRole("button", { name: "Save Anthropic settings" }).click();
    const update = await view.waitForRequest("provider/update");
    assert.deepEqual(update.params, { kind: "anthropic", apiKey: NEW_KEY });
    await view.respond(update.id, { provider: buildProvider({ kind: "anthropic", keyMasked: "••••1234" }) });
    await page.locator('[data-provider="anthropic"] .status-line[data-kind="success"]').waitFor();
    assert.equal(await page.locator('[data-provider="anthropic"] .status-line').textContent(), "Saved. The new key is stored.");
    assert.equal(await page.locator('[data-provider="anthropic"] .masked-key').textContent(), "••••1234");
    assert.equal(await page.locator('[data-provider="anthropic"] .provider-card__key input').inputValue(), "");
    assert.doesNotMatch(await everythingOnThePage(), /NEWSECRETKEY/);
  });

  it("keeps the typed key and says why when saving fails", async () => {
    await openLoaded();
    const page = view.page;
    await page.locator('[data-provider="groq"] .provider-card__key input').fill("gsk_bad");
    await page.getByRole("button", { name: "Save Groq settings" }).click();
    const update = await view.waitForRequest("provider/update");
    await view.respondError(update.id, { code: "validation_failed", message: "That does not look like a Groq API key." });
    await page.locator('[data-provider="groq"] .status-line[data-kind="error"]').waitFor();
    assert.equal(
      await page.locator('[data-provider="groq"] .status-line').textContent(),
      "Not saved: That does not look like a Groq API key.",
    );
    assert.equal(await page.locator('[data-provider="groq"] .provider-card__key input').inputValue(), "gsk_bad");
  });

  it("saves a changed base URL and refuses one that is not http(s)", async () => {
    await openLoaded();
    const page = view.page;
    const field = page.locator('[data-provider="ollama"] .provider-card__base-url input');
    await field.fill("ftp://models.internal");
    await page.getByRole("button", { name: "Save Ollama settings" }).click();
    assert.equal(
      await page.locator('[data-provider="ollama"] .status-line').textContent(),
      "The base URL must be a full http:// or https:// address.",
    );
    assert.deepEqual(await view.requests("provider/update"), []);
    await field.fill("http://gpu-box.internal:11434");
    await page.getByRole("button", { name: "Save Ollama settings" }).click();
    const update = await view.waitForRequest("provider/update");
    assert.deepEqual(update.params, { kind: "ollama", baseUrl: "http://gpu-box.internal:11434" });
  });

  it("keeps a base URL being typed when another card's action reloads the providers", async () => {
    await openLoaded();
    const page = view.page;
    const groqField = page.locator('[data-provider="groq"] .provider-card__base-url input');
    await groqField.fill("http://proxy.internal:8443");
    // Anthropic is switched on meanwhile: the list comes again from the server, with Groq's old address.
    await page.locator('.provider-card[data-provider="anthropic"] .provider-card__active').click();
    const update = await view.waitForRequest("provider/update");
    await view.respond(update.id, {
      provider: buildProvider({ kind: "anthropic", isActive: !buildProvider({ kind: "anthropic" }).isActive }),
    });
    const reload = await view.waitForRequest("providers/list");
    // Groq's count changes too, so the page shows when the reload has reached its card.
    await view.respond(reload.id, {
      providers: buildProviders().map((provider) =>
        provider.kind === "groq" ? { ...provider, isActive: true, modelCount: 99 } : provider,
      ),
    });
    await page.locator('[data-provider="groq"]', { hasText: "of 99 models visible" }).waitFor();
    assert.equal(await groqField.inputValue(), "http://proxy.internal:8443");
    // A field left alone follows the server.
    const ollamaField = page.locator('[data-provider="ollama"] .provider-card__base-url input');
    await view.notify("data/invalidated", { reason: "another admin changed it" });
    const again = await view.waitForRequest("providers/list");
    await view.respond(again.id, {
      providers: buildProviders().map((provider) =>
        provider.kind === "ollama" ? { ...provider, baseUrl: "http://gpu-box:11434" } : provider,
      ),
    });
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLElement & { value: string }>('[data-provider="ollama"] .provider-card__base-url')?.value ===
        "http://gpu-box:11434",
    );
    assert.equal(await ollamaField.inputValue(), "http://gpu-box:11434");
    assert.equal(await groqField.inputValue(), "http://proxy.internal:8443");
  });

  it("switches a provider on with its toggle", async () => {
    await openLoaded();
    await view.page.locator('.provider-card[data-provider="ollama"] .provider-card__active').click();
    assert.equal(await view.page.getByRole("switch", { name: "Ollama Active" }).isChecked(), true);
    const update = await view.waitForRequest("provider/update");
    assert.deepEqual(update.params, { kind: "ollama", isActive: true });
    await view.respond(update.id, { provider: buildProvider({ kind: "ollama", isActive: true }) });
    await view.page.locator('[data-provider="ollama"] .status-line[data-kind="success"]').waitFor();
    assert.equal(await view.page.locator('[data-provider="ollama"] .status-line').textContent(), "Ollama is active.");
  });

  it("tests the connection and tells the result in plain words", async () => {
    await openLoaded();
    const page = view.page;
    await page.getByRole("button", { name: "Test the connection to Anthropic" }).click();
    const success = await view.waitForRequest("provider/test");
    assert.deepEqual(success.params, { kind: "anthropic" });
    await view.respond(success.id, { ok: true, modelCount: 12, latencyMs: 231 });
    await page.locator('[data-provider="anthropic"] .status-line[data-kind="success"]').waitFor();
    assert.equal(
      await page.locator('[data-provider="anthropic"] .status-line').textContent(),
      "Connected: Anthropic offers 12 models (answered in 231 ms).",
    );

    await page.getByRole("button", { name: "Test the connection to Groq" }).click();
    const failure = await view.waitForRequest("provider/test");
    await view.respond(failure.id, { ok: false, error: { code: "provider_invalid_key", message: "Groq rejected the API key." } });
    await page.locator('[data-provider="groq"] .status-line[data-kind="error"]').waitFor();
    assert.equal(await page.locator('[data-provider="groq"] .status-line').textContent(), "Connection failed: Groq rejected the API key.");
  });

  it("refreshes a provider's models and shows the new list", async () => {
    await openLoaded();
    await view.page.getByRole("button", { name: "Refresh the models of Groq" }).click();
    const refresh = await view.waitForRequest("provider/refresh-models");
    assert.deepEqual(refresh.params, { kind: "groq" });
    const groqModels = buildModels().filter((model) => model.provider === "groq");
    await view.respond(refresh.id, {
      models: [
        ...groqModels,
        { ...groqModels[0]!, id: "groq:moonshotai/kimi-k2", name: "moonshotai/kimi-k2", displayName: "Kimi K2", isVisible: false },
      ],
    });
    await view.page.locator('[data-provider="groq"] .status-line[data-kind="success"]').waitFor();
    assert.equal(await view.page.locator('[data-provider="groq"] .status-line').textContent(), "Found 4 models.");
    assert.equal(await view.page.locator('.model-group[data-provider="groq"] .model-row').count(), 4);
    // The card's counts and "last refreshed" come from the server again.
    await view.waitForRequest("providers/list");
  });

  it("posts models/set-visibility when a model's checkbox is ticked", async () => {
    await openLoaded();
    const page = view.page;
    const group = page.locator('.model-group[data-provider="anthropic"]');
    assert.equal(await group.locator(".model-group__count").textContent(), "2 of 4 visible");
    assert.equal(await page.locator('[data-model-id="anthropic:claude-3-opus-20240229"] .pill').textContent(), "No longer offered");
    await page.locator('[data-model-id="anthropic:claude-opus-4-1"] vscode-checkbox').click();
    const change = await view.waitForRequest("models/set-visibility");
    assert.deepEqual(change.params, { changes: [{ id: "anthropic:claude-opus-4-1", isVisible: true }] });
    const updated = buildModels().map((model) => (model.id === "anthropic:claude-opus-4-1" ? { ...model, isVisible: true } : model));
    await view.respond(change.id, { models: updated });
    await page.locator('.models-section .status-line[data-kind="success"]').waitFor();
    assert.equal(await group.locator(".model-group__count").textContent(), "3 of 4 visible");
    assert.equal(await page.getByRole("checkbox", { name: "Claude Opus 4.1" }).isChecked(), true);
  });

  it("unticks the checkbox again when the change is refused", async () => {
    await openLoaded();
    await view.page.locator('[data-model-id="anthropic:claude-sonnet-4-5"] vscode-checkbox').click();
    const change = await view.waitForRequest("models/set-visibility");
    assert.deepEqual(change.params, { changes: [{ id: "anthropic:claude-sonnet-4-5", isVisible: false }] });
    await view.respondError(change.id, { code: "forbidden", message: "Only admins can change model visibility." });
    await view.page.locator('.models-section .status-line[data-kind="error"]').waitFor();
    assert.equal(
      await view.page.locator(".models-section .status-line").textContent(),
      "Not saved: Only admins can change model visibility.",
    );
    assert.equal(await view.page.getByRole("checkbox", { name: "Claude Sonnet 4.5" }).isChecked(), true);
  });

  it("filters the models and shows or hides all listed ones of a provider", async () => {
    await openLoaded();
    const page = view.page;
    await page.locator(".models-section__filter input").fill("qwen");
    assert.deepEqual(await page.locator(".model-row").evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.modelId)), [
      "groq:qwen/qwen3-32b",
      "ollama:qwen2.5-coder:7b",
    ]);
    await page.getByRole("button", { name: "Show all listed Groq models" }).click();
    const change = await view.waitForRequest("models/set-visibility");
    assert.deepEqual(change.params, { changes: [{ id: "groq:qwen/qwen3-32b", isVisible: true }] });
  });

  it("approves a pending user with user/update", async () => {
    await openLoaded();
    const page = view.page;
    const row = page.locator('[data-user-id="user-linus"]');
    assert.equal(await row.locator(".pill").textContent(), "Waiting for approval");
    await page.getByRole("button", { name: "Approve linus" }).click();
    const update = await view.waitForRequest("user/update");
    assert.deepEqual(update.params, { userId: "user-linus", status: "active" });
    const linus = buildUsers().find((user) => user.id === "user-linus")!;
    await view.respond(update.id, { user: { ...linus, status: "active" } });
    await page.locator('.users-section .status-line[data-kind="success"]').waitFor();
    assert.equal(await row.locator(".pill").textContent(), "Active");
    assert.equal(await page.locator(".users-section .status-line").textContent(), "linus can now sign in.");
  });

  it("disables, enables and changes roles through user/update", async () => {
    await openLoaded();
    const page = view.page;
    await page.getByRole("button", { name: "Make grace an admin" }).click();
    assert.deepEqual((await view.waitForRequest("user/update")).params, { userId: "user-grace", role: "admin" });
    await page.getByRole("button", { name: "Enable ken" }).click();
    assert.deepEqual((await view.waitForRequest("user/update")).params, { userId: "user-ken", status: "active" });
    await page.getByRole("button", { name: "Disable grace" }).click();
    const disable = await view.waitForRequest("user/update");
    assert.deepEqual(disable.params, { userId: "user-grace", status: "disabled" });
    await view.respondError(disable.id, { code: "conflict", message: "The last admin cannot be disabled." });
    await page.locator('.users-section .status-line[data-kind="error"]').waitFor();
    assert.equal(
      await page.locator(".users-section .status-line").textContent(),
      "Could not change grace: The last admin cannot be disabled.",
    );
  });

  it("changes the registration policy with settings/update", async () => {
    await openLoaded();
    const page = view.page;
    assert.equal(await page.getByRole("radio", { name: /^Approval/ }).isChecked(), true);
    await page.getByRole("radio", { name: /^Closed/ }).click();
    const update = await view.waitForRequest("settings/update");
    assert.deepEqual(update.params, { registration: "closed" });
    await view.respond(update.id, { registration: "closed", summariserModelId: null });
    await page.locator('.registration-section .status-line[data-kind="success"]').waitFor();
    assert.equal(await page.getByRole("radio", { name: /^Closed/ }).isChecked(), true);
  });

  it("tells a member in plain words that the panel is for admins", async () => {
    view = await harness.open({ view: "team-settings" });
    // a member may list presets (to start a conversation from one); that answer must not show the panel
    const presets = await view.waitForRequest("presets/list");
    await view.respond(presets.id, { presets: [buildPreset()] });
    for (const method of ["providers/list", "models/list-all", "users/list", "settings/get"]) {
      const request = await view.waitForRequest(method);
      await view.respondError(request.id, { code: "forbidden", message: "Admins only." });
    }
    const problem = view.page.locator(".page-problem");
    await problem.waitFor();
    assert.equal(await problem.textContent(), "Team Settings are for team admins. Sign in with an admin account to change them.");
    assert.equal(await view.page.locator(".settings-section:visible").count(), 0);
  });

  it("loads everything again when the host says the data is stale", async () => {
    await openLoaded();
    await view.notify("data/invalidated", { reason: "signed in as someone else" });
    const providers = await view.waitForRequest("providers/list");
    assert.deepEqual(providers.params, {});
  });

  it("gives every button and control an accessible name", async () => {
    await openLoaded();
    assert.deepEqual(await findButtonsWithoutLabel(view.page), []);
    assert.deepEqual(await findUnnamedControls(view.page), []);
  });

  /**
   * What the docs screenshot is about, read from the page: for each part, whether it is drawn (has a
   * size, lies inside the page's width, is not hidden), its text, and the colours it is drawn in.
   */
  function screenshotSubjects(selectors: Record<string, string>): Promise<Record<string, ScreenshotSubject>> {
    return view.page.evaluate(`((selectors) => {
      const pageWidth = document.documentElement.clientWidth;
      const result = {};
      for (const [name, selector] of Object.entries(selectors)) {
        const elements = Array.from(document.querySelectorAll(selector));
        result[name] = {
          count: elements.length,
          drawn: elements.map((element) => {
            const box = element.getBoundingClientRect();
            return element.checkVisibility({ visibilityProperty: true, opacityProperty: true }) && box.width > 0 && box.height > 0 && box.left >= 0 && box.right <= pageWidth;
          }),
          texts: elements.map((element) => (element.textContent || "").replace(/\\s+/g, " ").trim()),
          colors: elements.map((element) => getComputedStyle(element).color),
          backgrounds: elements.map((element) => getComputedStyle(element).backgroundColor),
        };
      }
      return result;
    })(${JSON.stringify(selectors)})`);
  }

  it("takes the Team Settings screenshot for the docs, showing every section drawn in the theme's colours", async () => {
    await openLoaded({ width: 1000, height: 1000 });
    await view.page.getByRole("button", { name: "Test the connection to Anthropic" }).click();
    const test = await view.waitForRequest("provider/test");
    await view.respond(test.id, { ok: true, modelCount: 12, latencyMs: 231 });
    await view.page.locator('[data-provider="anthropic"] .status-line[data-kind="success"]').waitFor();
    await view.page.evaluate(() => document.fonts.ready);
    await view.page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });

    const subjects = await screenshotSubjects({
      page: "body",
      title: ".settings-header h1",
      sectionTitles: ".settings-section h2",
      providerTitles: ".provider-card .card__title",
      maskedKeys: ".provider-card .masked-key",
      cards: ".provider-card",
      connectionResult: '[data-provider="anthropic"] .status-line[data-kind="success"]',
      connectionIcon: '[data-provider="anthropic"] .status-line .codicon',
      modelRows: ".model-row",
      fallbackEntries: ".fallback-entry",
      presets: ".presets-section__preset",
      userRows: ".user-row",
      registrationChoices: ".registration-section .radio",
      descriptions: ".section__description",
    });
    // every part is there, drawn, inside the page, with words in it
    for (const [name, subject] of Object.entries(subjects)) {
      assert.ok(subject.count > 0, `${name}: nothing on the page`);
      assert.ok(
        subject.drawn.every((isDrawn) => isDrawn),
        `${name}: not drawn inside the page (${JSON.stringify(subject.drawn)})`,
      );
      if (name !== "connectionIcon")
        assert.ok(
          subject.texts.every((text) => text.length > 0),
          `${name}: empty`,
        );
    }
    assert.deepEqual(subjects.sectionTitles!.texts, [
      "Providers",
      "Models",
      "Fallbacks",
      "Presets",
      "Users",
      "Registration",
      "Prices",
      "Budgets",
    ]);
    assert.deepEqual(subjects.providerTitles!.texts, ["Anthropic", "Groq", "Ollama"]);
    assert.deepEqual(subjects.maskedKeys!.texts, ["••••abcd", "••••9f2e"]);
    assert.equal(subjects.connectionResult!.texts[0], "Connected: Anthropic offers 12 models (answered in 231 ms).");
    assert.equal(subjects.modelRows!.count, buildModels().length);
    assert.equal(subjects.userRows!.count, buildUsers().length);

    // Dark Modern's colours (tools/webview-harness/dark-modern-theme.ts): text, headings, cards, the success icon
    assert.equal(subjects.page!.colors[0], "rgb(204, 204, 204)", "text: --vscode-foreground");
    assert.equal(subjects.title!.colors[0], "rgb(255, 255, 255)", "title: --vscode-settings-headerForeground");
    assert.ok(
      subjects.descriptions!.colors.every((color) => color === "rgb(157, 157, 157)"),
      "descriptions: --vscode-descriptionForeground",
    );
    assert.ok(
      subjects.cards!.backgrounds.every((color) => color === "rgb(24, 24, 24)"),
      "cards: --vscode-sideBar-background",
    );
    assert.equal(subjects.connectionIcon!.colors[0], "rgb(115, 201, 145)", "success icon: --vscode-testing-iconPassed");
    assert.equal(
      await view.page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor),
      "rgb(31, 31, 31)",
      "page: --vscode-editor-background",
    );
    assert.ok(await view.page.evaluate(() => document.fonts.check("16px codicon")), "the icon font is loaded");

    // the file is the whole page at the width asked for (PNG header: width and height at bytes 16–23)
    const png = fs.readFileSync(SCREENSHOT_PATH);
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    assert.equal(png.readUInt32BE(16), 1000);
    assert.equal(png.readUInt32BE(20), await view.page.evaluate(() => document.documentElement.scrollHeight));
  });
});

interface ScreenshotSubject {
  count: number;
  drawn: boolean[];
  texts: string[];
  colors: string[];
  backgrounds: string[];
}
