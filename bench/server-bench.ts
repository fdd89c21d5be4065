import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ProviderKind } from "../protocol/http/providers";
import { openSse, type SseConnection } from "../tools/harness/sse-client";
import { startFakeProvidersProcess, type FakeProvidersProcess } from "./fake-providers-process";
import { formatMs, percentile } from "./statistics";
import { prepareTeamServer, readStartCommand, startTeamServerProcess, type TeamServerProcess } from "./team-server-process";

/**
 * Team-server benchmark: the server runs as its own process (`npm start`'s command) against the
 * local fake providers, which run in a third process; this process is only the client. Added time
 * to first token = through the server minus the same request sent straight to the same fake.
 */

const REQUESTS_PER_PROVIDER = 300;
const CONCURRENT_STREAMS = 100;
const CONVERSATIONS_FOR_LIST = 1000;
/** The throughput measure: this many answers at a time, zero token delay. */
const THROUGHPUT_CONCURRENCY = 50;
const THROUGHPUT_STREAMS = 1000;
/** Streams open at once on one instance (spread over accounts: one account may write at most 100 answers at a time). */
const OPEN_STREAMS = 1000;
const OPEN_STREAM_ACCOUNTS = 10;
const FAKE_KEYS = { anthropic: "fake-anthropic-key", groq: "fake-groq-key" };
const PROMPT = "Summarise the benefits of keyset pagination in two sentences.";

export interface Timing {
  firstTokenMs: number;
  totalMs: number;
}

export interface ServerBenchResult {
  startScript: string;
  buildMs: number;
  providers: Array<{ provider: ProviderKind; model: string; direct: Timing[]; throughServer: Timing[] }>;
  concurrent: {
    streams: number;
    completed: number;
    wallMs: number;
    firstTokenMs: number[];
    peakRssBytes: number;
    /** CPU time each process used during the streams. */
    cpuMs: { server: number; fakes: number; client: number };
  };
  throughput: ThroughputResult;
  openStreams: { streams: number; completed: number; maxOpenAtOnce: number; wallMs: number; peakRssBytes: number };
  startup: { coldMs: number; warmMs: number };
  /** 1 s after the "listening" line, before any request. */
  startRssBytes: number;
  /** 1 s after set-up (an account, every provider's models refreshed: all three SDKs loaded). */
  idleRssBytes: number;
  list: { conversations: number; firstPageMs: number[]; allPagesMs: number };
}

function cpuMsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export class ApiClient {
  token = "";
  constructor(readonly url: string) {}
  async call(method: string, apiPath: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.url}/api/v1${apiPath}`, {
      method,
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}

const firstTokenPatterns: Record<ProviderKind, RegExp> = {
  anthropic: /"type":"text_delta"/,
  groq: /"delta":\{[^}]*"content":"[^"]/,
  ollama: /"content":"[^"]/,
};

/** The request the server's adapter makes, sent straight to the fake with fetch. */
export async function directRequest(fakes: FakeProvidersProcess, provider: ProviderKind, model: string): Promise<Timing> {
  const messages = [{ role: "user", content: PROMPT }];
  const request: Record<ProviderKind, { path: string; headers: Record<string, string>; body: unknown }> = {
    anthropic: {
      path: "/v1/messages",
      headers: { "x-api-key": FAKE_KEYS.anthropic, "anthropic-version": "2023-06-01" },
      body: { model, max_tokens: 1024, messages, stream: true },
    },
    groq: {
      path: "/openai/v1/chat/completions",
      headers: { authorization: `Bearer ${FAKE_KEYS.groq}` },
      body: { model, messages, stream: true, max_completion_tokens: 1024 },
    },
    ollama: { path: "/api/chat", headers: {}, body: { model, messages, stream: true } },
  };
  const { path: requestPath, headers, body } = request[provider];
  const started = performance.now();
  const response = await fetch(`${fakes[provider].url}${requestPath}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok || !response.body) throw new Error(`direct ${provider}: ${response.status}`);
  const decoder = new TextDecoder();
  let seen = "";
  let firstTokenMs = Number.NaN;
  for await (const chunk of response.body) {
    if (Number.isNaN(firstTokenMs)) {
      seen += decoder.decode(chunk as Uint8Array, { stream: true });
      if (firstTokenPatterns[provider].test(seen)) firstTokenMs = performance.now() - started;
    }
  }
  return { firstTokenMs, totalMs: performance.now() - started };
}

