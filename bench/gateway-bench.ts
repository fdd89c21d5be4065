import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ProviderKind } from "../protocol/http/providers";
import { startFakeProvidersProcess, type FakeProvidersProcess } from "./fake-providers-process";
import { formatMs, percentile } from "./statistics";
import { prepareTeamServer, readStartCommand, startTeamServerProcess, type TeamServerProcess } from "./team-server-process";

/**
 * Gateway benchmark: `POST /openai/v1/chat/completions` (streamed) through the team server vs the
 * same answer asked straight of the same fake provider, in the provider's own format. The server
 * runs as `npm start` leaves it, the fakes in a process of their own, this process is the client.
 *
 * Added time to first token = through the gateway minus direct, each request paired with a direct
 * one sent just before it. Second method: when the fake received each request (its own clock,
 * sub-millisecond, same machine), from the moment the client sent it — the gateway's request path
 * alone, without the answer's way back.
 */

const SEQUENTIAL_REQUESTS = 300;
const WARM_UP_PAIRS = 30;
const CONCURRENT_STREAMS = 50;
const THROUGHPUT_ROUNDS = 4;
const FAKE_KEYS = { anthropic: "fake-anthropic-key", groq: "fake-groq-key" };
const PROMPT = "Summarise the benefits of keyset pagination in two sentences.";
/** The answer of the throughput runs: about 450 tokens streamed as fast as each side can. */
const LONG_ANSWER = Array.from({ length: 450 }, (_unused, index) => `token${index}`).join(" ");

interface Timing {
  firstTokenMs: number;
  totalMs: number;
  /** Client send → the fake had the whole request (second method). */
  sendToProviderMs: number;
}

export interface GatewayBenchResult {
  startScript: string;
  sequential: Array<{ provider: ProviderKind; model: string; direct: Timing[]; gateway: Timing[] }>;
  concurrent: Array<{
    provider: ProviderKind;
    direct: { firstTokenMs: number[]; wallMs: number; completed: number };
    gateway: { firstTokenMs: number[]; wallMs: number; completed: number };
  }>;
  throughput: Array<{
    provider: ProviderKind;
    directStreamsPerSecond: number;
    gatewayStreamsPerSecond: number;
    deltasPerStream: number;
    /** CPU time per stream: the fake's (direct), and the fake's and the server's (through the gateway). */
    cpuMsPerStream: { directFake: number; gatewayFake: number; gatewayServer: number };
  }>;
}

/** User + system CPU time a process has used so far (Linux /proc; clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const firstTokenPatterns: Record<ProviderKind | "gateway", RegExp> = {
  anthropic: /"type":"text_delta"/,
  groq: /"delta":\{[^}]*"content":"[^"]/,
  ollama: /"content":"[^"]/,
  gateway: /"content":"[^"]/,
};

/** The request the server's adapter makes, sent straight to the fake. */
function directRequest(fakes: FakeProvidersProcess, provider: ProviderKind, model: string): { url: string; init: RequestInit } {
  const messages = [{ role: "user", content: PROMPT }];
  const requests: Record<ProviderKind, { path: string; headers: Record<string, string>; body: unknown }> = {
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
    ollama: { path: "/api/chat", headers: {}, body: { model, messages, stream: true, options: { num_predict: 1024 } } },
  };
  const { path: requestPath, headers, body } = requests[provider];
  return {
    url: `${fakes[provider].url}${requestPath}`,
    init: { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) },
  };
}

function gatewayRequest(server: TeamServerProcess, apiKey: string, modelId: string): { url: string; init: RequestInit } {
  return {
    url: `${server.url}/openai/v1/chat/completions`,
    init: {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: modelId, messages: [{ role: "user", content: PROMPT }], stream: true, max_tokens: 1024 }),
    },
  };
}

/** Sends one streamed request and reads it to the end: time to the first text, and to the end. */
async function timeStream(
  request: { url: string; init: RequestInit },
  firstToken: RegExp,
): Promise<{ firstTokenMs: number; totalMs: number; sentAt: number; deltas: number }> {
  const sentAt = performance.timeOrigin + performance.now();
  const started = performance.now();
  const response = await fetch(request.url, request.init);
  if (!response.ok || !response.body) throw new Error(`${request.url}: ${response.status} ${await response.text()}`);
  const decoder = new TextDecoder();
  let seen = "";
  let firstTokenMs = Number.NaN;
  for await (const chunk of response.body) {
    const text = decoder.decode(chunk as Uint8Array, { stream: true });
    if (Number.isNaN(firstTokenMs)) {
      seen += text;
      if (firstToken.test(seen)) firstTokenMs = performance.now() - started;
    } else {
      seen += text;
    }
  }
  const deltas = (seen.match(new RegExp(firstToken.source, "g")) ?? []).length;
  return { firstTokenMs, totalMs: performance.now() - started, sentAt, deltas };
}

