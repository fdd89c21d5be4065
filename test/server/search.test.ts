import assert from "node:assert/strict";
import crypto from "node:crypto";
import { searchResponseSchema, findInConversationResponseSchema } from "../../protocol/http/search";
import { SEARCH_WINDOW_SIZE } from "../../server/src/services/search-service";
import { ConversationRepository, type MessageRow } from "../../server/src/storage/conversation-repository";
import { estimateMessageTokens } from "../../server/src/services/token-estimate";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";
import { createTestDatabase } from "../support/postgres";

/**
 * Full-text search (GET /search) and find on a branch (GET /conversations/:id/find), on SQLite (FTS5)
 * and PostgreSQL (tsvector): ranking, snippets, paging, isolation between users, hostile queries, and
 * the index following every kind of write. Messages are written through the storage layer, as the
 * server writes them; the database's triggers index them.
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`search on ${backend}`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let alice: { token: string; userId: string };
    let bob: { token: string; userId: string };

    before(async () => {
      server = await startTestServer(backend === "PostgreSQL" ? { environment: { DATABASE_URL: await createTestDatabase() } } : {});
      const aliceSession = await registerUser(server, "alice");
      const bobSession = await registerUser(server, "bob");
      alice = { token: aliceSession.accessToken, userId: aliceSession.user.id };
      bob = { token: bobSession.accessToken, userId: bobSession.user.id };
    });
    after(async () => {
      await server?.dispose();
    });

    async function conversationWith(
      user: { token: string; userId: string },
      title: string,
      contents: string[],
    ): Promise<{ id: string; messageIds: string[] }> {
      const created = await server.request("POST", "/conversations", { token: user.token, body: { title } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.conversation.id as string;
      const messageIds = await writeBranch(user.userId, id, contents);
      return { id, messageIds };
    }

    async function writeBranch(
      userId: string,
      conversationId: string,
      contents: string[],
      parentId: string | null = null,
      depth = 1,
    ): Promise<string[]> {
      const repository = new ConversationRepository(server.database, userId);
      const rows: MessageRow[] = [];
      let parent = parentId;
      const now = Date.now();
      contents.forEach((content, index) => {
        const row = messageRow(conversationId, parent, index % 2 === 0 ? "user" : "assistant", content, depth + index, now + index);
        rows.push(row);
        parent = row.id;
      });
      for (let start = 0; start < rows.length; start += 200) await repository.insertMessages(rows.slice(start, start + 200));
      await repository.updateConversation(conversationId, { leaf_message_id: parent, last_message_at: now + contents.length });
      return rows.map((row) => row.id);
    }

    async function search(token: string, query: string, extra = ""): Promise<{ status: number; body: any }> {
      return server.request("GET", `/search?q=${encodeURIComponent(query)}${extra}`, { token });
    }

    it("finds the user's messages and titles, best match first, each with its words highlighted in a snippet", async () => {
      const deploy = await conversationWith(alice, "Deploying the payments service", [
        "How do I roll back a failed postgres migration without losing data?",
        "Restore the snapshot first, then run the down step: postgres keeps the old schema until the migration is reverted.",
        "Thanks, that worked.",
      ]);
      const notes = await conversationWith(alice, "Kubernetes notes", [
        `${"The cluster has three nodes and a load balancer in front of them. ".repeat(6)} Somewhere we also run postgres, ` +
          `${"and the pods restart on failure. ".repeat(5)} A migration happened last year.`,
      ]);

      const response = await search(alice.token, "postgres migration");
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const { results, nextCursor } = searchResponseSchema.parse(response.body);
      assert.equal(nextCursor, null);
      assert.deepEqual(
        results.map((result) => result.messageId),
        [deploy.messageIds[0], deploy.messageIds[1], notes.messageIds[0]],
        "the words side by side in a short message first, then apart in a longer one, the long text that merely mentions both last",
      );
      for (const result of results) {
        assert.equal(result.conversationId === deploy.id ? result.title : "Kubernetes notes", result.title);
        // the long message has its two words too far apart for one snippet: the part with one of them is shown
        const expected = result.messageId === notes.messageIds[0] ? 1 : 2;
        assert.ok(result.highlights.length >= expected, `${expected} words highlighted in: ${result.snippet}`);
        for (const highlight of result.highlights) {
          assert.match(result.snippet.slice(highlight.start, highlight.end).toLowerCase(), /^(postgres|migration)$/);
        }
        assert.ok(!/\s\s|\n/.test(result.snippet), "one line, single spaces");
      }
      // the long message is cut around its matches, and says so
      const long = results[2]!;
      assert.ok(long.snippet.startsWith("…") && long.snippet.length < 260, long.snippet);
      assert.equal(results[0]!.role, "user");
      assert.equal(results[1]!.role, "assistant");

      const byTitle = searchResponseSchema.parse((await search(alice.token, "payments")).body).results;
      assert.equal(byTitle.length, 1);
      assert.equal(byTitle[0]!.messageId, null, "a title match names no message");
      assert.equal(byTitle[0]!.conversationId, deploy.id);
      assert.equal(byTitle[0]!.snippet, "Deploying the payments service");
      assert.deepEqual(byTitle[0]!.highlights, [{ start: 14, end: 22 }]);
    });

    it("matches the word being typed as the start of a word, and only whole words once a space follows", async () => {
      await conversationWith(alice, "Typing", ["The quokka population on Rottnest island is thriving"]);
      const typing = searchResponseSchema.parse((await search(alice.token, "rottnest quok")).body).results;
      assert.equal(typing.length, 1);
      assert.deepEqual(
        typing[0]!.highlights.map((highlight) => typing[0]!.snippet.slice(highlight.start, highlight.end)),
        ["quokka", "Rottnest"],
      );
      assert.equal(searchResponseSchema.parse((await search(alice.token, "rottnest quok ")).body).results.length, 0, "quok is not a word");
      // case and punctuation do not matter; a two-letter word being typed is matched whole
      assert.equal(searchResponseSchema.parse((await search(alice.token, "ROTTNEST, Island!")).body).results.length, 1);
      assert.equal(searchResponseSchema.parse((await search(alice.token, "rottnest is")).body).results.length, 1);
      assert.equal(searchResponseSchema.parse((await search(alice.token, "rottnest isl")).body).results.length, 1);
    });

    it("pages through every match exactly once with a cursor, across ranking windows", async () => {
      const count = SEARCH_WINDOW_SIZE * 2 + 37;
      const contents = Array.from(
        { length: count },
        (_unused, index) => `zebracrossing number ${index}${index % 3 === 0 ? " zebracrossing again" : ""}`,
      );
      const { messageIds } = await conversationWith(alice, "Many zebras", contents);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response: { status: number; body: any } = await search(
          alice.token,
          "zebracrossing",
          `&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        assert.equal(response.status, 200, JSON.stringify(response.body));
        const page = searchResponseSchema.parse(response.body);
        assert.ok(page.results.length <= 50);
        seen.push(...page.results.map((result) => result.messageId!));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 100);
      assert.equal(new Set(seen).size, seen.length, "no message twice");
      assert.deepEqual(new Set(seen), new Set(messageIds), "every message once");
      // within the first window, the messages that say it twice come first
      const first = searchResponseSchema.parse((await search(alice.token, "zebracrossing", "&limit=10")).body).results;
      for (const result of first) assert.match(result.snippet, /zebracrossing again/);

      const bad = await search(alice.token, "zebracrossing", "&cursor=not-a-cursor");
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, "validation_failed");
    });

    it("never shows another user's messages or titles, and refuses their cursor", async () => {
      await conversationWith(bob, "Bob's secret platypus plans", ["platypus platypus platypus: the plan", "more platypus"]);
      const mine = await conversationWith(alice, "Alice on monotremes", ["a platypus is a monotreme"]);
      const results = searchResponseSchema.parse((await search(alice.token, "platypus")).body).results;
      assert.deepEqual(
        results.map((result) => result.conversationId),
        [mine.id],
      );
      assert.equal(searchResponseSchema.parse((await search(alice.token, "secret plans")).body).results.length, 0);
      // bob's cursor walks bob's documents: alice gets a 400, not bob's results
      const many = Array.from({ length: 30 }, (_unused, index) => `echidna ${index}`);
      await conversationWith(bob, "Echidnas", many);
      const bobPage = searchResponseSchema.parse((await search(bob.token, "echidna", "&limit=5")).body);
      assert.ok(bobPage.nextCursor);
      const stolen = await search(alice.token, "echidna", `&limit=5&cursor=${encodeURIComponent(bobPage.nextCursor!)}`);
      assert.equal(stolen.status, 400, JSON.stringify(stolen.body));
      // a user without any conversation has nothing to search
      const carol = await registerUser(server, `carol-${crypto.randomUUID().slice(0, 8)}`);
      assert.deepEqual((await search(carol.accessToken, "platypus")).body, { results: [], nextCursor: null });
    });

    it("answers any query with results or a 400, never a 5xx", async () => {
      await conversationWith(alice, "Operators", ['He said "NEAR(a b)" AND then OR NOT column:value * ^prefix']);
      const hostile = [
        '"',
        '""',
        "'",
        "*",
        "^",
        "NEAR(a b)",
        "a AND OR NOT b",
        "column:value",
        "{title body}: x",
        "(((((",
        "a' OR '1'='1",
        "'; DROP TABLE messages; --",
        "x:*",
        "!&|<->",
        "\\",
        "%_%",
        "🙂 emoji",
        "日本語のテキスト",
        "𞤀𞤁𞤂 adlam letters",
        "ab𞤀cd",
        "word".repeat(30),
        "a".repeat(101),
        Array.from({ length: 17 }, (_unused, index) => `w${index}`).join(" "),
        "x".repeat(10_000),
        "   ",
        "",
      ];
      for (const query of hostile) {
        const response = await search(alice.token, query);
        assert.ok(
          response.status === 200 || response.status === 400,
          `${JSON.stringify(query.slice(0, 40))}: ${response.status} ${JSON.stringify(response.body)}`,
        );
        if (response.status === 400) assert.equal(response.body.error.code, "validation_failed");
        else searchResponseSchema.parse(response.body);
      }
      // operators are words like any other: they find the text that contains them
      const quoted = searchResponseSchema.parse((await search(alice.token, '"NEAR(a b)" AND column:value')).body).results;
      assert.equal(quoted.length, 1);
      const nul = await server.request("GET", "/search?q=a%00b", { token: alice.token });
      assert.equal(nul.status, 400);
      const tenKilobytes = await search(alice.token, "x".repeat(10_000));
      assert.equal(tenKilobytes.status, 400);
      assert.match(tenKilobytes.body.error.message, /at most 1,000 characters/);
      const noWords = await search(alice.token, "*** ??? ---");
      assert.deepEqual(noWords.body, { results: [], nextCursor: null });
      const unauthenticated = await server.request("GET", "/search?q=platypus");
      assert.equal(unauthenticated.status, 401);
    });

    it("follows every write: an answer once its text is final, a rename, a delete, a new branch", async () => {
      const { id, messageIds } = await conversationWith(alice, "Marsupials", ["Tell me about wombats"]);
      const repository = new ConversationRepository(server.database, alice.userId);
      const answer = messageRow(id, messageIds[0]!, "assistant", "", 2, Date.now(), "streaming");
      await repository.insertMessages([answer]);
      await server.services.conversations.saveAnswerProgress(alice.userId, answer.id, "Wombats dig burrows");
      const found = async (query: string) =>
        searchResponseSchema
          .parse((await search(alice.token, query)).body)
          .results.map((result) => result.messageId ?? `title:${result.conversationId}`);
      assert.deepEqual(await found("burrows"), [], "an answer still being written is not indexed");
      await server.services.conversations.saveAnswerResult(alice.userId, answer.id, {
        answeredBy: { provider: "groq", modelId: answer.model_id! },
        content: "Wombats dig burrows and have cube-shaped droppings",
        status: "complete",
        inputTokens: 1,
        outputTokens: 1,
        timeToFirstTokenMs: 1,
        durationMs: 1,
        finishReason: "stop",
        finishReasonRaw: "stop",
        error: null,
        finishedAt: Date.now(),
      });
      assert.deepEqual(await found("burrows"), [answer.id]);
      assert.deepEqual(await found("cube shaped droppings"), [answer.id]);

      assert.deepEqual(await found("marsupials"), [`title:${id}`]);
      const renamed = await server.request("PATCH", `/conversations/${id}`, { token: alice.token, body: { title: "Australian fauna" } });
      assert.equal(renamed.status, 200);
      assert.deepEqual(await found("marsupials"), []);
      assert.deepEqual(await found("australian fauna"), [`title:${id}`]);

      // an edit: a sibling branch under no parent; both branches stay searchable
      const [edited] = await writeBranch(alice.userId, id, ["Tell me about koalas instead"]);
      assert.deepEqual(await found("koalas"), [edited]);
      assert.deepEqual(new Set(await found("wombats")), new Set([answer.id, messageIds[0]]));

      const deleted = await server.request("DELETE", `/conversations/${id}`, { token: alice.token });
      assert.equal(deleted.status, 204);
      for (const query of ["wombats", "koalas", "australian", "burrows"]) assert.deepEqual(await found(query), [], query);
    });

    it("finds a text on the conversation's current branch only, anywhere in a word, ignoring case", async () => {
      const { id, messageIds } = await conversationWith(alice, "Find me", [
        "The Straße is long; STRASSE is another spelling. straße!",
        "Answer about the straße and the Ünïcode test: üNÏCODE",
        "No match here",
        "underscores_in_straße_names",
      ]);
      // another branch (an edit of the first message) that also contains the text: not counted
      await writeBranch(alice.userId, id, ["straße on another branch"], null, 1);
      await new ConversationRepository(server.database, alice.userId).updateConversation(id, { leaf_message_id: messageIds.at(-1)! });

      const find = async (text: string) => {
        const response = await server.request("GET", `/conversations/${id}/find?q=${encodeURIComponent(text)}`, { token: alice.token });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        return findInConversationResponseSchema.parse(response.body);
      };
      const straße = await find("STRAßE");
      assert.equal(straße.leafMessageId, messageIds.at(-1));
      assert.equal(straße.branchMessageCount, 4);
      assert.deepEqual(straße.matches, [
        { messageId: messageIds[0], depth: 1, count: 2 },
        { messageId: messageIds[1], depth: 2, count: 1 },
        { messageId: messageIds[3], depth: 4, count: 1 },
      ]);
      assert.equal(straße.totalCount, 4);
      assert.equal(straße.isTruncated, false);
      assert.equal((await find("ünïcode")).totalCount, 2, "non-ASCII letters in any case");
      assert.equal((await find("_in_")).totalCount, 1, "LIKE's own wildcards are plain characters");
      assert.equal((await find("%")).totalCount, 0);
      assert.equal((await find("nothing like it")).totalCount, 0);

      const empty = await server.request("GET", `/conversations/${id}/find?q=`, { token: alice.token });
      assert.equal(empty.status, 400);
      const tooLong = await server.request("GET", `/conversations/${id}/find?q=${"x".repeat(501)}`, { token: alice.token });
      assert.equal(tooLong.status, 400);
      const notBobs = await server.request("GET", `/conversations/${id}/find?q=straße`, { token: bob.token });
      assert.equal(notBobs.status, 404);
      const fresh = await server.request("POST", "/conversations", { token: alice.token, body: {} });
      const none = await server.request("GET", `/conversations/${fresh.body.conversation.id}/find?q=x`, { token: alice.token });
      assert.deepEqual(none.body, { leafMessageId: null, branchMessageCount: 0, matches: [], totalCount: 0, isTruncated: false });
    });
  });
}

function messageRow(
  conversationId: string,
  parentId: string | null,
  role: "user" | "assistant",
  content: string,
  depth: number,
  at: number,
  status: MessageRow["status"] = "complete",
): MessageRow {
  return {
    id: crypto.randomUUID(),
    conversation_id: conversationId,
    parent_id: parentId,
    role,
    content,
    status,
    provider: role === "assistant" ? "groq" : null,
    model_id: role === "assistant" ? "groq:llama-3.3-70b-versatile" : null,
    input_tokens: null,
    output_tokens: null,
    time_to_first_token_ms: null,
    duration_ms: null,
    finish_reason: null,
    finish_reason_raw: null,
    error_code: null,
    error_message: null,
    context_snapshot: null,
    depth,
    token_estimate: estimateMessageTokens(content),
    created_at: at,
    updated_at: at,
  };
}