/** A send as the extension makes it: a POST whose reply is the answer's event stream, its `reply` event first. */
export async function openSendStream(
  client: { url: string; token: string },
  conversationId: string,
  body: { content: string; modelId: string },
): Promise<SseConnection> {
  const stream = await openSse(`${client.url}/api/v1/conversations/${conversationId}/messages`, {
    method: "POST",
    token: client.token,
    headers: { accept: "text/event-stream, application/json" },
    body,
  });
  if (stream.status !== 202 || !(stream.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    throw new Error(`send: ${stream.status} ${JSON.stringify(stream.errorBody).slice(0, 500)}`);
  }
  return stream;
}

/** Press "send" as the extension does and read the answer to its end (in a new conversation unless one is given). */
export async function sendThroughServer(client: ApiClient, model: string, givenConversationId?: string): Promise<Timing> {
  const conversationId: string = givenConversationId ?? (await client.call("POST", "/conversations", {})).conversation.id;
  const started = performance.now();
  const stream = await openSendStream(client, conversationId, { content: PROMPT, modelId: model });
  await stream.waitFor((message) => message.event === "text-delta", 30_000);
  const firstTokenMs = performance.now() - started;
  await stream.ended;
  const last = stream.events.at(-1);
  if (last?.event !== "generation-end") throw new Error(`stream ended with ${last?.event}: ${JSON.stringify(last?.data)}`);
  return { firstTokenMs, totalMs: performance.now() - started };
}

export async function setUp(server: TeamServerProcess): Promise<{ client: ApiClient; models: Record<ProviderKind, string> }> {
  const client = new ApiClient(server.url);
  // registering answers the same whatever happened; signing in gives the session
  await client.call("POST", "/auth/register", { name: "bench-admin", password: "bench password 1" });
  client.token = (await client.call("POST", "/auth/sign-in", { name: "bench-admin", password: "bench password 1" })).accessToken;
  const models = {} as Record<ProviderKind, string>;
  for (const provider of ["anthropic", "groq", "ollama"] as const) {
    const refreshed = await client.call("POST", `/admin/providers/${provider}/refresh-models`, {});
    const ids: string[] = refreshed.models
      .filter((model: { isAvailable: boolean }) => model.isAvailable)
      .map((model: { id: string }) => model.id);
    await client.call("PATCH", "/admin/models", { changes: ids.map((id) => ({ id, isVisible: true })) });
    models[provider] = ids[0] as string;
  }
  return { client, models };
}

export function serverEnvironment(fakes: FakeProvidersProcess, dataDirectory: string): Record<string, string> {
  return {
    DATA_DIR: dataDirectory,
    ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
    ANTHROPIC_BASE_URL: fakes.anthropic.url,
    GROQ_API_KEY: FAKE_KEYS.groq,
    GROQ_BASE_URL: fakes.groq.url,
    OLLAMA_BASE_URL: fakes.ollama.url,
    AUTH_RATE_LIMIT_PER_MINUTE: "10000",
    CATALOG_REFRESH_MINUTES: "0",
    // the concurrent streams all come from the bench's one account: the per-member cap would refuse them
    MAX_PARALLEL_ANSWERS_PER_USER: String(CONCURRENT_STREAMS),
  };
}

export interface ThroughputResult {
  concurrency: number;
  streams: number;
  direct: { wallMs: number };
  server: { wallMs: number; completed: number; firstTokenMs: number[]; cpuMs: number };
}

/** Runs `total` tasks, `concurrency` at a time. */
async function runConcurrently(total: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

/**
 * Throughput: `streams` answers, `concurrency` at a time, through the server (POST, then read the
 * SSE stream to its end; the conversations are made beforehand) and straight to the same fake with
 * zero token delay. Server CPU is read from /proc for the server process alone.
 */
export async function measureThroughput(
  clients: ApiClient[],
  fakes: FakeProvidersProcess,
  serverPids: number[],
  model: string,
  options: { concurrency: number; streams: number },
): Promise<ThroughputResult> {
  const { concurrency, streams } = options;
  const name = model.slice(model.indexOf(":") + 1);
  const directStarted = performance.now();
  await runConcurrently(streams, concurrency, async () => {
    await directRequest(fakes, "anthropic", name);
  });
  const directWallMs = performance.now() - directStarted;

  // answer i goes to clients[i mod n] (a client-side round robin across instances)
  const conversationIds: string[] = [];
  for (let index = 0; index < streams; index += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, streams - index) }, (_, offset) =>
        clients[(index + offset) % clients.length]!.call("POST", "/conversations", {}),
      ),
    );
    conversationIds.push(...batch.map((response: { conversation: { id: string } }) => response.conversation.id));
  }
  const serverCpuMs = () => serverPids.reduce((total, pid) => total + cpuMsOf(pid), 0);
  const firstTokenMs: number[] = [];
  let completed = 0;
  const cpuBefore = serverCpuMs();
  const started = performance.now();
  await runConcurrently(streams, concurrency, async (index) => {
    try {
      const timing = await sendThroughServer(clients[index % clients.length]!, model, conversationIds[index]);
      firstTokenMs.push(timing.firstTokenMs);
      completed += 1;
    } catch {
      // counted as not completed
    }
  });
  const wallMs = performance.now() - started;
  return {
    concurrency,
    streams,
    direct: { wallMs: directWallMs },
    server: { wallMs, completed, firstTokenMs, cpuMs: serverCpuMs() - cpuBefore },
  };
}

