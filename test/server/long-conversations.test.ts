import assert from "node:assert/strict";
import {
  answerContextResponseSchema,
  contextRecordSchema,
  conversationDetailResponseSchema,
  messagePageResponseSchema,
} from "../../protocol/http/conversations";
import { SYSTEM_PROMPT } from "../../server/src/services/context-builder";
import { estimateMessageTokens } from "../../server/src/services/token-estimate";
import { defaultOllamaModels } from "../../tools/fake-providers";
import { buildLongConversation } from "../../tools/harness/long-conversation";
import { refreshAndShowModels } from "../../tools/harness/provider-setup";
import { registerUser } from "../../tools/harness/test-server";
import {
  chatRequests,
  createConversation,
  lastChatRequest,
  sendAndWait,
  startChatFixture,
  type ChatFixture,
} from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

const MESSAGE_COUNT = 10_000;
const SUMMARY_TEXT = "Summary: they planned a migration, chose keyset paging and agreed to measure before optimising.";
const SUMMARISER = "groq:llama-3.1-8b-instant";
/** The target's window: 16,384 tokens, 4,096 of them reserved for the answer; 10,000 messages of ≈ 52 tokens are far over it. */
const TARGET_WINDOW = 16_384;

interface WireMessage {
  role: string;
  content: string;
}

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`a ${MESSAGE_COUNT.toLocaleString("en")}-message conversation on ${backend}`, function () {
    this.timeout(180_000);
    let fixture: ChatFixture;
    let target: string;
    let memberId: string;

    before(async function () {
      const environment: Record<string, string> = backend === "PostgreSQL" ? { DATABASE_URL: await createTestDatabase() } : {};
      fixture = await startChatFixture({ server: { environment }, kinds: ["groq", "ollama"] });
      const { server, fakes, adminToken, memberToken } = fixture;
      fakes.ollama.setModels([
        ...defaultOllamaModels,
        { ...defaultOllamaModels[1]!, name: "medium-window:latest", contextLength: TARGET_WINDOW, digest: "e".repeat(64) },
      ]);
      target = (await refreshAndShowModels(server, "ollama", adminToken)).find((id) => id.includes("medium-window"))!;
      const settings = await server.request("PATCH", "/admin/settings", { token: adminToken, body: { summariserModelId: SUMMARISER } });
      assert.equal(settings.status, 200, JSON.stringify(settings.body));
      assert.equal(settings.body.summariserModelId, SUMMARISER);
      fakes.groq.setReply({ text: SUMMARY_TEXT });
      fakes.ollama.setReply({ text: "Noted." });
      memberId = (await server.request("GET", "/me", { token: memberToken })).body.user.id;
    });
    after(async function () {
      await fixture?.dispose();
    });

    async function longConversation(): Promise<{ id: string; ids: string[]; contents: string[] }> {
      const conversation = await createConversation(fixture.server, fixture.memberToken);
      const built = await buildLongConversation({
        database: fixture.server.database,
        userId: memberId,
        conversationId: conversation.id,
        messageCount: MESSAGE_COUNT,
        answeredBy: { provider: "ollama", modelId: target },
      });
      return { id: conversation.id, ids: built.messageIds, contents: built.contents };
    }

    /** What the target model received on the wire (Ollama: the system prompt is the first message). */
    function receivedByTarget(): { system: string; messages: WireMessage[] } {
      const body = lastChatRequest(fixture.fakes, "ollama").body as { model: string; messages: WireMessage[] };
      assert.equal(body.model, "medium-window:latest");
      assert.equal(body.messages[0]!.role, "system");
      return { system: body.messages[0]!.content, messages: body.messages.slice(1) };
    }

    async function storedRecordBytes(messageId: string): Promise<number> {
      const row: { context_snapshot: string } = await fixture.server
        .database("messages")
        .where({ id: messageId })
        .first("context_snapshot");
      return Buffer.byteLength(row.context_snapshot);
    }

    it("sends what fits: a summary made once and reused, the newest turns verbatim, a small record", async function () {
      const { server, memberToken: token, fakes } = fixture;
      const { id: conversationId, ids, contents } = await longConversation();
      const summariserCallsBefore = chatRequests(fakes, "groq").length;

      const first = await sendAndWait(server, token, conversationId, "First new question", target);
      assert.equal(first.answer.status, "complete", JSON.stringify(first.answer.error));
      const record = contextRecordSchema.parse(first.answer.context);
      const firstIndex = ids.indexOf(record.firstMessageId!);
      assert.ok(firstIndex > 0);
      assert.equal(record.lastMessageId, first.sent.userMessage.id);
      assert.equal(record.includedMessageCount, MESSAGE_COUNT - firstIndex + 1);
      assert.ok(record.summary, "the older messages were summarised");
      assert.equal(record.summary.modelId, SUMMARISER);
      assert.equal(
        record.summary.messageCount + record.leftOutMessageCount,
        firstIndex,
        "everything above the first message sent is summarised or left out",
      );
      const status = first.events.find((event) => event.event === "generation-status");
      assert.deepEqual(status?.data, { phase: "summarising", messageCount: record.summary.messageCount });

      // exactly the newest messages, verbatim, after the labelled summary in the system prompt
      const received = receivedByTarget();
      assert.equal(
        received.system,
        `${SYSTEM_PROMPT}\n\n[Summary of the earlier conversation (${record.summary.messageCount} messages, not repeated below)]\n${SUMMARY_TEXT}`,
      );
      assert.deepEqual(
        received.messages.map((message) => message.content),
        [...contents.slice(firstIndex), "First new question"],
      );
      assert.equal(received.messages[0]!.role, "user");
      // about half the budget verbatim: the stretch fits in half, one more exchange would not
      const budget = TARGET_WINDOW - record.reservedOutputTokens - estimateMessageTokens(SYSTEM_PROMPT);
      const verbatimTokens = received.messages.reduce((total, message) => total + estimateMessageTokens(message.content), 0);
      assert.ok(verbatimTokens <= budget / 2, `${verbatimTokens} verbatim of ${budget}`);
      assert.ok(
        verbatimTokens + estimateMessageTokens(contents[firstIndex - 1]!) + estimateMessageTokens(contents[firstIndex - 2]!) > budget / 2,
      );
      assert.ok(record.estimatedInputTokens <= TARGET_WINDOW - record.reservedOutputTokens);

      // the summariser got the messages just above the cut, as far up as its window goes, and was told of the rest
      const summariserCalls = chatRequests(fakes, "groq").slice(summariserCallsBefore);
      assert.equal(summariserCalls.length, 1);
      const summariserInput = (summariserCalls[0]!.body as { messages: WireMessage[] }).messages.at(-1)!.content;
      assert.ok(summariserInput.endsWith(`### Assistant\n${contents[firstIndex - 1]}`), summariserInput.slice(-300));
      assert.ok(
        record.leftOutMessageCount > 0 &&
          summariserInput.includes(`[${record.leftOutMessageCount} messages are missing here: they did not fit]`),
      );
      assert.ok(!summariserInput.includes(`\n${contents[record.leftOutMessageCount - 1]}\n`), "nothing above what fits");

      // the next send reuses the summary: the summariser is not called again
      const second = await sendAndWait(server, token, conversationId, "Second new question", target);
      assert.equal(second.answer.status, "complete");
      const next = contextRecordSchema.parse(second.answer.context);
      assert.equal(chatRequests(fakes, "groq").length - summariserCallsBefore, 1, "the summariser was called once over two sends");
      assert.equal(next.summary?.id, record.summary.id);
      assert.equal(next.firstMessageId, record.firstMessageId);
      assert.equal(
        second.events.some((event) => event.event === "generation-status"),
        false,
      );
      assert.deepEqual(
        receivedByTarget().messages.map((message) => message.content),
        [...contents.slice(firstIndex), "First new question", "Noted.", "Second new question"],
      );

      // the records are constant size
      for (const answerId of [first.answer.id, second.answer.id]) {
        const bytes = await storedRecordBytes(answerId);
        assert.ok(bytes <= 2048, `${bytes} bytes stored`);
      }

      // Show Context reads back exactly what the second request carried, a page at a time
      const shown: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      let context;
      do {
        const query: string = `?limit=50${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
        const response = await server.request("GET", `/messages/${second.answer.id}/context${query}`, { token });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        context = answerContextResponseSchema.parse(response.body);
        shown.push(...context.messages.map((message) => message.content));
        assert.ok(context.messages.every((message) => message.isSent && message.note === null));
        cursor = context.nextCursor;
        pages += 1;
      } while (cursor !== null);
      assert.ok(pages > 1);
      assert.deepEqual(shown, [...contents.slice(firstIndex), "First new question", "Noted.", "Second new question"]);
      assert.deepEqual(context.record, next);
      assert.equal(context.systemPrompt, SYSTEM_PROMPT);
      assert.equal(context.summary?.content, SUMMARY_TEXT);
      assert.equal(context.summary?.messageCount, record.summary.messageCount);
      assert.equal(context.tokens.estimatedInput, next.estimatedInputTokens);
      assert.equal(context.tokens.reportedInput, second.answer.inputTokens);
    });

    it("pages the history: no gaps, no repeats, stable while sends happen; bad cursors are 400, another user's conversation 404", async function () {
      const { server, memberToken: token } = fixture;
      const { id: conversationId, ids } = await longConversation();
      const first = await server.request("GET", `/conversations/${conversationId}?limit=200`, { token });
      assert.equal(first.status, 200);
      const detail = conversationDetailResponseSchema.parse(first.body);
      assert.equal(detail.branchMessageCount, MESSAGE_COUNT);
      assert.equal(detail.messages.length, 200);
      const pages: string[][] = [detail.messages.map((message) => message.id)];
      let cursor = detail.olderCursor;
      let sends = 0;
      while (cursor !== null) {
        // every 15th page is read while a send goes into the conversation: the pages go on from the message they name
        const sending =
          pages.length % 15 === 0 ? sendAndWait(server, token, conversationId, `Sent while paging ${sends}`, target) : undefined;
        const response = await server.request(
          "GET",
          `/conversations/${conversationId}/messages?limit=200&cursor=${encodeURIComponent(cursor)}`,
          { token },
        );
        if (sending) {
          await sending;
          sends += 1;
        }
        assert.equal(response.status, 200, JSON.stringify(response.body));
        const page = messagePageResponseSchema.parse(response.body);
        pages.push(page.messages.map((message) => message.id));
        cursor = page.olderCursor;
      }
      assert.ok(sends >= 3);
      const seen = pages.reverse().flat();
      assert.equal(seen.length, MESSAGE_COUNT);
      assert.deepEqual(seen, ids, "every message once, in order");
      const after = conversationDetailResponseSchema.parse(
        (await server.request("GET", `/conversations/${conversationId}?limit=5`, { token })).body,
      );
      assert.equal(after.branchMessageCount, MESSAGE_COUNT + 2 * sends);

      for (const bad of ["not-a-cursor", Buffer.from(JSON.stringify(["m", "x"])).toString("base64url"), "%%%"]) {
        const response = await server.request("GET", `/conversations/${conversationId}/messages?cursor=${encodeURIComponent(bad)}`, {
          token,
        });
        assert.equal(response.status, 400, bad);
        assert.equal(response.body.error.code, "validation_failed");
      }
      // a cursor from another conversation names a message that is not in this one
      const other = await createConversation(server, token);
      await sendAndWait(server, token, other.id, "one", target);
      await sendAndWait(server, token, other.id, "two", target);
      const otherCursor = (await server.request("GET", `/conversations/${other.id}?limit=1`, { token })).body.olderCursor;
      assert.ok(otherCursor);
      const foreign = await server.request("GET", `/conversations/${conversationId}/messages?cursor=${encodeURIComponent(otherCursor)}`, {
        token,
      });
      assert.equal(foreign.status, 400);
      assert.match(foreign.body.error.message, /cursor/);
      for (const limit of ["0", "201", "x"]) {
        assert.equal(
          (await server.request("GET", `/conversations/${conversationId}?limit=${limit}`, { token })).status,
          400,
          `limit=${limit}`,
        );
      }

      const intruder = (await registerUser(server, `intruder-${backend}`)).accessToken;
      assert.equal((await server.request("DELETE", `/conversations/${conversationId}`, { token: intruder })).status, 404);
      for (const path of [
        `/conversations/${conversationId}`,
        `/conversations/${conversationId}/messages`,
        `/conversations/${conversationId}/messages?cursor=${encodeURIComponent(detail.olderCursor!)}`,
      ]) {
        const response = await server.request("GET", path, { token: intruder });
        assert.equal(response.status, 404, path);
        assert.equal(response.body.error.code, "not_found");
      }

      // and it can be deleted, however long its branch (SQLite would nest one cascade per message)
      const deleted = await server.request("DELETE", `/conversations/${conversationId}`, { token });
      assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
      assert.equal((await server.request("GET", `/conversations/${conversationId}`, { token })).status, 404);
      const [{ count }] = await server.database("messages").where({ conversation_id: conversationId }).count({ count: "*" });
      assert.equal(Number(count), 0);
    });
  });
}
