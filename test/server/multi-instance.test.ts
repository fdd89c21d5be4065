import assert from "node:assert/strict";
import pg from "pg";
import { messageSchema } from "../../protocol/http/conversations";
import { startFakeProviders, type FakeProviders } from "../../tools/fake-providers";
import { createApiClient, type ApiClient } from "../../tools/harness/api-client";
import { configureFakeProviders } from "../../tools/harness/provider-setup";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../tools/harness/round-robin-proxy";
import { startServerInstances, type ServerInstance } from "../../tools/harness/server-instances";
import { openSse, type SseMessage } from "../../tools/harness/sse-client";
import { registerUser, type TestServer } from "../../tools/harness/test-server";
import {
  chatRequests,
  createConversation,
  getMessage,
  longMessage,
  openAnswerStream,
  send,
  textOfDeltas,
  waitForAnswer,
} from "../support/chat-helpers";
import { NOTIFICATION_CONNECTION_NAME } from "../../server/src/storage/postgres-notifications";
import { createTestDatabase } from "../support/postgres";

/**
 * Three real server processes on one PostgreSQL behind a round-robin proxy, as a team runs them
 * behind a load balancer: an answer written by one instance streams, resumes and stops through
 * any other; one answer per conversation holds across them; sessions ended on one end on all;
 * and when an instance is killed mid-answer another ends the answer with its partial text.
 */
