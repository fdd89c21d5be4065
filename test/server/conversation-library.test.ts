import assert from "node:assert/strict";
import crypto from "node:crypto";
import { conversationListResponseSchema, conversationResponseSchema } from "../../protocol/http/conversations";
import { setLeafResponseSchema } from "../../protocol/http/conversation-leaf";
import { buildLongConversation } from "../../tools/harness/long-conversation";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";
import { createTestDatabase } from "../support/postgres";

/**
 * The library state of conversations on SQLite and PostgreSQL: pinned, archived and workspace
 * folders in PATCH and in the list's filters (each keyset-paged), and PUT /conversations/:id/leaf,
 * which opens a conversation on the branch of a message (a search result).
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`conversation library on ${backend}`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let token: string;
    let userId: string;
    let otherToken: string;
    let clock = Date.now();

    before(async () => {
      server = await startTestServer({
        now: () => clock,
        ...(backend === "PostgreSQL" ? { environment: { DATABASE_URL: await createTestDatabase() } } : {}),
      });
      const session = await registerUser(server, "librarian");
      token = session.accessToken;
      userId = session.user.id;
      otherToken = (await registerUser(server, "someone-else")).accessToken;
    });
    after(async () => {
      await server?.dispose();
    });

    async function create(body: Record<string, unknown>): Promise<string> {
      clock += 1000;
      const response = await server.request("POST", "/conversations", { token, body });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body.conversation.id;
    }

    async function patch(id: string, body: Record<string, unknown>, as = token): Promise<{ status: number; body: any }> {
      clock += 1;
      return server.request("PATCH", `/conversations/${id}`, { token: as, body });
    }

    async function listAll(query: string): Promise<string[]> {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const response: { status: number; body: any } = await server.request(
          "GET",
          `/conversations?limit=2${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
          { token },
        );
        assert.equal(response.status, 200, JSON.stringify(response.body));
        const page = conversationListResponseSchema.parse(response.body);
        ids.push(...page.conversations.map((conversation) => conversation.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      return ids;
    }

    it("pins, archives and moves conversations; the list filters by each, newest first, paged", async () => {
      const alpha = "file:///home/me/alpha";
      const beta = "vscode-remote://ssh-remote+box/home/me/beta";
      const first = await create({ title: "First in alpha", workspaceHint: alpha });
      const second = await create({ title: "Second in beta", workspaceHint: beta });
      const third = await create({ title: "Third, no folder" });
      const fourth = await create({ title: "Fourth in alpha", workspaceHint: alpha });
      const fifth = await create({ title: "Fifth in ALPHA too", workspaceHint: alpha });

      const created = conversationResponseSchema.parse((await server.request("GET", `/conversations/${first}`, { token })).body);
      assert.equal(created.conversation.workspaceHint, alpha);
      assert.equal(created.conversation.isPinned, false);
      assert.equal(created.conversation.isArchived, false);

      const pinned = await patch(fourth, { isPinned: true });
      assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
      assert.equal(pinned.body.conversation.isPinned, true);
      const archived = await patch(second, { isArchived: true });
      assert.equal(archived.body.conversation.isArchived, true);
      const moved = await patch(third, { workspaceHint: alpha });
      assert.equal(moved.body.conversation.workspaceHint, alpha);

      assert.deepEqual(await listAll(""), [fifth, fourth, third, first], "not archived (the default), newest interaction first");
      assert.deepEqual(await listAll("&pinned=true"), [fourth]);
      assert.deepEqual(await listAll("&pinned=false"), [fifth, third, first]);
      assert.deepEqual(await listAll("&archived=true"), [second]);
      assert.deepEqual(await listAll(`&workspace=${encodeURIComponent(alpha)}&pinned=false`), [fifth, third, first]);
      assert.deepEqual(await listAll(`&workspace=${encodeURIComponent(beta)}`), [], "the archived one is apart");
      assert.deepEqual(await listAll(`&workspace=${encodeURIComponent(beta)}&archived=true`), [second]);
      assert.deepEqual(await listAll("&titleContains=alpha"), [fifth, fourth, first], "case-insensitive");
      assert.deepEqual(await listAll("&titleContains=%25"), [], "a % is a character, not a wildcard");
      assert.deepEqual(await listAll("&titleContains=no%20folder&pinned=false"), [third]);

      // archiving unpins, pinning unarchives, and a move can clear the folder
      const archivePinned = await patch(fourth, { isArchived: true });
      assert.equal(archivePinned.body.conversation.isPinned, false);
      assert.deepEqual(await listAll("&archived=true"), [fourth, second]);
      const pinArchived = await patch(second, { isPinned: true });
      assert.equal(pinArchived.body.conversation.isArchived, false);
      assert.deepEqual(await listAll("&pinned=true"), [second]);
      const cleared = await patch(first, { workspaceHint: null });
      assert.equal(cleared.body.conversation.workspaceHint, null);
      assert.deepEqual(await listAll(`&workspace=${encodeURIComponent(alpha)}&pinned=false`), [fifth, third]);
      // none of that counts as an interaction: the order is the order of the last messages
      assert.deepEqual(await listAll("&pinned=false"), [fifth, third, first]);
    });

    it("refuses bad library changes and filters with a 400, and another user's conversation with a 404", async () => {
      const id = await create({ title: "Guarded" });
      for (const body of [
        { isPinned: true, isArchived: true },
        { isPinned: "yes" },
        { workspaceHint: "" },
        { workspaceHint: "x".repeat(501) },
        {},
      ]) {
        const response = await patch(id, body);
        assert.ok(response.status === 400 || response.status === 413, `${JSON.stringify(body)}: ${response.status}`);
      }
      for (const query of [
        "archived=maybe",
        "pinned=1",
        `workspace=${"x".repeat(501)}`,
        "titleContains=",
        `titleContains=${"x".repeat(201)}`,
      ]) {
        const response = await server.request("GET", `/conversations?${query}`, { token });
        // too long is a 413 (validate.ts), malformed a 400
        assert.ok(response.status === 400 || response.status === 413, `${query}: ${JSON.stringify(response.body)}`);
        assert.ok(["validation_failed", "payload_too_large"].includes(response.body.error.code));
      }
      assert.equal((await patch(id, { isPinned: true }, otherToken)).status, 404);
      const created = await server.request("POST", "/conversations", { token, body: { workspaceHint: "x".repeat(501) } });
      assert.ok(created.status === 400 || created.status === 413);
    });

    it("opens a conversation on the branch of a message: the leaf moves only when the branch does not pass through it", async () => {
      const id = await create({ title: "Branches" });
      const built = await buildLongConversation({
        database: server.database,
        userId,
        conversationId: id,
        messageCount: 6,
        answeredBy: { provider: "groq", modelId: "groq:llama-3.3-70b-versatile" },
        startAt: clock,
      });
      const [question1, answer1, question2, , , answer3] = built.messageIds;
      const setLeaf = (messageId: string, as = token) =>
        server.request("PUT", `/conversations/${id}/leaf`, { token: as, body: { messageId } });

      // on the current branch: nothing changes
      const same = await setLeaf(question2!);
      assert.equal(same.status, 200, JSON.stringify(same.body));
      const sameBody = setLeafResponseSchema.parse(same.body);
      assert.equal(sameBody.conversation.leafMessageId, answer3);
      assert.equal(sameBody.messageDepth, 3);
      assert.equal(sameBody.branchMessageCount, 6);

      // an edit of the second question with two answers (a regenerate): a branch of its own, newest answer last
      const edited = await buildBranch(answer1!, ["Edited second question", "First answer to the edit"], 3);
      const regenerated = await buildBranch(edited[0]!, ["Regenerated answer to the edit"], 4);
      // the leaf is still on the first branch (the branches were written around it)
      const toEdit = setLeafResponseSchema.parse((await setLeaf(edited[0]!)).body);
      assert.equal(toEdit.conversation.leafMessageId, regenerated[0], "the newest message below the edit");
      assert.equal(toEdit.messageDepth, 3);
      assert.equal(toEdit.branchMessageCount, 4);
      const detail = await server.request("GET", `/conversations/${id}`, { token });
      assert.deepEqual(
        detail.body.messages.map((message: { id: string }) => message.id),
        [question1, answer1, edited[0], regenerated[0]],
        "the conversation opens on that branch",
      );
      // the older answer of the edit is a leaf of its own
      const older = setLeafResponseSchema.parse((await setLeaf(edited[1]!)).body);
      assert.equal(older.conversation.leafMessageId, edited[1]);
      // back to the first branch through a message only it has
      const back = setLeafResponseSchema.parse((await setLeaf(question2!)).body);
      assert.equal(back.conversation.leafMessageId, answer3);

      assert.equal((await setLeaf(question2!, otherToken)).status, 404);
      const elsewhere = await create({ title: "Elsewhere" });
      const notHere = await server.request("PUT", `/conversations/${elsewhere}/leaf`, { token, body: { messageId: question2 } });
      assert.equal(notHere.status, 400, "a message of another conversation");
      assert.equal((await setLeaf("not-a-message")).status, 404);
      assert.equal((await server.request("PUT", `/conversations/${id}/leaf`, { token, body: {} })).status, 400);

      async function buildBranch(parentId: string, contents: string[], firstDepth: number): Promise<string[]> {
        const ids: string[] = [];
        let parent = parentId;
        for (const [index, content] of contents.entries()) {
          clock += 1000;
          const messageId = crypto.randomUUID();
          await server.database("messages").insert({
            id: messageId,
            conversation_id: id,
            parent_id: parent,
            role: (firstDepth + index) % 2 === 1 ? "user" : "assistant",
            content,
            status: "complete",
            depth: firstDepth + index,
            token_estimate: 10,
            created_at: clock,
            updated_at: clock,
          });
          ids.push(messageId);
          parent = messageId;
        }
        return ids;
      }
    });
  });
}
