import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../server/src/config";
import { createLogger } from "../server/src/logger";
import { SingleInstance } from "../server/src/services/cluster";
import { LedgerService } from "../server/src/services/ledger-service";
import { hashPassword } from "../server/src/services/password-hashing";
import { costOf, PriceService } from "../server/src/services/price-service";
import { findDefaultPrice } from "../server/src/services/price-defaults";
import { dayOf } from "../server/src/services/usage-calendar";
import { UsageService } from "../server/src/services/usage-service";
import { openDatabase, type Database } from "../server/src/storage/database";
import { UsageLedgerRepository, type LedgerRow } from "../server/src/storage/usage-ledger-repository";
import { UserRepository } from "../server/src/storage/user-repository";
import type { ProviderKind } from "../protocol/http/providers";
import { startBenchPostgres } from "./bench-postgres";
import { formatMs, percentile } from "./statistics";
import { prepareTeamServer, readStartCommand, startTeamServerProcess, type TeamServerProcess } from "./team-server-process";

/**
 * Usage queries over a ledger of 1,000,000 answers (90 days, 200 users, 12 models, two clients
 * each), on SQLite and PostgreSQL. The rows are loaded through the storage layer (batch inserts of
 * ledger rows priced at the default prices, then the daily rollups built from them: the same sums the
 * server adds up one answer at a time, checked equal in test/server/usage.test.ts); the server then
 * runs as `npm start` leaves it and the queries go through its HTTP API. Second method: the same
 * rollup query timed in this process, without HTTP. For contrast: the raw ledger grouped directly.
 */

const ANSWERS = 1_000_000;
const DAYS = 90;
const USERS = 200;
const RUNS = 40;
const WARM_UP_RUNS = 5;
const MODELS: ReadonlyArray<[ProviderKind, string]> = [
  ["anthropic", "claude-sonnet-4-5-20250929"],
  ["anthropic", "claude-haiku-4-5-20251001"],
  ["anthropic", "claude-opus-4-5"],
  ["anthropic", "claude-sonnet-5-5"],
  ["anthropic", "claude-opus-5-5"],
  ["anthropic", "claude-haiku-5-5"],
  ["groq", "llama-3.3-70b-versatile"],
  ["groq", "llama-3.1-8b-instant"],
  ["groq", "openai/gpt-oss-120b"],
  ["groq", "qwen/qwen3-32b"],
  ["ollama", "llama3.2:latest"],
  ["ollama", "qwen2.5-coder:7b"],
];
const PASSWORD = "bench password 1";
const DAY_MS = 86_400_000;

interface QueryTiming {
  name: string;
  httpMs: number[];
  /** The rollup query alone, in this process (second method); undefined where not measured. */
  inProcessMs: number[] | undefined;
  rows: number;
}

export interface UsageBenchResult {
  backends: Array<{
    backend: "SQLite" | "PostgreSQL";
    loadMs: number;
    rollupBuildMs: number;
    rollupRows: number;
    queries: QueryTiming[];
    rawLedgerMs: number[];
    recordAnswerMs: number[];
  }>;
}

/** A small deterministic generator (mulberry32), so both databases hold the same answers. */
function randomGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

