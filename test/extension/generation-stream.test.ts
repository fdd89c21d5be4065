import assert from "node:assert/strict";
import net from "node:net";
import { GenerationEventDecoder } from "../../extension/src/server-client/generation-event-decoder";
import type { TeamServerClient } from "../../extension/src/server-client/team-server-client";
import { TeamServerError } from "../../extension/src/server-client/team-server-error";
import type { GenerationEvent } from "../../protocol/http/generation-events";
import { parseEchoText } from "../../tools/fake-providers";
import { startExtensionTestEnvironment, type ExtensionTestEnvironment } from "./extension-test-environment";

describe("extension: generation event decoder (eventsource-parser underneath)", () => {
  it("decodes events split anywhere, with CRLF, CR and LF line ends, multi-line data, comments and retry", () => {
    const start = { messageId: "m", conversationId: "c", provider: "anthropic", modelId: "anthropic:x" };
    const stream =
      "retry: 2000\r\n\r\n: heartbeat\r\n" +
      `id: 1\r\nevent: generation-start\r\ndata: ${JSON.stringify(start)}\r\n\r\n` +
      'id: 2\revent: text-delta\rdata: {"text":\rdata: "a"}\r\r' +
      ": another comment\nid: 3\nevent: ping\ndata: {}\n\n" +
      'id: 4\nevent: usage\ndata: {"inputTokens":5,"outputTokens":null}\n\n';
    for (let chunkSize = 1; chunkSize <= stream.length; chunkSize++) {
      const decoder = new GenerationEventDecoder();
      const events = [];
      for (let index = 0; index < stream.length; index += chunkSize) events.push(...decoder.push(stream.slice(index, index + chunkSize)));
      assert.deepEqual(
        events,
        [
          { sequence: 1, event: "generation-start", data: start },
          { sequence: 2, event: "text-delta", data: { text: "a" } },
          { sequence: 4, event: "usage", data: { inputTokens: 5, outputTokens: null } },
        ],
        `chunk size ${chunkSize}`,
      );
      assert.equal(decoder.reconnectDelayMs, 2000);
    }
  });

  it("reads the summarising status event as a typed generation event", () => {
    const [event] = new GenerationEventDecoder().push(
      'id: 2\nevent: generation-status\ndata: {"phase":"summarising","messageCount":1240}\n\n',
    );
    assert.deepEqual(event, { sequence: 2, event: "generation-status", data: { phase: "summarising", messageCount: 1240 } });
  });

  it("refuses a known event without an id, with data of the wrong shape, and one too large to be an answer's", () => {
    const isInvalidResponse = (error: unknown) => error instanceof TeamServerError && error.code === "invalid_response";
    assert.throws(() => new GenerationEventDecoder().push('event: text-delta\ndata: {"text":"a"}\n\n'), isInvalidResponse);
    assert.throws(
      () => new GenerationEventDecoder().push('id: 3\nevent: generation-status\ndata: {"phase":"thinking"}\n\n'),
      isInvalidResponse,
    );
    assert.throws(() => new GenerationEventDecoder().push("id: 3\nevent: text-delta\ndata: not json\n\n"), isInvalidResponse);
    const small = new GenerationEventDecoder({ maxEventCharacters: 100 });
    assert.throws(() => small.push(`id: 1\nevent: text-delta\ndata: {"text":"${"x".repeat(200)}`), isInvalidResponse);
    // An event without `event:` and unknown names are not ours: skipped.
    assert.deepEqual(new GenerationEventDecoder().push('id: 9\ndata: {"text":"a"}\n\nid: 10\nevent: ping\ndata: {}\n\n'), []);
  });

  it("keeps a POST's reply event apart from the generation events, and only as the stream's first", () => {
    const decoder = new GenerationEventDecoder();
    assert.equal(decoder.isReplied, false);
    const events = decoder.push(
      'event: reply\ndata: {"assistantMessage":{"id":"a1"}}\n\nid: 1\nevent: text-delta\ndata: {"text":"hi"}\n\n',
    );
    assert.equal(decoder.isReplied, true);
    assert.deepEqual(decoder.reply, { assistantMessage: { id: "a1" } });
    assert.deepEqual(events, [{ sequence: 1, event: "text-delta", data: { text: "hi" } }]);

    const isInvalidResponse = (error: unknown) => error instanceof TeamServerError && error.code === "invalid_response";
    assert.throws(() => decoder.push("event: reply\ndata: {}\n\n"), isInvalidResponse, "a second reply");
    const late = new GenerationEventDecoder();
    late.push('id: 1\nevent: text-delta\ndata: {"text":"hi"}\n\n');
    assert.throws(() => late.push("event: reply\ndata: {}\n\n"), isInvalidResponse, "a reply after the answer's events began");
    assert.throws(() => new GenerationEventDecoder().push("event: reply\ndata: not json\n\n"), isInvalidResponse);
  });
});

