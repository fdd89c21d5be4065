import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ChatSession } from "../../extension/src/chat/chat-session";
import { ConversationLibrary, describeImport, fileNameFromDisposition } from "../../extension/src/library/conversation-library";
import { ConversationListModel, FIRST_PAGE_SIZE } from "../../extension/src/library/conversation-list-model";
import { PendingDeletions } from "../../extension/src/library/pending-deletions";
import { SearchRunner, type SearchState } from "../../extension/src/library/search-runner";
import { writeDownloadToFile } from "../../extension/src/library/write-download";
import type { FetchFunction } from "../../extension/src/server-client/team-server-client";
import { jugglerExportSchema } from "../../protocol/http/export";
import type { ChatSnapshot } from "../../protocol/webview/chat-protocol";
import { buildLongConversation } from "../../tools/harness/long-conversation";
import { RecordingView, startExtensionTestEnvironment, waitUntil, type ExtensionTestEnvironment } from "./extension-test-environment";

const ALPHA = "file:///home/me/alpha";

/**
 * The library's logic in the extension, without VS Code, against the real team server: the tree's
 * model (pages, a refresh that reads only the first page, scope, filter, archive), the search behind
 * the quick pick (debounced, stale requests cancelled), delete with undo, export and import, and the
 * chat session opening a conversation at a message and answering the find bar.
 */
