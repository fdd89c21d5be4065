/**
 * Integration tests that run INSIDE code-server's extension host (real VS Code 1.139 API) with
 * the Juggler extension loaded from the repository (dist/ built by `npm run build`), against the
 * real team server and the fake providers started by ../extension-host.test.ts.
 *
 * The suites run in order and share state on purpose, the way one user's session would: sign in,
 * chat, switch model, send a selection, stop, rename, delete, sign out.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import * as vscode from "vscode";
import type { JugglerExtensionApi } from "../../../extension/src/extension";
import type { ConversationTreeNode } from "../../../extension/src/surfaces/conversation-tree";
import type { Message } from "../../../protocol/http/conversations";
import type { HostToWebviewEnvelope } from "../../../protocol/webview/chat-protocol";
import { parseEchoText } from "../../../tools/fake-providers/echo-reply";
import {
  EXTENSION_ID,
  fakeRequests,
  jugglerApi,
  providerModelName,
  readEnvironment,
  setFakeTokenDelay,
  waitFor,
  type ExtensionHostEnvironment,
} from "./extension-host-environment";

const SECRET_KEY = "juggler.session";

interface ContributedCommand {
  command: string;
  title: string;
  category?: string;
}

describe("Juggler inside a real VS Code extension host", function () {
  this.timeout(60_000);
  let environment: ExtensionHostEnvironment;
  let api: JugglerExtensionApi;
  let anthropicModelId: string;
  let groqModelId: string;

  before(() => {
    environment = readEnvironment();
    anthropicModelId = environment.models.anthropic[0]!;
    groqModelId = environment.models.groq[0]!;
  });

  describe("activation and contributions", () => {
    it("activates on start-up by itself and returns its API", async () => {
      const extension = vscode.extensions.getExtension<JugglerExtensionApi>(EXTENSION_ID);
      assert.ok(extension, `${EXTENSION_ID} must be installed`);
      // onStartupFinished: nobody calls activate() for it.
      await waitFor("the extension to activate", () => extension.isActive);
      api = extension.exports;
      assert.equal(typeof api.session.sendMessage, "function");
      assert.equal(typeof api.activationTimeMs, "number");
      await api.ready;
      assert.equal(api, await jugglerApi());
    });

    it("registers every contributed command, each under the Juggler category", async () => {
      const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
      const contributed = (extension.packageJSON as { contributes: { commands: ContributedCommand[] } }).contributes.commands;
      assert.ok(contributed.length >= 10, "the manifest lists the commands");
      const registered = new Set(await vscode.commands.getCommands(true));
      for (const command of contributed) {
        assert.equal(command.category, "Juggler", `${command.command} must be in the Juggler category`);
        assert.ok(registered.has(command.command), `${command.command} is contributed but not registered`);
      }
      for (const required of [
        "juggler.signIn",
        "juggler.signOut",
        "juggler.newConversation",
        "juggler.switchModel",
        "juggler.stopGeneration",
        "juggler.sendSelection",
        "juggler.openChatInEditor",
        "juggler.openTeamSettings",
      ]) {
        assert.ok(
          contributed.some((command) => command.command === required),
          `${required} is missing from the manifest`,
        );
      }
    });

    it("binds Send Selection to a key that does not clash with Continue, Tabby or Copilot", () => {
      const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
      const keybindings = (extension.packageJSON as { contributes: { keybindings: { command: string; key: string; mac?: string }[] } })
        .contributes.keybindings;
      const binding = keybindings.find((entry) => entry.command === "juggler.sendSelection");
      assert.ok(binding, "Send Selection has a keybinding");
      for (const key of [binding.key, binding.mac ?? ""]) {
        assert.doesNotMatch(key, /^(ctrl|cmd)\+[li]$/i);
      }
    });

    it("binds its keys without clashing with VS Code's own default keybindings", async () => {
      const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
      const ours = (extension.packageJSON as { contributes: { keybindings: { command: string; key: string; when?: string }[] } })
        .contributes.keybindings;
      // VS Code's defaults on this platform, as "Preferences: Open Default Keyboard Shortcuts (JSON)" shows them.
      const document = await vscode.workspace.openTextDocument(vscode.Uri.parse("vscode://defaultsettings/keybindings.json"));
      const defaults = JSON.parse(document.getText().replace(/^\s*\/\/.*$/gm, "")) as { key: string; command: string; when?: string }[];
      // The file lists the installed extensions' contributions too: Juggler's own are not a clash.
      const defaultsFor = (key: string) =>
        defaults.filter((entry) => entry.key === key.toLowerCase() && !entry.command.startsWith("juggler."));
      const byCommand = (command: string) => ours.find((entry) => entry.command === command)!;

      assert.deepEqual(defaultsFor(byCommand("juggler.focusChat").key), [], "Focus Chat Input: a key VS Code leaves free");
      // F2 and Delete act only while the Conversations tree has the focus; VS Code's own are each
      // tied to a focus of their own (an editor, the Explorer, the terminal's tabs…), never a bare key.
      for (const command of ["juggler.renameConversation", "juggler.deleteConversation"]) {
        const binding = byCommand(command);
        assert.match(binding.when ?? "", /focusedView == juggler\.conversations/);
        for (const entry of defaultsFor(binding.key)) {
          // (a notebook's multi-cursor selection is in a focused notebook editor)
          assert.match(
            entry.when ?? "",
            /Focus|Focused|inChat|inKeybindings|isNotebookMultiSelect/,
            `${binding.key}: ${entry.command} when ${entry.when}`,
          );
        }
      }
      // Ctrl+Alt+Y also accepts pending chat edits in an editor: Send Selection steps aside then.
      const sendSelection = byCommand("juggler.sendSelection");
      for (const entry of defaultsFor(sendSelection.key)) {
        const required = /chatEdits\.hasEditorModifications/.exec(entry.when ?? "");
        assert.ok(required, `${sendSelection.key}: ${entry.command} when ${entry.when}`);
        assert.match(sendSelection.when ?? "", /!chatEdits\.hasEditorModifications/);
      }
    });

    it("defaults juggler.serverUrl to http://localhost:8080 and starts signed out", () => {
      const setting = vscode.workspace.getConfiguration("juggler").inspect<string>("serverUrl");
      assert.equal(setting?.defaultValue, "http://localhost:8080");
      assert.equal(setting?.globalValue, undefined, "the test profile starts without a user value");
      assert.equal(api.client.serverUrl.replace(/\/+$/, ""), "http://localhost:8080");
      assert.equal(api.session.connectionState, "signed-out");
    });
  });

  describe("sign-in", () => {
    it("follows juggler.serverUrl and signs in; the chat session becomes ready", async () => {
      await vscode.workspace.getConfiguration("juggler").update("serverUrl", environment.serverUrl, vscode.ConfigurationTarget.Global);
      await waitFor(
        "the client to follow the setting",
        () => api.client.serverUrl.replace(/\/+$/, ""),
        (url) => url === environment.serverUrl.replace(/\/+$/, ""),
      );
      const session = await api.client.signIn({ name: environment.userName, password: environment.password });
      assert.equal(session.user.name, environment.userName);
      await waitFor(
        "the chat session to be ready",
        () => api.session.connectionState,
        (state) => state === "ready",
      );
      assert.equal(api.session.user?.name, environment.userName);
      assert.ok(
        api.session.visibleModels.some((model) => model.id === anthropicModelId),
        "the admin's visible models are loaded",
      );
    });

    it("keeps the tokens in SecretStorage and nowhere in the settings", async () => {
      const accessToken = await api.client.getAccessToken();
      // The client's TokenStore is the extension's SecretStorage adapter (surfaces/secret-token-store.ts);
      // reading its `secrets` proves the session went to VS Code's SecretStorage, not to memory.
      const secrets = (api.client["tokenStore"] as unknown as { secrets?: vscode.SecretStorage }).secrets;
      assert.ok(secrets, "the token store is backed by vscode.SecretStorage");
      const stored = JSON.parse((await secrets.get(SECRET_KEY)) ?? "null") as { accessToken: string; refreshToken: string } | null;
      assert.ok(stored, `SecretStorage holds ${SECRET_KEY}`);
      assert.equal(stored.accessToken, accessToken);
      assert.ok(stored.refreshToken.length > 0);

      const configuration = vscode.workspace.getConfiguration("juggler");
      const everyValue = JSON.stringify(
        ["serverUrl", "sendSelection.askForInstruction", "sendSelection.defaultInstruction"].map((key) => configuration.inspect(key)),
      );
      assert.ok(
        !everyValue.includes(stored.accessToken) && !everyValue.includes(stored.refreshToken),
        "no token in the juggler.* settings",
      );
      assert.ok(!JSON.stringify(configuration).includes(stored.refreshToken), "no token anywhere in the juggler section");
    });

    it("makes the admin's Team Settings panel available", async () => {
      assert.equal(api.session.isAdmin, true);
      await vscode.commands.executeCommand("juggler.openTeamSettings");
      const tab = await waitFor("the Team Settings tab", () =>
        findTab((input) => input instanceof vscode.TabInputWebview && input.viewType.endsWith("juggler.teamSettings")),
      );
      assert.equal(tab?.label, "Juggler Team Settings");
      await vscode.window.tabGroups.close(tab!);
    });
  });

  describe("chat", () => {
    const firstQuestion = "Hello from the extension host: which model are you?";
    let conversationId: string;
    let firstAnswer: Message;

    it("streams an answer from the fake provider into an attached view, batched, nothing lost", async () => {
      const posted: HostToWebviewEnvelope[] = [];
      const attachment = api.session.attachView({ postMessage: (message) => posted.push(message), isVisible: true });
      try {
        // A real stream (several deltas), not one burst.
        await setFakeTokenDelay(environment, 10);
        api.session.newConversation();
        await api.session.switchModel(anthropicModelId);
        const sent = await api.session.sendMessage(firstQuestion);
        conversationId = sent.conversationId;
        firstAnswer = await finishedAnswer(sent.assistantMessageId);
        assert.equal(firstAnswer.status, "complete");
        const echo = parseEchoText(firstAnswer.content);
        assert.equal(echo.model, providerModelName(anthropicModelId));
        assert.deepEqual(echo.messages, [{ role: "user", text: firstQuestion }]);

        // What a webview would have rendered: the batched deltas, then the final message/updated that
        // carries the whole text (deltas still batched for it are dropped, not sent twice).
        const forAnswer = (await waitFor(
          "the final message/updated of the answer",
          () => envelopesFor(posted, sent.assistantMessageId),
          (list) => list.some((envelope) => envelope.method === "message/updated" && envelope.message?.status === "complete"),
        ))!;
        const finalIndex = forAnswer.findIndex(
          (envelope) => envelope.method === "message/updated" && envelope.message?.status === "complete",
        );
        const streamed = forAnswer
          .slice(0, finalIndex)
          .filter((envelope) => envelope.method === "stream/delta")
          .map((envelope) => envelope.text ?? "");
        assert.ok(streamed.length >= 1, "text arrived as stream/delta before the answer completed");
        assert.ok(firstAnswer.content.startsWith(streamed.join("")), "the deltas are the answer's text, in order");
        // Batched text only: never the whole state per token while the answer streams.
        const isForAnswer = (envelope: HostToWebviewEnvelope) => envelopesFor([envelope], sent.assistantMessageId).length > 0;
        const firstDeltaAt = posted.findIndex(isForAnswer);
        const finalAt = posted.findIndex((envelope) =>
          envelopesFor([envelope], sent.assistantMessageId).some((entry) => entry.message?.status === "complete"),
        );
        const snapshotsWhileStreaming = posted
          .slice(firstDeltaAt, finalAt)
          .filter((envelope) => envelope.kind === "notification" && envelope.method === "state/snapshot");
        assert.equal(snapshotsWhileStreaming.length, 0, "no state/snapshot while the answer streams");
        assert.equal(forAnswer[finalIndex]!.message!.content, firstAnswer.content);
        assert.ok(!forAnswer.slice(finalIndex + 1).some((envelope) => envelope.method === "stream/delta"), "no delta after the final text");
      } finally {
        attachment.dispose();
        await setFakeTokenDelay(environment, 0);
      }
    });

    it("lists the conversation under Today in the Conversations tree, with its model", async () => {
      const item = await waitForTreeItem(conversationId);
      assert.equal(item.group, "Today");
      // the menus read whether it is pinned, archived and in this workspace (conversationContextValue)
      assert.equal(item.treeItem.contextValue, "conversation:unpinned:active:here");
      assert.equal(modelOf(item), api.session.modelLabel(anthropicModelId));
      assert.equal(item.treeItem.command?.command, "juggler.openConversation");
      assert.deepEqual(item.treeItem.command?.arguments, [conversationId]);
    });

    it("opens a conversation from the tree's command", async () => {
      api.session.newConversation();
      assert.equal(api.session.openConversationId, null);
      await vscode.commands.executeCommand("juggler.openConversation", conversationId);
      assert.equal(api.session.openConversationId, conversationId);
      assert.equal(api.session.snapshot().messages.length, 2);
    });

    it("leaves the model alone when the Switch Model picker is dismissed", async () => {
      const reloaded = nextModelReload();
      const switching = vscode.commands.executeCommand("juggler.switchModel");
      await reloaded; // the picker is open (it refreshes the model list while shown)
      await vscode.commands.executeCommand("quickInput.hide");
      await switching;
      assert.equal(api.session.activeModel?.id, anthropicModelId);
    });

    it("switches the conversation's model (what choosing in the status bar's picker does); the next answer sees the earlier turns", async () => {
      // Choosing a row of the picker is driven through the real UI in ../journey.test.ts. Here the
      // picker's keyboard commands raced with the list refresh it does while open (one failure in
      // a loaded `npm test`), so the switch goes through the session call the picker makes.
      await api.session.switchModel(groqModelId);
      assert.equal(api.session.activeModel?.id, groqModelId);
      const stored = await api.client.call("getConversation", { params: { conversationId } });
      assert.equal(stored.conversation.modelId, groqModelId, "the server knows the conversation's new model");
      const item = await waitForTreeItem(conversationId, (entry) => modelOf(entry) === api.session.modelLabel(groqModelId));
      assert.equal(modelOf(item), api.session.modelLabel(groqModelId));

      const secondQuestion = "And now, what did I ask you before?";
      const sent = await api.session.sendMessage(secondQuestion);
      assert.equal(sent.conversationId, conversationId);
      const answer = await finishedAnswer(sent.assistantMessageId);
      assert.equal(answer.status, "complete");
      const echo = parseEchoText(answer.content);
      assert.equal(echo.model, providerModelName(groqModelId));
      assert.deepEqual(echo.messages, [
        { role: "user", text: firstQuestion },
        { role: "assistant", text: firstAnswer.content },
        { role: "user", text: secondQuestion },
      ]);
    });

    it("Show Context of Last Answer opens what the last answer's request carried, in a Markdown tab", async () => {
      const messages = api.session.snapshot().messages;
      const lastAnswer = messages.at(-1)!;
      assert.equal(lastAnswer.role, "assistant");
      await vscode.commands.executeCommand("juggler.showContext");
      const editor = (await waitFor(
        "the Show Context editor",
        () => vscode.window.activeTextEditor,
        (active) => active?.document.uri.scheme === "juggler-context",
      ))!;
      const document = editor.document;
      assert.equal(document.languageId, "markdown");
      assert.equal(new URLSearchParams(document.uri.query).get("messageId"), lastAnswer.id);
      const text = (await waitFor(
        "every page of the context",
        () => document.getText(),
        (content) => content.includes("## Messages as sent") && !content.includes("Loading messages"),
      ))!;
      assert.ok(text.startsWith("# Context of an answer\n"), text.slice(0, 200));
      assert.ok(text.includes(`(\`${groqModelId}\`)`), "the model that answered");
      assert.ok(text.includes("| Provider | Groq |"));
      assert.ok(text.includes("## Messages as sent (3)"), text);
      for (const sent of messages.slice(0, 3))
        assert.ok(text.includes(`\n${sent.content}\n`), `the request carried: ${sent.content.slice(0, 80)}`);
      assert.ok(!text.includes(`\n${lastAnswer.content}\n`), "not the answer itself");
      const tab = findTab((input) => input instanceof vscode.TabInputText && input.uri.toString() === document.uri.toString());
      const conversationTitle = api.session.snapshot().conversation!.title;
      assert.ok(tab?.label.includes(providerModelName(groqModelId)), tab?.label);
      assert.ok(tab?.label.includes(conversationTitle.slice(0, 40)), `${tab?.label} names “${conversationTitle}”`);
      // Read-only for the user (typing is refused) is checked through the UI in ../journey.test.ts: the
      // API's editor.edit still applies to a virtual document.

      // With an answer's id (what the chat's "Show Context" on an answer passes): that answer's context.
      await vscode.commands.executeCommand("juggler.showContext", firstAnswer.id);
      const first = (await waitFor(
        "the first answer's context",
        () => vscode.window.activeTextEditor?.document,
        (active) => active?.uri.scheme === "juggler-context" && active.uri.query.includes(firstAnswer.id),
      ))!;
      const firstText = (await waitFor(
        "its text",
        () => first.getText(),
        (content) => content.includes("## Messages as sent (1)"),
      ))!;
      assert.ok(firstText.includes(`\n${firstQuestion}\n`));

      // An id the server does not know: an error message, no tab.
      const editorsBefore = vscode.window.tabGroups.all.flatMap((group) => group.tabs).length;
      await vscode.commands.executeCommand("juggler.showContext", "no-such-answer");
      assert.equal(vscode.window.tabGroups.all.flatMap((group) => group.tabs).length, editorsBefore);
      await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    });

    it("sends an editor selection with its path, language and line range", async () => {
      const instruction = "Review these lines for off-by-one errors";
      const configuration = vscode.workspace.getConfiguration("juggler");
      // The command asks for the instruction in an input box and takes no argument; with the
      // question turned off it uses the configured default instruction instead.
      await configuration.update("sendSelection.askForInstruction", false, vscode.ConfigurationTarget.Global);
      await configuration.update("sendSelection.defaultInstruction", instruction, vscode.ConfigurationTarget.Global);
      try {
        const document = await vscode.workspace.openTextDocument(
          vscode.Uri.file(path.join(environment.workspaceFolder, "src", "greeting.ts")),
        );
        const editor = await vscode.window.showTextDocument(document);
        editor.selection = new vscode.Selection(2, 0, 5, 0); // lines 3–5, whole lines
        const selectedCode = document.getText(editor.selection);
        assert.match(selectedCode, /export function greet/);
        const before = api.session.snapshot().messages.length;

        await vscode.commands.executeCommand("juggler.sendSelection");

        const messages = api.session.snapshot().messages;
        assert.equal(messages.length, before + 2, "the selection went into the open conversation");
        const userMessage = messages[messages.length - 2]!;
        assert.equal(userMessage.role, "user");
        assert.ok(userMessage.content.startsWith(instruction), userMessage.content);
        assert.match(userMessage.content, /`src\/greeting\.ts` lines 3–5 \(typescript\)/);
        assert.ok(userMessage.content.includes("```typescript\n" + selectedCode.trimEnd() + "\n```"), userMessage.content);

        const answer = await finishedAnswer(messages[messages.length - 1]!.id);
        const echo = parseEchoText(answer.content);
        assert.deepEqual(
          echo.messages.at(-1),
          { role: "user", text: userMessage.content },
          "the model received path, lines, language and code",
        );
      } finally {
        await configuration.update("sendSelection.askForInstruction", undefined, vscode.ConfigurationTarget.Global);
        await configuration.update("sendSelection.defaultInstruction", undefined, vscode.ConfigurationTarget.Global);
        await vscode.commands.executeCommand("workbench.action.closeAllEditors");
      }
    });

    it("Stop Generation stops the answer and the provider call", async () => {
      await setFakeTokenDelay(environment, 150);
      try {
        const words = Array.from({ length: 60 }, (_, index) => `word${index + 1}`).join(" ");
        const sent = await api.session.sendMessage(`Repeat slowly: ${words}`);
        await waitFor(
          "the first tokens",
          () => api.session.snapshot().messages.find((message) => message.id === sent.assistantMessageId)?.content ?? "",
          (content) => content.length > 0,
        );
        await vscode.commands.executeCommand("juggler.stopGeneration");
        const answer = await finishedAnswer(sent.assistantMessageId);
        assert.equal(answer.status, "stopped");
        assert.ok(!answer.content.includes("word60"), "the answer was cut short");
        const stored = await api.client.call("getMessage", { params: { messageId: sent.assistantMessageId } });
        assert.equal(stored.message.status, "stopped");
        // "Stop" must reach the provider: the fake sees its streaming call closed by the server.
        const provider = api.session.visibleModels.find((model) => model.id === api.session.activeModelId)!.provider;
        const lastChatCall = async () => (await fakeRequests(environment, provider)).filter((request) => request.method === "POST").at(-1);
        await waitFor("the provider call to be closed", lastChatCall, (request) => request?.clientClosed === true);
      } finally {
        await setFakeTokenDelay(environment, 0);
      }
    });

    it("renames and deletes a conversation; the tree follows", async () => {
      const title = "Renamed inside the extension host";
      await api.session.renameConversation(conversationId, title);
      const renamed = await waitForTreeItem(conversationId, (entry) => entry.treeItem.label === title);
      assert.equal(renamed.treeItem.label, title);
      assert.equal(api.session.snapshot().conversation?.title, title);

      await api.session.deleteConversation(conversationId);
      assert.equal(api.session.openConversationId, null, "the chat leaves the deleted conversation");
      await waitFor(
        "the tree to drop the conversation",
        () => treeConversations(),
        (entries) => !entries.some((entry) => entry.id === conversationId),
      );
      await assert.rejects(
        api.client.call("getConversation", { params: { conversationId } }),
        (error: { code?: string }) => error.code === "not_found",
      );
    });
  });

  describe("sign-out", () => {
    it("signs out: the secret is deleted, the tree empties and the account's panels close", async () => {
      const panelTab = (viewType: string) =>
        findTab((input) => input instanceof vscode.TabInputWebview && input.viewType.endsWith(viewType));
      await vscode.commands.executeCommand("juggler.openTeamSettings");
      await vscode.commands.executeCommand("juggler.showUsage");
      await waitFor("both panels open", () => Boolean(panelTab("juggler.teamSettings") && panelTab("juggler.usage")));
      await vscode.commands.executeCommand("juggler.signOut");
      await waitFor(
        "the chat session to be signed out",
        () => api.session.connectionState,
        (state) => state === "signed-out",
      );
      const secrets = (api.client["tokenStore"] as unknown as { secrets: vscode.SecretStorage }).secrets;
      assert.equal(await secrets.get(SECRET_KEY), undefined);
      assert.deepEqual(await api.conversationTree.getChildren(), []);
      await waitFor("Team Settings and Usage to close", () => !panelTab("juggler.teamSettings") && !panelTab("juggler.usage"));
    });
  });

  /** Resolves once the next `reloadModels()` (the model quick pick calls it when it opens) has been applied. */
  function nextModelReload(): Promise<void> {
    const session = api.session;
    const original = session.reloadModels;
    return new Promise((resolve) => {
      session.reloadModels = async function (this: typeof session) {
        session.reloadModels = original;
        try {
          return await original.call(session);
        } finally {
          // Two macrotask turns: the caller's `.then` replaces the pick's items after this returns,
          // and the extension host sends a quick pick's changes to the workbench on a setTimeout(0).
          setTimeout(() => setTimeout(resolve, 0), 0);
        }
      };
    });
  }

  /** Waits until the answer is no longer streaming and returns it as the chat session holds it. */
  async function finishedAnswer(messageId: string): Promise<Message> {
    const message = await waitFor(
      `answer ${messageId} to finish`,
      () => api.session.snapshot().messages.find((entry) => entry.id === messageId),
      (entry) => entry !== undefined && entry.status !== "streaming",
      30_000,
    );
    return message!;
  }

  interface TreeConversation {
    id: string;
    group: string;
    treeItem: vscode.TreeItem;
  }

  /** Every conversation row of the Conversations tree with its group, read through the TreeDataProvider. */
  async function treeConversations(): Promise<TreeConversation[]> {
    const tree = api.conversationTree;
    const rows: TreeConversation[] = [];
    for (const group of await tree.getChildren()) {
      if (group.kind !== "group") continue;
      const groupLabel = String(tree.getTreeItem(group).label);
      for (const node of await tree.getChildren(group)) {
        const conversationNode = node as Extract<ConversationTreeNode, { kind: "conversation" }>;
        rows.push({ id: conversationNode.conversation.id, group: groupLabel, treeItem: tree.getTreeItem(node) });
      }
    }
    return rows;
  }

  /** The model part of a row's description ("model · workspace folder" while the tree shows every workspace). */
  function modelOf(entry: TreeConversation): string | undefined {
    return typeof entry.treeItem.description === "string" ? entry.treeItem.description.split(" · ")[0] : undefined;
  }

  async function waitForTreeItem(
    conversationId: string,
    accept: (entry: TreeConversation) => boolean = () => true,
  ): Promise<TreeConversation> {
    const entries = await waitFor(
      `conversation ${conversationId} in the tree`,
      () => treeConversations(),
      (list) => list.some((entry) => entry.id === conversationId && accept(entry)),
    );
    return entries.find((entry) => entry.id === conversationId)!;
  }
});

interface AnswerEnvelope {
  method: string;
  text?: string;
  message?: Message;
}

/** The notifications posted to a view about one answer, in order. */
function envelopesFor(posted: readonly HostToWebviewEnvelope[], messageId: string): AnswerEnvelope[] {
  const result: AnswerEnvelope[] = [];
  for (const envelope of posted) {
    if (envelope.kind !== "notification") continue;
    const params = envelope.params as { messageId?: string; text?: string; message?: Message };
    if (envelope.method === "stream/delta" && params.messageId === messageId) result.push({ method: envelope.method, text: params.text });
    if (envelope.method === "message/updated" && params.message?.id === messageId)
      result.push({ method: envelope.method, message: params.message });
  }
  return result;
}

function findTab(matches: (input: unknown) => boolean): vscode.Tab | undefined {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs).find((tab) => matches(tab.input));
}
