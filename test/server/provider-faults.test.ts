import assert from "node:assert/strict";
import type { ProviderKind } from "../../protocol/http/providers";
import type { FaultSpecInput } from "../../tools/fake-providers";
import {
  chatRequests,
  createConversation,
  getMessage,
  longMessage,
  openAnswerStream,
  send,
  sendAndWait,
  startChatFixture,
  textOfDeltas,
  type ChatFixture,
} from "../support/chat-helpers";

describe("provider faults: stored status, error code, retries", function () {
  let fixture: ChatFixture;

  before(async function () {
    // two retries (the default); the cap leaves room for the retry-after case below, the other cases wait far less
    fixture = await startChatFixture({ server: { environment: { PROVIDER_MAX_RETRIES: "2", PROVIDER_RETRY_MAX_DELAY_MS: "3000" } } });
  });
  after(async function () {
    await fixture?.dispose();
  });
  afterEach(function () {
    fixture.fakes.reset();
  });

  /** Sends one message to `kind` with `fault` injected; returns the final answer, its events and the chat requests it caused. */
  async function sendWithFault(kind: ProviderKind, fault: FaultSpecInput | FaultSpecInput[], content = "Tell me about faults") {
    const { server, memberToken: token, fakes } = fixture;
    fakes[kind].setFaults(fault);
    const before = chatRequests(fakes, kind).length;
    const conversation = await createConversation(server, token);
    const result = await sendAndWait(server, token, conversation.id, content, fixture.models[kind][0]!);
    const user = await getMessage(server, token, result.sent.userMessage.id);
    assert.equal(user.content, content, "the user message is stored whatever the provider did");
    return { ...result, requests: chatRequests(fakes, kind).slice(before) };
  }

  it("401: invalid key, not retried", async function () {
    for (const kind of ["anthropic", "groq"] as const) {
      const { answer, events, requests } = await sendWithFault(kind, { fault: "unauthorized" });
      assert.equal(answer.status, "error");
      assert.equal(answer.error.code, "provider_invalid_key");
      assert.equal(answer.content, "");
      assert.equal(requests.length, 1, `${kind}: not retried`);
      const terminal = events.at(-1)!;
      assert.equal(terminal.event, "generation-error");
      assert.equal(terminal.data.error.code, "provider_invalid_key");
      assert.equal(terminal.data.error.retryable, false);
      assert.ok(!JSON.stringify(answer).includes("fake-"), "no key in the stored error");
    }
  });

  it("429 with retry-after: retried after the provider's wait, then succeeds (two requests)", async function () {
    // 1.5 s, far from the first backoff without retry-after (300–450 ms), so ignoring the header shows
    const retryAfterSeconds = 1.5;
    for (const kind of ["anthropic", "groq", "ollama"] as const) {
      const { answer, requests } = await sendWithFault(kind, { fault: "rate-limited", times: 1, retryAfterSeconds });
      assert.equal(answer.status, "complete", `${kind}: ${JSON.stringify(answer.error)}`);
      assert.equal(requests.length, 2, `${kind}: one retry`);
      assert.equal(requests[0]!.status, 429);
      assert.equal(requests[1]!.status, 200);
      // a lower bound only (the wait may run longer on a busy machine); a little under 1.5 s for clock rounding
      const waitedMs = requests[1]!.receivedAt - requests[0]!.receivedAt;
      assert.ok(waitedMs >= retryAfterSeconds * 1000 - 50, `${kind}: retried after ${waitedMs} ms, before the provider's retry-after`);
      const retryLine = fixture.server.logLines
        .map((line) => JSON.parse(line) as { msg: string; messageId?: string; delayMs?: number })
        .find((line) => line.msg === "retrying provider request" && line.messageId === answer.id);
      assert.equal(retryLine?.delayMs, retryAfterSeconds * 1000, `${kind}: the job decided to wait the provider's retry-after`);
    }
  });

  it("429 until the retries run out: error provider_rate_limited after 1 + 2 attempts", async function () {
    const { answer, requests } = await sendWithFault("anthropic", { fault: "rate-limited", times: 5, retryAfterSeconds: 0.1 });
    assert.equal(answer.status, "error");
    assert.equal(answer.error.code, "provider_rate_limited");
    assert.equal(requests.length, 3);
  });

  it("529 overloaded (and 500) before the stream: retried, then succeeds", async function () {
    const overloaded = await sendWithFault("anthropic", { fault: "overloaded", times: 1, retryAfterSeconds: 0 });
    assert.equal(overloaded.answer.status, "complete", JSON.stringify(overloaded.answer.error));
    assert.equal(overloaded.requests.length, 2);
    assert.equal(overloaded.requests[0]!.status, 529);

    const serverError = await sendWithFault("groq", { fault: "server-error", times: 1 });
    assert.equal(serverError.answer.status, "complete", JSON.stringify(serverError.answer.error));
    assert.equal(serverError.requests.length, 2);
  });

  for (const kind of ["anthropic", "groq", "ollama"] as const) {
    it(`${kind}: overloaded mid-stream after the first token: error, partial answer kept, not retried`, async function () {
      const { answer, events, requests } = await sendWithFault(kind, { fault: "overloaded-mid-stream", afterDeltas: 3 });
      assert.equal(answer.status, "error");
      assert.match(answer.error.code, /^provider_/);
      if (kind === "anthropic") assert.equal(answer.error.code, "provider_overloaded");
      assert.ok(answer.content.length > 0, "partial answer kept");
      assert.ok(answer.content.startsWith("ECHO model="));
      assert.equal(answer.content, textOfDeltas(events));
      assert.equal(requests.length, 1, "no retry after the first token");
      assert.equal(events.at(-1)!.event, "generation-error");
    });

    it(`${kind}: connection reset mid-stream: error, partial answer kept`, async function () {
      const { answer, requests } = await sendWithFault(kind, { fault: "reset-mid-stream", afterDeltas: 2 });
      assert.equal(answer.status, "error");
      assert.match(answer.error.code, /^provider_(stream_broken|unreachable|error)$/);
      assert.ok(answer.content.length > 0);
      assert.equal(requests.length, 1);
    });

    it(`${kind}: malformed chunk mid-stream: error, partial answer kept`, async function () {
      const { answer, requests } = await sendWithFault(kind, { fault: "malformed-chunk", afterDeltas: 2 });
      assert.equal(answer.status, "error");
      assert.match(answer.error.code, /^provider_/);
      assert.ok(answer.content.length > 0);
      assert.equal(requests.length, 1);
    });
  }

  it("a stall mid-stream can be stopped: the fake sees the connection close, the partial answer is kept", async function () {
    const { server, memberToken: token, fakes } = fixture;
    fakes.groq.setFaults({ fault: "stall", afterDeltas: 3 });
    const conversation = await createConversation(server, token);
    const sent = await send(server, token, conversation.id, longMessage(40), fixture.models.groq[0]!);
    const stream = await openAnswerStream(server, token, sent.assistantMessage.id);
    await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 4);
    const request = await fakes.groq.waitForRequest((entry) => entry.fault === "stall");
    const stopped = await server.request("POST", `/messages/${sent.assistantMessage.id}/stop`, { token });
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.message.status, "stopped");
    assert.ok(stopped.body.message.content.length > 0);
    await stream.ended;
    assert.equal(textOfDeltas(stream.events), stopped.body.message.content);
    await fakes.groq.waitForRequest((entry) => entry === request && entry.clientClosed, 5000);
  });

  it("model not found and context too long: their own codes, not retried", async function () {
    const missing = await sendWithFault("anthropic", { fault: "model-not-found" });
    assert.equal(missing.answer.status, "error");
    assert.equal(missing.answer.error.code, "provider_model_not_found");
    assert.equal(missing.requests.length, 1);

    const tooLong = await sendWithFault("groq", { fault: "context-too-long" });
    assert.equal(tooLong.answer.status, "error");
    assert.equal(tooLong.answer.error.code, "provider_context_too_long");
    assert.equal(tooLong.requests.length, 1);

    const ollamaMissing = await sendWithFault("ollama", { fault: "model-not-found" });
    assert.equal(ollamaMissing.answer.error.code, "provider_model_not_found");
  });
});