describe("several instances on one PostgreSQL", function () {
  this.timeout(120_000);
  let fakes: FakeProviders;
  let instances: ServerInstance[] = [];
  let proxy: RoundRobinProxy;
  /** Each instance directly, and the proxy. */
  let direct: ApiClient[];
  let balanced: ApiClient;
  let adminToken: string;
  /** A member whose account an admin disables mid-answer (signed in before the sign-in limit test uses up the allowance). */
  let writer: { accessToken: string; user: { id: string } };
  let model: string;
  let databaseUrl: string;

  // the chat helpers only use `url` and `request`
  const asServer = (client: ApiClient) => client as unknown as TestServer;

  before(async function () {
    fakes = await startFakeProviders({ tokenDelayMs: 20 });
    databaseUrl = await createTestDatabase();
    instances = await startServerInstances(3, databaseUrl, {
      AUTH_RATE_LIMIT_PER_MINUTE: "4",
      MAX_PARALLEL_ANSWERS_PER_USER: "2",
    });
    direct = instances.map((instance) => createApiClient(instance.url));
    proxy = await startRoundRobinProxy(instances.map((instance) => instance.url));
    balanced = createApiClient(proxy.url);
    const admin = await registerUser(direct[0]!, "admin");
    adminToken = admin.accessToken;
    // configured on one instance: the others learn the catalog from it
    model = (await configureFakeProviders(direct[0]!, fakes, adminToken, ["anthropic"])).anthropic[0]!;
    writer = await registerUser(direct[0]!, "writer");
  });
  after(async function () {
    await proxy?.close();
    await fakes?.close();
    await Promise.all(instances.map((instance) => instance.stop()));
  });

  it("streams an answer written on A through B, resumes it on C with Last-Event-ID, exactly as A streams it", async function () {
    const [onA, onB, onC] = direct as [ApiClient, ApiClient, ApiClient];
    fakes.anthropic.setTokenDelayMs(15);
    const conversation = await createConversation(asServer(onB), adminToken);
    const sent = await send(asServer(onA), adminToken, conversation.id, longMessage(60), model);
    const answerId = sent.assistantMessage.id as string;

    const fromA = waitForAnswer(asServer(onA), adminToken, answerId);
    const first = await openAnswerStream(asServer(onB), adminToken, answerId);
    await first.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 5);
    first.close();
    const lastSeen = Number(first.events.at(-1)!.id);
    const rest = await openSse(`${onC.url}/api/v1/messages/${answerId}/stream`, { token: adminToken, lastEventId: lastSeen });
    assert.equal(rest.status, 200);
    await rest.ended;

    const joined = [...first.events.filter((event) => Number(event.id) <= lastSeen), ...rest.events];
    const { events: whole, message } = await fromA;
    assert.deepEqual(
      joined.map((event) => [event.id, event.event]),
      whole.map((event) => [event.id, event.event]),
    );
    assert.deepEqual(
      joined.map((event) => event.data),
      whole.map((event) => event.data),
    );
    assert.equal(message.status, "complete");
    assert.equal(textOfDeltas(joined), message.content);
    assert.deepEqual(await getMessage(asServer(onC), adminToken, answerId), message);

    // a finished answer replays from any instance too (its events are kept a minute)
    const replay = await waitForAnswer(asServer(onB), adminToken, answerId);
    assert.deepEqual(
      replay.events.map((event) => event.id),
      whole.map((event) => event.id),
    );
  });

  it("stop on B stops the provider request A makes, and a second send meanwhile is refused on any instance", async function () {
    const [onA, onB, onC] = direct as [ApiClient, ApiClient, ApiClient];
    fakes.anthropic.setTokenDelayMs(30);
    const conversation = await createConversation(asServer(onA), adminToken);
    const sent = await send(asServer(onA), adminToken, conversation.id, longMessage(200), model);
    const answerId = sent.assistantMessage.id as string;
    const stream = await openAnswerStream(asServer(onC), adminToken, answerId);
    await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 4);

    // one answer at a time per conversation, whichever instance the second send reaches
    const second = await onB.request("POST", `/conversations/${conversation.id}/messages`, {
      token: adminToken,
      body: { content: "and another thing", modelId: model },
    });
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.error.code, "conflict");

    const stopped = await onB.request("POST", `/messages/${answerId}/stop`, { token: adminToken });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    const message = messageSchema.parse(stopped.body.message);
    assert.equal(message.status, "stopped");
    assert.ok(message.content.length > 0);

    const request = chatRequests(fakes, "anthropic").at(-1)!;
    await fakes.anthropic.waitForRequest((entry) => entry === request && entry.clientClosed, 5000);
    assert.equal(request.completed, false);

    await stream.ended;
    const terminal = stream.events.at(-1)!;
    assert.equal(terminal.event, "generation-end");
    assert.equal(terminal.data.message.status, "stopped");
    assert.equal(textOfDeltas(stream.events), message.content);

    const again = await onC.request("POST", `/messages/${answerId}/stop`, { token: adminToken });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "generation_not_active");
    // the conversation is free again
    fakes.anthropic.setTokenDelayMs(0);
    const next = await send(asServer(onC), adminToken, conversation.id, "go on", model);
    assert.equal((await waitForAnswer(asServer(onA), adminToken, next.assistantMessage.id)).message.status, "complete");
  });

  it("a member's cap on answers being written counts every instance's; deleting a conversation on B stops A's answer", async function () {
    const [onA, onB, onC] = direct as [ApiClient, ApiClient, ApiClient];
    fakes.anthropic.setTokenDelayMs(30);
    const first = await createConversation(asServer(onA), adminToken);
    const second = await createConversation(asServer(onA), adminToken);
    const third = await createConversation(asServer(onA), adminToken);
    const onFirst = await send(asServer(onA), adminToken, first.id, longMessage(300), model);
    await send(asServer(onB), adminToken, second.id, longMessage(301), model);
    // MAX_PARALLEL_ANSWERS_PER_USER=2: C holds none of them, yet refuses a third
    const refused = await onC.request("POST", `/conversations/${third.id}/messages`, {
      token: adminToken,
      body: { content: "a third at once", modelId: model },
    });
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "too_many_answers");
    // the cap counts this member's answers only: another member still sends on C meanwhile
    const writers = await createConversation(asServer(onC), writer.accessToken);
    const writersAnswer = await send(asServer(onC), writer.accessToken, writers.id, "the admin's answers are not mine", model);
    await onC.request("POST", `/messages/${writersAnswer.assistantMessage.id}/stop`, { token: writer.accessToken });

    const stream = await openAnswerStream(asServer(onB), adminToken, onFirst.assistantMessage.id);
    await stream.waitFor((event) => event.event === "text-delta");
    const deleted = await onB.request("DELETE", `/conversations/${first.id}`, { token: adminToken });
    assert.equal(deleted.status, 204);
    // A stops calling the provider for the answer that is gone (its question ends at word299; the second's at word300)
    const firstRequest = chatRequests(fakes, "anthropic").find((entry) => {
      const body = JSON.stringify(entry.body);
      return body.includes("word299") && !body.includes("word300");
    });
    assert.ok(firstRequest, "the first answer's provider request");
    await fakes.anthropic.waitForRequest((entry) => entry === firstRequest && entry.clientClosed, 5000);
    assert.equal((await onC.request("GET", `/messages/${onFirst.assistantMessage.id}`, { token: adminToken })).status, 404);

    // the second answer is still being written: stop it so the next tests start clean
    const [secondAnswer] = (await onA.request("GET", `/conversations/${second.id}`, { token: adminToken })).body.messages.slice(-1);
    await onA.request("POST", `/messages/${secondAnswer.id}/stop`, { token: adminToken });
    fakes.anthropic.setTokenDelayMs(0);
  });

  it("a session ended on one instance ends on all, at once; sign-in limits count across instances", async function () {
    const [onA, onB, onC] = direct as [ApiClient, ApiClient, ApiClient];
    await registerUser(onA, "member");
    const session = (await onB.request("POST", "/auth/sign-in", { body: { name: "member", password: "correct horse battery" } })).body;
    // every instance has the session cached as open
    for (const client of direct) assert.equal((await client.request("GET", "/conversations", { token: session.accessToken })).status, 200);
    const signedOut = await onA.request("POST", "/auth/sign-out", { body: { refreshToken: session.refreshToken } });
    assert.equal(signedOut.status, 204);
    for (const client of [onB, onC]) {
      const refused = await waitForStatus(() => client.request("GET", "/conversations", { token: session.accessToken }), 401);
      assert.equal(refused.body.error.code, "unauthenticated");
    }

    // AUTH_RATE_LIMIT_PER_MINUTE=4 failed checks per address, counted in PostgreSQL
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const client = direct[attempt % direct.length]!;
      statuses.push((await client.request("POST", "/auth/sign-in", { body: { name: "member", password: "wrong password!" } })).status);
    }
    assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
    assert.deepEqual(statuses.slice(4), [429, 429]);
  });

  it("an admin's change on one instance is seen by the others at once (team settings, a disabled account's answer)", async function () {
    const [onA, onB, onC] = direct as [ApiClient, ApiClient, ApiClient];
    assert.equal((await onB.request("GET", "/meta")).body.registration, "open");
    const changed = await onA.request("PATCH", "/admin/settings", { token: adminToken, body: { registration: "approval" } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await waitForValue(async () => (await onB.request("GET", "/meta")).body.registration, "approval");
    await onA.request("PATCH", "/admin/settings", { token: adminToken, body: { registration: "open" } });

    // an account disabled on B: its answer being written on A stops now, partial text kept
    fakes.anthropic.setTokenDelayMs(30);
    const conversation = await createConversation(asServer(onA), writer.accessToken);
    const sent = await send(asServer(onA), writer.accessToken, conversation.id, longMessage(300), model);
    const stream = await openAnswerStream(asServer(onC), writer.accessToken, sent.assistantMessage.id);
    await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 3);
    const disabled = await onB.request("PATCH", `/admin/users/${writer.user.id}`, { token: adminToken, body: { status: "disabled" } });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    const terminal = await stream.waitFor((event) => event.event === "generation-error", 3_000);
    assert.equal(terminal.data.message.status, "interrupted");
    assert.equal(terminal.data.error.code, "account_disabled");
    assert.ok(terminal.data.message.content.length > 0);
    fakes.anthropic.setTokenDelayMs(0);
  });

  it("an instance whose listening connection is cut reconnects, and streams and invalidations reach it again", async function () {
    const [onA, onB] = direct as [ApiClient, ApiClient, ApiClient];
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const listening = listeningConnections();
      const cut = await admin.query(`SELECT pg_terminate_backend(pid) ${listening}`);
      assert.equal(cut.rowCount, instances.length, "one listening connection per instance");
      await waitForValue(
        async () => (await admin.query(`SELECT count(*)::int AS count ${listening}`)).rows[0].count,
        instances.length,
        10_000,
      );
    } finally {
      await admin.end();
    }
    fakes.anthropic.setTokenDelayMs(5);
    const conversation = await createConversation(asServer(onA), adminToken);
    const sent = await send(asServer(onA), adminToken, conversation.id, longMessage(40), model);
    const [onAStream, onBStream] = await Promise.all([
      waitForAnswer(asServer(onA), adminToken, sent.assistantMessage.id),
      waitForAnswer(asServer(onB), adminToken, sent.assistantMessage.id),
    ]);
    assert.deepEqual(onBStream.events, onAStream.events);
    fakes.anthropic.setTokenDelayMs(0);

    assert.equal((await onB.request("GET", "/meta")).body.registration, "open");
    await onA.request("PATCH", "/admin/settings", { token: adminToken, body: { registration: "closed" } });
    await waitForValue(async () => (await onB.request("GET", "/meta")).body.registration, "closed");
    await onA.request("PATCH", "/admin/settings", { token: adminToken, body: { registration: "open" } });
  });

  it("an instance whose listening connection goes silent (its server process frozen) replaces it, and stops and invalidations reach it again", async function () {
    // the backends are processes of this machine only with the embedded PostgreSQL
    if (process.env.TEST_DATABASE_URL) this.skip();
    const [onA, onB, onC] = direct as [ApiClient, ApiClient, ApiClient];
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    const listening = listeningConnections();
    const frozen: number[] = (await admin.query(`SELECT pid ${listening}`)).rows.map((row: { pid: number }) => row.pid);
    assert.equal(frozen.length, instances.length, "one listening connection per instance");
    try {
      // the connections stay open and say nothing: no error ever reaches the instances
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
      await waitForValue(
        async () => (await admin.query(`SELECT count(*)::int AS count ${listening} AND NOT (pid = ANY($1))`, [frozen])).rows[0].count,
        instances.length,
        15_000,
      );
    } finally {
      for (const pid of frozen) process.kill(pid, "SIGCONT");
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1)", [frozen]);
      await admin.end();
    }

    // a stop asked on B reaches A, the writer, through its new connection
    fakes.anthropic.setTokenDelayMs(30);
    const conversation = await createConversation(asServer(onA), adminToken);
    const sent = await send(asServer(onA), adminToken, conversation.id, longMessage(200), model);
    const stream = await openAnswerStream(asServer(onC), adminToken, sent.assistantMessage.id);
    await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 3);
    const stopped = await onB.request("POST", `/messages/${sent.assistantMessage.id}/stop`, { token: adminToken });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(stopped.body.message.status, "stopped");
    await stream.ended;
    assert.equal(stream.events.at(-1)!.event, "generation-end");
    fakes.anthropic.setTokenDelayMs(0);

    assert.equal((await onB.request("GET", "/meta")).body.registration, "open");
    await onA.request("PATCH", "/admin/settings", { token: adminToken, body: { registration: "closed" } });
    await waitForValue(async () => (await onB.request("GET", "/meta")).body.registration, "closed");
    await onA.request("PATCH", "/admin/settings", { token: adminToken, body: { registration: "open" } });
  });

  it("when the instance writing an answer stops gracefully (a rolling restart), a stream on another instance gets its end with all its text", async function () {
    const leaving = instances[1]!;
    const [onA, onLeaving] = direct as [ApiClient, ApiClient, ApiClient];
    fakes.anthropic.setTokenDelayMs(40);
    const conversation = await createConversation(asServer(onA), adminToken);
    const sent = await send(asServer(onLeaving), adminToken, conversation.id, longMessage(300), model);
    const answerId = sent.assistantMessage.id as string;
    const stream = await openAnswerStream(asServer(onA), adminToken, answerId);
    await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 5);

    await leaving.stop();
    // the leaving instance wrote the end before it exited: no wait for its heartbeat to go stale
    const terminal = await stream.waitFor((event) => event.event === "generation-error", 2_500);
    const message = messageSchema.parse(terminal.data.message);
    assert.equal(message.status, "interrupted");
    assert.equal(message.error?.code, "server_shutting_down");
    assert.equal(message.content, textOfDeltas(stream.events));
    assert.ok(message.content.length > 0);
    await stream.ended;
    assert.deepEqual(await getMessage(asServer(onA), adminToken, answerId), message);
    fakes.anthropic.setTokenDelayMs(0);
  });

  it("when the instance writing an answer is killed, another ends it as interrupted with its partial text, and the stream resumes through the proxy", async function () {
    const victim = instances[2]!;
    const onVictim = direct[2]!;
    fakes.anthropic.setTokenDelayMs(40);
    const conversation = await createConversation(asServer(balanced), adminToken);
    const sent = await send(asServer(onVictim), adminToken, conversation.id, longMessage(300), model);
    const answerId = sent.assistantMessage.id as string;
    const stream = await openSse(`${onVictim.url}/api/v1/messages/${answerId}/stream`, { token: adminToken });
    const howItEnded = stream.ended.then(
      () => "ended",
      () => "cut",
    );
    await stream.waitFor((event) => event.event === "text-delta" && Number(event.id) >= 10);
    // killed once what the client saw is in the database (a survivor following the answer has seen
    // it too), between two tokens: an instance hands an event to its own streams as it writes it to
    // the database, so a delta seen in the last instant before a SIGKILL can be missing from the
    // stored text — a window of a millisecond or two, which this test is not about
    const onSurvivor = await openSse(`${direct[0]!.url}/api/v1/messages/${answerId}/stream`, { token: adminToken });
    await onSurvivor.waitFor((event) => Number(event.id) >= Number(stream.events.at(-1)!.id));
    await victim.kill();
    onSurvivor.close();
    // the connection is cut without a terminal event
    assert.equal(await howItEnded, "cut");
    const seen = [...stream.events];
    assert.equal(seen.at(-1)!.event, "text-delta");
    const lastSeen = Number(seen.at(-1)!.id);

    // the client reconnects through the load balancer, which skips the dead instance
    const resumed = await openSse(`${proxy.url}/api/v1/messages/${answerId}/stream`, { token: adminToken, lastEventId: lastSeen });
    assert.equal(resumed.status, 200);
    const startedWaiting = Date.now();
    await resumed.ended;
    const terminal = resumed.events.at(-1)!;
    assert.equal(terminal.event, "generation-error", JSON.stringify(terminal));
    assert.ok(Date.now() - startedWaiting < 15_000, "ended within seconds");
    const message = messageSchema.parse(terminal.data.message);
    assert.equal(message.status, "interrupted");
    assert.equal(message.error?.code, "server_shutting_down");
    // every published delta is in the stored text, in order, and nothing the client saw is lost
    const allDeltas: SseMessage[] = [...seen, ...resumed.events].filter((event) => event.event === "text-delta");
    assert.equal(message.content, textOfDeltas(allDeltas));
    assert.ok(message.content.startsWith(textOfDeltas(seen)));
    assert.ok(message.content.length > 0);
    assert.deepEqual(await getMessage(asServer(balanced), adminToken, answerId), message);

    // the conversation goes on through the survivors
    fakes.anthropic.setTokenDelayMs(0);
    const next = await send(asServer(balanced), adminToken, conversation.id, "please finish", model);
    assert.equal((await waitForAnswer(asServer(balanced), adminToken, next.assistantMessage.id)).message.status, "complete");
  });
});

/** The rows of pg_stat_activity for the instances' listening connections to this test's database (each instance has one). */
function listeningConnections(): string {
  // this database only: in npm test every suite's servers share one PostgreSQL
  return `FROM pg_stat_activity WHERE datname = current_database() AND application_name = '${NOTIFICATION_CONNECTION_NAME}'`;
}

/** Repeats a request until it answers `status`, for less than the 2 s the caches would keep an old answer without the notification. */
async function waitForStatus<T extends { status: number }>(request: () => Promise<T>, status: number, timeoutMs = 1_500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await request();
    if (response.status === status || Date.now() > deadline) {
      assert.equal(response.status, status);
      return response;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitForValue<T>(read: () => Promise<T>, expected: T, timeoutMs = 1_500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value === expected || Date.now() > deadline) {
      assert.equal(value, expected);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
