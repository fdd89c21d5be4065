import assert from "node:assert/strict";
import crypto from "node:crypto";
import { contextRecordSchema } from "../../protocol/http/conversations";
import { importResponseSchema, jugglerExportSchema, type JugglerExport } from "../../protocol/http/export";
import { SummaryRepository } from "../../server/src/storage/summary-repository";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";
import { createConversation, sendAndWait, startChatFixture, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";
import { TINY_PNG_BASE64 } from "../support/tiny-png";
import { CHATGPT_EXPORT } from "./fixtures/chatgpt-export";

/**
 * Export (Juggler JSON, lossless; Markdown, the current branch; a whole account, streamed) and import
 * (Juggler JSON and ChatGPT's conversations.json, in one transaction, with new ids) on SQLite and
 * PostgreSQL. The conversation exported is made by real sends through the fake providers: two models,
 * a regenerated answer, an edit, usage, context records; a summary is stored as the summariser would.
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`export and import on ${backend}`, function () {
    this.timeout(180_000);
    let fixture: ChatFixture;
    let server: TestServer;
    let token: string;
    let userId: string;
    let rich: { id: string; answerWithSummaryId: string };

    before(async function () {
      fixture = await startChatFixture({
        server: backend === "PostgreSQL" ? { environment: { DATABASE_URL: await createTestDatabase() } } : {},
        kinds: ["anthropic", "groq"],
      });
      server = fixture.server;
      token = fixture.memberToken;
      userId = (await server.request("GET", "/me", { token })).body.user.id;
      rich = await buildRichConversation();
    });
    after(async () => {
      await fixture?.dispose();
    });

    /**
     * Two models, a regenerate, an edit (a second root), pinned, in a workspace, a summary named by a
     * context record, its own system prompt and settings, a question with a file, a selection and an image.
     */
    async function buildRichConversation(): Promise<{ id: string; answerWithSummaryId: string }> {
      const anthropic = fixture.models.anthropic[0]!;
      const groq = fixture.models.groq[0]!;
      const conversation = await createConversation(server, token, {
        title: "Everything a conversation can hold",
        systemPrompt: "Answer as a careful reviewer.",
        temperature: 0.3,
        maxOutputTokens: 900,
      });
      const first = await sendAndWait(server, token, conversation.id, "First question, to Groq", groq);
      await sendAndWait(server, token, conversation.id, "Second question, to Anthropic", anthropic);
      const regenerated = await server.request("POST", `/messages/${first.answer.id}/regenerate`, { token, body: { modelId: anthropic } });
      assert.equal(regenerated.status, 202, JSON.stringify(regenerated.body));
      await waitForStatus(regenerated.body.assistantMessage.id);
      const edit = await sendAndWait(server, token, conversation.id, "An edited first question", groq, { parentId: null });
      const third = await sendAndWait(server, token, conversation.id, "A third question on the edited branch", anthropic, {
        attachments: [
          { kind: "file", path: "src/app.ts", language: "typescript", content: "export const answer = 42;\n" },
          { kind: "selection", path: "src/app.ts", language: "typescript", startLine: 1, endLine: 1, content: "export const answer = 42;" },
          { kind: "image", path: "pasted image", mediaType: "image/png", data: TINY_PNG_BASE64 },
        ],
      });
      // a summary of the edited branch's first two messages, named by the last answer's record (what a long conversation stores)
      const summary = await new SummaryRepository(server.database, userId).insert({
        coversThroughMessageId: edit.answer.id,
        summariserModelId: groq,
        promptVersion: "1",
        content: "The user asked an edited first question; the model answered.",
        tokenEstimate: 20,
        messageCount: 2,
        leftOutCount: 0,
        createdAt: Date.now(),
      });
      const record = contextRecordSchema.parse(third.answer.context);
      const withSummary = {
        ...record,
        summary: { id: summary.id, messageCount: 2, modelId: groq },
        firstMessageId: third.sent.userMessage.id,
      };
      await server
        .database("messages")
        .where({ id: third.answer.id })
        .update({ context_snapshot: JSON.stringify(withSummary) });
      const patched = await server.request("PATCH", `/conversations/${conversation.id}`, {
        token,
        body: { isPinned: true, workspaceHint: "file:///home/me/project" },
      });
      assert.equal(patched.status, 200);
      return { id: conversation.id, answerWithSummaryId: third.answer.id };
    }

    async function waitForStatus(messageId: string): Promise<void> {
      for (let attempt = 0; attempt < 200; attempt++) {
        const message = (await server.request("GET", `/messages/${messageId}`, { token })).body.message;
        if (message.status !== "streaming") return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error("the regenerated answer did not finish");
    }

    async function download(
      path: string,
      as = token,
    ): Promise<{ status: number; type: string | null; disposition: string | null; text: string }> {
      const response = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${as}` } });
      return {
        status: response.status,
        type: response.headers.get("content-type"),
        disposition: response.headers.get("content-disposition"),
        text: await response.text(),
      };
    }

    async function upload(
      body: string | Uint8Array<ArrayBuffer>,
      as = token,
      on: TestServer = server,
    ): Promise<{ status: number; body: any }> {
      const response = await fetch(`${on.url}/api/v1/import`, {
        method: "POST",
        headers: { authorization: `Bearer ${as}`, "content-type": "application/json" },
        body: typeof body === "string" ? body : new Blob([body]),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    }

    async function countRows(): Promise<{ conversations: number; messages: number; summaries: number }> {
      const count = async (table: string) => Number((await server.database(table).count({ count: "*" }))[0]!.count);
      return {
        conversations: await count("conversations"),
        messages: await count("messages"),
        summaries: await count("conversation_summaries"),
      };
    }

    it("exports a conversation as Juggler JSON and imports it back identical, with new ids", async () => {
      const exported = await download(`/conversations/${rich.id}/export?format=json`);
      assert.equal(exported.status, 200, exported.text);
      assert.match(exported.type ?? "", /^application\/json/);
      assert.match(exported.disposition ?? "", /^attachment; filename="everything-a-conversation-can-hold\.juggler\.json"/);
      const original = jugglerExportSchema.parse(JSON.parse(exported.text));
      const conversation = original.conversations[0]!;
      assert.equal(conversation.messages.length, 9, "two roots, two answers to the first question, every branch");
      assert.equal(conversation.messages.filter((message) => message.parentId === null).length, 2);
      assert.ok(
        conversation.messages.some((message) => message.provider === "groq") &&
          conversation.messages.some((message) => message.provider === "anthropic"),
      );
      assert.ok(conversation.messages.some((message) => message.inputTokens !== null && message.context !== null));
      assert.equal(conversation.summaries.length, 1);
      assert.equal(conversation.isPinned, true);
      assert.equal(conversation.workspaceHint, "file:///home/me/project");
      assert.equal(conversation.systemPrompt, "Answer as a careful reviewer.");
      assert.equal(conversation.temperature, 0.3);
      assert.equal(conversation.maxOutputTokens, 900);
      const attached = conversation.messages.find((message) => message.attachments !== undefined)!;
      assert.deepEqual(
        attached.attachments!.map((attachment) => [attachment.kind, attachment.path, attachment.data]),
        [
          ["file", "src/app.ts", null],
          ["selection", "src/app.ts", null],
          ["image", "pasted image", TINY_PNG_BASE64],
        ],
      );

      const imported = await upload(exported.text);
      assert.equal(imported.status, 201, JSON.stringify(imported.body));
      const response = importResponseSchema.parse(imported.body);
      assert.equal(response.source, "juggler");
      assert.deepEqual(response.skipped, []);
      const copyId = response.conversations[0]!.id;
      assert.notEqual(copyId, rich.id);
      assert.equal(response.conversations[0]!.messageCount, 9);

      const again = jugglerExportSchema.parse(JSON.parse((await download(`/conversations/${copyId}/export?format=json`)).text));
      const copy = again.conversations[0]!;
      const originalIds = idsOf(original);
      for (const id of idsOf(again)) assert.ok(!originalIds.has(id), "every id is new");
      assert.deepEqual(
        withPositionalIds(again),
        withPositionalIds(original),
        "the same tree, models, usage, records, summary, attachments, prompt and settings",
      );
      // what each message counts against a window (a question with its attachments) is what the send stored
      const estimates = async (conversationId: string) =>
        (
          await server
            .database("messages")
            .where({ conversation_id: conversationId })
            .orderBy([{ column: "depth" }, { column: "created_at" }, { column: "role" }])
            .select("token_estimate")
        ).map((row: { token_estimate: number | string }) => Number(row.token_estimate));
      assert.deepEqual(await estimates(copyId), await estimates(rich.id));
      // the copy's question sends its attachments again: the image is served from the copy
      const copiedQuestion = await server.request("GET", `/conversations/${copyId}?limit=50`, { token });
      const withImage = copiedQuestion.body.messages.find((message: { attachments?: unknown[] }) => message.attachments?.length === 3);
      const image = withImage.attachments[2];
      const served = await fetch(`${server.url}/api/v1/messages/${withImage.id}/attachments/${image.id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(served.status, 200);
      assert.equal(Buffer.from(await served.arrayBuffer()).toString("base64"), TINY_PNG_BASE64);

      // the copy works like the original: Show Context of the answer that used the summary, search
      const copyAnswer = copy.messages.at(-1)!;
      assert.equal(copyAnswer.context?.summary?.id, copy.summaries[0]!.id);
      const context = await server.request("GET", `/messages/${copyAnswer.id}/context`, { token });
      assert.equal(context.status, 200, JSON.stringify(context.body));
      assert.equal(context.body.summary.content, "The user asked an edited first question; the model answered.");
      const found = await server.request("GET", "/search?q=third%20question%20edited%20branch", { token });
      assert.deepEqual(
        new Set(found.body.results.map((result: { conversationId: string }) => result.conversationId)),
        new Set([rich.id, copyId]),
      );
      // a file from before version 2 (no costs, attachments, prompts or settings) still imports
      const versionOne = JSON.parse(exported.text);
      versionOne.version = 1;
      for (const conversation of versionOne.conversations) {
        for (const field of ["systemPrompt", "temperature", "maxOutputTokens"]) delete conversation[field];
        for (const message of conversation.messages) {
          delete message.costMicroUsd;
          delete message.attachments;
        }
      }
      const fromVersionOne = await upload(JSON.stringify(versionOne));
      assert.equal(fromVersionOne.status, 201, JSON.stringify(fromVersionOne.body));
      assert.equal(fromVersionOne.body.conversations[0].messageCount, 9);

      // the original is untouched
      const originalNow = jugglerExportSchema.parse(JSON.parse((await download(`/conversations/${rich.id}/export?format=json`)).text));
      assert.deepEqual({ ...originalNow, exportedAt: "" }, { ...original, exportedAt: "" });
    });

    it("exports the current branch as Markdown", async () => {
      const markdown = await download(`/conversations/${rich.id}/export?format=markdown`);
      assert.equal(markdown.status, 200);
      assert.match(markdown.type ?? "", /^text\/markdown/);
      assert.match(markdown.text, /^# Everything a conversation can hold\n/);
      assert.match(markdown.text, /the current branch, 4 messages/);
      assert.match(markdown.text, /## You · \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\n\nAn edited first question\n/);
      assert.ok(markdown.text.includes("A third question on the edited branch"));
      assert.ok(!markdown.text.includes("First question, to Groq"), "another branch is not the current one");
      assert.ok(!markdown.text.includes("Second question"));
    });

    it("exports everything a user has in one streamed file that imports back", async () => {
      const other = await createConversation(server, token, { title: "An archived one" });
      await server.request("PATCH", `/conversations/${other.id}`, { token, body: { isArchived: true } });
      const all = await download("/me/export");
      assert.equal(all.status, 200, all.text.slice(0, 300));
      assert.match(all.disposition ?? "", /filename="juggler-member-\d{4}-\d{2}-\d{2}\.juggler\.json"/);
      const file = jugglerExportSchema.parse(JSON.parse(all.text));
      assert.equal(file.user?.name, "member");
      const listed = await server.request("GET", "/conversations?limit=200", { token });
      const archived = await server.request("GET", "/conversations?limit=200&archived=true", { token });
      assert.deepEqual(
        new Set(file.conversations.map((conversation) => conversation.id)),
        new Set([...listed.body.conversations, ...archived.body.conversations].map((conversation: { id: string }) => conversation.id)),
        "every conversation, archived ones too",
      );
      const before = await countRows();
      const imported = await upload(all.text);
      assert.equal(imported.status, 201, JSON.stringify(imported.body));
      const after = await countRows();
      const messages = file.conversations.reduce((sum, conversation) => sum + conversation.messages.length, 0);
      assert.equal(after.conversations - before.conversations, file.conversations.length);
      assert.equal(after.messages - before.messages, messages);
      // nobody else's conversations are in it, and another user cannot read this user's
      const admin = await registerUser(server, `reader-${crypto.randomUUID().slice(0, 6)}`);
      const theirs = await download("/me/export", admin.accessToken);
      assert.equal(JSON.parse(theirs.text).conversations.length, 0);
      assert.equal((await download(`/conversations/${rich.id}/export`, admin.accessToken)).status, 404);
      assert.equal((await fetch(`${server.url}/api/v1/me/export`)).status, 401);
      assert.equal((await download(`/conversations/${rich.id}/export?format=pdf`)).status, 400);
    });

    it("imports ChatGPT's conversations.json with its branches, and says what it left out", async () => {
      const before = await countRows();
      const imported = await upload(JSON.stringify(CHATGPT_EXPORT));
      assert.equal(imported.status, 201, JSON.stringify(imported.body));
      const response = importResponseSchema.parse(imported.body);
      assert.equal(response.source, "chatgpt");
      assert.deepEqual(
        response.conversations.map(({ title, messageCount }) => ({ title, messageCount })),
        [
          { title: "Regex for ISO dates", messageCount: 7 },
          { title: "Archived question", messageCount: 2 },
        ],
      );
      assert.deepEqual(Object.fromEntries(response.skipped.map(({ reason, count }) => [reason, count])), {
        "system messages (ChatGPT's instructions and context)": 2,
        "the assistant's calls to tools": 1,
        "tool messages (ChatGPT's browsing, code runs and plugins)": 1,
        "attachments (images, files, audio)": 1,
        "conversations without any visible message": 1,
      });
      assert.equal((await countRows()).messages - before.messages, 9);

      const file = jugglerExportSchema.parse(JSON.parse((await download(`/conversations/${response.conversations[0]!.id}/export`)).text));
      const conversation = file.conversations[0]!;
      const byText = (start: string) => conversation.messages.find((message) => message.content.startsWith(start))!;
      const question = byText("How do I match an ISO 8601 date");
      const firstAnswer = byText("Use `");
      const regenerated = byText("Regenerated:");
      const edited = byText("And with time zones, like");
      const editedBefore = byText("And with time zones?");
      const final = byText("Add `");
      const withImage = byText("Does this screenshot");
      assert.equal(question.parentId, null, "the hidden system message above it is left out");
      assert.equal(firstAnswer.parentId, question.id);
      assert.equal(regenerated.parentId, question.id, "a regenerated answer is a sibling");
      assert.equal(edited.parentId, regenerated.id);
      assert.equal(editedBefore.parentId, regenerated.id, "an edited question is a sibling");
      assert.equal(final.parentId, edited.id, "the tool call and its output between them are skipped over");
      assert.equal(withImage.parentId, final.id);
      assert.equal(conversation.leafMessageId, final.id, "current_node");
      assert.equal(final.role, "assistant");
      assert.equal(final.modelId, "chatgpt:gpt-4o");
      assert.equal(final.finishReason, "stop");
      assert.equal(question.createdAt, "2024-11-27T11:25:54.200Z");
      assert.equal(conversation.createdAt, "2024-11-27T11:25:54.100Z");
      assert.equal(conversation.isArchived, false);

      const archived = jugglerExportSchema.parse(
        JSON.parse((await download(`/conversations/${response.conversations[1]!.id}/export`)).text),
      );
      const monad = archived.conversations[0]!;
      assert.equal(monad.isArchived, true);
      assert.equal(monad.messages[0]!.createdAt, "2023-11-14T22:13:20.000Z", "no time: the conversation's");
      assert.equal(monad.messages[1]!.finishReason, "length");
      assert.equal(monad.messages[1]!.finishReasonRaw, "max_tokens");
      // the branch ChatGPT showed is the one that opens
      const detail = await server.request("GET", `/conversations/${response.conversations[0]!.id}`, { token });
      assert.deepEqual(
        detail.body.messages.map((message: { content: string }) => message.content.slice(0, 12)),
        [question, regenerated, edited, final].map((message) => message.content.slice(0, 12)),
      );
    });

    it("refuses a malformed, inconsistent or hostile file with a clear 4xx and changes nothing", async () => {
      const valid = JSON.parse((await download(`/conversations/${rich.id}/export`)).text) as JugglerExport;
      const conversation = valid.conversations[0]!;
      const withConversation = (change: (copy: any) => void): string => {
        const copy = structuredClone(valid) as any;
        copy.conversations.push(structuredClone(conversation));
        change(copy.conversations[1]);
        return JSON.stringify(copy);
      };
      let deep = "0";
      for (let level = 0; level < 100_000; level++) deep = `[${deep}]`;
      const cases: Array<[string, string | Uint8Array<ArrayBuffer>, RegExp]> = [
        ["not JSON", "{ this is not json", /not valid JSON/],
        ["not UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /not UTF-8/],
        ["an unknown shape", JSON.stringify({ hello: "world" }), /neither a Juggler export nor ChatGPT/],
        ["a newer version", JSON.stringify({ ...valid, version: 3 }), /version 3/],
        ["a missing field", withConversation((copy) => delete copy.title), /conversations\[1\]\.title/],
        [
          "a parent that is not there",
          withConversation((copy) => (copy.messages[1].parentId = "nowhere")),
          /parentId: not a message of this conversation/,
        ],
        [
          "a loop",
          withConversation((copy) => {
            copy.messages[0].parentId = copy.messages[1].id;
            copy.messages[1].parentId = copy.messages[0].id;
          }),
          /loop|not a message/,
        ],
        ["a duplicate id", withConversation((copy) => (copy.messages[1].id = copy.messages[0].id)), /appears twice/],
        ["a leaf that is not there", withConversation((copy) => (copy.leafMessageId = "nowhere")), /leafMessageId/],
        [
          "a record naming another conversation's message",
          withConversation((copy) => {
            const answer = copy.messages.find((message: any) => message.context !== null);
            answer.context.firstMessageId = "elsewhere";
          }),
          /firstMessageId: not a message of this conversation/,
        ],
        ["a NUL character", withConversation((copy) => (copy.messages[0].content = "a\u0000b")), /NUL/],
        ["a deeply nested value", `[${deep}]`, /not a valid export|ChatGPT|JSON/],
        [
          "a ChatGPT file with a loop",
          JSON.stringify([{ title: "x", mapping: { a: { message: msg("user", "hi"), parent: "b" }, b: { message: null, parent: "a" } } }]),
          /loop/,
        ],
        ["a ChatGPT file with a bad node", JSON.stringify([{ title: "x", mapping: { a: { message: { author: "user" } } } }]), /mapping/],
        ["an absurd time", withConversation((copy) => (copy.createdAt = "yesterday")), /createdAt/],
      ];
      const before = await countRows();
      for (const [label, body, message] of cases) {
        const response = await upload(body);
        assert.equal(response.status, 400, `${label}: ${response.status} ${JSON.stringify(response.body)}`);
        assert.equal(response.body.error.code, "validation_failed", label);
        assert.match(response.body.error.message, message, label);
      }
      assert.deepEqual(await countRows(), before, "nothing was written");
      assert.equal((await upload(JSON.stringify(valid), "not-a-token")).status, 401);
    });

    it("writes everything or nothing: a failure on the last conversation leaves none of the file", async () => {
      const valid = JSON.parse((await download(`/conversations/${rich.id}/export`)).text) as JugglerExport;
      const file = structuredClone(valid);
      const last = structuredClone(valid.conversations[0]!);
      last.messages.at(-1)!.content = "the database refuses this one";
      file.conversations.push(last);
      // the database itself refuses that text (a trigger made for this test): the failure comes after
      // the first conversation and most of the second were written, inside the transaction
      if (backend === "SQLite") {
        await server.database.raw(
          `CREATE TRIGGER refuse_for_test BEFORE INSERT ON messages WHEN NEW.content = 'the database refuses this one' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`,
        );
      } else {
        await server.database.raw(`CREATE FUNCTION refuse_for_test() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.content = 'the database refuses this one' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$`);
        await server.database.raw(
          `CREATE TRIGGER refuse_for_test BEFORE INSERT ON messages FOR EACH ROW EXECUTE PROCEDURE refuse_for_test()`,
        );
      }
      try {
        const before = await countRows();
        const response = await upload(JSON.stringify(file));
        assert.equal(response.status, 500, JSON.stringify(response.body));
        assert.deepEqual(await countRows(), before, "the first conversation was rolled back with the second");
      } finally {
        await server.database.raw(backend === "SQLite" ? "DROP TRIGGER refuse_for_test" : "DROP TRIGGER refuse_for_test ON messages");
        if (backend === "PostgreSQL") await server.database.raw("DROP FUNCTION refuse_for_test()");
      }
    });

    it("refuses a file over IMPORT_MAX_BYTES with a 413 that names the limit", async function () {
      if (backend === "PostgreSQL") this.skip(); // the limit is the HTTP layer's, the same for both stores
      const small = await startTestServer({ environment: { IMPORT_MAX_BYTES: "1048576" } });
      try {
        const member = await registerUser(small, "importer");
        const big = JSON.stringify([{ title: "x".repeat(1_100_000), mapping: {} }]);
        const response = await upload(big, member.accessToken, small);
        assert.equal(response.status, 413, JSON.stringify(response.body));
        assert.equal(response.body.error.code, "payload_too_large");
        assert.match(response.body.error.message, /1 MiB \(IMPORT_MAX_BYTES\)/);
        // a chunked upload (no Content-Length) is cut as soon as it passes the limit
        const chunks = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let part = 0; part < 3; part++) controller.enqueue(new TextEncoder().encode(" ".repeat(600_000)));
            controller.close();
          },
        });
        const streamed = await fetch(`${small.url}/api/v1/import`, {
          method: "POST",
          headers: { authorization: `Bearer ${member.accessToken}`, "content-type": "application/json" },
          body: chunks,
          duplex: "half",
        } as RequestInit);
        assert.equal(streamed.status, 413);
        // a body of another type is refused before anything is read
        const form = await fetch(`${small.url}/api/v1/import`, {
          method: "POST",
          headers: { authorization: `Bearer ${member.accessToken}`, "content-type": "text/plain" },
          body: "[]",
        });
        assert.equal(form.status, 415);
      } finally {
        await small.dispose();
      }
    });
  });
}

function msg(role: string, text: string) {
  return { author: { role }, content: { content_type: "text", parts: [text] }, create_time: 1 };
}

/** Every id an export names (conversations, messages, summaries). */
function idsOf(file: JugglerExport): Set<string> {
  const ids = new Set<string>();
  for (const conversation of file.conversations) {
    ids.add(conversation.id);
    for (const message of conversation.messages) ids.add(message.id);
    for (const summary of conversation.summaries) ids.add(summary.id);
  }
  return ids;
}

/** The export with each id replaced by its place in the file ("#1", "#2" …) and without exportedAt, so two exports compare by content. */
function withPositionalIds(file: JugglerExport): unknown {
  const names = new Map<string, string>();
  for (const id of idsOf(file)) names.set(id, `#${names.size + 1}`);
  const rename = (value: unknown): unknown => {
    if (typeof value === "string") return names.get(value) ?? value;
    if (Array.isArray(value)) return value.map(rename);
    if (value !== null && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, rename(entry)]));
    return value;
  };
  return rename({ ...file, exportedAt: "" });
}