async function loadLedger(
  database: Database,
  now: number,
): Promise<{ adminId: string; memberId: string; loadMs: number; rollupBuildMs: number; rollupRows: number }> {
  const started = performance.now();
  const users = new UserRepository(database);
  const passwordHash = await hashPassword(PASSWORD);
  const userIds: string[] = [];
  for (let index = 0; index < USERS; index += 1) {
    const id = crypto.randomUUID();
    const name = index === 0 ? "bench-admin" : `member-${index}`;
    await users.insert({
      id,
      name,
      name_key: name,
      // look-alike checks are not what this benchmark measures
      name_skeleton: null,
      name_skeleton_lower: null,
      name_skeleton_upper: null,
      password_hash: passwordHash,
      role: index === 0 ? "admin" : "member",
      status: "active",
      last_model_id: null,
      password_changed_at: now,
      created_at: now,
      updated_at: now,
    });
    userIds.push(id);
  }
  const random = randomGenerator(42);
  const favourites = userIds.map(() => [0, 1, 2].map(() => Math.floor(random() * MODELS.length)));
  const prices = MODELS.map(([provider, name]) => findDefaultPrice(provider, name));
  const ledger = new UsageLedgerRepository(database);
  const chunk = 20_000;
  for (let start = 0; start < ANSWERS; start += chunk) {
    const rows: LedgerRow[] = [];
    for (let index = start; index < Math.min(ANSWERS, start + chunk); index += 1) {
      const user = Math.floor(random() * USERS);
      const model = favourites[user]![Math.floor(random() * 3)]!;
      const [provider, name] = MODELS[model]!;
      const price = prices[model];
      const isGateway = random() < 0.5;
      const input = 200 + Math.floor(random() * 4000);
      const output = random() < 0.02 ? null : 20 + Math.floor(random() * 800);
      const cached = provider === "anthropic" ? Math.floor(input * random() * 0.5) : null;
      const finishedAt = now - Math.floor(random() * DAYS * DAY_MS);
      rows.push({
        id: crypto.randomUUID(),
        user_id: userIds[user]!,
        client_kind: isGateway ? "gateway" : "chat",
        client_name: isGateway ? `key-${user % 2}` : "chat",
        api_key_id: null,
        provider,
        model_id: `${provider}:${name}`,
        conversation_id: null,
        message_id: null,
        status: output === null ? "stopped" : "complete",
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        cost_micro_usd:
          price === undefined
            ? null
            : costOf(
                {
                  inputMicroUsdPerMillion: Math.round(price.inputUsdPerMillionTokens * 1e6),
                  outputMicroUsdPerMillion: Math.round(price.outputUsdPerMillionTokens * 1e6),
                  cachedInputMicroUsdPerMillion: Math.round(price.cachedInputUsdPerMillionTokens * 1e6),
                  source: "default",
                },
                { inputTokens: input, outputTokens: output, cachedInputTokens: cached },
              ),
        time_to_first_token_ms: 150 + Math.floor(random() * 800),
        duration_ms: 1000 + Math.floor(random() * 20_000),
        finished_at: finishedAt,
        day: dayOf(finishedAt),
      });
    }
    await database.transaction((transaction) => new UsageLedgerRepository(transaction).insertMany(rows));
  }
  const loadMs = performance.now() - started;
  const rollupStarted = performance.now();
  await ledger.rebuildRollups();
  const rollupBuildMs = performance.now() - rollupStarted;
  // daily rows (the weekly ones are about a seventh as many)
  const [{ count }] = await database("usage_daily").count<{ count: number | string }[]>({ count: "*" });
  return { adminId: userIds[0]!, memberId: userIds[1]!, loadMs, rollupBuildMs, rollupRows: Number(count) };
}

async function signIn(server: TeamServerProcess, name: string): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/auth/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password: PASSWORD }),
  });
  if (!response.ok) throw new Error(`sign-in ${name}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

async function timeHttp(server: TeamServerProcess, token: string, apiPath: string): Promise<{ samples: number[]; rows: number }> {
  const samples: number[] = [];
  let rows = 0;
  for (let run = 0; run < WARM_UP_RUNS + RUNS; run += 1) {
    const started = performance.now();
    const response = await fetch(`${server.url}/api/v1${apiPath}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { rows?: unknown[] };
    const elapsed = performance.now() - started;
    if (!response.ok) throw new Error(`${apiPath}: ${response.status} ${JSON.stringify(body)}`);
    rows = body.rows?.length ?? 0;
    if (run >= WARM_UP_RUNS) samples.push(elapsed);
  }
  return { samples, rows };
}

async function timeInProcess(run: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < WARM_UP_RUNS + RUNS; index += 1) {
    const started = performance.now();
    await run();
    if (index >= WARM_UP_RUNS) samples.push(performance.now() - started);
  }
  return samples;
}

