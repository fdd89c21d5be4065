import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase } from "../server/src/storage/database";
import { buildLongConversation } from "../tools/harness/long-conversation";
import { startFakeProvidersProcess, type FakeProvidersProcess } from "./fake-providers-process";
import { BENCH_WINDOW_MODEL, BENCH_WINDOW_TOKENS } from "./long-conversation-fakes";
import { formatMs, percentile } from "./statistics";
import { prepareTeamServer, readStartCommand, startTeamServerProcess, type TeamServerProcess } from "./team-server-process";
import { openSendStream } from "./server-bench";

/**
 * Long conversations: how a send's cost and memory behave as the branch grows. The team server runs
 * as `npm start` leaves it, the fake providers in a process of their own (zero token delay, every
 * answer "Noted."), this process is the client. Conversations are built through the storage layer
 * (batch inserts into the server's SQLite file) rather than sent message by message.
 *
 * The measure is "send → provider request": from just before the POST of a message to the moment the
 * fake provider has received the request (its own clock; the same machine, so Date.now() on both
 * sides, 1 ms resolution). The first send into each conversation is a warm-up that also makes the
 * summary of its older messages, so the measured sends are the steady state: reuse the summary,
 * walk only what fits. As a second method, the time to the first streamed token is measured too.
 */

const FAKE_KEYS = { anthropic: "fake-anthropic-key", groq: "fake-groq-key" };
/** Measured sends per conversation, taken one conversation after another in turn, so drift hits every case alike. */
const MEASURED_SENDS = 50;
const FIRST_PAGE_REQUESTS = 100;
/** Sends into the 100,000-message conversation while /meta is polled (not among the timed ones). */
const META_SENDS = 20;
/** Sends into the 100,000-message conversation after a fresh start, before its RSS is read. */
const SENDS_BEFORE_RSS = 10;

interface SendTiming {
  sendToRequestMs: number;
  sendToFirstTokenMs: number;
  recordBytes: number;
  /** Provider requests the send caused besides the answer (a summariser call). */
  extraProviderRequests: number;
}

interface CaseResult {
  label: string;
  messageCount: number;
  modelId: string;
  buildMs: number;
  warmUpMs: number;
  sends: SendTiming[];
  /** From the last measured answer's record. */
  included: number;
  summarised: number;
  leftOut: number;
}

export interface LongConversationBenchResult {
  startScript: string;
  cases: CaseResult[];
  /** /api/v1/meta round trips while sends went into the 100,000-message conversation. */
  metaDuringLongestMs: number[];
  /** The same with no send in flight, just before: what the machine gives anyway. */
  metaIdleMs: number[];
  firstPage: { messageCount: number; roundTripMs: number[]; bytes: number };
  longestFirstPage: { messageCount: number; roundTripMs: number[]; bytes: number };
  /** A fresh server process: RSS 1 s after start (signed in), then after opening the 100,000-message conversation and sending into it. */
  rss: { idleBytes: number; afterLongestBytes: number };
  storedRecordMaxBytes: number;
}