/**
 * OPEN_STREAMS answers sent at once (200 ms per token, so every stream is still open when the last
 * starts), each stream read to its end; the server's peak RSS is sampled meanwhile.
 */
export async function measureOpenStreams(
  server: TeamServerProcess,
  fakes: FakeProvidersProcess,
  model: string,
): Promise<ServerBenchResult["openStreams"]> {
  const perAccount = OPEN_STREAMS / OPEN_STREAM_ACCOUNTS;
  const work: Array<{ client: ApiClient; conversationId: string }> = [];
  for (let account = 0; account < OPEN_STREAM_ACCOUNTS; account += 1) {
    const client = new ApiClient(server.url);
    const name = `bench-open-${account}`;
    await client.call("POST", "/auth/register", { name, password: "bench password 3" });
    client.token = (await client.call("POST", "/auth/sign-in", { name, password: "bench password 3" })).accessToken;
    for (let index = 0; index < perAccount; index += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => client.call("POST", "/conversations", {})));
      work.push(...batch.map((response: { conversation: { id: string } }) => ({ client, conversationId: response.conversation.id })));
    }
  }
  await fakes.anthropic.setTokenDelayMs(200);
  let peakRssBytes = server.rssBytes();
  const sampler = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, server.rssBytes())), 50);
  let open = 0;
  let maxOpenAtOnce = 0;
  const started = performance.now();
  const results = await Promise.allSettled(
    work.map(async ({ client, conversationId }) => {
      const sent = await client.call("POST", `/conversations/${conversationId}/messages`, { content: PROMPT, modelId: model });
      const stream = await openSse(`${client.url}/api/v1/messages/${sent.assistantMessage.id}/stream`, { token: client.token });
      open += 1;
      maxOpenAtOnce = Math.max(maxOpenAtOnce, open);
      try {
        await stream.ended;
      } finally {
        open -= 1;
      }
      const last = stream.events.at(-1);
      if (last?.event !== "generation-end") throw new Error(`stream ended with ${last?.event}`);
    }),
  );
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  await fakes.anthropic.setTokenDelayMs(0);
  const completed = results.filter((result) => result.status === "fulfilled").length;
  return { streams: OPEN_STREAMS, completed, maxOpenAtOnce, wallMs, peakRssBytes };
}