async function benchOneBackend(
  backend: "SQLite" | "PostgreSQL",
  log: (line: string) => void,
  command: ReturnType<typeof readStartCommand>,
): Promise<UsageBenchResult["backends"][number]> {
  const dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-usage-bench-"));
  const postgres = backend === "PostgreSQL" ? await startBenchPostgres() : undefined;
  const environment = {
    DATA_DIR: dataDirectory,
    CATALOG_REFRESH_MINUTES: "0",
    AUTH_RATE_LIMIT_PER_MINUTE: "10000",
    ...(postgres === undefined ? {} : { DATABASE_URL: postgres.url }),
  };
  const openStore = () => openDatabase({ databaseUrl: postgres?.url, sqliteFile: path.join(dataDirectory, "juggler.sqlite") });
  try {
    const now = Date.now();
    log(`${backend}: loading ${ANSWERS.toLocaleString("en-US")} answers over ${DAYS} days for ${USERS} users…`);
    const loading = await openStore();
    const loaded = await loadLedger(loading, now);
    await loading.destroy();
    log(
      `${backend}: loaded in ${formatMs(loaded.loadMs)} ms, rollups (${loaded.rollupRows} rows) built in ${formatMs(loaded.rollupBuildMs)} ms; querying…`,
    );

    const server = await startTeamServerProcess(environment, [], command);
    const queries: QueryTiming[] = [];
    let rawLedgerMs: number[] = [];
    let recordAnswerMs: number[] = [];
    try {
      const adminToken = await signIn(server, "bench-admin");
      const memberToken = await signIn(server, "member-1");
      const to = dayOf(now);
      const from = dayOf(now - 29 * DAY_MS);
      const store = await openStore();
      try {
        const context = {
          config: loadConfig({ DATA_DIR: dataDirectory }),
          database: store,
          logger: createLogger("silent"),
          secretKey: "x".repeat(32),
          now: () => Date.now(),
          cluster: new SingleInstance(),
        };
        // the service the route calls, in this process: the same queries without HTTP and JSON
        const usageService = new UsageService(context, { requireConversation: async () => undefined });
        const admin = { id: loaded.adminId, name: "bench-admin", role: "admin" as const };
        const cases: Array<{ name: string; token: string; query: string; inProcess?: () => Promise<unknown> }> = [
          {
            name: "30 days by model and user, everyone (admin)",
            token: adminToken,
            query: `groupBy=model,user`,
            inProcess: () => usageService.usage(admin, { from, to, groupBy: ["model", "user"] }),
          },
          {
            name: "30 days by day and model, everyone (admin)",
            token: adminToken,
            query: `groupBy=day,model`,
            inProcess: () => usageService.usage(admin, { from, to, groupBy: ["day", "model"] }),
          },
          { name: "30 days, totals only, everyone (admin)", token: adminToken, query: "" },
          { name: "30 days by day and model, one member's own", token: memberToken, query: `groupBy=day,model` },
          { name: "30 days by day and client, one member's own", token: memberToken, query: `groupBy=day,client` },
        ];
        for (const entry of cases) {
          const http = await timeHttp(server, entry.token, `/usage?from=${from}&to=${to}${entry.query ? `&${entry.query}` : ""}`);
          queries.push({
            name: entry.name,
            httpMs: http.samples,
            inProcessMs: entry.inProcess ? await timeInProcess(entry.inProcess) : undefined,
            rows: http.rows,
          });
        }
        const summary = await timeHttp(server, memberToken, "/me/usage-summary");
        queries.push({
          name: "this month against the budget (/me/usage-summary)",
          httpMs: summary.samples,
          inProcessMs: undefined,
          rows: 0,
        });

        // what the rollups save: the same 30 days grouped from the raw ledger (fewer runs: it is slow)
        const rawStarted = [];
        for (let run = 0; run < 5; run += 1) {
          const started = performance.now();
          await store("usage_ledger")
            .where("finished_at", ">=", now - 30 * DAY_MS)
            .groupBy("model_id", "user_id")
            .select(
              "model_id",
              "user_id",
              store.raw("COUNT(*) AS answers, SUM(input_tokens) AS input_tokens, SUM(cost_micro_usd) AS cost"),
            );
          rawStarted.push(performance.now() - started);
        }
        rawLedgerMs = rawStarted;

        // writing one answer into a ledger this size: its row and its rollups, one transaction (the real service)
        const ledgerService = new LedgerService(context, new PriceService(context, { listAllModels: async () => ({ models: [] }) }), {
          noteRecorded: () => undefined,
        });
        recordAnswerMs = await timeInProcess(async () => {
          const recorded = await ledgerService.recordAnswer({
            userId: loaded.memberId,
            client: { kind: "gateway", apiKeyId: "bench", apiKeyName: "bench" },
            provider: "groq",
            modelId: "groq:llama-3.3-70b-versatile",
            status: "complete",
            inputTokens: 1200,
            outputTokens: 300,
            cachedInputTokens: null,
            timeToFirstTokenMs: 200,
            durationMs: 3000,
            finishedAt: Date.now(),
          });
          await recorded.written;
        });
      } finally {
        await store.destroy();
      }
    } finally {
      await server.stop();
    }
    return {
      backend,
      loadMs: loaded.loadMs,
      rollupBuildMs: loaded.rollupBuildMs,
      rollupRows: loaded.rollupRows,
      queries,
      rawLedgerMs,
      recordAnswerMs,
    };
  } finally {
    await postgres?.stop();
    fs.rmSync(dataDirectory, { recursive: true, force: true });
  }
}

