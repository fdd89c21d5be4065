import assert from "node:assert/strict";
import { ChatSession } from "../../extension/src/chat/chat-session";
import { formatSelectionMessage } from "../../extension/src/chat/format-selection-message";
import { TeamServerClient, type FetchFunction } from "../../extension/src/server-client/team-server-client";
import { MemoryTokenStore } from "../../extension/src/server-client/token-store";
import type { Message } from "../../protocol/http/conversations";
import type { ChatNotificationParams, ChatSnapshot } from "../../protocol/webview/chat-protocol";
import { parseEchoText } from "../../tools/fake-providers";
import {
  PASSWORD,
  RecordingView,
  startExtensionTestEnvironment,
  waitUntil,
  type ExtensionTestEnvironment,
} from "./extension-test-environment";

describe("extension: ChatSession against the team server", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;
  const sessions: ChatSession[] = [];

  before(async () => {
    environment = await startExtensionTestEnvironment();
  });

  afterEach(() => {
    environment.fakes.reset();
    for (const session of sessions.splice(0)) session.dispose();
  });

  after(async () => {
    await environment?.dispose();
  });

  async function startSession(
    name: string,
    options: { tokenStore?: MemoryTokenStore; openLink?: (url: string) => void } = {},
  ): Promise<ChatSession> {
    const client = await environment.signedInClient(name, { tokenStore: options.tokenStore });
    const session = new ChatSession({ client, hostActions: { openLink: options.openLink } });
    sessions.push(session);
    await session.start();
    assert.equal(session.connectionState, "ready");
    return session;
  }

  let requestId = 0;
  async function request(session: ChatSession, view: RecordingView, method: string, params: unknown) {
    const id = ++requestId;
    const attachment = attachments.get(view);
    assert.ok(attachment, "attach the view first");
    await attachment.handleMessage({ kind: "request", id, method, params });
    const response = view.response(id);
    assert.ok(response && response.kind === "response");
    return response;
  }
  const attachments = new Map<RecordingView, ReturnType<ChatSession["attachView"]>>();
  function attach(session: ChatSession, view: RecordingView) {
    const attachment = session.attachView(view);
    attachments.set(view, attachment);
    return attachment;
  }

  function finalUpdate(view: RecordingView, messageId: string): Message | undefined {
    return (view.notifications("message/updated") as ChatNotificationParams<"message/updated">[])
      .map((update) => update.message)
      .findLast((message) => message.id === messageId);
  }

  function deltasFor(view: RecordingView, messageId: string): string[] {
    return (view.notifications("stream/delta") as ChatNotificationParams<"stream/delta">[])
      .filter((delta) => delta.messageId === messageId)
      .map((delta) => delta.text);
  }

  it("sends from the webview: creates the conversation, appends both messages, batches the deltas, ends with the final message", async () => {
    const session = await startSession("sender");
    const view = new RecordingView();
    attach(session, view);
    let conversationChanges = 0;
    session.onConversationsChanged(() => conversationChanges++);

    const response = await request(session, view, "message/send", { content: "Hello there" });
    assert.ok(response.kind === "response" && response.ok, JSON.stringify(response));
    const { conversationId, assistantMessageId } = response.result as { conversationId: string; assistantMessageId: string };
    await session.whenAnswersFinished();

    assert.equal(session.openConversationId, conversationId);
    const appended = view.notifications("messages/appended") as ChatNotificationParams<"messages/appended">[];
    assert.equal(appended.length, 1);
    assert.deepEqual(
      appended[0]!.messages.map((message) => [message.role, message.status]),
      [
        ["user", "complete"],
        ["assistant", "streaming"],
      ],
    );
    const final = finalUpdate(view, assistantMessageId);
    assert.ok(final);
    assert.equal(final.status, "complete");
    const { message: stored } = await session.client.call("getMessage", { params: { messageId: assistantMessageId } });
    assert.equal(view.shown.get(assistantMessageId)?.content, stored.content, "the view shows the stored answer");
    assert.ok(view.showedOnlyPrefixesOf(assistantMessageId, stored.content), "no text shown twice");
    assert.equal(parseEchoText(final.content).messages.at(-1)!.text, "Hello there");
    assert.equal(view.conversationId, conversationId);
    assert.ok(conversationChanges >= 2, "the tree hears about the new conversation and the finished answer");
  });

  it("keeps streaming while no view is visible; the view gets the whole text in a snapshot when it shows again", async () => {
    environment.fakes.anthropic.setTokenDelayMs(10);
    const session = await startSession("hidden-view");
    const view = new RecordingView(false);
    const attachment = attach(session, view);

    const { assistantMessageId } = await session.sendMessage("Answer while I look elsewhere");
    await session.whenAnswersFinished();

    assert.equal(
      view.droppedWhileHidden.filter((message) => message.kind === "notification" && message.method === "stream/delta").length,
      0,
      "no deltas for a hidden view",
    );
    view.isVisible = true;
    attachment.visibilityChanged();
    const snapshot = view.messages.at(-1);
    assert.ok(snapshot && snapshot.kind === "notification" && snapshot.method === "state/snapshot");
    const answer = (snapshot.params as ChatSnapshot).messages.find((message) => message.id === assistantMessageId);
    const { message } = await session.client.call("getMessage", { params: { messageId: assistantMessageId } });
    assert.equal(answer?.status, "complete");
    assert.equal(answer?.content, message.content);
    assert.ok(message.content.length > 0);
  });

  it("stops an answer from the webview: the provider call ends and the view shows it stopped with its partial text", async () => {
    environment.fakes.anthropic.setTokenDelayMs(100);
    const session = await startSession("stopper");
    const view = new RecordingView();
    const attachment = attach(session, view);
    const { assistantMessageId } = await session.sendMessage("A long answer, please");
    await waitUntil(() => deltasFor(view, assistantMessageId).length > 0, "some text arrived");

    await attachment.handleMessage({ kind: "command", method: "generation/stop", params: { messageId: assistantMessageId } });
    await session.whenAnswersFinished();

    const final = finalUpdate(view, assistantMessageId);
    assert.equal(final?.status, "stopped");
    const { message } = await session.client.call("getMessage", { params: { messageId: assistantMessageId } });
    assert.equal(message.status, "stopped");
    assert.equal(final?.content, message.content);
    assert.ok(message.content.length > 0, "the partial text is kept");
  });

  it("switches the model mid-conversation: the next answer comes from the new provider and saw the earlier turns", async () => {
    const session = await startSession("switcher");
    const view = new RecordingView();
    attach(session, view);
    const firstModel = environment.models.anthropic[0]!;
    const secondModel = environment.models.groq[0]!;
    await session.switchModel(firstModel);
    const first = await session.sendMessage("First question");
    await session.whenAnswersFinished();
    const models: Array<string | null> = [];
    session.onActiveModelChanged((model) => models.push(model?.id ?? null));

    await session.switchModel(secondModel);
    assert.deepEqual(models, [secondModel]);
    assert.deepEqual((view.notifications("model/changed").at(-1) as ChatNotificationParams<"model/changed">).activeModel?.id, secondModel);
    const second = await session.sendMessage("Second question");
    await session.whenAnswersFinished();

    assert.equal(second.conversationId, first.conversationId);
    const answer = finalUpdate(view, second.assistantMessageId)!;
    assert.equal(answer.provider, "groq");
    const echo = parseEchoText(answer.content);
    assert.equal(echo.model, secondModel.slice("groq:".length));
    assert.deepEqual(
      echo.messages.map((message) => message.role),
      ["user", "assistant", "user"],
    );
    assert.equal(echo.messages[0]!.text, "First question");
    assert.equal(echo.messages[1]!.text, finalUpdate(view, first.assistantMessageId)!.content);
    assert.equal(echo.messages[2]!.text, "Second question");
    const { conversation } = await session.client.call("getConversation", { params: { conversationId: first.conversationId } });
    assert.equal(conversation.modelId, secondModel);
    const { user } = await session.client.call("getMe");
    assert.equal(user.lastModelId, secondModel, "remembered as the user's choice");
  });

  it("starts a conversation, its first message and the answer's stream in one call, and switches its model in one call", async () => {
    const calls: string[] = [];
    const recordingFetch: FetchFunction = (input, init) => {
      calls.push(`${init?.method ?? "GET"} ${new URL(input).pathname}`);
      return fetch(input, init);
    };
    const client = await environment.signedInClient("round-trips", { fetch: recordingFetch });
    const session = new ChatSession({ client });
    sessions.push(session);
    await session.start();
    await session.switchModel(environment.models.anthropic[0]!);
    calls.length = 0;

    const sent = await session.sendMessage("First question");
    await session.whenAnswersFinished();
    assert.deepEqual(calls, ["POST /api/v1/conversations"], "the conversation, its first message and the answer's events in one call");
    const stored = await client.call("getMessage", { params: { messageId: sent.assistantMessageId } });
    assert.equal(stored.message.status, "complete");
    assert.equal(session.snapshot().messages.at(-1)?.content, stored.message.content, "the answer arrived whole through that one reply");

    // the next question, and a retry, are one call each too
    calls.length = 0;
    const next = await session.sendMessage("Second question");
    await session.whenAnswersFinished();
    assert.deepEqual(calls, [`POST /api/v1/conversations/${sent.conversationId}/messages`]);
    calls.length = 0;
    const retried = await session.retryAnswer(next.assistantMessageId);
    await session.whenAnswersFinished();
    assert.deepEqual(calls.slice(0, 1), [`POST /api/v1/messages/${next.assistantMessageId}/regenerate`]);
    assert.ok(!calls.some((call) => call.endsWith("/stream")), `no separate stream: ${calls.join(", ")}`);
    const retriedAnswer = await client.call("getMessage", { params: { messageId: retried.assistantMessageId } });
    assert.equal(retriedAnswer.message.status, "complete");

    calls.length = 0;
    await session.switchModel(environment.models.groq[0]!);
    assert.deepEqual(calls, [`PATCH /api/v1/conversations/${sent.conversationId}`], "the switch is one write");
  });

  it("sends a selection with its path, lines and language as one message", async () => {
    const session = await startSession("selection");
    const selection = {
      code: "const answer = 42;\nexport default answer;\n",
      languageId: "typescript",
      filePath: "src/answer.ts",
      startLine: 3,
      endLine: 4,
    };
    const { conversationId } = await session.sendSelection({ ...selection, instruction: "  " });
    await session.whenAnswersFinished();

    const expected =
      "Explain this code\n\n`src/answer.ts` lines 3–4 (typescript):\n```typescript\nconst answer = 42;\nexport default answer;\n```";
    const { messages } = await session.client.call("getConversation", { params: { conversationId } });
    assert.equal(messages[0]!.content, expected);
    assert.equal(parseEchoText(messages[1]!.content).messages.at(-1)!.text, expected, "the model received it as sent");
  });

  it("formats selections: instruction, single line, fences longer than the code's backticks", () => {
    assert.equal(
      formatSelectionMessage({ code: "print(1)", languageId: "python", filePath: "a.py", startLine: 7, endLine: 7, instruction: "Why?" }),
      "Why?\n\n`a.py` line 7 (python):\n```python\nprint(1)\n```",
    );
    const markdown = formatSelectionMessage({
      code: "```js\nx\n```",
      languageId: "markdown",
      filePath: "README.md",
      startLine: 1,
      endLine: 3,
    });
    assert.ok(markdown.endsWith("````markdown\n```js\nx\n```\n````"), markdown);
  });

  it("re-attaches after a window reload: a new session opening the conversation mid-stream gets the complete answer, once", async () => {
    environment.fakes.anthropic.setTokenDelayMs(40);
    const tokenStore = new MemoryTokenStore();
    const before = await startSession("reloader", { tokenStore });
    const beforeView = new RecordingView();
    attach(before, beforeView);
    const { conversationId, assistantMessageId } = await before.sendMessage("Keep going after the reload");
    await waitUntil(() => deltasFor(beforeView, assistantMessageId).length >= 2, "some text arrived before the reload");
    // The reload: the old extension host goes away (its stream detaches); the server keeps generating.
    before.dispose();
    // The server saves partial text about once a second: wait until the database has some, as a reload later would find.
    for (let saved = ""; saved.length === 0;) {
      const { message } = await before.client.call("getMessage", { params: { messageId: assistantMessageId } });
      assert.equal(message.status, "streaming", "the answer must still be streaming for this test");
      saved = message.content;
      if (saved.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const client = new TeamServerClient({ serverUrl: environment.server.url, tokenStore });
    const after = new ChatSession({ client });
    sessions.push(after);
    await after.start();
    const view = new RecordingView();
    const attachment = attach(after, view);
    await attachment.handleMessage({ kind: "command", method: "webview/ready", params: { restoredConversationId: conversationId } });

    const restored = (view.notifications("state/snapshot") as ChatSnapshot[]).find(
      (snapshot) => snapshot.conversation?.id === conversationId,
    );
    assert.ok(restored, "the restored conversation is shown");
    const partial = restored.messages.find((message) => message.id === assistantMessageId)!;
    assert.equal(partial.status, "streaming", "still streaming when the new window opened it");
    await after.whenAnswersFinished();

    const final = finalUpdate(view, assistantMessageId)!;
    assert.equal(final.status, "complete");
    const { message } = await client.call("getMessage", { params: { messageId: assistantMessageId } });
    assert.equal(final.content, message.content);
    assert.ok(partial.content.length > 0, "the partial text saved before the reload shows at once");
    assert.equal(view.shown.get(assistantMessageId)?.content, message.content);
    assert.ok(view.showedOnlyPrefixesOf(assistantMessageId, message.content), "the replayed start is not shown twice");
    assert.equal(parseEchoText(message.content).messages.at(-1)!.text, "Keep going after the reload");
  });

  it("retries an answer as a sibling: the view switches to the new answer", async () => {
    const session = await startSession("retrier");
    const view = new RecordingView();
    attach(session, view);
    const first = await session.sendMessage("Try this twice");
    await session.whenAnswersFinished();

    const response = await request(session, view, "message/retry", {
      messageId: first.assistantMessageId,
      modelId: environment.models.ollama[0],
    });
    assert.ok(response.kind === "response" && response.ok, JSON.stringify(response));
    const { assistantMessageId } = response.result as { assistantMessageId: string };
    await session.whenAnswersFinished();

    assert.notEqual(assistantMessageId, first.assistantMessageId);
    const shownIds = session.snapshot().messages.map((message) => message.id);
    assert.equal(shownIds.length, 2);
    assert.equal(shownIds[1], assistantMessageId);
    assert.ok(!view.shown.has(first.assistantMessageId), "the view shows the new branch, not the old answer");
    const final = finalUpdate(view, assistantMessageId)!;
    assert.equal(final.provider, "ollama");
    assert.equal(parseEchoText(final.content).messages.at(-1)!.text, "Try this twice");
  });

  it("edits a question, reruns an answer with a picked model and walks the siblings back and forth", async () => {
    const client = await environment.signedInClient("brancher");
    const picks: Array<string | undefined> = [environment.models.ollama[0], undefined];
    const asked: Array<string | null> = [];
    const session = new ChatSession({
      client,
      hostActions: {
        chooseModel: async ({ currentModelId }) => {
          asked.push(currentModelId);
          return picks.shift();
        },
      },
    });
    sessions.push(session);
    await session.start();
    const view = new RecordingView();
    attach(session, view);
    const first = await session.sendMessage("Original question");
    await session.whenAnswersFinished();
    const question = session.snapshot().messages[0]!;
    const statusBarModels: Array<string | undefined> = [];
    session.onActiveModelChanged((model) => statusBarModels.push(model?.id));

    // Rerun with…: the host's pick (the answer's own model marked), then a sibling answer from that model
    const rerun = await request(session, view, "message/rerunWith", { messageId: first.assistantMessageId });
    assert.ok(rerun.kind === "response" && rerun.ok, JSON.stringify(rerun));
    const rerunId = (rerun.result as { assistantMessageId: string }).assistantMessageId;
    await session.whenAnswersFinished();
    assert.equal(asked[0], finalUpdate(view, first.assistantMessageId)?.modelId, "the quick pick marks the answer's model");
    assert.equal(finalUpdate(view, rerunId)?.provider, "ollama");
    assert.deepEqual(session.snapshot().messages.at(-1)?.siblings, { position: 2, count: 2 });
    assert.deepEqual(statusBarModels, [environment.models.ollama[0]], "the status bar follows the rerun's model");
    // a cancelled pick reruns nothing
    const cancelled = await request(session, view, "message/rerunWith", { messageId: rerunId });
    assert.ok(cancelled.kind === "response" && cancelled.ok);
    assert.deepEqual(cancelled.result, { assistantMessageId: null });

    // Edit: a sibling question with a fresh answer; the view shows the new branch, 2/2
    const edit = await request(session, view, "message/edit", { messageId: question.id, content: "Edited question" });
    assert.ok(edit.kind === "response" && edit.ok, JSON.stringify(edit));
    await session.whenAnswersFinished();
    const onEdit = session.snapshot().messages;
    assert.deepEqual(
      onEdit.map((message) => [message.role, message.siblings]),
      [
        ["user", { position: 2, count: 2 }],
        ["assistant", { position: 1, count: 1 }],
      ],
    );
    assert.equal(onEdit[0]!.content, "Edited question");

    // ‹ back to the original question: its branch ends at the rerun answer; › forward again
    const back = await request(session, view, "branch/switch", { messageId: onEdit[0]!.id, direction: "previous" });
    assert.ok(back.kind === "response" && back.ok, JSON.stringify(back));
    assert.deepEqual(back.result, { messageId: question.id });
    assert.deepEqual(
      session.snapshot().messages.map((message) => message.id),
      [question.id, rerunId],
    );
    assert.equal(session.snapshot().conversation?.modelId, environment.models.ollama[0], "the header shows the branch's model");
    const none = await request(session, view, "branch/switch", { messageId: question.id, direction: "previous" });
    assert.ok(none.kind === "response" && none.ok);
    assert.deepEqual(none.result, { messageId: null });
    const forward = await request(session, view, "branch/switch", { messageId: question.id, direction: "next" });
    assert.ok(forward.kind === "response" && forward.ok);
    assert.equal(session.snapshot().messages[0]!.content, "Edited question");
  });

  it("compares: the picked models answer at once, the views see the compare, Continue with this one switches the branch", async () => {
    const client = await environment.signedInClient("comparer");
    const picked = [environment.models.groq[0]!, environment.models.ollama[0]!];
    const session = new ChatSession({ client, hostActions: { chooseModels: async () => picked } });
    sessions.push(session);
    await session.start();
    const view = new RecordingView();
    attach(session, view);
    const response = await request(session, view, "message/compare", { content: "Tabs or spaces?" });
    assert.ok(response.kind === "response" && response.ok, JSON.stringify(response));
    const { assistantMessageIds } = response.result as { assistantMessageIds: string[] };
    assert.equal(assistantMessageIds.length, 2);
    const shown = view.notifications("compare/shown") as ChatNotificationParams<"compare/shown">[];
    assert.deepEqual(
      shown.at(-1)?.compare?.messages.map((message) => message.modelId),
      picked,
    );
    await session.whenAnswersFinished();
    // both answers finished and reached the view; the compare travels in snapshots too
    assert.equal(finalUpdate(view, assistantMessageIds[1]!)?.provider, "ollama");
    assert.deepEqual(
      session.snapshot().compare?.messages.map((message) => message.status),
      ["complete", "complete"],
    );
    const chosen = await request(session, view, "compare/continue", { messageId: assistantMessageIds[1] });
    assert.ok(chosen.kind === "response" && chosen.ok, JSON.stringify(chosen));
    const snapshot = session.snapshot();
    assert.equal(snapshot.compare, null);
    assert.equal(snapshot.messages.at(-1)?.id, assistantMessageIds[1]);
    assert.equal(snapshot.conversation?.modelId, picked[1]);
  });

  it("renames, starts anew and deletes: the tree hears of each, the open conversation follows", async () => {
    const session = await startSession("organiser");
    const view = new RecordingView();
    attach(session, view);
    const { conversationId } = await session.sendMessage("Something to keep");
    await session.whenAnswersFinished();
    let changes = 0;
    session.onConversationsChanged(() => changes++);

    await session.renameConversation(conversationId, "A better title");
    assert.equal((view.notifications("state/snapshot").at(-1) as ChatSnapshot).conversation?.title, "A better title");
    const page = await session.listConversations({ limit: 10 });
    assert.equal(page.conversations.find((conversation) => conversation.id === conversationId)?.title, "A better title");

    await session.deleteConversation(conversationId);
    assert.equal(session.openConversationId, null);
    assert.equal((view.notifications("state/snapshot").at(-1) as ChatSnapshot).conversation, null);
    assert.ok(!(await session.listConversations()).conversations.some((conversation) => conversation.id === conversationId));
    assert.equal(changes, 2);

    // With no conversation open, sending starts a new one.
    const next = await session.sendMessage("A fresh start");
    assert.notEqual(next.conversationId, conversationId);
    await session.whenAnswersFinished();
  });

  it("answers invalid webview requests with errors and ignores invalid commands; opens only http(s) links", async () => {
    const opened: string[] = [];
    const session = await startSession("validator", { openLink: (url) => opened.push(url) });
    const view = new RecordingView();
    const attachment = attach(session, view);

    const unknown = await request(session, view, "message/delete", {});
    assert.ok(unknown.kind === "response" && !unknown.ok && unknown.error.code === "not_found");
    const empty = await request(session, view, "message/send", { content: "" });
    assert.ok(empty.kind === "response" && !empty.ok && empty.error.code === "validation_failed");
    const wrongType = await request(session, view, "conversation/open", { conversationId: 42 });
    assert.ok(wrongType.kind === "response" && !wrongType.ok && wrongType.error.code === "validation_failed");
    const missing = await request(session, view, "conversation/open", { conversationId: "no-such-conversation" });
    assert.ok(missing.kind === "response" && !missing.ok && missing.error.code === "not_found");

    const postedBefore = view.messages.length;
    await attachment.handleMessage({ kind: "nonsense" });
    await attachment.handleMessage({ kind: "command", method: "code/copy", params: { code: 7 } });
    await attachment.handleMessage({ kind: "command", method: "link/open", params: { href: "javascript:alert(1)" } });
    await attachment.handleMessage({ kind: "command", method: "link/open", params: { href: "command:workbench.action.terminal.new" } });
    await attachment.handleMessage({ kind: "command", method: "link/open", params: { href: "mailto:team@example.com" } });
    await attachment.handleMessage({ kind: "command", method: "link/open", params: { href: "https://example.com/docs?q=1" } });
    assert.equal(view.messages.length, postedBefore);
    assert.deepEqual(opened, ["https://example.com/docs?q=1"]);
  });

  it("shows the session's end in the view and keeps the conversation on screen", async () => {
    const session = await startSession("expiring");
    const view = new RecordingView();
    attach(session, view);
    const { conversationId } = await session.sendMessage("Before the session ends");
    await session.whenAnswersFinished();
    const stored = session.client.user;
    assert.ok(stored);
    // Revoke every token of this user: an admin disables and re-enables the account.
    await environment.server.request("PATCH", `/admin/users/${stored.id}`, { token: environment.adminToken, body: { status: "disabled" } });
    await assert.rejects(session.openConversation(conversationId));
    await waitUntil(() => session.connectionState === "needs-sign-in", "the session noticed");

    const snapshot = view.notifications("state/snapshot").at(-1) as ChatSnapshot;
    assert.equal(snapshot.connection, "needs-sign-in");
    assert.equal(snapshot.banner?.action?.command, "signIn");
    assert.equal(snapshot.conversation?.id, conversationId, "the conversation stays visible behind the banner");

    // Signing in again (the admin re-enabled the account) picks up where it was.
    await environment.server.request("PATCH", `/admin/users/${stored.id}`, { token: environment.adminToken, body: { status: "active" } });
    await session.client.signIn({ name: "expiring", password: PASSWORD });
    await waitUntil(() => session.connectionState === "ready", "connected again");
    assert.equal(session.openConversationId, conversationId);
    assert.equal((view.notifications("state/snapshot").at(-1) as ChatSnapshot).banner, null);

    // Signing out clears the chat.
    await session.client.signOut();
    assert.equal(session.connectionState, "signed-out");
    const signedOut = view.notifications("state/snapshot").at(-1) as ChatSnapshot;
    assert.equal(signedOut.conversation, null);
    assert.deepEqual(signedOut.messages, []);
  });
  it("tells every view and the status bar together when the visible models change, labelled as the picker labels them", async () => {
    const session = await startSession("labels");
    const view = new RecordingView();
    const attachment = attach(session, view);
    await attachment.handleMessage({ kind: "command", method: "webview/ready", params: { restoredConversationId: null } });
    const snapshot = view.notifications("state/snapshot").at(-1) as ChatSnapshot;
    const anthropicId = environment.models.anthropic[0]!;
    const { models: catalog } = await session.client.call("listModels");
    const displayName = catalog.find((model) => model.id === anthropicId)!.displayName;
    assert.equal(snapshot.models?.find((model) => model.id === anthropicId)?.label, displayName);
    assert.notEqual(displayName, anthropicId.slice("anthropic:".length), "a display name, not the id");
    assert.equal(snapshot.isAdmin, false);
    let statusBarModel: unknown = "not told";
    session.onActiveModelChanged((model) => (statusBarModel = model));

    const visible = catalog.map((model) => model.id);
    const setVisibility = (isVisible: boolean) =>
      environment.server.request("PATCH", "/admin/models", {
        token: environment.adminToken,
        body: { changes: visible.map((id) => ({ id, isVisible })) },
      });
    try {
      // An admin hides everything: no model, and a member is told to ask the admin (not to open Team Settings).
      await setVisibility(false);
      await session.reloadModels();
      const cleared = view.notifications("model/changed").at(-1) as ChatNotificationParams<"model/changed">;
      assert.deepEqual(cleared, { activeModel: null, models: [] });
      assert.equal(statusBarModel, null);
      await assert.rejects(
        session.sendMessage("Anyone there?"),
        (error: Error) => /ask your Juggler admin/i.test(error.message) && !/Team Settings/.test(error.message),
      );

      // Models visible again: the live check brings them; the header and the status bar name the same model.
      await setVisibility(true);
      await session.checkConnection();
      const restored = view.notifications("model/changed").at(-1) as ChatNotificationParams<"model/changed">;
      assert.ok(restored.activeModel, "a model again");
      assert.deepEqual(statusBarModel, restored.activeModel);
      assert.equal(restored.models?.length, visible.length);
      // Nothing changed since: the next check tells nobody anything.
      const changes = view.notifications("model/changed").length;
      await session.checkConnection();
      assert.equal(view.notifications("model/changed").length, changes);
    } finally {
      await setVisibility(true);
    }
  });
});
