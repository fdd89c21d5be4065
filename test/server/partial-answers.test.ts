import assert from "node:assert/strict";
import { parseEchoText } from "../../tools/fake-providers";
import {
  chatRequests,
  createConversation,
  longMessage,
  openAnswerStream,
  send,
  sendAndWait,
  startChatFixture,
  textOfDeltas,
  type ChatFixture,
} from "../support/chat-helpers";

/** The stall timeout of these tests: short, so a stalled request is cut in well under a second. */
const STALL_TIMEOUT_MS = 400;

describe("answers that end early: stalls, usage kept, and the note the next model gets", function () {
  this.timeout(60_000);
  let fixture: ChatFixture;

  before(async function () {
    fixture = await startChatFixture({
      server: {
        environment: { PROVIDER_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS), PROVIDER_MAX_RETRIES: "2", PROVIDER_RETRY_MAX_DELAY_MS: "100" },
      },
    });
  });
  after(async function () {
    await fixture?.dispose();
  });
  afterEach(function () {
    fixture.fakes.reset();
  });

  for (const kind of ["anthropic", "groq", "ollama"] as const) {
    it(`${kind}: headers and then nothing: cut after the stall timeout and retried (before any token)`, async function () {
      const { server, memberToken: token, fakes } = fixture;
      fakes[kind].setFaults({ fault: "stall", afterDeltas: 0 });
      const before = chatRequests(fakes, kind).length;
      const conversation = await createConversation(server, token);
      const { answer } = await sendAndWait(server, token, conversation.id, "Are you there?", fixture.models[kind][0]!);
      assert.equal(answer.status, "complete", JSON.stringify(answer.error));
      const requests = chatRequests(fakes, kind).slice(before);
      assert.equal(requests.length, 2, "the stalled request, then the retry");
      assert.equal(requests[0]!.fault, "stall");
      assert.equal(requests[0]!.status, 200, "the stalled request had sent its headers");
      await fakes[kind].waitForRequest((entry) => entry === requests[0] && entry.clientClosed, 5000);
      assert.ok(server.logLines.some((line) => line.includes("retrying provider request") && line.includes("provider_stalled")));
    });
  }

  it("a provider that stalls on every attempt: error provider_stalled after the retries", async function () {
    const { server, memberToken: token, fakes } = fixture;
    fakes.groq.setFaults({ fault: "stall", afterDeltas: 0, times: 3 });
    const before = chatRequests(fakes, "groq").length;
    const conversation = await createConversation(server, token);
    const { answer, events } = await sendAndWait(server, token, conversation.id, "Hello?", fixture.models.groq[0]!);
    assert.equal(answer.status, "error");
    assert.equal(answer.error.code, "provider_stalled");
    assert.match(answer.error.message, /Groq stopped sending/);
    assert.equal(chatRequests(fakes, "groq").length - before, 3);
    assert.equal(events.at(-1)!.data.error.retryable, true);
  });

  it("a stall after the first tokens: an error that keeps the partial answer, not retried", async function () {
    const { server, memberToken: token, fakes } = fixture;
    fakes.anthropic.setFaults({ fault: "stall", afterDeltas: 3 });
    const before = chatRequests(fakes, "anthropic").length;
    const conversation = await createConversation(server, token);
    const { answer, events } = await sendAndWait(server, token, conversation.id, longMessage(30), fixture.models.anthropic[0]!);
    assert.equal(answer.status, "error");
    assert.equal(answer.error.code, "provider_stalled");
    assert.ok(answer.content.length > 0);
    assert.equal(answer.content, textOfDeltas(events));
    assert.equal(chatRequests(fakes, "anthropic").length - before, 1);
    // the input count arrived with the stream's first event and is kept
    assert.equal(typeof answer.inputTokens, "number");
  });

  it("keeps the input tokens Anthropic reported at the start when the answer is stopped or fails part-way", async function () {
    const { server, memberToken: token, fakes } = fixture;
    const anthropic = fixture.models.anthropic[0]!;
    fakes.anthropic.setTokenDelayMs(30);
    const conversation = await createConversation(server, token);
    const sent = await send(server, token, conversation.id, longMessage(100), anthropic);
    const stream = await openAnswerStream(server, token, sent.assistantMessage.id);
    await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 4);
    const stopped = (await server.request("POST", `/messages/${sent.assistantMessage.id}/stop`, { token })).body.message;
    assert.equal(stopped.status, "stopped");
    assert.equal(typeof stopped.inputTokens, "number");
    assert.ok(stopped.inputTokens > 0);
    assert.equal(stopped.outputTokens, null, "the output count was not reported yet");
    await stream.ended;
    assert.deepEqual(stream.events.find((event) => event.event === "usage")?.data, {
      inputTokens: stopped.inputTokens,
      outputTokens: null,
      cachedInputTokens: 0,
      // without the output count the cost is not known (never a cost of the input alone)
      costMicroUsd: null,
    });

    fakes.anthropic.setTokenDelayMs(0);
    fakes.anthropic.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 3 });
    const failed = await sendAndWait(server, token, conversation.id, "again", anthropic);
    assert.equal(failed.answer.status, "error");
    assert.equal(typeof failed.answer.inputTokens, "number");
  });

  it("the next model is told which earlier answers were cut off, and why", async function () {
    const { server, memberToken: token, fakes } = fixture;
    const conversation = await createConversation(server, token);
    fakes.groq.setFaults({ fault: "overloaded-mid-stream", afterDeltas: 2 });
    const failed = await sendAndWait(server, token, conversation.id, "First", fixture.models.groq[0]!);
    assert.equal(failed.answer.status, "error");
    const next = await sendAndWait(server, token, conversation.id, "Second", fixture.models.ollama[0]!);
    const echoed = parseEchoText(next.answer.content).messages;
    assert.deepEqual(echoed, [
      { role: "user", text: "First" },
      {
        role: "assistant",
        text: `${failed.answer.content}\n\n[Note from Juggler: this answer was cut off: it failed part-way (a provider error).]`,
      },
      { role: "user", text: "Second" },
    ]);
    assert.ok(next.answer.context.adjustments.some((note: string) => /Marked 1 answer as cut off/.test(note)));
  });
});
