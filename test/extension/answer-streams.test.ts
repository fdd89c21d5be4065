import assert from "node:assert/strict";
import { AnswerStreams, type AnswerStatus, type AnswerStreamListener } from "../../extension/src/chat/answer-streams";
import type { TeamServerClient } from "../../extension/src/server-client/team-server-client";
import type { Message } from "../../protocol/http/conversations";
import { parseEchoText } from "../../tools/fake-providers";
import { recordingFetch, startExtensionTestEnvironment, waitUntil, type ExtensionTestEnvironment } from "./extension-test-environment";

type Heard =
  | { kind: "appended"; text: string; content: string }
  | { kind: "replaced"; content: string }
  | { kind: "status"; status: AnswerStatus | null }
  | { kind: "finished"; message: Message }
  | { kind: "lost" };

function recordingListener(): { listener: AnswerStreamListener; heard: Heard[] } {
  const heard: Heard[] = [];
  return {
    heard,
    listener: {
      textAppended: (message, text) => heard.push({ kind: "appended", text, content: message.content }),
      textReplaced: (message) => heard.push({ kind: "replaced", content: message.content }),
      statusChanged: (_message, status) => heard.push({ kind: "status", status }),
      finished: (message) => heard.push({ kind: "finished", message: { ...message } }),
      lost: () => heard.push({ kind: "lost" }),
    },
  };
}

