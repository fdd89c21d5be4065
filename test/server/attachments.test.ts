import assert from "node:assert/strict";
import { ATTACHMENT_MAX_CHARACTERS, ATTACHMENTS_PER_MESSAGE_MAX, IMAGE_MAX_BYTES } from "../../protocol/http/attachments";
import { TINY_PNG_BASE64 } from "../support/tiny-png";
import { estimateMessageTokens } from "../../server/src/services/token-estimate";
import { registerUser } from "../../tools/harness/test-server";
import { createConversation, lastChatRequest, sendAndWait, startChatFixture, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/** Editor context on a question: limits with clear errors and nothing stored, counted in the estimate, owned by its user. */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`attachments: files and selections sent with a question on ${backend}`, function () {
    this.timeout(60_000);
    let fixture: ChatFixture;

    before(async function () {
      fixture = await startChatFixture(
        backend === "PostgreSQL" ? { server: { environment: { DATABASE_URL: await createTestDatabase() } } } : {},
      );
    });
    after(async function () {
      await fixture?.dispose();
    });

    it("counts the attachments in the question's token estimate, so the context walk sees their size", async function () {
      const { server, memberToken: token, models } = fixture;
      const conversation = await createConversation(server, token);
      const content = "x".repeat(40_000);
      const { sent } = await sendAndWait(server, token, conversation.id, "Short question", models.groq[0]!, {
        attachments: [{ kind: "file", path: "big.txt", content }],
      });
      const row = await server.database("messages").where({ id: sent.userMessage.id }).first("token_estimate");
      assert.ok(Number(row.token_estimate) >= estimateMessageTokens(content), `estimate ${row.token_estimate}`);
      assert.equal(sent.userMessage.attachments[0].tokenEstimate, estimateMessageTokens(content));
    });

    it("keeps a send within the model's window however large the attachments of earlier questions are", async function () {
      this.timeout(120_000);
      const { server, memberToken: token, models, fakes } = fixture;
      const groq = models.groq[0]!;
      const window = 131_072;
      const conversation = await createConversation(server, token);
      const bigFile = (index: number) => ({
        kind: "file",
        path: `dump-${index}.txt`,
        content: `${index} `.repeat(60_000).slice(0, 150_000),
      });
      // 8 questions carrying about 37,500 tokens each: about 300,000 tokens on the branch, twice the window
      // (short answers: an echo would repeat everything it saw and fill the window by itself)
      fakes.groq.setReply({ text: "Noted." });
      let answer;
      try {
        for (let index = 0; index < 8; index++)
          await sendAndWait(server, token, conversation.id, `Question ${index}`, groq, { attachments: [bigFile(index)] });
        ({ answer } = await sendAndWait(server, token, conversation.id, "And now?", groq));
      } finally {
        fakes.groq.setReply("echo");
      }
      assert.equal(answer.status, "complete", JSON.stringify(answer.error));
      const context = await server.request("GET", `/messages/${answer.id}/context`, { token });
      assert.equal(context.status, 200, JSON.stringify(context.body));
      assert.ok(context.body.tokens.estimatedInput <= window, `estimated ${context.body.tokens.estimatedInput}`);
      assert.ok(
        context.body.tokens.estimatedInput >= 2 * 37_500,
        `the newest attachments that fit were sent: ${JSON.stringify(context.body.record)}`,
      );
      assert.ok(context.body.record.leftOutMessageCount + (context.body.record.summary?.messageCount ?? 0) > 0, "older turns left out");
      // what reached the provider: the size of its request, not only the estimate
      const sentCharacters = JSON.stringify((lastChatRequest(fakes, "groq").body as { messages: unknown[] }).messages).length;
      assert.ok(sentCharacters / 4 <= window, `${sentCharacters} characters sent`);
      // the record stays compact: attachments are referenced through their messages, never copied
      const stored = await server.database("messages").where({ id: answer.id }).first("context_snapshot");
      assert.ok(String(stored.context_snapshot).length <= 2048, `${String(stored.context_snapshot).length} bytes`);
    });

    it("refuses oversized, too many, malformed and binary attachments with a clear 4xx, storing nothing", async function () {
      const { server, memberToken: token, models } = fixture;
      const conversation = await createConversation(server, token);
      const file = (content: string) => ({ kind: "file", path: "a.txt", content });
      const cases: Array<[string, unknown, number, string]> = [
        ["oversized", [file("x".repeat(ATTACHMENT_MAX_CHARACTERS + 1))], 413, "payload_too_large"],
        ["too many", Array.from({ length: ATTACHMENTS_PER_MESSAGE_MAX + 1 }, () => file("x")), 400, "validation_failed"],
        [
          "too much in all",
          [file("x".repeat(ATTACHMENT_MAX_CHARACTERS)), file("y".repeat(ATTACHMENT_MAX_CHARACTERS)), file("z")],
          400,
          "validation_failed",
        ],
        ["lines backwards", [{ kind: "selection", path: "a.ts", startLine: 9, endLine: 2, content: "x" }], 400, "validation_failed"],
        ["unknown kind", [{ kind: "folder", path: "src", content: "" }], 400, "validation_failed"],
        ["no path", [{ kind: "file", path: "", content: "x" }], 400, "validation_failed"],
        ["binary (a NUL character)", [file("PK\u0003\u0004\u0000\u0000")], 400, "validation_failed"],
        [
          "an image that is not base64",
          [{ kind: "image", path: "x.png", mediaType: "image/png", data: "not*base64!" }],
          400,
          "validation_failed",
        ],
        [
          "a PNG that is not a PNG",
          [{ kind: "image", path: "x.png", mediaType: "image/png", data: Buffer.from("GIF89a....").toString("base64") }],
          400,
          "validation_failed",
        ],
        [
          "an unknown image type",
          [{ kind: "image", path: "x.bmp", mediaType: "image/bmp", data: TINY_PNG_BASE64 }],
          400,
          "validation_failed",
        ],
        [
          "an image too large",
          [{ kind: "image", path: "x.png", mediaType: "image/png", data: "A".repeat(Math.ceil(IMAGE_MAX_BYTES / 3) * 4 + 4) }],
          413,
          "payload_too_large",
        ],
      ];
      for (const [what, attachments, status, code] of cases) {
        const response = await server.request("POST", `/conversations/${conversation.id}/messages`, {
          token,
          body: { content: "With context", modelId: models.groq[0], attachments },
        });
        assert.equal(response.status, status, `${what}: ${JSON.stringify(response.body).slice(0, 300)}`);
        assert.equal(response.body.error.code, code, what);
      }
      const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.equal(detail.body.branchMessageCount, 0, "nothing stored");
      assert.equal(
        Number((await server.database("message_attachments").count({ count: "*" }).first())?.count),
        9,
        "only the earlier tests'",
      );
    });

    it("serves an attachment on demand: an image as its stored bytes and type, a file as text; never in the history's JSON", async function () {
      const { server, memberToken: token, models } = fixture;
      const conversation = await createConversation(server, token);
      const { sent } = await sendAndWait(server, token, conversation.id, "What is in this picture?", models.groq[0]!, {
        attachments: [
          { kind: "image", path: "diagram.png", mediaType: "image/png", data: TINY_PNG_BASE64 },
          { kind: "file", path: "notes.md", content: "# Notes\nÜmlauts survive." },
        ],
      });
      const [image, file] = sent.userMessage.attachments as Array<{ id: string; kind: string; byteSize?: number }>;
      assert.equal(image!.kind, "image");
      assert.equal(image!.byteSize, Buffer.from(TINY_PNG_BASE64, "base64").length);
      const page = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.ok(!JSON.stringify(page.body).includes(TINY_PNG_BASE64.slice(0, 40)), "no image bytes in a history page");

      const fetchAttachment = (attachmentId: string, accessToken = token, messageId = sent.userMessage.id) =>
        fetch(`${server.url}/api/v1/messages/${messageId}/attachments/${attachmentId}`, {
          headers: { authorization: `Bearer ${accessToken}` },
        });
      const served = await fetchAttachment(image!.id);
      assert.equal(served.status, 200);
      assert.equal(served.headers.get("content-type"), "image/png");
      assert.equal(served.headers.get("x-content-type-options"), "nosniff");
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), Buffer.from(TINY_PNG_BASE64, "base64"));
      const text = await fetchAttachment(file!.id);
      assert.equal(text.status, 200);
      assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(await text.text(), "# Notes\nÜmlauts survive.");

      // another user's, another message's, unknown, or signed out: nothing
      const other = await registerUser(server, `peeker-${backend}`);
      const refused = [
        await fetchAttachment(image!.id, other.accessToken),
        await fetchAttachment(
          image!.id,
          token,
          (await sendAndWait(server, token, conversation.id, "More", models.groq[0]!)).sent.userMessage.id,
        ),
        await fetchAttachment("no-such-attachment"),
      ];
      for (const response of refused) {
        assert.equal(response.status, 404);
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, "not_found");
      }
      assert.equal((await fetch(`${server.url}/api/v1/messages/${sent.userMessage.id}/attachments/${image!.id}`)).status, 401);
    });

    it("keeps a question's attachments to its owner: another user's answer context and pages are 404", async function () {
      const { server, memberToken: token, models } = fixture;
      const conversation = await createConversation(server, token);
      const { answer } = await sendAndWait(server, token, conversation.id, "Secret code", models.groq[0]!, {
        attachments: [{ kind: "file", path: "secret.ts", content: "const key = 'hunter2';" }],
      });
      const other = await registerUser(server, "snoop");
      assert.equal((await server.request("GET", `/messages/${answer.id}/context`, { token: other.accessToken })).status, 404);
      assert.equal((await server.request("GET", `/conversations/${conversation.id}`, { token: other.accessToken })).status, 404);
    });
  });
}