export async function runServerBench(log: (line: string) => void): Promise<ServerBenchResult> {
  const command = readStartCommand();
  log(`building the server the way npm start does (${command.script})…`);
  const buildMs = prepareTeamServer(command);
  const fakes = await startFakeProvidersProcess();
  const dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-bench-"));
  try {
    log("start-up (cold: fresh data folder, migrations)…");
    const cold = await startTeamServerProcess(serverEnvironment(fakes, dataDirectory), [], command);
    await cold.stop();
    const server = await startTeamServerProcess(serverEnvironment(fakes, dataDirectory), [], command);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const startRssBytes = server.rssBytes();
      const { client, models } = await setUp(server);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const idleRssBytes = server.rssBytes();

      const providers: ServerBenchResult["providers"] = [];
      for (const provider of ["anthropic", "groq", "ollama"] as const) {
        const model = models[provider];
        const name = model.slice(provider.length + 1);
        log(`time to first token, ${provider} (${REQUESTS_PER_PROVIDER} requests each way)…`);
        const direct: Timing[] = [];
        const throughServer: Timing[] = [];
        for (let warmUp = 0; warmUp < 20; warmUp += 1) {
          await directRequest(fakes, provider, name);
          await sendThroughServer(client, model);
        }
        for (let index = 0; index < REQUESTS_PER_PROVIDER; index += 1) {
          // alternate so drift (GC, page cache) hits both sides alike
          direct.push(await directRequest(fakes, provider, name));
          throughServer.push(await sendThroughServer(client, model));
        }
        providers.push({ provider, model, direct, throughServer });
      }

      log(`${CONCURRENT_STREAMS} concurrent streams…`);
      await fakes.anthropic.setTokenDelayMs(10);
      let peakRssBytes = server.rssBytes();
      const sampler = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, server.rssBytes())), 50);
      const cpuBefore = { server: server.cpuMs(), fakes: cpuMsOf(fakes.pid), client: process.cpuUsage() };
      const started = performance.now();
      const results = await Promise.allSettled(
        Array.from({ length: CONCURRENT_STREAMS }, () => sendThroughServer(client, models.anthropic)),
      );
      const wallMs = performance.now() - started;
      const clientCpu = process.cpuUsage(cpuBefore.client);
      const cpuMs = {
        server: server.cpuMs() - cpuBefore.server,
        fakes: cpuMsOf(fakes.pid) - cpuBefore.fakes,
        client: (clientCpu.user + clientCpu.system) / 1000,
      };
      clearInterval(sampler);
      await fakes.anthropic.setTokenDelayMs(0);
      const failures = results.filter((result) => result.status === "rejected");
      if (failures.length > 0) log(`${failures.length} streams failed, first: ${String((failures[0] as PromiseRejectedResult).reason)}`);
      const completed = results.filter((result) => result.status === "fulfilled") as Array<PromiseFulfilledResult<Timing>>;

      log(`throughput: ${THROUGHPUT_STREAMS} answers, ${THROUGHPUT_CONCURRENCY} at a time, zero token delay…`);
      await measureThroughput([client], fakes, [server.pid], models.anthropic, { concurrency: THROUGHPUT_CONCURRENCY, streams: 200 });
      const throughput = await measureThroughput([client], fakes, [server.pid], models.anthropic, {
        concurrency: THROUGHPUT_CONCURRENCY,
        streams: THROUGHPUT_STREAMS,
      });

      log(`${OPEN_STREAMS} streams open at once…`);
      const openStreams = await measureOpenStreams(server, fakes, models.anthropic);

      log(`listing conversations with ${CONVERSATIONS_FOR_LIST} of them…`);
      const lister = new ApiClient(server.url);
      await lister.call("POST", "/auth/register", { name: "bench-lister", password: "bench password 2" });
      lister.token = (await lister.call("POST", "/auth/sign-in", { name: "bench-lister", password: "bench password 2" })).accessToken;
      for (let index = 0; index < CONVERSATIONS_FOR_LIST; index += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, offset) => lister.call("POST", "/conversations", { title: `Conversation ${index + offset}` })),
        );
      }
      const firstPageMs: number[] = [];
      for (let run = 0; run < 200; run += 1) {
        const listStarted = performance.now();
        await lister.call("GET", "/conversations?limit=50");
        firstPageMs.push(performance.now() - listStarted);
      }
      const allStarted = performance.now();
      let cursor: string | null = null;
      let count = 0;
      do {
        const page: { conversations: unknown[]; nextCursor: string | null } = await lister.call(
          "GET",
          `/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        count += page.conversations.length;
        cursor = page.nextCursor;
      } while (cursor);
      const allPagesMs = performance.now() - allStarted;
      if (count !== CONVERSATIONS_FOR_LIST) throw new Error(`listed ${count} conversations, expected ${CONVERSATIONS_FOR_LIST}`);

      return {
        startScript: command.script,
        buildMs,
        providers,
        concurrent: {
          streams: CONCURRENT_STREAMS,
          completed: completed.length,
          wallMs,
          firstTokenMs: completed.map((result) => result.value.firstTokenMs),
          peakRssBytes,
          cpuMs,
        },
        throughput,
        openStreams,
        startup: { coldMs: cold.startupMs, warmMs: server.startupMs },
        startRssBytes,
        idleRssBytes,
        list: { conversations: CONVERSATIONS_FOR_LIST, firstPageMs, allPagesMs },
      };
    } finally {
      await server.stop();
    }
  } finally {
    await fakes.close();
    fs.rmSync(dataDirectory, { recursive: true, force: true });
  }
}

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

export function formatServerBench(result: ServerBenchResult): string {
  const lines: string[] = [];
  lines.push("## Team server", "");
  lines.push(
    `The server runs as \`npm start\` leaves it (\`${result.startScript}\`; the build took ${formatMs(result.buildMs)} ms and is not counted in start-up), the fake providers in a process of their own, this process is the client.`,
    "",
    "Time to first token and total stream time, through the server (POST the message as the extension does: its reply is the answer's event stream) vs the same request sent straight to the same fake provider. Zero token delay; 20 warm-up pairs; p50/p95 in ms.",
    "",
  );
  lines.push(
    "| provider | requests | direct TTFT p50 / p95 | server TTFT p50 / p95 | added TTFT p50 (target ≤ 2 ms) | TTFT ratio p50 | direct total p50 | server total p50 | total ratio p50 |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|");
  for (const { provider, direct, throughServer } of result.providers) {
    const directFirst = direct.map((timing) => timing.firstTokenMs);
    const serverFirst = throughServer.map((timing) => timing.firstTokenMs);
    const directTotal = direct.map((timing) => timing.totalMs);
    const serverTotal = throughServer.map((timing) => timing.totalMs);
    const p50 = (values: number[]) => percentile(values, 0.5);
    const p95 = (values: number[]) => percentile(values, 0.95);
    lines.push(
      `| ${provider} | ${direct.length} | ${formatMs(p50(directFirst))} / ${formatMs(p95(directFirst))} | ${formatMs(p50(serverFirst))} / ${formatMs(p95(serverFirst))} | ${formatMs(p50(serverFirst) - p50(directFirst))} | ${(p50(serverFirst) / p50(directFirst)).toFixed(2)}× | ${formatMs(p50(directTotal))} | ${formatMs(p50(serverTotal))} | ${(p50(serverTotal) / p50(directTotal)).toFixed(2)}× |`,
    );
  }
  const { concurrent, startup, list } = result;
  lines.push("");
  lines.push("| measure | value | target |", "|---|---|---|");
  lines.push(`| start-up, cold (fresh data folder, migrations) | ${formatMs(startup.coldMs)} ms | |`);
  lines.push(`| start-up, warm | ${formatMs(startup.warmMs)} ms | |`);
  lines.push(`| RSS idle, 1 s after start | ${megabytes(result.startRssBytes)} | ≤ 80 MB |`);
  lines.push(`| RSS idle, 1 s after set-up (all three SDKs loaded) | ${megabytes(result.idleRssBytes)} | ≤ 80 MB |`);
  lines.push(
    `| ${concurrent.streams} concurrent streams (10 ms per token): completed | ${concurrent.completed} / ${concurrent.streams} in ${formatMs(concurrent.wallMs)} ms | |`,
  );
  lines.push(
    `| ${concurrent.streams} concurrent streams: TTFT p50 / p95 | ${formatMs(percentile(concurrent.firstTokenMs, 0.5))} / ${formatMs(percentile(concurrent.firstTokenMs, 0.95))} ms | |`,
  );
  lines.push(
    `| ${concurrent.streams} concurrent streams: CPU used by server / fakes / client | ${formatMs(concurrent.cpuMs.server)} / ${formatMs(concurrent.cpuMs.fakes)} / ${formatMs(concurrent.cpuMs.client)} ms | |`,
  );
  lines.push(`| RSS peak under ${concurrent.streams} streams | ${megabytes(concurrent.peakRssBytes)} | |`);
  const { throughput, openStreams } = result;
  const directRate = throughput.streams / (throughput.direct.wallMs / 1000);
  const serverRate = throughput.server.completed / (throughput.server.wallMs / 1000);
  lines.push(
    `| throughput, ${throughput.streams} answers ${throughput.concurrency} at a time (zero token delay): direct / through the server | ${directRate.toFixed(0)} / ${serverRate.toFixed(0)} streams/s (${throughput.server.completed} completed) = ${(serverRate / directRate).toFixed(2)}× | ≥ 0.5× |`,
  );
  lines.push(
    `| under that load: TTFT p50 / p95 | ${formatMs(percentile(throughput.server.firstTokenMs, 0.5))} / ${formatMs(percentile(throughput.server.firstTokenMs, 0.95))} ms | p95 ≤ 50 ms |`,
  );
  lines.push(`| under that load: server CPU per answer | ${formatMs(throughput.server.cpuMs / throughput.server.completed)} ms | ≤ 2 ms |`);
  lines.push(
    `| ${openStreams.streams} streams open at once (200 ms per token, ${OPEN_STREAM_ACCOUNTS} accounts): completed | ${openStreams.completed} / ${openStreams.streams} in ${formatMs(openStreams.wallMs)} ms, up to ${openStreams.maxOpenAtOnce} open at once | all |`,
  );
  lines.push(`| RSS peak with ${openStreams.streams} streams open | ${megabytes(openStreams.peakRssBytes)} | ≤ 400 MB |`);
  lines.push(
    `| list conversations, first page of 50 with ${list.conversations}: p50 / p95 | ${formatMs(percentile(list.firstPageMs, 0.5))} / ${formatMs(percentile(list.firstPageMs, 0.95))} ms | ≤ 10 ms (original Juggler: 2,200 ms) |`,
  );
  lines.push(`| list all ${list.conversations} (pages of 200) | ${formatMs(list.allPagesMs)} ms | |`);
  return lines.join("\n");
}