describe("extension: the library against the team server", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;
  const sessions: ChatSession[] = [];

  before(async () => {
    environment = await startExtensionTestEnvironment();
  });
  afterEach(() => {
    for (const session of sessions.splice(0)) session.dispose();
  });
  after(async () => {
    await environment?.dispose();
  });

  async function startSession(name: string, options: { fetch?: FetchFunction; workspaceHint?: string } = {}): Promise<ChatSession> {
    const client = await environment.signedInClient(name, { fetch: options.fetch });
    const session = new ChatSession({ client, workspaceHint: () => options.workspaceHint });
    sessions.push(session);
    await session.start();
    assert.equal(session.connectionState, "ready");
    return session;
  }

  /** `count` conversations written through the storage layer, one a second apart, oldest first; returns their ids, newest first. */
  async function seedConversations(
    userId: string,
    count: number,
    shape: (index: number) => Record<string, unknown> = () => ({}),
  ): Promise<string[]> {
    const base = Date.now() - count * 1000;
    const rows = Array.from({ length: count }, (_unused, index) => ({
      id: crypto.randomUUID(),
      user_id: userId,
      title: `Seeded ${index}`,
      model_id: null,
      leaf_message_id: null,
      is_pinned: false,
      is_archived: false,
      workspace_hint: null,
      created_at: base + index * 1000,
      updated_at: base + index * 1000,
      last_message_at: base + index * 1000,
      ...shape(index),
    }));
    for (let start = 0; start < rows.length; start += 100)
      await environment.server.database("conversations").insert(rows.slice(start, start + 100));
    return rows.map((row) => row.id).reverse();
  }

  it("the tree's model: pinned apart, pages on demand, a refresh that reads the first page only, scope, filter and archive", async () => {
    const session = await startSession("lister");
    const userId = session.user!.id;
    const newestFirst = await seedConversations(userId, 260, (index) => ({
      is_pinned: index % 50 === 1,
      is_archived: index % 40 === 2,
      workspace_hint: index % 3 === 0 ? ALPHA : null,
      title: index % 10 === 4 ? `Deploy notes ${index}` : `Seeded ${index}`,
    }));
    const requests: string[] = [];
    const model = new ConversationListModel(
      (query) => {
        requests.push(JSON.stringify(query));
        return session.listConversations(query);
      },
      () => ALPHA,
    );
    await model.reload();
    const pinned = newestFirst.filter((_id, position) => (259 - position) % 50 === 1);
    const archivedCount = newestFirst.filter((_id, position) => (259 - position) % 40 === 2).length;
    assert.deepEqual(
      model.pinned.map((conversation) => conversation.id),
      pinned,
    );
    assert.equal(model.recent.length, FIRST_PAGE_SIZE);
    assert.ok(model.hasMoreRecent && model.hasArchived);
    assert.equal(model.archived, undefined, "archived ones load when their node is opened");
    while (model.hasMoreRecent) await model.loadMoreRecent();
    assert.equal(model.recent.length, 260 - pinned.length - archivedCount);
    assert.ok(model.recent.every((conversation) => !conversation.isPinned && !conversation.isArchived));

    // a message in the oldest listed conversation: the refresh reads one page and puts it on top
    const oldest = model.recent.at(-1)!;
    await environment.server
      .database("conversations")
      .where({ id: oldest.id })
      .update({ last_message_at: Date.now() + 5000 });
    requests.length = 0;
    await model.refreshHead();
    assert.equal(model.recent[0]!.id, oldest.id);
    assert.equal(model.recent.length, 260 - pinned.length - archivedCount, "the pages loaded stay, nothing twice");
    assert.equal(new Set(model.recent.map((conversation) => conversation.id)).size, model.recent.length);
    assert.equal(requests.length, 2, `one request for the pinned ones, one for the first page: ${requests.join(" ")}`);

    await model.loadArchived();
    assert.equal(model.archived!.length, archivedCount);

    await model.setScope("workspace");
    assert.equal(model.effectiveScope, "workspace");
    assert.ok(model.recent.length > 0 && model.recent.every((conversation) => conversation.workspaceHint === ALPHA));
    await model.setFilter("  deploy ");
    assert.equal(model.filter, "deploy");
    assert.ok(model.recent.length > 0);
    for (const conversation of [...model.recent, ...model.pinned]) {
      assert.match(conversation.title, /^Deploy notes/);
      assert.equal(conversation.workspaceHint, ALPHA);
    }
    await model.setFilter("");
    assert.equal(model.filter, undefined);

    const hidden = model.recent[0]!.id;
    model.setHidden(hidden, true);
    assert.ok(!model.recent.some((conversation) => conversation.id === hidden));
    model.setHidden(hidden, false);
    assert.ok(model.recent.some((conversation) => conversation.id === hidden));
    // "This Workspace" without a folder open is "All"
    const noFolder = new ConversationListModel(
      (query) => session.listConversations(query),
      () => undefined,
      "workspace",
    );
    assert.equal(noFolder.effectiveScope, "all");
    model.dispose();
    noFolder.dispose();
  });

  it("search as one types: one request once typing pauses, stale answers dropped, more on request", async () => {
    const calls: Array<{ url: string; signal: AbortSignal | null | undefined }> = [];
    const recordingFetch: FetchFunction = async (input, init) => {
      if (!input.includes("/search?")) return fetch(input, init);
      calls.push({ url: input, signal: init?.signal });
      // the one query a later one must overtake answers slowly, so it is surely still in flight then
      if (/[?&]q=capybara(&|$)/.test(input)) await new Promise((resolve) => setTimeout(resolve, 500));
      return fetch(input, init);
    };
    const session = await startSession("searcher", { fetch: recordingFetch });
    const userId = session.user!.id;
    const conversation = (await session.client.call("createConversation", { body: { title: "Search me" } })).conversation;
    await buildLongConversation({
      database: environment.server.database,
      userId,
      conversationId: conversation.id,
      messageCount: 60,
      answeredBy: { provider: "groq", modelId: environment.models.groq[0]! },
      contentOf: (index) => `message ${index} about the capybara habitat`,
    });
    const library = new ConversationLibrary(session.client);
    const states: SearchState[] = [];
    const runner = new SearchRunner(
      (query, signal) => library.search(query, signal),
      (state) => states.push(state),
      50,
    );
    for (const text of ["c", "ca", "cap", "capy", "capybara hab"]) runner.setQuery(text);
    await waitUntil(() => !runner.current.isBusy && runner.current.results.length > 0, "the results");
    assert.equal(calls.length, 1, `typing without pause asks once: ${calls.map((call) => call.url).join(", ")}`);
    assert.match(calls[0]!.url, /q=capybara\+hab/);
    assert.equal(runner.current.results.length, 25);
    assert.ok(runner.current.hasMore);
    assert.ok(
      states.some((state) => state.isBusy),
      "busy while waiting",
    );

    runner.loadMore();
    await waitUntil(() => !runner.current.isBusy && runner.current.results.length > 25, "more results");
    assert.equal(runner.current.results.length, 50);

    // a request in flight is cancelled by the next query, and its answer never shows
    runner.setQuery("capybara");
    await waitUntil(() => calls.length === 3, "the request to start");
    runner.setQuery("habitat");
    await waitUntil(() => !runner.current.isBusy, "the last query's answer");
    assert.equal(calls[2]!.signal?.aborted, true, "the older request was aborted");
    assert.equal(runner.current.query, "habitat");
    runner.setQuery("   ");
    assert.deepEqual(runner.current.results, []);
    runner.dispose();
  });

  it("delete with undo: undone within the window nothing is deleted; after it, or on shutdown, the conversation is gone", async () => {
    const session = await startSession("deleter");
    const create = async (title: string) => (await session.client.call("createConversation", { body: { title } })).conversation.id;
    const exists = async (conversationId: string) =>
      session.client.call("getConversation", { params: { conversationId } }).then(
        () => true,
        () => false,
      );
    const deletions = new PendingDeletions((conversationId) => session.deleteConversation(conversationId), 200);
    const kept = await create("Kept");
    const undone = deletions.schedule(kept);
    assert.ok(deletions.isPending(kept));
    assert.equal(undone.undo(), true);
    assert.equal(await undone.done, "undone");
    assert.equal(await exists(kept), true);

    const removed = await create("Removed");
    const pending = deletions.schedule(removed);
    assert.equal(await exists(removed), true, "still there during the undo window");
    assert.equal(await pending.done, "deleted");
    assert.equal(pending.undo(), false, "too late");
    assert.equal(await exists(removed), false);

    const onShutdown = await create("Deleted on shutdown");
    const slow = new PendingDeletions((conversationId) => session.deleteConversation(conversationId), 60_000);
    const flushed = slow.schedule(onShutdown);
    await slow.flush();
    assert.equal(await flushed.done, "deleted");
    assert.equal(await exists(onShutdown), false);
  });

  it("pins, archives and moves; exports to a file and imports it back", async () => {
    const session = await startSession("exporter", { workspaceHint: ALPHA });
    const view = new RecordingView();
    session.attachView(view);
    await session.sendMessage("A question worth exporting");
    await session.whenAnswersFinished();
    const conversationId = session.openConversationId!;
    const library = new ConversationLibrary(session.client);
    const created = await session.client.call("getConversation", { params: { conversationId } });
    assert.equal(created.conversation.workspaceHint, ALPHA, "a conversation begun in a folder belongs to it");
    assert.equal((await library.setPinned(conversationId, true)).isPinned, true);
    const archived = await library.setArchived(conversationId, true);
    assert.deepEqual([archived.isArchived, archived.isPinned], [true, false]);
    assert.equal((await library.moveToWorkspace(conversationId, null)).workspaceHint, null);

    const markdown = await library.exportConversation(conversationId, "markdown");
    assert.equal(markdown.fileName, "a-question-worth-exporting.md");
    assert.match(await markdown.response.text(), /A question worth exporting/);

    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-export-"));
    try {
      const everything = await library.exportEverything();
      assert.match(everything.fileName, /^juggler-exporter-\d{4}-\d{2}-\d{2}\.juggler\.json$/);
      const file = path.join(directory, everything.fileName);
      const bytes = await writeDownloadToFile(everything.response, file);
      assert.equal(bytes, fs.statSync(file).size);
      assert.ok(!fs.existsSync(`${file}.part`));
      const parsed = jugglerExportSchema.parse(JSON.parse(fs.readFileSync(file, "utf8")));
      assert.equal(parsed.conversations.length, 1);
      const imported = await library.importFile(fs.readFileSync(file));
      assert.equal(describeImport(imported), "Imported 1 conversation (2 messages).");
      assert.notEqual(imported.conversations[0]!.id, conversationId);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
    await assert.rejects(library.importFile(new TextEncoder().encode("not json")), /not valid JSON/);
  });

  it("opens a conversation at a message on another branch, and answers the find bar for the whole branch", async () => {
    const session = await startSession("opener");
    const view = new RecordingView();
    const attachment = session.attachView(view);
    const model = environment.models.groq[0]!;
    const conversation = (await session.client.call("createConversation", { body: { title: "Branches", modelId: model } })).conversation;
    const built = await buildLongConversation({
      database: environment.server.database,
      userId: session.user!.id,
      conversationId: conversation.id,
      messageCount: 120,
      answeredBy: { provider: "groq", modelId: model },
      contentOf: (index) => (index % 30 === 5 ? `a rare okapi sighting ${index}` : `plain message ${index}`),
    });
    // an edit of message 3: a second branch, newer, that the conversation now shows
    const edit = await session.client.call("sendMessage", {
      params: { conversationId: conversation.id },
      body: { content: "An edit that forks the conversation", modelId: model, parentId: built.messageIds[1] },
    });
    // the edit's answer is generated by the fake provider; it only has to finish
    for (let attempt = 0; attempt < 400; attempt++) {
      const answer = await session.client.call("getMessage", { params: { messageId: edit.assistantMessage.id } });
      if (answer.message.status !== "streaming") break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const target = built.messageIds[65]!;
    await session.openConversationAt(conversation.id, target);
    const snapshot = view.notifications("state/snapshot").at(-1) as ChatSnapshot;
    assert.equal(snapshot.conversation?.id, conversation.id);
    assert.equal(snapshot.branchMessageCount, 120, "the original branch again, all of it");
    assert.equal(snapshot.messages.at(-1)!.id, built.messageIds[119]);
    assert.deepEqual(view.notifications("message/reveal").at(-1), { conversationId: conversation.id, messageId: target });
    // the reveal comes after the snapshot it refers to
    const order = view.messages
      .filter((message) => message.kind === "notification")
      .map((message) => (message as { method: string }).method);
    assert.ok(order.lastIndexOf("message/reveal") > order.lastIndexOf("state/snapshot"));

    await attachment.handleMessage({
      kind: "request",
      id: 7,
      method: "find/inBranch",
      params: { conversationId: conversation.id, query: "OKAPI" },
    });
    const response = view.response(7);
    assert.ok(response && response.kind === "response" && response.ok, JSON.stringify(response));
    const found = response.result as { matches: Array<{ messageId: string; depth: number }>; totalCount: number };
    assert.deepEqual(
      found.matches.map((match) => match.depth),
      [6, 36, 66, 96],
    );
    assert.equal(found.totalCount, 4);
    await attachment.handleMessage({
      kind: "request",
      id: 8,
      method: "find/inBranch",
      params: { conversationId: conversation.id, query: "" },
    });
    const refused = view.response(8);
    assert.ok(refused && refused.kind === "response" && !refused.ok, "an empty text is refused before the server");

    session.openFindBar();
    assert.deepEqual(view.notifications("find/open").at(-1), {});
  });

  it("reads a download's file name as a name, never a path", () => {
    assert.equal(fileNameFromDisposition(`attachment; filename="plain.md"; filename*=UTF-8''caf%C3%A9.md`), "café.md");
    assert.equal(fileNameFromDisposition(`attachment; filename="../../etc/passwd"`), "passwd");
    assert.equal(fileNameFromDisposition(`attachment; filename*=UTF-8''..%2F..%2F.bashrc`), "bashrc");
    assert.equal(fileNameFromDisposition(`attachment; filename*=UTF-8''%E0%A4%A`), undefined);
    assert.equal(fileNameFromDisposition(null), undefined);
  });
});
