import assert from "node:assert/strict";
import http from "node:http";
import { SseStream } from "../../server/src/http/sse-stream";
import { closeLoopbackServer, listenOnLoopback } from "../../tools/harness/loopback-server";

/**
 * The SSE framing on a real Node response, read by a real HTTP client: events written in one turn
 * of the event loop leave in one write, each event still arrives whole and in order, and the end
 * carries whatever was still waiting.
 */
describe("SseStream", function () {
  let server: http.Server;
  let url: string;
  /** What the test does with each stream the server opens. */
  let onStream: (sse: SseStream) => void;
  /** The response's `write` calls, as the stream made them. */
  let writes: string[];

  before(async () => {
    server = http.createServer((_request, response) => {
      const write = response.write.bind(response) as (chunk: string) => boolean;
      response.write = ((chunk: string) => {
        writes.push(chunk);
        return write(chunk);
      }) as typeof response.write;
      const sse = new SseStream(response, 60_000);
      sse.open();
      onStream(sse);
    });
    url = `${await listenOnLoopback(server)}/`;
  });

  after(() => closeLoopbackServer(server));

  beforeEach(() => {
    writes = [];
  });

  /** The whole body the client received, and its content type. */
  async function read(): Promise<{ contentType: string | null; body: string }> {
    const response = await fetch(url);
    return { contentType: response.headers.get("content-type"), body: await response.text() };
  }

  const framed = (id: number, text: string) => `id: ${id}\nevent: text-delta\ndata: ${JSON.stringify({ text })}\n\n`;

  it("sends the events of one turn in one write, whole and in order, and ends after them", async () => {
    onStream = (sse) => {
      for (let id = 1; id <= 50; id += 1) sse.send({ id, event: "text-delta", data: { text: `token ${id}\n` } });
      sse.end();
    };
    const { contentType, body } = await read();
    assert.equal(contentType, "text/event-stream; charset=utf-8");
    const expected = "retry: 2000\n\n" + Array.from({ length: 50 }, (_, index) => framed(index + 1, `token ${index + 1}\n`)).join("");
    assert.equal(body, expected);
    assert.equal(writes.length, 0, "nothing was written before the end, which carried it all");
  });

  it("does not hold an event back for a later turn: each turn's events leave at its end", async () => {
    const flushedBeforeNext: number[] = [];
    onStream = (sse) => {
      let id = 0;
      const next = () => {
        flushedBeforeNext.push(writes.length);
        id += 1;
        sse.send({ id, event: "text-delta", data: { text: `t${id}` } });
        sse.send({ id: id + 100, event: "text-delta", data: { text: `u${id}` } });
        if (id < 3) setTimeout(next, 5);
        else setTimeout(() => sse.end(), 5);
      };
      next();
    };
    const { body } = await read();
    assert.equal(body, "retry: 2000\n\n" + [1, 2, 3].map((id) => framed(id, `t${id}`) + framed(id + 100, `u${id}`)).join(""));
    // the retry line rode with the first turn's two events; every later turn was one write before the next began
    assert.deepEqual(flushedBeforeNext, [0, 1, 2]);
    assert.equal(writes.length, 3);
    assert.equal(writes[0], "retry: 2000\n\n" + framed(1, "t1") + framed(101, "u1"));
  });

  it("writes nothing once the client has gone: not what was waiting, not what comes after", async () => {
    let closed!: () => void;
    const hasClosed = new Promise<void>((resolve) => (closed = resolve));
    let stream!: SseStream;
    onStream = (sse) => {
      stream = sse;
      sse.onClose(() => {
        // written in the turn the close arrives, so it is still waiting when the flush comes
        sse.send({ id: 2, event: "text-delta", data: { text: "too late" } });
        closed();
      });
      sse.send({ id: 1, event: "text-delta", data: { text: "first" } });
    };
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /first/);
    controller.abort();
    await hasClosed;
    assert.equal(stream.isOpen, false);
    stream.send({ id: 3, event: "text-delta", data: { text: "later still" } });
    stream.end();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(writes, ["retry: 2000\n\n" + framed(1, "first")]);
  });
});