describe("extension: generation stream with resume", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;

  before(async () => {
    // Slow enough that a connection can be cut while the answer is still being generated.
    environment = await startExtensionTestEnvironment({ tokenDelayMs: 15 });
  });

  after(async () => {
    await environment?.dispose();
  });

  async function sendOne(client: TeamServerClient, content: string) {
    const model = environment.models.anthropic[0]!;
    const { conversation } = await client.call("createConversation", { body: { modelId: model } });
    return client.call("sendMessage", { params: { conversationId: conversation.id }, body: { content, modelId: model } });
  }

  it("streams a whole answer: deltas add up to the stored message, sequences increase, the terminal event ends it", async () => {
    const client = await environment.signedInClient("full-stream");
    const sent = await sendOne(client, "Tell me everything");
    const events: GenerationEvent[] = [];
    for await (const event of client.streamGeneration(sent.assistantMessage.id)) events.push(event);

    assert.equal(events[0]!.event, "generation-start");
    const last = events.at(-1)!;
    assert.equal(last.event, "generation-end");
    const text = events.map((event) => (event.event === "text-delta" ? event.data.text : "")).join("");
    const { message } = await client.call("getMessage", { params: { messageId: sent.assistantMessage.id } });
    assert.equal(message.status, "complete");
    assert.equal(text, message.content);
    assert.equal(parseEchoText(text).messages.at(-1)!.text, "Tell me everything");
    for (let index = 1; index < events.length; index++) assert.ok(events[index]!.sequence > events[index - 1]!.sequence);
  });

  it("re-attaches with Last-Event-ID when the connection is cut mid-stream: no event lost, none twice", async () => {
    const proxy = await startCuttingProxy(environment.server.port);
    try {
      const events: GenerationEvent[] = [];
      // For each stream request: the Last-Event-ID it carried and the last event the caller had by then.
      const streamRequests: Array<{ lastEventId: string | null; lastReceived: number }> = [];
      const client = await environment.signedInClient("dropped-stream", {
        fetch: (input, init) => {
          if (input.endsWith("/stream"))
            streamRequests.push({
              lastEventId: new Headers(init?.headers).get("last-event-id"),
              lastReceived: events.at(-1)?.sequence ?? 0,
            });
          return fetch(input.replace(environment.server.url, proxy.url), init);
        },
      });
      const sent = await sendOne(client, "A question long enough to stream for a while");
      proxy.cutStreamsAfterDeltas(3);

      for await (const event of client.streamGeneration(sent.assistantMessage.id)) events.push(event);

      assert.equal(proxy.cutCount, 1, "the proxy cut the stream");
      assert.ok(streamRequests.length >= 2, "it reconnected");
      assert.equal(streamRequests[0]!.lastEventId, null);
      const resumed = streamRequests[1]!;
      assert.ok(resumed.lastReceived > 0, "events arrived before the cut");
      assert.equal(resumed.lastEventId, String(resumed.lastReceived), "resumed right after the last event received");

      const sequences = events.map((event) => event.sequence);
      assert.deepEqual(
        sequences,
        [...new Set(sequences)].sort((left, right) => left - right),
        "no duplicates, in order",
      );
      assert.equal(events.at(-1)!.event, "generation-end");
      const text = events.map((event) => (event.event === "text-delta" ? event.data.text : "")).join("");
      const { message } = await client.call("getMessage", { params: { messageId: sent.assistantMessage.id } });
      assert.equal(text, message.content);
    } finally {
      await proxy.close();
    }
  });

  it("reads an answer from the reply of the send that started it, and resumes with GET after a cut: the send is never repeated", async () => {
    const proxy = await startCuttingProxy(environment.server.port);
    try {
      const events: GenerationEvent[] = [];
      const requests: Array<{ call: string; lastEventId: string | null; lastReceived: number }> = [];
      const client = await environment.signedInClient("answer-in-reply", {
        fetch: (input, init) => {
          requests.push({
            call: `${init?.method ?? "GET"} ${new URL(input).pathname}`,
            lastEventId: new Headers(init?.headers).get("last-event-id"),
            lastReceived: events.at(-1)?.sequence ?? 0,
          });
          return fetch(input.replace(environment.server.url, proxy.url), init);
        },
      });
      const model = environment.models.anthropic[0]!;
      const { conversation } = await client.call("createConversation", { body: { modelId: model } });
      requests.length = 0;
      proxy.cutStreamsAfterDeltas(3);

      const { reply, answer } = await client.startAnswer("sendMessage", {
        params: { conversationId: conversation.id },
        body: { content: "A question long enough to stream for a while", modelId: model },
      });
      assert.ok(answer, "the reply is the answer's stream");
      assert.equal(answer.messageId, reply.assistantMessage.id);
      assert.equal(reply.userMessage.content, "A question long enough to stream for a while");
      for await (const event of answer.events()) events.push(event);

      assert.equal(proxy.cutCount, 1, "the proxy cut the reply's stream");
      assert.deepEqual(
        requests.map((request) => request.call).filter((call) => call.startsWith("POST")),
        [`POST /api/v1/conversations/${conversation.id}/messages`],
        "one send",
      );
      const resumed = requests.find((request) => request.call.endsWith("/stream"));
      assert.ok(resumed, "it resumed with GET");
      assert.ok(resumed.lastReceived > 0, "events arrived through the reply before the cut");
      assert.equal(resumed.lastEventId, String(resumed.lastReceived), "resumed right after the last event received");
      assert.deepEqual(
        events.map((event) => event.sequence),
        events.map((_event, index) => index + 1),
        "from the first event, none lost, none twice",
      );
      assert.equal(events.at(-1)!.event, "generation-end");
      const text = events.map((event) => (event.event === "text-delta" ? event.data.text : "")).join("");
      const { message } = await client.call("getMessage", { params: { messageId: reply.assistantMessage.id } });
      assert.equal(message.status, "complete");
      assert.equal(text, message.content);
    } finally {
      await proxy.close();
    }
  });

  it("a compare replies JSON (several answers, no stream in the reply); a refused send is its error", async () => {
    const client = await environment.signedInClient("answer-in-reply-compare");
    const [first, second] = [environment.models.anthropic[0]!, environment.models.groq[0]!];
    const { conversation } = await client.call("createConversation", { body: { modelId: first } });
    const compared = await client.startAnswer("sendMessage", {
      params: { conversationId: conversation.id },
      body: { content: "Compare these", modelIds: [first, second] },
    });
    assert.equal(compared.answer, undefined);
    assert.equal(compared.reply.assistantMessages?.length, 2);
    for (const answer of compared.reply.assistantMessages!) {
      for await (const event of client.streamGeneration(answer.id)) if (event.event === "generation-end") break;
    }
    await assert.rejects(
      client.startAnswer("sendMessage", {
        params: { conversationId: conversation.id },
        body: { content: "x", modelId: "groq:no-such-model" },
      }),
      (error: TeamServerError) => error.code === "model_unavailable" && error.status === 400,
    );
  });

  it("stops reading an answer from its send's reply when the caller aborts, without waiting for the next event", async () => {
    const client = await environment.signedInClient("answer-in-reply-stop");
    const model = environment.models.anthropic[0]!;
    const { conversation } = await client.call("createConversation", { body: { modelId: model } });
    // the next token would come long after this test's timeout: only the abort can end the read
    environment.fakes.anthropic.setTokenDelayMs(120_000);
    try {
      const { answer } = await client.startAnswer("sendMessage", {
        params: { conversationId: conversation.id },
        body: { content: "Slow, please", modelId: model },
      });
      assert.ok(answer);
      const reading = new AbortController();
      const events: GenerationEvent[] = [];
      setTimeout(() => reading.abort(), 300);
      await assert.rejects(
        (async () => {
          for await (const event of answer.events(reading.signal)) events.push(event);
        })(),
        (error: TeamServerError) => error.code === "aborted",
      );
      assert.equal(events[0]?.event, "generation-start");
      assert.ok(!events.some((event) => event.event === "generation-end"));
    } finally {
      environment.fakes.anthropic.setTokenDelayMs(15);
    }
  });

  it("gives up after bounded retries when the server stays unreachable, with a plain-words offline error", async () => {
    let streamAttempts = 0;
    const client = await environment.signedInClient("server-gone", {
      fetch: async (input, init) => {
        if (input.endsWith("/stream")) {
          streamAttempts++;
          throw new TypeError("fetch failed"); // what undici throws for a refused connection
        }
        return fetch(input, init);
      },
    });
    const sent = await sendOne(client, "hello");
    await assert.rejects(
      (async () => {
        for await (const _event of client.streamGeneration(sent.assistantMessage.id)) {
          // nothing arrives
        }
      })(),
      (error: unknown) =>
        error instanceof TeamServerError && error.code === "offline" && /Can't reach the Juggler server/.test(error.message),
    );
    assert.equal(streamAttempts, 7, "the first attempt and 6 retries");
  });

  it("stops reading when the caller aborts", async () => {
    const client = await environment.signedInClient("aborting");
    const sent = await sendOne(client, "something to abort");
    const controller = new AbortController();
    const received: GenerationEvent[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of client.streamGeneration(sent.assistantMessage.id, { signal: controller.signal })) {
          received.push(event);
          if (event.event === "text-delta") controller.abort();
        }
      })(),
      (error: unknown) => error instanceof TeamServerError && error.code === "aborted",
    );
    assert.equal(received.filter((event) => event.event === "text-delta").length, 1);
  });
});