export async function runUsageBench(log: (line: string) => void): Promise<UsageBenchResult> {
  const command = readStartCommand();
  log(`building the server the way npm start does (${command.script})…`);
  prepareTeamServer(command);
  const backends: UsageBenchResult["backends"] = [];
  for (const backend of ["SQLite", "PostgreSQL"] as const) backends.push(await benchOneBackend(backend, log, command));
  return { backends };
}

export function formatUsageBench(result: UsageBenchResult): string {
  const lines: string[] = ["## Usage queries", ""];
  lines.push(
    `A ledger of ${ANSWERS.toLocaleString("en-US")} answers over ${DAYS} days (${USERS} users, ${MODELS.length} models, three favourites each, the chat and two keys each), loaded through the storage layer; the daily and weekly rollups built from it. The server runs as \`npm start\` leaves it; each query ${RUNS} times after ${WARM_UP_RUNS} warm-up runs, through \`GET /api/v1/usage\` (HTTP, JSON parsed). Second method: the usage service the route calls, in the benchmark's process (no HTTP, no JSON). Times in ms.`,
    "",
  );
  for (const entry of result.backends) {
    lines.push(
      `**${entry.backend}** — load ${formatMs(entry.loadMs / 1000)} s, rollups built in ${formatMs(entry.rollupBuildMs / 1000)} s (${entry.rollupRows.toLocaleString("en-US")} daily rollup rows)`,
      "",
      "| query | HTTP p50 / p95 / max | target | second method (service in process) p50 / p95 | groups |",
      "|---|---|---|---|---|",
    );
    for (const query of entry.queries) {
      const target = query.name.startsWith("30 days by model and user") ? "≤ 100 ms" : "";
      const second = query.inProcessMs
        ? `${formatMs(percentile(query.inProcessMs, 0.5))} / ${formatMs(percentile(query.inProcessMs, 0.95))}`
        : "—";
      lines.push(
        `| ${query.name} | ${formatMs(percentile(query.httpMs, 0.5))} / ${formatMs(percentile(query.httpMs, 0.95))} / ${formatMs(Math.max(...query.httpMs))} | ${target} | ${second} | ${query.rows} |`,
      );
    }
    lines.push(
      `| for contrast: the raw ledger grouped by model and user over 30 days (no rollups) | ${formatMs(percentile(entry.rawLedgerMs, 0.5))} (in process, 5 runs) | | | |`,
      `| recording one answer (ledger row + rollup upsert, one transaction) | ${formatMs(percentile(entry.recordAnswerMs, 0.5))} / ${formatMs(percentile(entry.recordAnswerMs, 0.95))} (in process) | | | |`,
      "",
    );
  }
  return lines.join("\n").trimEnd();
}
