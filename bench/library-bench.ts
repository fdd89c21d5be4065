import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../server/src/config";
import { createLogger } from "../server/src/logger";
import { SingleInstance } from "../server/src/services/cluster";
import { SearchService } from "../server/src/services/search-service";
import { openDatabase, type Database } from "../server/src/storage/database";
import { ConversationRepository } from "../server/src/storage/conversation-repository";
import { buildLongConversation } from "../tools/harness/long-conversation";
import { startEmbeddedPostgres, type RunningPostgres } from "../tools/harness/embedded-postgres";
import { Corpus } from "./library-corpus";
import { formatMs, percentile } from "./statistics";
import { prepareTeamServer, readStartCommand, startTeamServerProcess, type TeamServerProcess } from "./team-server-process";

/**
 * The library at the size of a busy team server, on SQLite and on PostgreSQL side by side: one member
 * with 10,000 conversations of 100 messages (1,000,000 messages, all theirs: the worst case for their
 * own search and tree), and 49 more members with 20 conversations each (98,000 messages more, in the
 * same index), so the searches also show that a member reads only their own part of it.
 *
 * Everything is built through the storage layer in batches (ConversationRepository and the harness's
 * long-conversation builder, in transactions of a few conversations), so the database's triggers index
 * it exactly as they index a send. The text is pseudo-English with Zipf-distributed word frequencies
 * (library-corpus.ts). The server runs as `npm start` leaves it; this process is the client.
 *
 * Searches are the words a user remembers from a message of theirs: one to three of its words (not the
 * 50 most common), half of them with the last word still being typed, plus each keystroke of typing a
 * two-word query (what the quick pick asks while one types), and apart, the worst cases: one of the 20
 * most common words alone, and words found nowhere. Each search is also timed inside this process
 * against the same database (SearchService directly), as a second method.
 */

const HEAVY_CONVERSATIONS = Number(process.env.BENCH_LIBRARY_CONVERSATIONS ?? 10_000);
const MESSAGES_PER_CONVERSATION = 100;
const HEAVY_MESSAGES = (HEAVY_CONVERSATIONS * MESSAGES_PER_CONVERSATION).toLocaleString("en");
const TEAM_MEMBERS = 49;
const TEAM_CONVERSATIONS_EACH = 20;
const CONVERSATIONS_PER_TRANSACTION = 20;
const IMPORT_MESSAGES = 10_000;
const IMPORT_REPEATS = 5;
const MIXED_QUERIES = 300;
const TEAM_QUERIES = 150;
const TYPED_QUERIES = 20;
const SEARCH_LIMIT = 20;
const PAGE_SIZE = 50;
// two made-up workspace folders the conversations were started in (the URIs VS Code gives folders)
const WORKSPACES = ["file:///home/dev/alpha", "file:///home/dev/beta"];
const PASSWORD = "bench password 12";

type Store = "SQLite" | "PostgreSQL";

interface Timed {
  label: string;
  samples: number[];
  /** Second method (in-process), when measured. */
  inProcess?: number[];
  /** Average results per request. */
  results?: number;
}

interface StoreResult {
  store: Store;
  buildMs: number;
  databaseBytes: number;
  search: Timed[];
  tree: Timed[];
  exportMs: number[];
  importMs: number[];
  importedMessages: number;
}

export interface LibraryBenchResult {
  messages: number;
  conversations: number;
  stores: StoreResult[];
}

class Client {
  token = "";
  constructor(readonly url: string) {}

