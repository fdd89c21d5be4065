import assert from "node:assert/strict";
import {
  createConversationResponseSchema,
  generationEventSchemas,
  regenerateResponseSchema,
  sendMessageResponseSchema,
} from "../../protocol/http/index";
import { REPLY_EVENT } from "../../protocol/http/generation-events";
import { openSse, type SseConnection, type SseMessage } from "../../tools/harness/sse-client";
import {
  createConversation,
  getMessage,
  longMessage,
  openAnswerStream,
  sendAndWait,
  startChatFixture,
  textOfDeltas,
  type ChatFixture,
} from "../support/chat-helpers";

/** What the extension sends: the answer's events preferred, JSON understood. */
const EVENTS_PREFERRED = { accept: "text/event-stream, application/json" };

describe("a request that starts an answer replies with the answer's events when asked", function () {
  let fixture: ChatFixture;
  let groqModel: string;
  let anthropicModel: string;

  before(async function () {
    fixture = await startChatFixture();
    groqModel = fixture.models.groq[0]!;
    anthropicModel = fixture.models.anthropic[0]!;
  });
  after(async function () {
    await fixture?.dispose();
  });
  afterEach(function () {
    fixture.fakes.groq.setTokenDelayMs(0);
  });

  function post(path: string, body: unknown, headers: Record<string, string> = EVENTS_PREFERRED): Promise<SseConnection> {
    return openSse(`${fixture.server.url}/api/v1${path}`, { method: "POST", token: fixture.memberToken, body, headers });
  }

  /** The events after `reply`, checked as the GET stream's are: ids 1, 2, 3 … and a known shape each. */
  function assertAnswerEvents(events: readonly SseMessage[]): void {
    assert.deepEqual(
      events.map((event) => Number(event.id)),
      events.map((_event, index) => index + 1),
    );
    for (const event of events) generationEventSchemas[event.event as keyof typeof generationEventSchemas].parse(event.data);
    assert.equal(events[0]!.event, "generation-start");
    assert.equal(events.at(-1)!.event, "generation-end");
  }

  it("a send: the reply first (no id, the JSON reply's shape and status), then exactly the events GET /stream replays", async function () {
    const conversation = await createConversation(fixture.server, fixture.memberToken);
    const stream = await post(`/conversations/${conversation.id}/messages`, {
      content: "Explain closures in one line",
      modelId: anthropicModel,
    });
    assert.equal(stream.status, 202);
    assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(await stream.ended, "server");

    const [reply, ...events] = stream.events;
    assert.equal(reply!.event, REPLY_EVENT);
    assert.equal(reply!.id, undefined, "the reply does not move Last-Event-ID");
    const sent = sendMessageResponseSchema.parse(reply!.data);
    assert.equal(sent.conversation.id, conversation.id);
    assert.equal(sent.userMessage.content, "Explain closures in one line");
    assert.equal(sent.assistantMessage.status, "streaming");
    assertAnswerEvents(events);
    assert.equal(events[0]!.data.messageId, sent.assistantMessage.id);

    const stored = await getMessage(fixture.server, fixture.memberToken, sent.assistantMessage.id);
    assert.equal(stored.status, "complete");
    assert.equal(textOfDeltas(events), stored.content);
    // the same answer read again the usual way gives the same events
    const replayed = await openAnswerStream(fixture.server, fixture.memberToken, sent.assistantMessage.id);
    assert.equal(await replayed.ended, "server");
    assert.deepEqual(replayed.events, events);
  });

  it("a new conversation with its first message (201), and a regenerate (202), stream their answer too", async function () {
    const created = await post("/conversations", { modelId: groqModel, message: { content: "First question" } });
    assert.equal(created.status, 201);
    await created.ended;
    const [reply, ...events] = created.events;
    assert.equal(reply!.event, REPLY_EVENT);
    const body = createConversationResponseSchema.parse(reply!.data);
    assert.equal(body.userMessage?.content, "First question");
    assertAnswerEvents(events);
    assert.equal(events[0]!.data.messageId, body.assistantMessage?.id);

    const regenerated = await post(`/messages/${body.assistantMessage!.id}/regenerate`, { modelId: anthropicModel });
    assert.equal(regenerated.status, 202);
    await regenerated.ended;
    const [regenerateReply, ...regeneratedEvents] = regenerated.events;
    const sibling = regenerateResponseSchema.parse(regenerateReply!.data).assistantMessage;
    assert.notEqual(sibling.id, body.assistantMessage!.id);
    assertAnswerEvents(regeneratedEvents);
    assert.equal(regeneratedEvents[0]!.data.provider, "anthropic");
    assert.equal((await getMessage(fixture.server, fixture.memberToken, sibling.id)).status, "complete");
  });

  it("JSON as before: for */*, for JSON asked first, for a conversation created empty, and for a compare", async function () {
    // (every other test sends without an Accept header, and reads JSON)
    const conversation = await createConversation(fixture.server, fixture.memberToken);
    for (const headers of [{ accept: "*/*" }, { accept: "application/json" }, { accept: "application/json, text/event-stream" }]) {
      const reply = await post(`/conversations/${conversation.id}/messages`, { content: "hello", modelId: groqModel }, headers);
      assert.equal(reply.status, 202);
      assert.match(reply.headers.get("content-type") ?? "", /^application\/json/);
      const sent = sendMessageResponseSchema.parse(reply.errorBody);
      // one answer at a time per conversation: let this one finish before the next send
      await openAnswerStream(fixture.server, fixture.memberToken, sent.assistantMessage.id).then((stream) => stream.ended);
    }
    const empty = await post("/conversations", {});
    assert.equal(empty.status, 201);
    assert.match(empty.headers.get("content-type") ?? "", /^application\/json/);

    const compare = await post(`/conversations/${conversation.id}/messages`, { content: "compare", modelIds: [groqModel, anthropicModel] });
    assert.equal(compare.status, 202);
    assert.match(compare.headers.get("content-type") ?? "", /^application\/json/);
    const compared = sendMessageResponseSchema.parse(compare.errorBody);
    assert.equal(compared.assistantMessages?.length, 2);
    for (const answer of compared.assistantMessages!) {
      await openAnswerStream(fixture.server, fixture.memberToken, answer.id).then((stream) => stream.ended);
    }
  });

  it("a refused send answers its JSON error with its status and stores nothing", async function () {
    const conversation = await createConversation(fixture.server, fixture.memberToken);
    const unknownModel = await post(`/conversations/${conversation.id}/messages`, { content: "hello", modelId: "groq:no-such-model" });
    assert.equal(unknownModel.status, 400);
    assert.equal((unknownModel.errorBody as { error: { code: string } }).error.code, "model_unavailable");

    const stranger = await post(`/conversations/00000000-0000-4000-8000-000000000000/messages`, { content: "hello", modelId: groqModel });
    assert.equal(stranger.status, 404);
    assert.equal((stranger.errorBody as { error: { code: string } }).error.code, "not_found");

    const page = await fixture.server.request("GET", `/conversations/${conversation.id}`, { token: fixture.memberToken });
    assert.deepEqual(page.body.messages, []);
  });

  it("a client that drops the reply's stream resumes with GET and Last-Event-ID; the POST is not needed again", async function () {
    fixture.fakes.groq.setTokenDelayMs(8);
    const conversation = await createConversation(fixture.server, fixture.memberToken);
    const first = await post(`/conversations/${conversation.id}/messages`, { content: longMessage(60), modelId: groqModel });
    await first.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 5);
    first.close();
    assert.equal(await first.ended, "client");
    const [reply, ...seen] = first.events;
    const sent = sendMessageResponseSchema.parse(reply!.data);
    const lastId = Number(seen.at(-1)!.id);

    const rest = await openAnswerStream(fixture.server, fixture.memberToken, sent.assistantMessage.id, lastId);
    assert.equal(await rest.ended, "server");
    const all = [...seen, ...rest.events];
    assertAnswerEvents(all);
    const stored = await getMessage(fixture.server, fixture.memberToken, sent.assistantMessage.id);
    assert.equal(stored.status, "complete");
    assert.equal(textOfDeltas(all), stored.content);
    // one question, one answer: nothing was sent twice
    const after = await sendAndWait(fixture.server, fixture.memberToken, conversation.id, "and then?", groqModel);
    assert.equal(after.sent.userMessage.parentId, sent.assistantMessage.id);
  });
});
