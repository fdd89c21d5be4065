import assert from "node:assert/strict";
import {
  AnswerContextDocument,
  describeShowContextError,
  formatContextHeader,
  formatContextMessage,
  formatContextTitle,
} from "../../extension/src/chat/answer-context-document";
import { TeamServerClient } from "../../extension/src/server-client/team-server-client";
import { TeamServerError } from "../../extension/src/server-client/team-server-error";
import { MemoryTokenStore, type StoredSession } from "../../extension/src/server-client/token-store";
import type { AnswerContextResponse, ContextMessage, Message } from "../../protocol/http/conversations";
import { SYSTEM_PROMPT } from "../../server/src/services/context-builder";
import { startExtensionTestEnvironment, startStubServer, type ExtensionTestEnvironment } from "./extension-test-environment";

const title = { conversationTitle: "Debounce a search box", modelName: "claude-sonnet-4-5", answeredAt: "2026-12-07 14:02" };

function contextPage(overrides: Partial<AnswerContextResponse> = {}): AnswerContextResponse {
  return {
    record: {
      version: 2,
      modelId: "anthropic:claude-sonnet-4-5",
      provider: "anthropic",
      contextWindowTokens: 200_000,
      reservedOutputTokens: 4_096,
      systemPromptId: "juggler-default-v1",
      firstMessageId: "m-1",
      lastMessageId: "m-3",
      includedMessageCount: 3,
      summary: { id: "s-1", messageCount: 1_240, modelId: "ollama:qwen3:0.6b" },
      leftOutMessageCount: 2,
      adjustments: ["Merged two user messages in a row (Anthropic needs alternating roles)"],
      settings: { maxOutputTokens: 4_096, temperature: null },
      estimatedInputTokens: 12_345,
    },
    systemPrompt: "You are a helpful assistant.",
    summary: {
      id: "s-1",
      content: "The user asked for a debounce helper; the answers used `setTimeout`.",
      messageCount: 1_240,
      modelId: "ollama:qwen3:0.6b",
      createdAt: "2026-12-07T13:00:00.000Z",
    },
    tokens: { estimatedInput: 12_345, reportedInput: 12_801, reportedOutput: null },
    messages: [],
    nextCursor: null,
    ...overrides,
  };
}

function contextMessage(overrides: Partial<ContextMessage> & Pick<ContextMessage, "messageId">): ContextMessage {
  return { role: "user", status: "complete", modelId: null, content: "", isSent: true, note: null, ...overrides };
}

