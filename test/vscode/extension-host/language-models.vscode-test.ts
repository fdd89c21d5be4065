/**
 * Juggler's models in VS Code's own language model API (surfaces/language-model-provider.ts), inside
 * the real extension host, against the real team server, its gateway and the fake providers. Runs
 * after juggler-extension.vscode-test.ts (which ends signed out): it signs in again.
 */
import assert from "node:assert/strict";
import * as vscode from "vscode";
import type { JugglerExtensionApi } from "../../../extension/src/extension";
import { VS_CODE_CHAT_KEY_NAME } from "../../../extension/src/language-model/gateway-key-keeper";
import { parseEchoText } from "../../../tools/fake-providers/echo-reply";
import {
  jugglerApi,
  providerModelName,
  readEnvironment,
  setFakeTokenDelay,
  waitFor,
  type ExtensionHostEnvironment,
} from "./extension-host-environment";

describe("Juggler's models in VS Code's language model API", function () {
  this.timeout(60_000);
  let environment: ExtensionHostEnvironment;
  let api: JugglerExtensionApi;

  before(async () => {
    environment = readEnvironment();
    api = await jugglerApi();
    await vscode.workspace.getConfiguration("juggler").update("serverUrl", environment.serverUrl, vscode.ConfigurationTarget.Global);
    if (!api.client.isSignedIn) await api.client.signIn({ name: environment.userName, password: environment.password });
    await waitFor(
      "the chat session to be ready",
      () => api.session.connectionState,
      (state) => state === "ready",
    );
    await setFakeTokenDelay(environment, 5);
  });

  after(async () => {
    // Leave no limit behind for later suites.
    await api.client.call("updateTeamBudget", { body: { monthlyTokens: null, monthlyCostMicroUsd: null } }).catch(() => undefined);
  });

  it("lists the team's visible models for vendor juggler, with their context sizes", async () => {
    const models = await waitFor(
      "Juggler's models in vscode.lm",
      async () => vscode.lm.selectChatModels({ vendor: "juggler" }),
      (list) => list.length === api.session.visibleModels.length && list.length > 0,
    );
    for (const visible of api.session.visibleModels) {
      const model = models.find((candidate) => candidate.id === visible.id);
      assert.ok(model, `${visible.id} is listed`);
      assert.equal(model.vendor, "juggler");
      assert.equal(model.name, visible.displayName);
      assert.equal(model.family, visible.name);
      if (visible.contextWindow !== null) {
        assert.ok(model.maxInputTokens > 0 && model.maxInputTokens < visible.contextWindow, "the window less the room for the answer");
      }
    }
    const [byId] = await vscode.lm.selectChatModels({ vendor: "juggler", id: environment.models.groq[0] });
    assert.equal(byId?.id, environment.models.groq[0]);
  });

  it("streams a reply through the team gateway, the whole conversation reaching the provider", async () => {
    const modelId = environment.models.anthropic[0]!;
    const [model] = await vscode.lm.selectChatModels({ vendor: "juggler", id: modelId });
    assert.ok(model);
    const response = await model.sendRequest(
      [
        vscode.LanguageModelChatMessage.User("What is 2 + 2?"),
        vscode.LanguageModelChatMessage.Assistant("4."),
        vscode.LanguageModelChatMessage.User("And times three?"),
      ],
      {},
      new vscode.CancellationTokenSource().token,
    );
    const pieces: string[] = [];
    for await (const piece of response.text) pieces.push(piece);
    assert.ok(pieces.length > 1, "the text arrived in pieces, as streamed");
    const echo = parseEchoText(pieces.join(""));
    assert.equal(echo.model, providerModelName(modelId));
    assert.deepEqual(echo.messages, [
      { role: "user", text: "What is 2 + 2?" },
      { role: "assistant", text: "4." },
      { role: "user", text: "And times three?" },
    ]);

    // The answer went through a personal key the extension made for itself with the session.
    const { apiKeys } = await api.client.call("listApiKeys");
    const ownKey = apiKeys.find((key) => key.name === VS_CODE_CHAT_KEY_NAME && key.revokedAt === null);
    assert.ok(ownKey, "a 'VS Code chat' key is listed with the user's keys");
    const usage = await waitFor(
      "the answer in the ledger under the key's name",
      () => api.client.call("getUsage", { query: { groupBy: "client" } }),
      (result) => result.rows.some((row) => row.clientKind === "gateway" && row.clientName === VS_CODE_CHAT_KEY_NAME),
    );
    assert.ok(usage.rows.find((row) => row.clientName === VS_CODE_CHAT_KEY_NAME)!.answers >= 1);
  });

  it("counts tokens with the local estimate", async () => {
    const [model] = await vscode.lm.selectChatModels({ vendor: "juggler", id: environment.models.groq[0] });
    assert.equal(await model!.countTokens("x".repeat(400)), 100);
    assert.equal(await model!.countTokens(vscode.LanguageModelChatMessage.User("x".repeat(40))), 14);
  });

  it("makes a new key when its own was revoked in Manage API Keys", async () => {
    const { apiKeys } = await api.client.call("listApiKeys");
    for (const key of apiKeys.filter((entry) => entry.name === VS_CODE_CHAT_KEY_NAME && entry.revokedAt === null)) {
      await api.client.call("revokeApiKey", { params: { keyId: key.id } });
    }
    const [model] = await vscode.lm.selectChatModels({ vendor: "juggler", id: environment.models.groq[0] });
    const response = await model!.sendRequest([vscode.LanguageModelChatMessage.User("Still there?")], {});
    let text = "";
    for await (const piece of response.text) text += piece;
    assert.deepEqual(parseEchoText(text).messages, [{ role: "user", text: "Still there?" }]);
    const after = await api.client.call("listApiKeys");
    assert.equal(after.apiKeys.filter((entry) => entry.name === VS_CODE_CHAT_KEY_NAME && entry.revokedAt === null).length, 1);
  });

  it("shows the open conversation's usage per model from the chat view's title bar", async () => {
    const modelId = environment.models.groq[0]!;
    api.session.newConversation();
    await api.session.switchModel(modelId);
    const sent = await api.session.sendMessage("Count me in the usage");
    await waitFor(
      "the answer to finish",
      () => api.session.snapshot().messages.find((message) => message.id === sent.assistantMessageId)?.status,
      (status) => status !== undefined && status !== "streaming",
    );
    type Item = { label: string; detail?: string };
    // The ledger row is written moments after the answer's end.
    const items = await waitFor(
      "the conversation's usage",
      async () => (await vscode.commands.executeCommand<Item[] | undefined>("juggler.showConversationUsage")) ?? [],
      (list) => list.some((item) => item.label.includes("All models") && /^1 answer\b/.test(item.detail ?? "")),
    );
    await vscode.commands.executeCommand("workbench.action.closeQuickOpen");
    const modelLine = items.find((item) => item.label.includes(api.session.modelLabel(modelId)!));
    assert.ok(modelLine, JSON.stringify(items));
    assert.match(modelLine.detail ?? "", /^1 answer · [\d,]+ → [\d,]+ tokens/);
  });

  it("passes a budget refusal to VS Code's chat and to Juggler's chat, naming the limit and its reset", async () => {
    // Every earlier answer counted tokens this month: a limit of one token is spent.
    await api.client.call("updateTeamBudget", { body: { monthlyTokens: 1 } });
    const [model] = await vscode.lm.selectChatModels({ vendor: "juggler", id: environment.models.groq[0] });
    await assert.rejects(
      async () => {
        const response = await model!.sendRequest([vscode.LanguageModelChatMessage.User("One more?")], {});
        for await (const piece of response.text) void piece;
      },
      (error: Error) => {
        assert.match(error.message, /monthly token limit of 1\b/i);
        assert.match(error.message, /resets/i);
        return true;
      },
    );

    api.session.newConversation();
    await api.session.switchModel(environment.models.groq[0]!);
    await assert.rejects(
      () => api.session.sendMessage("Over the budget?"),
      (error: { code?: string; message: string }) => {
        assert.equal(error.code, "budget_exceeded");
        assert.match(error.message, /monthly token limit/i);
        assert.match(error.message, /resets on \d{4}-\d{2}-\d{2}/);
        return true;
      },
    );
    await api.client.call("updateTeamBudget", { body: { monthlyTokens: null } });
  });
});