/** When the fake received the newest request on `path` (its precise clock). */
async function lastReceivedAt(fakes: FakeProvidersProcess, provider: ProviderKind): Promise<number> {
  const response = await fetch(`${fakes[provider].url}/__control/requests`);
  const { requests } = (await response.json()) as { requests: Array<{ method: string; receivedAtPreciseMs: number }> };
  const posts = requests.filter((entry) => entry.method === "POST");
  return posts[posts.length - 1]?.receivedAtPreciseMs ?? Number.NaN;
}

async function control(fakes: FakeProvidersProcess, provider: ProviderKind, path: "reset" | "settings", body: unknown = {}): Promise<void> {
  const response = await fetch(`${fakes[provider].url}/__control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`fake ${provider} ${path}: ${response.status} ${await response.text()}`);
}

async function call(server: TeamServerProcess, token: string, method: string, apiPath: string, body?: unknown): Promise<any> {
  const response = await fetch(`${server.url}/api/v1${apiPath}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function setUp(server: TeamServerProcess): Promise<{ apiKey: string; models: Record<ProviderKind, string> }> {
  // registering answers the same whatever happened; signing in gives the session
  await call(server, "", "POST", "/auth/register", { name: "bench-admin", password: "bench password 1" });
  const session = await call(server, "", "POST", "/auth/sign-in", { name: "bench-admin", password: "bench password 1" });
  const token: string = session.accessToken;
  const models = {} as Record<ProviderKind, string>;
  for (const provider of ["anthropic", "groq", "ollama"] as const) {
    const refreshed = await call(server, token, "POST", `/admin/providers/${provider}/refresh-models`, {});
    const ids: string[] = refreshed.models
      .filter((model: { isAvailable: boolean }) => model.isAvailable)
      .map((model: { id: string }) => model.id);
    await call(server, token, "PATCH", "/admin/models", { changes: ids.map((id) => ({ id, isVisible: true })) });
    models[provider] = provider === "ollama" ? (ids.find((id) => id.includes("llama3.2")) as string) : (ids[0] as string);
  }
  const created = await call(server, token, "POST", "/me/api-keys", { name: "bench" });
  return { apiKey: created.key, models };
}

function serverEnvironment(fakes: FakeProvidersProcess, dataDirectory: string): Record<string, string> {
  return {
    DATA_DIR: dataDirectory,
    ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
    ANTHROPIC_BASE_URL: fakes.anthropic.url,
    GROQ_API_KEY: FAKE_KEYS.groq,
    GROQ_BASE_URL: fakes.groq.url,
    OLLAMA_BASE_URL: fakes.ollama.url,
    AUTH_RATE_LIMIT_PER_MINUTE: "10000",
    CATALOG_REFRESH_MINUTES: "0",
  };
}

export async function runGatewayBench(log: (line: string) => void): Promise<GatewayBenchResult> {
  const command = readStartCommand();
  log(`building the server the way npm start does (${command.script})…`);
  prepareTeamServer(command);
  const fakes = await startFakeProvidersProcess();
  const dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-gateway-bench-"));
  const server = await startTeamServerProcess(serverEnvironment(fakes, dataDirectory), [], command);
  try {
    const { apiKey, models } = await setUp(server);
    const providers = ["anthropic", "groq", "ollama"] as const;

    const sequential: GatewayBenchResult["sequential"] = [];
    for (const provider of providers) {
      const modelId = models[provider];
      const name = modelId.slice(provider.length + 1);
      log(`sequential, ${provider}: ${SEQUENTIAL_REQUESTS} pairs (direct, then through the gateway)…`);
      const direct: Timing[] = [];
      const gateway: Timing[] = [];
      for (let index = 0; index < WARM_UP_PAIRS + SEQUENTIAL_REQUESTS; index += 1) {
        if (index % 100 === 0) await control(fakes, provider, "reset");
        const directTiming = await timeStream(directRequest(fakes, provider, name), firstTokenPatterns[provider]);
        const directReceived = await lastReceivedAt(fakes, provider);
        const gatewayTiming = await timeStream(gatewayRequest(server, apiKey, modelId), firstTokenPatterns.gateway);
        const gatewayReceived = await lastReceivedAt(fakes, provider);
        if (index < WARM_UP_PAIRS) continue;
        direct.push({
          firstTokenMs: directTiming.firstTokenMs,
          totalMs: directTiming.totalMs,
          sendToProviderMs: directReceived - directTiming.sentAt,
        });
        gateway.push({
          firstTokenMs: gatewayTiming.firstTokenMs,
          totalMs: gatewayTiming.totalMs,
          sendToProviderMs: gatewayReceived - gatewayTiming.sentAt,
        });
      }
      sequential.push({ provider, model: modelId, direct, gateway });
    }

    const concurrent: GatewayBenchResult["concurrent"] = [];
    for (const provider of providers) {
      const modelId = models[provider];
      const name = modelId.slice(provider.length + 1);
      log(`${CONCURRENT_STREAMS} concurrent streams, ${provider} (10 ms per token)…`);
      await control(fakes, provider, "reset");
      await fakes[provider].setTokenDelayMs(10);
      const run = async (request: () => { url: string; init: RequestInit }, pattern: RegExp) => {
        const started = performance.now();
        const results = await Promise.allSettled(Array.from({ length: CONCURRENT_STREAMS }, () => timeStream(request(), pattern)));
        const wallMs = performance.now() - started;
        const fulfilled = results.filter(
          (result): result is PromiseFulfilledResult<Awaited<ReturnType<typeof timeStream>>> => result.status === "fulfilled",
        );
        return { firstTokenMs: fulfilled.map((result) => result.value.firstTokenMs), wallMs, completed: fulfilled.length };
      };
      const direct = await run(() => directRequest(fakes, provider, name), firstTokenPatterns[provider]);
      const gateway = await run(() => gatewayRequest(server, apiKey, modelId), firstTokenPatterns.gateway);
      await fakes[provider].setTokenDelayMs(0);
      concurrent.push({ provider, direct, gateway });
    }

    const throughput: GatewayBenchResult["throughput"] = [];
    for (const provider of providers) {
      const modelId = models[provider];
      const name = modelId.slice(provider.length + 1);
      log(
        `throughput, ${provider}: ${CONCURRENT_STREAMS} concurrent streams of a long answer, no token delay, ${THROUGHPUT_ROUNDS} rounds each way…`,
      );
      await control(fakes, provider, "reset");
      await control(fakes, provider, "settings", { reply: { text: LONG_ANSWER } });
      const measure = async (request: () => { url: string; init: RequestInit }, pattern: RegExp) => {
        let streams = 0;
        let deltas = 0;
        const cpuBefore = { fake: cpuMsOf(fakes.pid), server: server.cpuMs() };
        const started = performance.now();
        for (let round = 0; round < THROUGHPUT_ROUNDS; round += 1) {
          const results = await Promise.all(Array.from({ length: CONCURRENT_STREAMS }, () => timeStream(request(), pattern)));
          streams += results.length;
          deltas += results.reduce((total, result) => total + result.deltas, 0);
        }
        return {
          streamsPerSecond: streams / ((performance.now() - started) / 1000),
          deltasPerStream: deltas / streams,
          fakeCpuMsPerStream: (cpuMsOf(fakes.pid) - cpuBefore.fake) / streams,
          serverCpuMsPerStream: (server.cpuMs() - cpuBefore.server) / streams,
        };
      };
      // alternate the order, so a warmer second run does not favour one side
      const directFirst = await measure(() => directRequest(fakes, provider, name), firstTokenPatterns[provider]);
      const gatewayRun = await measure(() => gatewayRequest(server, apiKey, modelId), firstTokenPatterns.gateway);
      const directAgain = await measure(() => directRequest(fakes, provider, name), firstTokenPatterns[provider]);
      await control(fakes, provider, "settings", { reply: "echo" });
      throughput.push({
        provider,
        directStreamsPerSecond: (directFirst.streamsPerSecond + directAgain.streamsPerSecond) / 2,
        gatewayStreamsPerSecond: gatewayRun.streamsPerSecond,
        deltasPerStream: gatewayRun.deltasPerStream,
        cpuMsPerStream: {
          directFake: (directFirst.fakeCpuMsPerStream + directAgain.fakeCpuMsPerStream) / 2,
          gatewayFake: gatewayRun.fakeCpuMsPerStream,
          gatewayServer: gatewayRun.serverCpuMsPerStream,
        },
      });
    }
    return { startScript: command.script, sequential, concurrent, throughput };
  } finally {
    await server.stop();
    await fakes.close();
    fs.rmSync(dataDirectory, { recursive: true, force: true });
  }
}

export function formatGatewayBench(result: GatewayBenchResult): string {
  const lines: string[] = [];
  lines.push("## Gateway", "");
  lines.push(
    `The server runs as \`npm start\` leaves it (\`${result.startScript}\`), the fake providers in a process of their own, this process is the client. Streamed \`POST /openai/v1/chat/completions\` through the gateway vs the same answer asked straight of the same fake in its own format (Anthropic Messages, Groq chat completions, Ollama /api/chat).`,
    "",
    `Sequential: ${SEQUENTIAL_REQUESTS} pairs per provider after ${WARM_UP_PAIRS} warm-up pairs, each gateway request right after its direct twin; zero token delay. "Added" is the median (p50) and p99 of the per-pair differences. Second method: client send → the fake has the whole request, on the fake's own sub-millisecond clock (the gateway's request path alone). Times in ms.`,
    "",
  );
  lines.push(
    "| provider | direct TTFT p50 / p99 | gateway TTFT p50 / p99 | added TTFT p50 (target ≤ 1 ms) | added TTFT p99 (target ≤ 5 ms) | second method: added send → provider p50 / p99 | direct / gateway total p50 |",
    "|---|---|---|---|---|---|---|",
  );
  for (const { provider, direct, gateway } of result.sequential) {
    const differences = gateway.map((timing, index) => timing.firstTokenMs - direct[index]!.firstTokenMs);
    const pathDifferences = gateway.map((timing, index) => timing.sendToProviderMs - direct[index]!.sendToProviderMs);
    const directFirst = direct.map((timing) => timing.firstTokenMs);
    const gatewayFirst = gateway.map((timing) => timing.firstTokenMs);
    lines.push(
      `| ${provider} | ${formatMs(percentile(directFirst, 0.5))} / ${formatMs(percentile(directFirst, 0.99))} | ${formatMs(percentile(gatewayFirst, 0.5))} / ${formatMs(percentile(gatewayFirst, 0.99))} | ${formatMs(percentile(differences, 0.5))} | ${formatMs(percentile(differences, 0.99))} | ${formatMs(percentile(pathDifferences, 0.5))} / ${formatMs(percentile(pathDifferences, 0.99))} | ${formatMs(
        percentile(
          direct.map((timing) => timing.totalMs),
          0.5,
        ),
      )} / ${formatMs(
        percentile(
          gateway.map((timing) => timing.totalMs),
          0.5,
        ),
      )} |`,
    );
  }
  lines.push(
    "",
    `${CONCURRENT_STREAMS} concurrent streams (10 ms per token at the fake): time to first token across the ${CONCURRENT_STREAMS} and the wall time until all ended. Times in ms.`,
    "",
  );
  lines.push(
    "| provider | direct TTFT p50 / p99 | gateway TTFT p50 / p99 | added TTFT p50 / p99 | direct / gateway wall | completed |",
    "|---|---|---|---|---|---|",
  );
  for (const { provider, direct, gateway } of result.concurrent) {
    lines.push(
      `| ${provider} | ${formatMs(percentile(direct.firstTokenMs, 0.5))} / ${formatMs(percentile(direct.firstTokenMs, 0.99))} | ${formatMs(percentile(gateway.firstTokenMs, 0.5))} / ${formatMs(percentile(gateway.firstTokenMs, 0.99))} | ${formatMs(percentile(gateway.firstTokenMs, 0.5) - percentile(direct.firstTokenMs, 0.5))} / ${formatMs(percentile(gateway.firstTokenMs, 0.99) - percentile(direct.firstTokenMs, 0.99))} | ${formatMs(direct.wallMs)} / ${formatMs(gateway.wallMs)} | ${direct.completed} / ${gateway.completed} |`,
    );
  }
  lines.push(
    "",
    `Throughput: ${CONCURRENT_STREAMS} concurrent streams of a ${LONG_ANSWER.split(" ").length}-word answer with no token delay, ${THROUGHPUT_ROUNDS} rounds; direct measured before and after the gateway and averaged.`,
    "",
  );
  lines.push(
    "| provider | direct streams/s | gateway streams/s | gateway / direct (target ≥ 0.5×) | deltas per stream | CPU ms per stream: fake (direct) · fake + server (gateway) |",
    "|---|---|---|---|---|---|",
  );
  for (const entry of result.throughput) {
    const cpu = entry.cpuMsPerStream;
    lines.push(
      `| ${entry.provider} | ${entry.directStreamsPerSecond.toFixed(1)} | ${entry.gatewayStreamsPerSecond.toFixed(1)} | ${(entry.gatewayStreamsPerSecond / entry.directStreamsPerSecond).toFixed(2)}× | ${entry.deltasPerStream.toFixed(0)} | ${formatMs(cpu.directFake)} · ${formatMs(cpu.gatewayFake)} + ${formatMs(cpu.gatewayServer)} |`,
    );
  }
  return lines.join("\n");
}