  async call(method: string, apiPath: string, body?: unknown, rawBody?: string): Promise<any> {
    const response = await fetch(`${this.url}/api/v1${apiPath}`, {
      method,
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  }

  async timed(method: string, apiPath: string, rawBody?: string): Promise<{ ms: number; body: any; text: string }> {
    const started = performance.now();
    const response = await fetch(`${this.url}/api/v1${apiPath}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: rawBody,
    });
    const text = await response.text();
    const ms = performance.now() - started;
    if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${text.slice(0, 500)}`);
    return { ms, text, body: response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined };
  }
}

/** What the build remembers to ask later: one message of each conversation, as word ranks. */
export interface BuiltUser {
  userId: string;
  client: Client;
  remembered: number[][];
  titleWords: number[][];
}

export async function runLibraryBench(log: (line: string) => void): Promise<LibraryBenchResult> {
  const command = readStartCommand();
  log(`library: building the server the way npm start does (${command.script})…`);
  prepareTeamServer(command);
  const stores = (process.env.BENCH_LIBRARY_STORES ?? "sqlite,postgresql").split(",");
  const results: StoreResult[] = [];
  let postgres: RunningPostgres | undefined;
  try {
    const measure = async (store: Store, databaseUrl: string | undefined) => {
      const result = await benchStore(store, databaseUrl, command, log);
      results.push(result);
      // each store's figures as soon as they exist: the other store takes a long while
      log(`\n${formatStore(result)}`);
    };
    if (stores.includes("sqlite")) await measure("SQLite", undefined);
    if (stores.includes("postgresql")) {
      postgres = await startEmbeddedPostgres();
      await measure("PostgreSQL", await postgres.createDatabase());
    }
  } finally {
    await postgres?.stop();
  }
  const teamMessages = TEAM_MEMBERS * TEAM_CONVERSATIONS_EACH * MESSAGES_PER_CONVERSATION;
  return {
    messages: HEAVY_CONVERSATIONS * MESSAGES_PER_CONVERSATION + teamMessages,
    conversations: HEAVY_CONVERSATIONS + TEAM_MEMBERS * TEAM_CONVERSATIONS_EACH,
    stores: results,
  };
}

async function benchStore(
  store: Store,
  databaseUrl: string | undefined,
  command: ReturnType<typeof readStartCommand>,
  log: (line: string) => void,
): Promise<StoreResult> {
  const dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-bench-library-"));
  let server: TeamServerProcess | undefined;
  let database: Database | undefined;
  try {
    const environment: Record<string, string> = {
      DATA_DIR: dataDirectory,
      AUTH_RATE_LIMIT_PER_MINUTE: "10000",
      CATALOG_REFRESH_MINUTES: "0",
      IMPORT_MAX_BYTES: String(256 * 1_048_576),
      // the run takes longer than an access token lives; this client does not refresh
      ACCESS_TOKEN_TTL_SECONDS: "86400",
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    };
    server = await startTeamServerProcess(environment, [], command);
    database = await openDatabase({ databaseUrl, sqliteFile: path.join(dataDirectory, "juggler.sqlite") });
    const corpus = new Corpus(12);

    log(
      `library ${store}: building ${HEAVY_CONVERSATIONS.toLocaleString("en")} conversations of ${MESSAGES_PER_CONVERSATION} messages for one member…`,
    );
    const buildStarted = performance.now();
    const heavy = await registerMember(server.url, "bench-heavy");
    await buildConversations(database, heavy, HEAVY_CONVERSATIONS, corpus, log, store, 0);
    log(`library ${store}: ${TEAM_MEMBERS} more members with ${TEAM_CONVERSATIONS_EACH} conversations each…`);
    const team: BuiltUser[] = [];
    for (let member = 0; member < TEAM_MEMBERS; member++) {
      const user = await registerMember(server.url, `bench-team-${member}`);
      await buildConversations(
        database,
        user,
        TEAM_CONVERSATIONS_EACH,
        corpus,
        undefined,
        store,
        HEAVY_CONVERSATIONS + member * TEAM_CONVERSATIONS_EACH,
      );
      team.push(user);
    }
    const buildMs = performance.now() - buildStarted;
    log(`library ${store}: built in ${(buildMs / 1000).toFixed(0)} s`);
    await organise(database, heavy, corpus);
    if (store === "PostgreSQL") await database.raw("ANALYZE");

    const searchService = new SearchService({
      config: loadConfig({}),
      database,
      logger: createLogger("silent"),
      secretKey: "",
      now: Date.now,
      cluster: new SingleInstance(),
    });
    const search: Timed[] = [];
    const measureSearch = async (label: string, user: BuiltUser, queries: string[]): Promise<void> => {
      const samples: number[] = [];
      const inProcess: number[] = [];
      let results = 0;
      for (const query of queries) {
        const { ms, body } = await user.client.timed("GET", `/search?q=${encodeURIComponent(query)}&limit=${SEARCH_LIMIT}`);
        samples.push(ms);
        results += body.results.length;
        const started = performance.now();
        await searchService.search(user.userId, { q: query, limit: SEARCH_LIMIT });
        inProcess.push(performance.now() - started);
      }
      search.push({ label, samples, inProcess, results: results / queries.length });
    };
    const queries = new QueryMaker(corpus, heavy.remembered);
    log(`library ${store}: searching…`);
    await measureSearch("warm-up (not counted)", heavy, queries.remembered(20));
    search.length = 0;
    const mixed = queries.remembered(MIXED_QUERIES);
    const typed = queries.typed(TYPED_QUERIES);
    await measureSearch(`words remembered from a message, ${HEAVY_MESSAGES} own messages`, heavy, mixed);
    await measureSearch(`each keystroke of typing two words, ${HEAVY_MESSAGES} own messages`, heavy, typed);
    const teamMember = team[0]!;
    await measureSearch(
      `words remembered, a member with ${(TEAM_CONVERSATIONS_EACH * MESSAGES_PER_CONVERSATION).toLocaleString("en")} own messages`,
      teamMember,
      new QueryMaker(corpus, teamMember.remembered).remembered(TEAM_QUERIES),
    );
    await measureSearch("one of the 20 most common words alone (worst case)", heavy, queries.common(40));
    await measureSearch("words found nowhere", heavy, queries.absent(40));

    log(`library ${store}: paging the tree…`);
    const tree = await measureTree(heavy, corpus);

    log(`library ${store}: exporting and importing a ${IMPORT_MESSAGES.toLocaleString("en")}-message conversation…`);
    const { id: longId } = await heavy.client
      .call("POST", "/conversations", { title: "Ten thousand messages to export" })
      .then((body) => body.conversation);
    await buildLongConversation({
      database,
      userId: heavy.userId,
      conversationId: longId,
      messageCount: IMPORT_MESSAGES,
      answeredBy: { provider: "ollama", modelId: "ollama:llama3.2:latest" },
      contentOf: (index) => corpus.textOf(corpus.messageRanks(index % 2 === 1)),
    });
    const exportMs: number[] = [];
    let file = "";
    for (let repeat = 0; repeat < IMPORT_REPEATS; repeat++) {
      const exported = await heavy.client.timed("GET", `/conversations/${longId}/export?format=json`);
      exportMs.push(exported.ms);
      file = exported.text;
    }
    const importMs: number[] = [];
    let importedMessages = 0;
    for (let repeat = 0; repeat < IMPORT_REPEATS; repeat++) {
      const imported = await heavy.client.timed("POST", "/import", file);
      importMs.push(imported.ms);
      importedMessages = imported.body.conversations[0].messageCount;
    }

    const databaseBytes = await sizeOf(database, store, dataDirectory);
    return { store, buildMs, databaseBytes, search, tree, exportMs, importMs, importedMessages };
  } finally {
    await database?.destroy();
    await server?.stop();
    fs.rmSync(dataDirectory, { recursive: true, force: true });
  }
}

async function registerMember(url: string, name: string): Promise<BuiltUser> {
  const client = new Client(url);
  // registering answers the same whatever happened; signing in gives the session
  await client.call("POST", "/auth/register", { name, password: PASSWORD });
  const session = await client.call("POST", "/auth/sign-in", { name, password: PASSWORD });
  client.token = session.accessToken;
  return { userId: session.user.id, client, remembered: [], titleWords: [] };
}

/** `count` conversations of MESSAGES_PER_CONVERSATION messages for `user`, older ones first, a few per transaction. */
export async function buildConversations(
  database: Database,
  user: BuiltUser,
  count: number,
  corpus: Corpus,
  log: ((line: string) => void) | undefined,
  store: Store,
  timeOffset: number,
): Promise<void> {
  // one conversation a minute, ending now: the tree's recency groups get every age
  const firstAt = Date.now() - (HEAVY_CONVERSATIONS + TEAM_MEMBERS * TEAM_CONVERSATIONS_EACH) * 60_000;
  for (let start = 0; start < count; start += CONVERSATIONS_PER_TRANSACTION) {
    await database.transaction(async (transaction) => {
      const repository = new ConversationRepository(transaction, user.userId);
      for (let index = start; index < Math.min(count, start + CONVERSATIONS_PER_TRANSACTION); index++) {
        const at = firstAt + (timeOffset + index) * 60_000;
        const titleWords = Array.from({ length: 3 + Math.floor(corpus.next() * 3) }, () => corpus.nextRank());
        user.titleWords.push(titleWords);
        const conversationId = crypto.randomUUID();
        await repository.insertConversation({
          id: conversationId,
          title: corpus.textOf(titleWords),
          model_id: null,
          leaf_message_id: null,
          created_at: at,
          updated_at: at,
          last_message_at: at,
        });
        const rememberedIndex = Math.floor(corpus.next() * MESSAGES_PER_CONVERSATION);
        await buildLongConversation({
          database: transaction,
          userId: user.userId,
          conversationId,
          messageCount: MESSAGES_PER_CONVERSATION,
          answeredBy: { provider: "ollama", modelId: "ollama:llama3.2:latest" },
          startAt: at,
          contentOf: (messageIndex) => {
            const ranks = corpus.messageRanks(messageIndex % 2 === 1);
            if (messageIndex === rememberedIndex) user.remembered.push(ranks);
            return corpus.textOf(ranks);
          },
        });
      }
    });
    if (log && (start + CONVERSATIONS_PER_TRANSACTION) % 1000 === 0)
      log(`library ${store}: ${start + CONVERSATIONS_PER_TRANSACTION} conversations`);
  }
}

/** The heavy member's library: some conversations in two workspace folders, 50 pinned, 500 archived. */
async function organise(database: Database, user: BuiltUser, corpus: Corpus): Promise<void> {
  const repository = new ConversationRepository(database, user.userId);
  const all: string[] = [];
  let after: { lastMessageAt: number; id: string } | undefined;
  for (;;) {
    const page = await repository.listConversations(1000, after);
    all.push(...page.map((row) => row.id));
    const last = page.at(-1);
    if (!last || page.length < 1000) break;
    after = { lastMessageAt: last.last_message_at, id: last.id };
  }
  for (const [index, id] of all.entries()) {
    const draw = corpus.next();
    const changes =
      index % 200 === 7
        ? { is_pinned: true }
        : index % 20 === 3
          ? { is_archived: true }
          : draw < 0.3
            ? { workspace_hint: WORKSPACES[0]! }
            : draw < 0.5
              ? { workspace_hint: WORKSPACES[1]! }
              : undefined;
    if (changes) await repository.updateConversation(id, changes);
  }
}

export class QueryMaker {
  constructor(
    private readonly corpus: Corpus,
    private readonly messages: number[][],
  ) {}

  /** One to three words of a remembered message (not among the 50 most common); half with the last one half typed. */
  remembered(count: number): string[] {
    const queries: string[] = [];
    while (queries.length < count) {
      const message = this.messages[Math.floor(this.corpus.next() * this.messages.length)]!;
      const candidates = [...new Set(message.filter((rank) => rank >= 50))];
      if (candidates.length === 0) continue;
      const draw = this.corpus.next();
      const wordCount = Math.min(candidates.length, draw < 0.3 ? 1 : draw < 0.8 ? 2 : 3);
      const words = this.shuffle(candidates)
        .slice(0, wordCount)
        .map((rank) => this.corpus.words[rank]!);
      const last = words.at(-1)!;
      if (this.corpus.next() < 0.5 && last.length > 3)
        words[words.length - 1] = last.slice(0, 3 + Math.floor(this.corpus.next() * (last.length - 3)));
      queries.push(words.join(" "));
    }
    return queries;
  }

  /** Every prefix (from 3 characters) of two remembered words typed one after the other. */
  typed(count: number): string[] {
    const queries: string[] = [];
    for (const query of this.remembered(count * 3)
      .filter((text) => text.split(" ").length === 2)
      .slice(0, count)) {
      for (let length = 3; length <= query.length; length++) if (query[length - 1] !== " ") queries.push(query.slice(0, length));
    }
    return queries;
  }

  common(count: number): string[] {
    return Array.from({ length: count }, (_unused, index) => this.corpus.words[index % 20]!);
  }

  absent(count: number): string[] {
    return Array.from({ length: count }, (_unused, index) => `qqzx${index} ${this.corpus.words[100 + index]}`);
  }

  private shuffle(values: number[]): number[] {
    const copy = [...values];
    for (let index = copy.length - 1; index > 0; index--) {
      const other = Math.floor(this.corpus.next() * (index + 1));
      [copy[index], copy[other]] = [copy[other]!, copy[index]!];
    }
    return copy;
  }
}

/** Pages of the heavy member's tree, each a request of PAGE_SIZE conversations: the first pages, every page of the list, and the filters. */
async function measureTree(user: BuiltUser, corpus: Corpus): Promise<Timed[]> {
  const walk = async (label: string, query: string, maximumPages = Number.POSITIVE_INFINITY): Promise<Timed> => {
    const samples: number[] = [];
    let cursor: string | null = null;
    let total = 0;
    do {
      const suffix: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const { ms, body } = await user.client.timed("GET", `/conversations?limit=${PAGE_SIZE}${query}${suffix}`);
      samples.push(ms);
      total += body.conversations.length;
      cursor = body.nextCursor;
    } while (cursor !== null && samples.length < maximumPages);
    return { label, samples, results: total / samples.length };
  };
  const repeat = async (label: string, query: string, times: number): Promise<Timed> => {
    const samples: number[] = [];
    let results = 0;
    for (let time = 0; time < times; time++) {
      const { ms, body } = await user.client.timed("GET", `/conversations?limit=${PAGE_SIZE}${query}`);
      samples.push(ms);
      results = body.conversations.length;
    }
    return { label, samples, results };
  };
  const commonTitleWord = corpus.words[user.titleWords[0]![0]!]!;
  return [
    await repeat("first page (newest 50, unpinned, not archived)", "&pinned=false", 100),
    await walk("every page of the list, in order (≈ 190 pages)", "&pinned=false"),
    await repeat("pinned (50)", "&pinned=true", 100),
    await walk(`This Workspace (${WORKSPACES[0]}), every page`, `&pinned=false&workspace=${encodeURIComponent(WORKSPACES[0]!)}`),
    await walk("archived (500), every page", "&archived=true"),
    await repeat(
      `filter by title: "${commonTitleWord.slice(0, 3)}" (common)`,
      `&pinned=false&titleContains=${commonTitleWord.slice(0, 3)}`,
      50,
    ),
    await repeat(`filter by title: a text no title has`, "&pinned=false&titleContains=qqzx", 50),
  ];
}

async function sizeOf(database: Database, store: Store, dataDirectory: string): Promise<number> {
  if (store === "PostgreSQL") {
    const result = await database.raw("SELECT pg_database_size(current_database()) AS size");
    return Number(result.rows[0].size);
  }
  return ["juggler.sqlite", "juggler.sqlite-wal"].reduce((sum, name) => {
    const file = path.join(dataDirectory, name);
    return sum + (fs.existsSync(file) ? fs.statSync(file).size : 0);
  }, 0);
}

export function formatLibraryBench(result: LibraryBenchResult): string {
  const lines = [
    "## Library: search, tree, export and import",
    "",
    `${result.messages.toLocaleString("en")} messages in ${result.conversations.toLocaleString("en")} conversations: one member with ${HEAVY_MESSAGES} messages in ${HEAVY_CONVERSATIONS.toLocaleString("en")} conversations (the worst case for their own searches and tree) and ${TEAM_MEMBERS} members with ${(TEAM_CONVERSATIONS_EACH * MESSAGES_PER_CONVERSATION).toLocaleString("en")} each, in the same index. Built through the storage layer in transactions of ${CONVERSATIONS_PER_TRANSACTION} conversations (the triggers index as they do for a send); pseudo-English text with Zipf-distributed words (a question ≈ 25 words, an answer ≈ 120). The server runs as \`npm start\` leaves it; times are HTTP round trips from this process (p50 / p95 ms), and for searches also SearchService called in this process on the same database (second method). Searches ask for ${SEARCH_LIMIT} results.`,
    "",
  ];
  for (const store of result.stores) lines.push(formatStore(store));
  return lines.join("\n");
}

function formatStore(store: StoreResult): string {
  const lines: string[] = [];
  {
    lines.push(
      `### ${store.store}`,
      "",
      `Built in ${(store.buildMs / 1000).toFixed(0)} s; database ${(store.databaseBytes / 1e9).toFixed(2)} GB.`,
      "",
      "| search | requests | p50 / p95 (target ≤ 50 / 150 ms) | in process p50 / p95 | results |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const timed of store.search) {
      lines.push(
        `| ${timed.label} | ${timed.samples.length} | ${formatMs(percentile(timed.samples, 0.5))} / ${formatMs(percentile(timed.samples, 0.95))} | ${formatMs(percentile(timed.inProcess ?? [], 0.5))} / ${formatMs(percentile(timed.inProcess ?? [], 0.95))} | ${(timed.results ?? 0).toFixed(1)} |`,
      );
    }
    const realistic = store.search.filter((timed) => !timed.label.includes("worst") && !timed.label.includes("nowhere"));
    const pooled = realistic.flatMap((timed) => timed.samples);
    lines.push(
      `| **all of the above but the worst case and the misses** | ${pooled.length} | **${formatMs(percentile(pooled, 0.5))} / ${formatMs(percentile(pooled, 0.95))}** | | |`,
      "",
      "| tree page (50 conversations) | requests | p50 / p95 (target ≤ 10 ms) | conversations per page |",
      "| --- | --- | --- | --- |",
    );
    for (const timed of store.tree) {
      lines.push(
        `| ${timed.label} | ${timed.samples.length} | ${formatMs(percentile(timed.samples, 0.5))} / ${formatMs(percentile(timed.samples, 0.95))} | ${(timed.results ?? 0).toFixed(0)} |`,
      );
    }
    lines.push(
      "",
      `| a ${IMPORT_MESSAGES.toLocaleString("en")}-message conversation | requests | p50 / max |`,
      "| --- | --- | --- |",
      `| export (GET …/export?format=json) | ${store.exportMs.length} | ${formatMs(percentile(store.exportMs, 0.5))} / ${formatMs(Math.max(...store.exportMs))} ms |`,
      `| import (POST /import of that file: ${store.importedMessages.toLocaleString("en")} messages; target ≤ 2 s) | ${store.importMs.length} | ${formatMs(percentile(store.importMs, 0.5))} / ${formatMs(Math.max(...store.importMs))} ms |`,
      "",
    );
  }
  return lines.join("\n");
}