describe("extension: AnswerStreams (answers followed by sequence)", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;
  const streams: AnswerStreams[] = [];

  before(async () => {
    environment = await startExtensionTestEnvironment();
  });

  afterEach(() => {
    environment.fakes.reset();
    for (const stream of streams.splice(0)) stream.dispose();
  });

  after(async () => {
    await environment?.dispose();
  });

  async function send(client: TeamServerClient, content: string) {
    const modelId = environment.models.anthropic[0]!;
    const { conversation } = await client.call("createConversation", { body: { modelId } });
    return client.call("sendMessage", { params: { conversationId: conversation.id }, body: { content, modelId } });
  }

  function follow(client: TeamServerClient, listener: AnswerStreamListener): AnswerStreams {
    const followed = new AnswerStreams(client, listener);
    streams.push(followed);
    return followed;
  }

  it("keeps the sibling position a page read gives an answer being followed, through to its final state", async () => {
    const client = await environment.signedInClient("siblings");
    const { listener } = recordingListener();
    const followed = follow(client, listener);
    const sent = await send(client, "An answer that gets a place among siblings");
    assert.equal(sent.assistantMessage.siblings, undefined, "the send's reply does not say");
    const shared = followed.track(sent.assistantMessage);
    // the newest page, read while the answer streams, knows its place
    const fromPage = followed.track({ ...sent.assistantMessage, siblings: { position: 2, count: 2 } });
    assert.equal(fromPage, shared, "one object for the answer");
    assert.deepEqual(shared.siblings, { position: 2, count: 2 });
    await followed.whenAllFinished();
    assert.equal(shared.status, "complete");
    assert.deepEqual(shared.siblings, { position: 2, count: 2 }, "the final message keeps it");
  });

  it("follows a new answer: appended text builds the stored answer, then it finishes once", async () => {
    const client = await environment.signedInClient("follows");
    const { listener, heard } = recordingListener();
    const followed = follow(client, listener);
    const sent = await send(client, "Follow this answer");
    const shared = followed.track(sent.assistantMessage);
    assert.deepEqual(followed.messageIds, [sent.assistantMessage.id]);
    assert.ok(followed.isStreamingIn(sent.conversation.id));
    await followed.whenAllFinished();

    const { message: stored } = await client.call("getMessage", { params: { messageId: sent.assistantMessage.id } });
    const appended = heard.filter((event) => event.kind === "appended");
    assert.ok(appended.length > 0);
    assert.equal(appended.map((event) => event.text).join(""), stored.content);
    assert.ok(!heard.some((event) => event.kind === "replaced"), "nothing to replace: the answer had no text yet");
    const finished = heard.filter((event) => event.kind === "finished");
    assert.equal(finished.length, 1);
    assert.equal(heard.at(-1)?.kind, "finished");
    assert.deepEqual(shared, stored, "the shared object ends as the stored answer");
    assert.deepEqual(followed.messageIds, []);
    assert.equal(parseEchoText(stored.content).messages.at(-1)!.text, "Follow this answer");
  });

  it("re-attached after a reload, replays the answer from its first event: the shown text is replaced once, then appended to", async () => {
    environment.fakes.anthropic.setTokenDelayMs(40);
    const client = await environment.signedInClient("replays");
    const sent = await send(client, "Keep going while the window reloads");
    // What a reloaded window reads: the answer still streaming, with the text the server saved so far.
    let saved: Message = sent.assistantMessage;
    while (saved.content.length === 0) {
      saved = (await client.call("getMessage", { params: { messageId: sent.assistantMessage.id } })).message;
      if (saved.content.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(saved.status, "streaming", "the answer must still be streaming for this test");

    const recorder = recordingFetch();
    const reloaded = await environment.signedInClient("replays", { fetch: recorder.fetch });
    const { listener, heard } = recordingListener();
    const followed = follow(reloaded, listener);
    followed.track(saved);
    await followed.whenAllFinished();

    const { message: stored } = await reloaded.call("getMessage", { params: { messageId: sent.assistantMessage.id } });
    const textEvents = heard.filter((event) => event.kind === "appended" || event.kind === "replaced");
    assert.equal(textEvents[0]?.kind, "replaced", "the first text replaces what the database had");
    assert.equal(textEvents.filter((event) => event.kind === "replaced").length, 1);
    const rebuilt = textEvents.reduce((text, event) => (event.kind === "replaced" ? event.content : text + event.text), "");
    assert.equal(rebuilt, stored.content, "replace, then append: the stored answer, nothing twice");
    for (const event of textEvents) assert.ok(stored.content.startsWith(event.content), "every text shown is a prefix of the answer");
    const streamRequests = recorder.requests.filter((request) => request.path.endsWith("/stream"));
    assert.equal(streamRequests[0]?.headers.get("last-event-id"), null, "from the first event: by sequence, not by comparing texts");
  });

  it("takes a stop's final state once, and not again from the stream's own final event", async () => {
    environment.fakes.anthropic.setTokenDelayMs(60);
    const client = await environment.signedInClient("stops");
    const { listener, heard } = recordingListener();
    const followed = follow(client, listener);
    const sent = await send(client, "A long answer to stop");
    followed.track(sent.assistantMessage);
    await waitUntil(() => heard.some((event) => event.kind === "appended"), "some text");
    const { message: stopped } = await client.call("stopGeneration", { params: { messageId: sent.assistantMessage.id } });
    followed.finish(stopped);
    await followed.whenAllFinished();
    const finished = heard.filter((event) => event.kind === "finished");
    assert.equal(finished.length, 1);
    assert.equal((finished[0] as { message: Message }).message.status, "stopped");
  });

  it("stops following the answers of one conversation, leaving the others", async () => {
    environment.fakes.anthropic.setTokenDelayMs(30);
    const client = await environment.signedInClient("aborts");
    const { listener, heard } = recordingListener();
    const followed = follow(client, listener);
    const first = await send(client, "First conversation");
    const second = await send(client, "Second conversation");
    followed.track(first.assistantMessage);
    followed.track(second.assistantMessage);
    followed.abort(first.conversation.id);
    assert.deepEqual(followed.messageIds, [second.assistantMessage.id]);
    await followed.whenAllFinished();
    const finishedIds = heard.flatMap((event) => (event.kind === "finished" ? [event.message.id] : []));
    assert.deepEqual(finishedIds, [second.assistantMessage.id]);
  });

  it("does not follow an answer that is already final, and shares one object per answer", async () => {
    const client = await environment.signedInClient("final-already");
    const { listener, heard } = recordingListener();
    const followed = follow(client, listener);
    const sent = await send(client, "Done before anyone looks");
    const first = followed.track(sent.assistantMessage);
    assert.equal(followed.track(sent.assistantMessage), first, "the same object while it streams");
    await followed.whenAllFinished();
    const { message: stored } = await client.call("getMessage", { params: { messageId: sent.assistantMessage.id } });
    const heardBefore = heard.length;
    const final = followed.track(stored);
    assert.deepEqual(final, stored);
    assert.deepEqual(followed.messageIds, []);
    assert.equal(heard.length, heardBefore);
  });
});
