import assert from "node:assert/strict";
import type { GenerationEvent } from "../../protocol/http/generation-events";
import type { GenerationEventListener } from "../../server/src/services/generation-job";
import { DEFAULT_CLUSTER_TIMINGS, PostgresCluster } from "../../server/src/services/postgres-cluster";
import type { StoredGenerationEvent } from "../../server/src/storage/generation-event-repository";
import { createConversation, sendAndWait, startChatFixture, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/**
 * The writer that puts an instance's answer events into `generation_events` (one INSERT at a time,
 * whatever gathered meanwhile goes in the next): an event published just as a write ends must be
 * written without waiting for another event — it may be an answer's last, which other instances'
 * streams wait for.
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
    const writer = (cluster as unknown as { events: { appendAndNotify(events: readonly StoredGenerationEvent[]): Promise<void> } }).events;
    const write = writer.appendAndNotify.bind(writer);
    let afterWrite: (() => void) | undefined;
    writer.appendAndNotify = async (events) => {
      await write(events);
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
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
