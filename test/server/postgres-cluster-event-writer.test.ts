import assert from "node:assert/strict";
import type { GenerationEvent } from "../../protocol/http/generation-events";
import type { GenerationEventListener } from "../../server/src/services/generation-job";
import { DEFAULT_CLUSTER_TIMINGS, PostgresCluster } from "../../server/src/services/postgres-cluster";
import {
  GenerationEventRepository,
  type AnswerEventWrite,
  type StoredGenerationEvent,
} from "../../server/src/storage/generation-event-repository";
import { createConversation, sendAndWait, startChatFixture, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/**
 * The writer that puts an instance's answer events into `generation_event_batches` (one write at a time,
 * whatever gathered meanwhile goes in the next): an event published just as a write ends must be
 * written without waiting for another event — it may be an answer's last, which other instances'
 * streams wait for. And what a write stores: a row per answer, read back event by event, with the
 * leases that start and end in it.
 */
describe("several instances on one PostgreSQL: the answer event writer", function () {
  this.timeout(60_000);
  let fixture: ChatFixture;
  let databaseUrl: string;

  before(async function () {
    databaseUrl = await createTestDatabase();
    fixture = await startChatFixture({ server: { environment: { DATABASE_URL: databaseUrl } }, kinds: ["anthropic"] });
  });
  after(async function () {
    await fixture?.dispose();
  });

  it("writes an event published at any moment around the end of the previous write, without a further event", async function () {
    const { server, memberToken: token } = fixture;
    // a real answer row for the events to belong to (its own events end at a low sequence)
    const conversation = await createConversation(server, token);
    const { answer } = await sendAndWait(server, token, conversation.id, "Hello", fixture.models.anthropic[0]!);
    const messageId = answer.id;

    // a second instance's cluster on the same database, not started: only its event writer is used
    const cluster = new PostgresCluster(server.database, databaseUrl, server.logger, DEFAULT_CLUSTER_TIMINGS);
    let publish: GenerationEventListener = () => assert.fail("not subscribed yet");
    cluster.ownAnswer({
      messageId,
      subscribe: (_afterSequence, listener) => {
        publish = listener;
        return { missed: [], unsubscribe: () => undefined };
      },
    });
    const event = (sequence: number): GenerationEvent => ({ sequence, event: "text-delta", data: { text: `delta ${sequence}` } });

    // after each write resolves, the next event is published so many microtasks later: one of these
    // lands between the writer's last look for pending events and its being marked idle
    const writer = (cluster as unknown as { events: { write(write: AnswerEventWrite): Promise<void> } }).events;
    const write = writer.write.bind(writer);
    let afterWrite: (() => void) | undefined;
    writer.write = async (batch) => {
      await write(batch);
      const next = afterWrite;
      afterWrite = undefined;
      next?.();
    };
    const published: number[] = [];
    for (let depth = 0; depth < 12; depth += 1) {
      const first = 1_000 + depth * 2;
      afterWrite = () => {
        let chain = Promise.resolve();
        for (let step = 0; step < depth; step += 1) chain = chain.then(() => undefined);
        void chain.then(() => publish(event(first + 1)));
      };
      publish(event(first));
      published.push(first, first + 1);
      // no further event: the second of the pair must be written by itself
      await waitFor(async () => (await cluster.storedEvents(messageId, first)).length === 1, 2_000, `event ${first + 1} written`);
    }
    const stored = await cluster.storedEvents(messageId, 999);
    assert.deepEqual(
      stored.map((stored) => stored.sequence),
      published,
    );
  });

  it("stores a write per answer and reads it back event by event; a lease starts and ends with its writes", async function () {
    const { server, memberToken: token } = fixture;
    const conversation = await createConversation(server, token);
    const { answer } = await sendAndWait(server, token, conversation.id, "Hello", fixture.models.anthropic[0]!);
    const messageId = answer.id;
    // the server's own writes of this answer end with its lease: once ended, start from a clean slate
    await waitFor(
      async () => (await server.database("generation_leases").where({ message_id: messageId }).first())?.finished_at != null,
      5_000,
      "the server's last write of the answer",
    );
    await server.database("generation_event_batches").where({ message_id: messageId }).delete();
    await server.database("generation_leases").where({ message_id: messageId }).delete();
    const lease = async () => server.database("generation_leases").where({ message_id: messageId }).first();
    const delta = (sequence: number, text: string): StoredGenerationEvent => ({
      messageId,
      sequence,
      event: "text-delta",
      data: JSON.stringify({ text }),
    });

    const onA = new GenerationEventRepository(server.database, "instance-a");
    await onA.write({ events: [], leasesStarted: [messageId], leasesEnded: [] });
    assert.equal((await lease()).instance_id, "instance-a");
    assert.equal((await lease()).finished_at, null);
    // events arrive out of order within a write; they are stored in order
    await onA.write({ events: [delta(2, "b"), delta(1, "a")], leasesStarted: [], leasesEnded: [] });
    await onA.write({ events: [delta(3, "c"), delta(4, "d")], leasesStarted: [], leasesEnded: [] });
    assert.equal(
      await server
        .database("generation_event_batches")
        .where({ message_id: messageId })
        .count("* as rows")
        .first()
        .then((row) => Number(row?.rows)),
      2,
    );
    assert.deepEqual(
      (await onA.listAfter(messageId, 0)).map((event) => event.sequence),
      [1, 2, 3, 4],
    );
    assert.deepEqual(await onA.listAfter(messageId, 2), [
      { sequence: 3, event: "text-delta", data: { text: "c" } },
      { sequence: 4, event: "text-delta", data: { text: "d" } },
    ]);

    // B takes A for gone and ends the answer at 5; A, alive after all, writes 5 and 6 later: the first
    // write of 5 is kept, and nothing after the end is replayed; the lease A holds is ended, still A's
    const onB = new GenerationEventRepository(server.database, "instance-b");
    const ended: StoredGenerationEvent = {
      messageId,
      sequence: 5,
      event: "generation-error",
      data: JSON.stringify({ error: { code: "server_shutting_down", message: "gone", retryable: true } }),
    };
    await onB.write({ events: [ended], leasesStarted: [messageId], leasesEnded: [messageId] });
    await onA.write({ events: [delta(5, "e"), delta(6, "f")], leasesStarted: [], leasesEnded: [] });
    const replayed = await onA.listAfter(messageId, 3);
    assert.deepEqual(
      replayed.map((event) => [event.sequence, event.event]),
      [
        [4, "text-delta"],
        [5, "generation-error"],
      ],
    );
    assert.equal((await lease()).instance_id, "instance-a");
    assert.notEqual((await lease()).finished_at, null);
    assert.deepEqual(await onB.summarise(messageId), { text: "abcd", lastSequence: 5 });

    // an answer whose first and last events go in one write: its lease is inserted already ended
    const second = await sendAndWait(server, token, conversation.id, "Again", fixture.models.anthropic[0]!);
    await waitFor(
      async () => (await server.database("generation_leases").where({ message_id: second.answer.id }).first())?.finished_at != null,
      5_000,
      "the server's last write of the second answer",
    );
    await server.database("generation_leases").where({ message_id: second.answer.id }).delete();
    await onA.write({
      events: [{ ...ended, messageId: second.answer.id, sequence: 1 }],
      leasesStarted: [second.answer.id],
      leasesEnded: [second.answer.id],
    });
    const secondLease = await server.database("generation_leases").where({ message_id: second.answer.id }).first();
    assert.equal(secondLease.instance_id, "instance-a");
    assert.notEqual(secondLease.finished_at, null);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