class Client {
  token = "";
  constructor(readonly url: string) {}
  async call(method: string, apiPath: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.url}/api/v1${apiPath}`, {
      method,
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  }
}

interface RecordedChat {
  method: string;
  path: string;
  body: { model?: string };
  receivedAt: number;
}

async function fakeRequests(fakes: FakeProvidersProcess): Promise<RecordedChat[]> {
  const response = await fetch(`${fakes.ollama.url}/__control/requests`);
  return ((await response.json()) as { requests: RecordedChat[] }).requests.filter(
    (entry) => entry.method === "POST" && entry.path === "/api/chat",
  );
}

async function resetFakeLog(fakes: FakeProvidersProcess): Promise<void> {
  await fetch(`${fakes.ollama.url}/__control/reset`, { method: "POST" });
}

/**
 * One send, measured as the extension makes it (the POST's reply is the answer's event stream), read
 * to its end; then what the fake received and when.
 */
async function measuredSend(
  client: Client,
  fakes: FakeProvidersProcess,
  conversationId: string,
  modelId: string,
  content: string,
): Promise<SendTiming & { record: any }> {
  await resetFakeLog(fakes);
  const startedAt = Date.now();
  const started = performance.now();
  const stream = await openSendStream(client, conversationId, { content, modelId });
  await stream.waitFor((event) => event.event === "text-delta", 120_000);
  const sendToFirstTokenMs = performance.now() - started;
  await stream.ended;
  const last = stream.events.at(-1);
  if (last?.event !== "generation-end")
    throw new Error(`the answer ended with ${last?.event}: ${JSON.stringify(last?.data).slice(0, 500)}`);
  const target = modelId.slice("ollama:".length);
  const requests = await fakeRequests(fakes);
  const answerRequest = requests.find((entry) => entry.body.model === target);
  if (!answerRequest) throw new Error("the fake never received the answer's request");
  return {
    sendToRequestMs: answerRequest.receivedAt - startedAt,
    sendToFirstTokenMs,
    recordBytes: Buffer.byteLength(JSON.stringify(last.data.message.context)),
    extraProviderRequests: requests.length - 1,
    record: last.data.message.context,
  };
}

async function firstPageTimings(
  client: Client,
  conversationId: string,
): Promise<{ roundTripMs: number[]; bytes: number; messageCount: number }> {
  const roundTripMs: number[] = [];
  let bytes = 0;
  let messageCount = 0;
  for (let request = 0; request < FIRST_PAGE_REQUESTS; request += 1) {
    const started = performance.now();
    const response = await fetch(`${client.url}/api/v1/conversations/${conversationId}`, {
      headers: { authorization: `Bearer ${client.token}` },
    });
    const text = await response.text();
    roundTripMs.push(performance.now() - started);
    if (!response.ok) throw new Error(`first page: ${response.status} ${text.slice(0, 300)}`);
    bytes = Buffer.byteLength(text);
    messageCount = (JSON.parse(text) as { branchMessageCount: number }).branchMessageCount;
  }
  return { roundTripMs, bytes, messageCount };
}

export async function runLongConversationBench(log: (line: string) => void): Promise<LongConversationBenchResult> {
  const command = readStartCommand();
  log(`long conversations: building the server the way npm start does (${command.script})…`);
  prepareTeamServer(command);
  const fakes = await startFakeProvidersProcess(["bench/long-conversation-fakes.ts"]);
  const dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-bench-long-"));
  let server: TeamServerProcess | undefined;
  try {
    const environment = {
      DATA_DIR: dataDirectory,
      ANTHROPIC_API_KEY: FAKE_KEYS.anthropic,
      ANTHROPIC_BASE_URL: fakes.anthropic.url,
      GROQ_API_KEY: FAKE_KEYS.groq,
      GROQ_BASE_URL: fakes.groq.url,
      OLLAMA_BASE_URL: fakes.ollama.url,
      AUTH_RATE_LIMIT_PER_MINUTE: "10000",
      CATALOG_REFRESH_MINUTES: "0",
    };
    server = await startTeamServerProcess(environment, [], command);
    const client = new Client(server.url);
    // registering answers the same whatever happened; signing in gives the session
    await client.call("POST", "/auth/register", { name: "bench-long", password: "bench password 3" });
    const session = await client.call("POST", "/auth/sign-in", { name: "bench-long", password: "bench password 3" });
    client.token = session.accessToken;
    for (const provider of ["anthropic", "groq", "ollama"] as const) {
      const refreshed = await client.call("POST", `/admin/providers/${provider}/refresh-models`, {});
      const ids: string[] = refreshed.models
        .filter((model: { isAvailable: boolean }) => model.isAvailable)
        .map((model: { id: string }) => model.id);
      await client.call("PATCH", "/admin/models", { changes: ids.map((id) => ({ id, isVisible: true })) });
    }
    const windowModel = `ollama:${BENCH_WINDOW_MODEL}`;
    const wideModel = "ollama:llama3.2:latest";

    // the conversations, through the storage layer, into the server's own SQLite file
    const database = await openDatabase({ sqliteFile: path.join(dataDirectory, "juggler.sqlite") });
    const plans = [
      { label: "10 messages (fits whole)", messageCount: 10, modelId: windowModel },
      { label: "1,000 messages", messageCount: 1_000, modelId: windowModel },
      { label: "10,000 messages", messageCount: 10_000, modelId: windowModel },
      { label: "100,000 messages", messageCount: 100_000, modelId: windowModel },
      { label: "10,000 messages into a 128k window (fills it)", messageCount: 10_000, modelId: wideModel },
    ];
    const conversations: Array<(typeof plans)[number] & { id: string; buildMs: number }> = [];
    try {
      for (const plan of plans) {
        log(`building a ${plan.messageCount}-message conversation…`);
        const { id } = (await client.call("POST", "/conversations", { title: plan.label })).conversation;
        const started = performance.now();
        await buildLongConversation({
          database,
          userId: session.user.id,
          conversationId: id,
          messageCount: plan.messageCount,
          answeredBy: { provider: "ollama", modelId: plan.modelId },
        });
        conversations.push({ ...plan, id, buildMs: performance.now() - started });
      }
    } finally {
      await database.destroy();
    }

    const results = new Map<string, CaseResult>();
    for (const conversation of conversations) {
      log(`${conversation.label}: warm-up send (makes the summary)…`);
      const started = performance.now();
      await measuredSend(client, fakes, conversation.id, conversation.modelId, "Warm-up question");
      results.set(conversation.id, {
        label: conversation.label,
        messageCount: conversation.messageCount,
        modelId: conversation.modelId,
        buildMs: conversation.buildMs,
        warmUpMs: performance.now() - started,
        sends: [],
        included: 0,
        summarised: 0,
        leftOut: 0,
      });
    }

    const longest = conversations.find((conversation) => conversation.messageCount === 100_000)!;
    const metaDuringLongestMs: number[] = [];
    const metaIdleMs: number[] = [];
    for (let request = 0; request < 200; request += 1) {
      const started = performance.now();
      await fetch(`${client.url}/api/v1/meta`).then((response) => response.text());
      metaIdleMs.push(performance.now() - started);
    }
    log(`${MEASURED_SENDS} measured sends into each conversation, in turn…`);
    for (let send = 0; send < MEASURED_SENDS; send += 1) {
      // rotate the order too, so no case always follows the expensive one
      const order = conversations.map((_unused, index) => conversations[(index + send) % conversations.length]!);
      for (const conversation of order) {
        const result = results.get(conversation.id)!;
        const timing = await measuredSend(client, fakes, conversation.id, conversation.modelId, `Bench question ${send}`);
        result.sends.push(timing);
        result.included = timing.record.includedMessageCount;
        result.summarised = timing.record.summary?.messageCount ?? 0;
        result.leftOut = timing.record.leftOutMessageCount;
      }
    }

    // Apart from the timed sends: a client polling /meta as fast as it can competes with the sends
    // for the server's and this process's event loop, and would slow the very sends it runs beside.
    log(`/meta while ${META_SENDS} more sends go into the 100,000-message conversation…`);
    let isSending = true;
    const poller = (async () => {
      while (isSending) {
        const started = performance.now();
        await fetch(`${client.url}/api/v1/meta`).then((response) => response.text());
        if (isSending) metaDuringLongestMs.push(performance.now() - started);
      }
    })();
    for (let send = 0; send < META_SENDS; send += 1) {
      await measuredSend(client, fakes, longest.id, longest.modelId, `Sent beside /meta ${send}`);
    }
    isSending = false;
    await poller;

    log("first pages…");
    const tenThousand = conversations.find((conversation) => conversation.messageCount === 10_000 && conversation.modelId === windowModel)!;
    const firstPage = await firstPageTimings(client, tenThousand.id);
    const longestFirstPage = await firstPageTimings(client, longest.id);

    // memory in a fresh process: the cases above (a 128k window filled thirty times) leave the heap
    // at their own high-water mark, which says nothing about the 100,000-message conversation
    log("RSS of a fresh server opening and sending into the 100,000-message conversation…");
    await server.stop();
    server = await startTeamServerProcess(environment, [], command);
    client.token = (
      await new Client(server.url).call("POST", "/auth/sign-in", { name: "bench-long", password: "bench password 3" })
    ).accessToken;
    const freshClient = new Client(server.url);
    freshClient.token = client.token;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idleBytes = server.rssBytes();
    await freshClient.call("GET", `/conversations/${longest.id}`);
    for (let send = 0; send < SENDS_BEFORE_RSS; send += 1) {
      await measuredSend(freshClient, fakes, longest.id, longest.modelId, `After a restart ${send}`);
    }
    await freshClient.call("GET", `/conversations/${longest.id}`);
    const afterLongestBytes = server.rssBytes();

    // a second method for the record size: what the store holds, not what the stream said
    const check = await openDatabase({ sqliteFile: path.join(dataDirectory, "juggler.sqlite") });
    let storedRecordMaxBytes = 0;
    try {
      const rows: Array<{ context_snapshot: string }> = await check("messages").whereNotNull("context_snapshot").select("context_snapshot");
      for (const row of rows) storedRecordMaxBytes = Math.max(storedRecordMaxBytes, Buffer.byteLength(row.context_snapshot));
    } finally {
      await check.destroy();
    }

    return {
      startScript: command.script,
      cases: [...results.values()],
      metaDuringLongestMs,
      metaIdleMs,
      firstPage,
      longestFirstPage,
      rss: { idleBytes, afterLongestBytes },
      storedRecordMaxBytes,
    };
  } finally {
    await server?.stop();
    await fakes.close();
    fs.rmSync(dataDirectory, { recursive: true, force: true });
  }
}

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const kilobytes = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export function formatLongConversationBench(result: LongConversationBenchResult): string {
  const p50 = (values: number[]) => percentile(values, 0.5);
  const p95 = (values: number[]) => percentile(values, 0.95);
  const baseline = result.cases.find((entry) => entry.label === "1,000 messages");
  const lines: string[] = ["## Long conversations", ""];
  lines.push(
    `The server runs as \`npm start\` leaves it (\`${result.startScript}\`), the fake providers in a process of their own (zero token delay, every answer "Noted."), this process is the client. ` +
      `Conversations are built through the storage layer (batch inserts into the server's SQLite file). The model \`${BENCH_WINDOW_MODEL}\` has a ${BENCH_WINDOW_TOKENS.toLocaleString("en")}-token window, which a 1,000-message branch (≈ 52 estimated tokens a message) already overfills. ` +
      `The first send into each conversation is a warm-up that also makes the summary of its older messages; the ${MEASURED_SENDS} measured sends after it reuse that summary (the steady state). The sends go to each conversation in turn (the order rotating), so drift over the run hits every case alike.`,
    "",
    "Send → provider request: from just before the POST to the moment the fake provider received the request (Date.now() on both sides, 1 ms resolution). Send → first token: the same start to the first `text-delta` on the answer's stream (a second method, with the fake's zero-delay answer in it). p50 / p95 in ms.",
    "",
  );
  lines.push(
    "| branch | send → provider request p50 / p95 | ratio to 1,000 (target ≤ 1.2× at 100,000) | send → first token p50 / p95 | sent verbatim · summarised · left out | warm-up send (summary made) | build |",
  );
  lines.push("|---|---|---|---|---|---|---|");
  for (const entry of result.cases) {
    const request = entry.sends.map((send) => send.sendToRequestMs);
    const token = entry.sends.map((send) => send.sendToFirstTokenMs);
    const ratio = baseline ? `${(p50(request) / p50(baseline.sends.map((send) => send.sendToRequestMs))).toFixed(2)}×` : "";
    const extra = entry.sends.reduce((total, send) => total + send.extraProviderRequests, 0);
    lines.push(
      `| ${entry.label} | ${formatMs(p50(request))} / ${formatMs(p95(request))} | ${entry.modelId.endsWith(BENCH_WINDOW_MODEL) ? ratio : "—"} | ${formatMs(p50(token))} / ${formatMs(p95(token))} | ${entry.included} · ${entry.summarised} · ${entry.leftOut}${extra > 0 ? ` (${extra} summariser calls while measuring)` : ""} | ${formatMs(entry.warmUpMs)} ms | ${formatMs(entry.buildMs)} ms |`,
    );
  }
  const recordBytes = Math.max(...result.cases.flatMap((entry) => entry.sends.map((send) => send.recordBytes)));
  lines.push("", "| measure | value | target |", "|---|---|---|");
  lines.push(
    `| \`GET /api/v1/meta\` polled while ${META_SENDS} sends go into the 100,000-message conversation: p50 / p99 (${result.metaDuringLongestMs.length} requests) | ${formatMs(p50(result.metaDuringLongestMs))} / ${formatMs(percentile(result.metaDuringLongestMs, 0.99))} ms | p99 ≤ 20 ms |`,
  );
  lines.push(
    `| the same with no send in flight, just before (${result.metaIdleMs.length} requests): p50 / p99 | ${formatMs(p50(result.metaIdleMs))} / ${formatMs(percentile(result.metaIdleMs, 0.99))} ms | |`,
  );
  lines.push(
    `| context record per answer, largest: as streamed / as stored | ${recordBytes} / ${result.storedRecordMaxBytes} bytes | ≤ 2,048 bytes |`,
  );
  lines.push(
    `| first page of the ${result.firstPage.messageCount.toLocaleString("en")}-message conversation (50 messages, round trip): p50 / p95, size | ${formatMs(p50(result.firstPage.roundTripMs))} / ${formatMs(p95(result.firstPage.roundTripMs))} ms, ${kilobytes(result.firstPage.bytes)} | ≤ 20 ms, ≤ 200 KB |`,
  );
  lines.push(
    `| first page of the ${result.longestFirstPage.messageCount.toLocaleString("en")}-message conversation: p50 / p95, size | ${formatMs(p50(result.longestFirstPage.roundTripMs))} / ${formatMs(p95(result.longestFirstPage.roundTripMs))} ms, ${kilobytes(result.longestFirstPage.bytes)} | |`,
  );
  lines.push(
    `| server RSS, a fresh process: 1 s after start → after opening the 100,000-message conversation and ${SENDS_BEFORE_RSS} sends into it | ${megabytes(result.rss.idleBytes)} → ${megabytes(result.rss.afterLongestBytes)} | ≤ 150 MB |`,
  );
  return lines.join("\n");
}