/**
 * A TCP proxy in front of the team server that can cut generation streams after a number of
 * text-delta events went through: the client sees its connection close mid-stream, without the terminal event.
 */
async function startCuttingProxy(
  targetPort: number,
): Promise<{ url: string; cutCount: number; cutStreamsAfterDeltas(count: number): void; close(): Promise<void> }> {
  let cutAfterDeltas: number | undefined;
  const sockets = new Set<net.Socket>();
  const state = { cutCount: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    let isStream = false;
    let deltasSeen = 0;
    client.on("data", (chunk) => {
      // an answer's stream: GET /messages/:id/stream, or a send whose reply is the answer's events
      if (/^(GET [^ ]*\/stream|POST [^ ]*\/messages) /m.test(chunk.toString("latin1"))) isStream = true;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (isStream && cutAfterDeltas !== undefined) {
        // Cut on the first chunk after enough deltas went through: the client surely has some events,
        // and what this chunk carries is lost with the connection.
        if (deltasSeen >= cutAfterDeltas) {
          cutAfterDeltas = undefined; // once: the reconnection goes through
          state.cutCount++;
          client.destroy();
          upstream.destroy();
          return;
        }
        deltasSeen += chunk.toString("utf8").split("event: text-delta").length - 1;
      }
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get cutCount() {
      return state.cutCount;
    },
    cutStreamsAfterDeltas: (count) => {
      cutAfterDeltas = count;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