describe("extension: Show Context document", function () {
  this.timeout(60_000);

  describe("formatting (no server)", () => {
    it("says what the request carried: model, provider, settings, both token counts, summary, left out, adjustments", () => {
      const text = formatContextHeader(contextPage(), title, "answer-7");
      assert.match(text, /^# Context of an answer\n/);
      assert.ok(
        text.includes("**claude-sonnet-4-5**'s answer of 2026-12-07 14:02 in **Debounce a search box** (message `answer-7`)"),
        text,
      );
      for (const row of [
        "| Model | claude-sonnet-4-5 (`anthropic:claude-sonnet-4-5`) |",
        "| Provider | Anthropic |",
        "| Context window | 200,000 tokens |",
        "| Output limit | 4,096 tokens |",
        "| Temperature | the provider's default |",
        "| Input tokens, estimated by Juggler | 12,345 |",
        "| Input tokens, reported by Anthropic | 12,801 |",
        "| Output tokens, reported by Anthropic | not reported |",
      ]) {
        assert.ok(text.includes(row), `missing row ${row}`);
      }
      assert.ok(text.includes("- A summary standing for the 1,240 messages before the first one sent, written by `ollama:qwen3:0.6b`."));
      assert.ok(text.includes("- 3 messages as they were written, from the first one sent to the question."));
      assert.ok(text.includes("- 2 messages older than those were left out: neither sent nor summarised."));
      assert.ok(text.includes("- Merged two user messages in a row (Anthropic needs alternating roles)"));
      assert.ok(text.includes("## System prompt\n\n```text\nYou are a helpful assistant.\n```"));
      assert.ok(text.includes("## Summary of the 1,240 messages before the first one sent"));
      assert.ok(text.includes("```text\nThe user asked for a debounce helper; the answers used `setTimeout`.\n```"));
      assert.ok(text.trimEnd().endsWith("## Messages as sent (3)"));
    });

    it("says when nothing was summarised, left out or adjusted", () => {
      const page = contextPage();
      const text = formatContextHeader(
        { ...page, record: { ...page.record, summary: null, leftOutMessageCount: 0, adjustments: [] }, summary: null },
        title,
        "answer-7",
      );
      assert.ok(text.includes("- 3 messages as they were written, from the start of the conversation to the question."));
      assert.ok(!text.includes("left out"));
      assert.ok(!text.includes("## Summary"));
      assert.ok(text.includes("None: the conversation was sent as it is."));
    });

    it("shows each message verbatim in a fence longer than its backtick runs; a skipped one is marked with its note", () => {
      const markdown = "# Not a heading of this document\n\n````ts\nconst x = 1;\n````";
      const sent = formatContextMessage(
        contextMessage({ messageId: "a", role: "assistant", modelId: "groq:llama-3.3", content: markdown }),
        12,
      );
      assert.equal(sent, `### 12 · Assistant · llama-3.3\n\n\`\`\`\`\`text\n${markdown}\n\`\`\`\`\`\n\n`);
      const skipped = formatContextMessage(
        contextMessage({ messageId: "b", role: "assistant", status: "error", isSent: false, note: "Failed before any text: left out." }),
        13,
      );
      assert.equal(skipped, "### 13 · Assistant · not sent\n\n> Failed before any text: left out.\n\n");
    });

    it("names the conversation and the answer in the tab's title", () => {
      assert.equal(formatContextTitle(title), "Context of claude-sonnet-4-5's answer (2026-12-07 14:02) in “Debounce a search box”");
    });

    it("explains errors in plain words", () => {
      assert.match(describeShowContextError(new TeamServerError(404, "not_found", "Message not found")), /not on the Juggler server/);
      assert.match(describeShowContextError(new TeamServerError(409, "conflict", "x")), /still being prepared/);
      assert.equal(
        describeShowContextError(new TeamServerError(0, "offline", "Can't reach the Juggler server at http://x.")),
        "Can't reach the Juggler server at http://x.",
      );
    });
  });

  describe("paging against a server that answers by the contract", () => {
    const answer: Message = {
      id: "answer-7",
      conversationId: "c-1",
      parentId: "m-5",
      role: "assistant",
      content: "Done.",
      status: "complete",
      provider: "anthropic",
      modelId: "anthropic:claude-sonnet-4-5",
      inputTokens: 12_801,
      outputTokens: 3,
      timeToFirstTokenMs: 5,
      durationMs: 9,
      finishReason: "stop",
      finishReasonRaw: "end_turn",
      error: null,
      context: null,
      createdAt: "2026-12-07T14:02:00.000Z",
      updatedAt: "2026-12-07T14:02:01.000Z",
    };
    const pages: Record<string, Pick<AnswerContextResponse, "messages" | "nextCursor">> = {
      first: {
        messages: [
          contextMessage({ messageId: "m-1", content: "one" }),
          contextMessage({ messageId: "m-2", role: "assistant", content: "two" }),
        ],
        nextCursor: "after-m-2",
      },
      "after-m-2": {
        messages: [
          contextMessage({ messageId: "m-3", content: "three" }),
          contextMessage({ messageId: "m-4", role: "assistant", content: "four" }),
        ],
        nextCursor: "after-m-4",
      },
      "after-m-4": { messages: [contextMessage({ messageId: "m-5", content: "five" })], nextCursor: null },
    };

    async function withStub(failingCursor: string | undefined, run: (client: TeamServerClient, requests: string[]) => Promise<void>) {
      const requests: string[] = [];
      const stub = await startStubServer((request, response) => {
        requests.push(request.url ?? "");
        const url = new URL(request.url ?? "/", "http://stub");
        const reply = (status: number, body: unknown) => {
          response.writeHead(status, { "content-type": "application/json" });
          response.end(JSON.stringify(body));
        };
        if (url.pathname === "/api/v1/messages/answer-7") return reply(200, { message: answer });
        if (url.pathname === "/api/v1/conversations/c-1") {
          return reply(200, {
            conversation: {
              id: "c-1",
              title: "Paged context",
              modelId: answer.modelId,
              leafMessageId: answer.id,
              createdAt: answer.createdAt,
              updatedAt: answer.updatedAt,
              lastMessageAt: answer.createdAt,
            },
            messages: [answer],
            branchMessageCount: 6,
            olderCursor: "c",
          });
        }
        if (url.pathname === "/api/v1/messages/answer-7/context") {
          const cursor = url.searchParams.get("cursor") ?? "first";
          if (cursor === failingCursor) return reply(503, { error: { code: "internal_error", message: "The database is busy." } });
          const page = pages[cursor];
          if (!page) return reply(400, { error: { code: "validation_failed", message: "cursor: unknown" } });
          return reply(200, { ...contextPage(), ...page, record: { ...contextPage().record, includedMessageCount: 5 } });
        }
        reply(404, { error: { code: "not_found", message: `No endpoint ${url.pathname}` } });
      });
      const session: StoredSession = {
        serverUrl: stub.url,
        user: { id: "u1", name: "someone", role: "member", status: "active", lastModelId: null, createdAt: new Date().toISOString() },
        accessToken: "token",
        accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString(),
        refreshToken: "refresh",
        refreshTokenExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      };
      try {
        await run(new TeamServerClient({ serverUrl: stub.url, tokenStore: new MemoryTokenStore(session) }), requests);
      } finally {
        await stub.close();
      }
    }

    it("loads page after page with the cursor it was given, in order, telling the tab after each", async () => {
      await withStub(undefined, async (client, requests) => {
        const document = new AnswerContextDocument({ client, messageId: "answer-7", pageLimit: 2 });
        let changes = 0;
        document.onDidChange(() => changes++);
        await document.loadFirstPage();
        assert.equal(document.title?.conversationTitle, "Paged context");
        assert.equal(document.title?.modelName, "claude-sonnet-4-5");
        assert.match(document.text, /_Loading messages 3–5 of 5…_\n$/);
        assert.ok(!document.isComplete);

        await document.loadRemainingPages();
        assert.ok(document.isComplete);
        assert.equal(changes, 3, "one change per further page, and one when loading ended");
        const headings = [...document.text.matchAll(/^### (.+)$/gm)].map((match) => match[1]);
        assert.deepEqual(headings, ["1 · User", "2 · Assistant", "3 · User", "4 · Assistant", "5 · User"]);
        for (const word of ["one", "two", "three", "four", "five"]) assert.ok(document.text.includes(`\`\`\`text\n${word}\n\`\`\``));
        assert.ok(!document.text.includes("Loading messages"));
        const contextRequests = requests.filter((url) => url.includes("/context"));
        assert.deepEqual(contextRequests, [
          "/api/v1/messages/answer-7/context?limit=2",
          "/api/v1/messages/answer-7/context?limit=2&cursor=after-m-2",
          "/api/v1/messages/answer-7/context?limit=2&cursor=after-m-4",
        ]);
        assert.ok(requests.includes("/api/v1/conversations/c-1?limit=1"), "only the title of the conversation is read, not its branch");
        document.dispose();
      });
    });

    it("keeps what it loaded and says which messages are missing when a later page fails", async () => {
      await withStub("after-m-4", async (client) => {
        const document = new AnswerContextDocument({ client, messageId: "answer-7", pageLimit: 2, knownConversationTitle: () => "Known" });
        await document.load();
        assert.equal(document.title?.conversationTitle, "Known");
        assert.ok(!document.isComplete);
        assert.ok(document.text.includes("### 4 · Assistant"));
        assert.ok(!document.text.includes("### 5 ·"));
        assert.match(document.text, /\*\*Messages 5–5 could not be loaded:\*\* The database is busy\. Close this tab/);
        document.dispose();
      });
    });
  });

  // Needs the server side of issue 6 (GET /messages/:id/context): the interim server has no such endpoint.
  describe("against the team server (needs the server's Show Context endpoint)", () => {
    let environment: ExtensionTestEnvironment;

    before(async () => {
      environment = await startExtensionTestEnvironment();
    });

    after(async () => {
      await environment?.dispose();
    });

    async function waitForAnswer(client: TeamServerClient, messageId: string): Promise<Message> {
      for await (const event of client.streamGeneration(messageId)) {
        if (event.event === "generation-end" || event.event === "generation-error") return event.data.message;
      }
      throw new Error("the stream ended without a final event");
    }

    it("shows every message the answer saw, across pages, with the provider's token counts", async () => {
      const client = await environment.signedInClient("context-reader");
      const modelId = environment.models.anthropic[0]!;
      const { conversation } = await client.call("createConversation", { body: { modelId } });
      const questions = ["First question about contexts", "Second question", "Third question"];
      let last: Message | undefined;
      for (const question of questions) {
        const sent = await client.call("sendMessage", {
          params: { conversationId: conversation.id },
          body: { content: question, modelId },
        });
        last = await waitForAnswer(client, sent.assistantMessage.id);
      }
      const answer = last!;
      const document = new AnswerContextDocument({ client, messageId: answer.id, pageLimit: 2 });
      let changes = 0;
      document.onDidChange(() => changes++);
      await document.load();

      assert.ok(document.isComplete, document.text);
      assert.ok(changes >= 3, "the first page, then two more");
      const text = document.text;
      const { conversation: stored } = await client.call("getConversation", {
        params: { conversationId: conversation.id },
        query: { limit: 1 },
      });
      assert.equal(document.title?.conversationTitle, stored.title);
      assert.ok(text.includes(`| Model | ${modelId.slice("anthropic:".length)} (\`${modelId}\`) |`), text);
      assert.ok(text.includes(`| Input tokens, reported by Anthropic | ${answer.inputTokens!.toLocaleString("en-US")} |`), text);
      assert.ok(text.includes(`| Input tokens, estimated by Juggler | ${answer.context!.estimatedInputTokens.toLocaleString("en-US")} |`));
      assert.ok(text.includes(SYSTEM_PROMPT), "the system prompt's text");
      assert.ok(text.includes("## Messages as sent (5)"));
      const headings = [...text.matchAll(/^### (\d+) · (User|Assistant)/gm)].map((match) => `${match[1]} ${match[2]}`);
      assert.deepEqual(headings, ["1 User", "2 Assistant", "3 User", "4 Assistant", "5 User"]);
      for (const question of questions) assert.ok(text.includes(`\`\`\`text\n${question}\n\`\`\``), question);
      document.dispose();
    });

    it("says so in plain words for another member's answer and for a question", async () => {
      const owner = await environment.signedInClient("context-owner");
      const modelId = environment.models.groq[0]!;
      const { conversation } = await owner.call("createConversation", { body: { modelId } });
      const sent = await owner.call("sendMessage", { params: { conversationId: conversation.id }, body: { content: "Mine", modelId } });
      await waitForAnswer(owner, sent.assistantMessage.id);

      const stranger = await environment.signedInClient("context-stranger");
      const foreign = new AnswerContextDocument({ client: stranger, messageId: sent.assistantMessage.id });
      await assert.rejects(foreign.loadFirstPage(), (error: unknown) => {
        assert.match(describeShowContextError(error), /not on the Juggler server/);
        return true;
      });
      const question = new AnswerContextDocument({ client: owner, messageId: sent.userMessage.id });
      await assert.rejects(question.loadFirstPage(), (error: unknown) => {
        assert.ok(error instanceof TeamServerError && error.status === 400, String(error));
        assert.match(describeShowContextError(error), /^Only answers have a context/);
        return true;
      });
    });
  });
});
