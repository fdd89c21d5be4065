import assert from "node:assert/strict";
import { ChatSession, HELD_MESSAGES_MAX, NEWEST_PAGE_MESSAGES } from "../../extension/src/chat/chat-session";
import type { TeamServerClient } from "../../extension/src/server-client/team-server-client";
import { MESSAGE_PAGE_MAX, type Message } from "../../protocol/http/conversations";
import type { ChatNotificationParams, ChatSnapshot, HostToWebviewEnvelope } from "../../protocol/webview/chat-protocol";
import { defaultOllamaModels } from "../../tools/fake-providers";
import { seedLongConversation } from "../../tools/harness/team-environment";
import { refreshAndShowModels } from "../../tools/harness/provider-setup";
import { RecordingView, startExtensionTestEnvironment, type ExtensionTestEnvironment } from "./extension-test-environment";

/**
 * The chat session with conversations longer than a page: what it holds, what it asks the server
 * for, and what it tells the views while an answer waits for older messages to be summarised.
 *
 * Tests marked "(needs server paging)" rely on the server side of issue 6: GET /conversations/:id
 * returning only the newest page, and summarising when a branch does not fit a model. Against the
 * interim server (the whole branch as one page, never summarising) they fail.
 */
describe("extension: ChatSession with long conversations", function () {
  this.timeout(120_000);
  let environment: ExtensionTestEnvironment;
  const sessions: ChatSession[] = [];
  const attachments = new Map<RecordingView, ReturnType<ChatSession["attachView"]>>();
  let requestId = 0;

  before(async () => {
    environment = await startExtensionTestEnvironment();
  });

  afterEach(() => {
    environment.fakes.reset();
    for (const session of sessions.splice(0)) session.dispose();
    attachments.clear();
  });

  after(async () => {
    await environment?.dispose();
  });

  async function startSession(name: string): Promise<{ session: ChatSession; client: TeamServerClient; view: RecordingView }> {
    const client = await environment.signedInClient(name);
    const session = new ChatSession({ client });
    sessions.push(session);
    await session.start();
    assert.equal(session.connectionState, "ready");
    const view = new RecordingView();
    attachments.set(view, session.attachView(view));
    return { session, client, view };
  }

  async function request(view: RecordingView, method: string, params: unknown) {
    const id = ++requestId;
    await attachments.get(view)!.handleMessage({ kind: "request", id, method, params });
    const response = view.response(id);
    assert.ok(response && response.kind === "response");
    return response;
  }

  async function seed(client: TeamServerClient, messageCount: number) {
    return seedLongConversation(environment.server, {
      userId: client.user!.id,
      messageCount,
      modelId: environment.models.anthropic[0]!,
      title: `A conversation of ${messageCount} messages`,
    });
  }

  /** Every page above the newest one, through the webview's request, oldest first. */
  async function loadAllOlder(view: RecordingView, conversationId: string, cursor: string | null): Promise<Message[]> {
    const older: Message[] = [];
    for (let pages = 0; cursor !== null; pages++) {
      assert.ok(pages < 1_000, "the cursor walk ends");
      const response = await request(view, "messages/loadOlder", { conversationId, cursor });
      assert.ok(response.kind === "response" && response.ok, JSON.stringify(response));
      const page = response.result as { messages: Message[]; olderCursor: string | null };
      assert.ok(page.messages.length <= MESSAGE_PAGE_MAX);
      older.unshift(...page.messages);
      cursor = page.olderCursor;
    }
    return older;
  }

  it("holds only the newest page of a 1,000-message conversation and pages the rest to the view (needs server paging)", async () => {
    const { session, client, view } = await startSession("holds-a-page");
    const seeded = await seed(client, 1_000);
    const snapshot = await session.openConversation(seeded.conversationId);

    assert.equal(snapshot.branchMessageCount, 1_000);
    assert.ok(snapshot.messages.length <= NEWEST_PAGE_MESSAGES, `the session holds ${snapshot.messages.length} messages`);
    assert.deepEqual(
      snapshot.messages.map((message) => message.id),
      seeded.messageIds.slice(-snapshot.messages.length),
      "the newest page, oldest first",
    );
    assert.ok(snapshot.olderCursor !== null, "a cursor for the page above");
    const older = await loadAllOlder(view, seeded.conversationId, snapshot.olderCursor);
    assert.deepEqual(
      [...older, ...snapshot.messages].map((message) => message.id),
      seeded.messageIds,
      "every message once, in order, across pages",
    );
    assert.equal(session.snapshot().messages.length, snapshot.messages.length, "pages sent to the view are not kept");
  });

  it("refuses older pages of a conversation that is no longer the open one", async () => {
    const { session, client, view } = await startSession("wrong-conversation");
    const first = await seed(client, 4);
    const second = await seed(client, 4);
    await session.openConversation(second.conversationId);
    const response = await request(view, "messages/loadOlder", { conversationId: first.conversationId, cursor: "anything" });
    assert.ok(response.kind === "response" && !response.ok);
    assert.equal(response.error.code, "conflict");
    assert.match(response.error.message, /open conversation/);
  });

  it("keeps branchMessageCount right through sends and a conversation switch", async () => {
    const { session, client, view } = await startSession("counts");
    const seeded = await seed(client, 120);
    const other = await seed(client, 6);
    await session.openConversation(seeded.conversationId);
    await session.sendMessage("One more question");
    // one answer at a time per conversation: the second question waits for the first answer
    await session.whenAnswersFinished();
    await session.sendMessage("And another");
    await session.whenAnswersFinished();
    assert.equal(session.snapshot().branchMessageCount, 124);
    const { branchMessageCount } = await client.call("getConversation", { params: { conversationId: seeded.conversationId } });
    assert.equal(branchMessageCount, 124, "the server agrees");

    await session.openConversation(other.conversationId);
    assert.equal(session.snapshot().branchMessageCount, 6);
    assert.equal((view.notifications("state/snapshot").at(-1) as ChatSnapshot).branchMessageCount, 6);
    session.newConversation();
    assert.equal(session.snapshot().branchMessageCount, 0);
    assert.equal(session.snapshot().olderCursor, null);
  });

  it("counts right after retrying an answer far up the branch, outside the held page", async () => {
    const { session, client } = await startSession("retries-far-up");
    const seeded = await seed(client, 400);
    await session.openConversation(seeded.conversationId);
    // The second message is the first answer: retrying it leaves a branch of two messages.
    const { assistantMessageId } = await session.retryAnswer(seeded.messageIds[1]!);
    await session.whenAnswersFinished();

    const snapshot = session.snapshot();
    assert.equal(snapshot.branchMessageCount, 2);
    assert.deepEqual(
      snapshot.messages.map((message) => message.id),
      [seeded.messageIds[0], assistantMessageId],
    );
    assert.equal(snapshot.olderCursor, null);
    const detail = await client.call("getConversation", { params: { conversationId: seeded.conversationId } });
    assert.equal(detail.branchMessageCount, 2, "the server agrees");
  });

  it("stays bounded however long one session sends into a long conversation (needs server paging)", async () => {
    const { session, client } = await startSession("bounded");
    const seeded = await seed(client, 1_000);
    // A short reply: an echo of a 1,000-message context would be longer than the point of this test.
    for (const fake of [environment.fakes.anthropic, environment.fakes.groq, environment.fakes.ollama]) fake.setReply({ text: "Noted." });
    await session.openConversation(seeded.conversationId);
    let mostHeld = 0;
    const sends = HELD_MESSAGES_MAX; // twice as many messages as the bound
    for (let index = 0; index < sends; index++) {
      await session.sendMessage(`Question ${index} of many`);
      await session.whenAnswersFinished();
      mostHeld = Math.max(mostHeld, session.snapshot().messages.length);
    }
    // The re-read after the last answer runs in the background: wait until the bound holds again.
    const deadline = Date.now() + 10_000;
    while (session.snapshot().messages.length > HELD_MESSAGES_MAX && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const snapshot = session.snapshot();
    assert.equal(snapshot.branchMessageCount, 1_000 + 2 * sends);
    // Without trimming it would hold the page and all 200 appended messages; a send racing a re-read may add a few.
    assert.ok(mostHeld <= HELD_MESSAGES_MAX * 1.5, `held at most ${mostHeld} messages`);
    assert.ok(snapshot.messages.length <= HELD_MESSAGES_MAX);
    assert.ok(snapshot.olderCursor !== null);
    const stored = await client.call("getConversation", { params: { conversationId: seeded.conversationId } });
    assert.equal(snapshot.messages.at(-1)?.id, stored.messages.at(-1)?.id, "it ends at the branch's leaf");
  });

  it("tells the views while an answer waits for older messages to be summarised, then clears it (needs server summarising)", async () => {
    const { session, view } = await startSession("summarised");
    environment.fakes.ollama.setModels([
      ...defaultOllamaModels,
      { ...defaultOllamaModels[1]!, name: "tiny-window:latest", contextLength: 1024, digest: "e".repeat(64) },
    ]);
    const ids = await refreshAndShowModels(environment.server, "ollama", environment.adminToken);
    const tinyModel = ids.find((id) => id.includes("tiny-window"));
    assert.ok(tinyModel, ids.join(", "));
    await session.reloadModels();
    await session.switchModel(tinyModel);
    for (const fake of [environment.fakes.anthropic, environment.fakes.groq, environment.fakes.ollama]) fake.setReply({ text: "Noted." });

    let summarisedAnswerId: string | undefined;
    for (let turn = 1; turn <= 6 && !summarisedAnswerId; turn++) {
      // ~1,000 characters ≈ 250 estimated tokens each: a few of them overflow a 1,024-token window
      const { assistantMessageId } = await session.sendMessage(`Turn ${turn}: ${"lorem ipsum dolor sit amet ".repeat(37)}`.slice(0, 1000));
      await session.whenAnswersFinished();
      if (statusesFor(view.messages, assistantMessageId).length > 0) summarisedAnswerId = assistantMessageId;
    }
    assert.ok(summarisedAnswerId, "one of the sends had to summarise older messages");
    const forAnswer = view.messages.filter((envelope) => concerns(envelope, summarisedAnswerId!));
    const statuses = statusesFor(forAnswer, summarisedAnswerId);
    assert.equal(statuses[0]?.status?.phase, "summarising");
    assert.ok((statuses[0]?.status?.messageCount ?? 0) > 0);
    assert.equal(statuses.at(-1)?.status, null, "cleared");
    const firstStatus = forAnswer.findIndex((envelope) => isNotification(envelope, "stream/status"));
    const firstText = forAnswer.findIndex(
      (envelope) => isNotification(envelope, "stream/delta") || isNotification(envelope, "message/updated"),
    );
    assert.ok(firstStatus < firstText, "the status came before any text");
    const cleared = forAnswer.findLastIndex((envelope) => isNotification(envelope, "stream/status"));
    const finalUpdate = forAnswer.findIndex(
      (envelope) => isNotification(envelope, "message/updated") && (envelope.params as { message: Message }).message.status !== "streaming",
    );
    assert.ok(cleared <= finalUpdate, "cleared by the first text or the end at the latest");
    const { message } = await session.client.call("getMessage", { params: { messageId: summarisedAnswerId } });
    assert.ok(message.context?.summary, "the answer's record names the summary");
  });
});

function isNotification(
  envelope: HostToWebviewEnvelope,
  method: string,
): envelope is Extract<HostToWebviewEnvelope, { kind: "notification" }> {
  return envelope.kind === "notification" && envelope.method === method;
}

function concerns(envelope: HostToWebviewEnvelope, messageId: string): boolean {
  if (envelope.kind !== "notification") return false;
  const params = envelope.params as { messageId?: string; message?: Message };
  return params.messageId === messageId || params.message?.id === messageId;
}

function statusesFor(envelopes: HostToWebviewEnvelope[], messageId: string): ChatNotificationParams<"stream/status">[] {
  return envelopes
    .filter((envelope) => isNotification(envelope, "stream/status"))
    .map((envelope) => (envelope as { params: ChatNotificationParams<"stream/status"> }).params)
    .filter((params) => params.messageId === messageId);
}
