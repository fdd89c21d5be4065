import assert from "node:assert/strict";
import fs from "node:fs";
import { parseEchoText, startFakeProviders, type FakeProviders } from "../../tools/fake-providers";
import { createConversation, getMessage, longMessage, openAnswerStream, send, sendAndWait, waitUntil } from "../support/chat-helpers";
import { configureFakeProviders } from "../../tools/harness/provider-setup";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";

describe("crash recovery", function () {
  let fakes: FakeProviders;
  let crashed: TestServer | undefined;
  let restarted: TestServer | undefined;

  before(async function () {
    fakes = await startFakeProviders({ tokenDelayMs: 30 });
  });
  after(async function () {
    await restarted?.close();
    if (crashed) {
      // the crashed server's database handle is gone; its close() only has sockets and timers left to end
      await crashed.close().catch(() => undefined);
      fs.rmSync(crashed.dataDirectory, { recursive: true, force: true });
    }
    await fakes?.close();
  });

  it("an answer left streaming by a crash is interrupted with its partial text after the restart, and the conversation goes on", async function () {
    crashed = await startTestServer();
    const admin = await registerUser(crashed, "admin");
    const models = await configureFakeProviders(crashed, fakes, admin.accessToken, ["anthropic"]);
    const model = models.anthropic[0]!;
    const token = admin.accessToken;
    const conversation = await createConversation(crashed, token);
    const sent = await send(crashed, token, conversation.id, longMessage(300), model);

    // wait for a partial flush to reach the database
    const partial = await waitUntil(
      async () => {
        const message = await getMessage(crashed!, token, sent.assistantMessage.id);
        return message.status === "streaming" && message.content.length > 0 ? message : undefined;
      },
      8000,
      "a partial flush",
    );

    // The crash: the database handle disappears without any shutdown step, so nothing the old
    // process does afterwards (its job, its timers) can write to the data folder any more.
    await crashed.database.destroy();

    restarted = await startTestServer({ dataDirectory: crashed.dataDirectory });
    const stored = await getMessage(restarted, token, sent.assistantMessage.id);
    assert.equal(stored.status, "interrupted");
    assert.ok(stored.content.startsWith(partial.content), "the flushed partial text is kept");
    assert.ok(stored.content.length > 0);
    assert.equal(stored.error.code, "server_shutting_down");
    assert.match(stored.error.message, /restarted/);
    const user = await getMessage(restarted, token, sent.userMessage.id);
    assert.equal(user.content, longMessage(300));

    // the stream of that answer now ends at once with the stored outcome
    const stream = await openAnswerStream(restarted, token, sent.assistantMessage.id);
    await stream.ended;
    assert.equal(stream.events.length, 1);
    assert.equal(stream.events[0]!.event, "generation-error");
    assert.deepEqual(stream.events[0]!.data.message, stored);

    // a new send works, and the interrupted partial answer is part of the context
    fakes.anthropic.setTokenDelayMs(0);
    const next = await sendAndWait(restarted, token, conversation.id, "Please finish", model);
    assert.equal(next.answer.status, "complete");
    const echo = parseEchoText(next.answer.content);
    assert.deepEqual(
      echo.messages.map((message) => message.role),
      ["user", "assistant", "user"],
    );
    assert.equal(
      echo.messages[1]!.text,
      `${stored.content}\n\n[Note from Juggler: this answer was cut off: it was interrupted (the server stopped).]`,
    );
  });
});
