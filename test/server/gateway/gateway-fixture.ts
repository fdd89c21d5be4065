import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import Groq from "groq-sdk";
import type { ProviderKind } from "../../../protocol/http/providers";
import type { FakeProvidersOptions } from "../../../tools/fake-providers";
import type { TestServer, TestServerOptions } from "../../../tools/harness/test-server";
import { chatRequests, startChatFixture, type ChatFixture } from "../../support/chat-helpers";

/** The chat fixture (admin, member, the three fakes with every model visible) and a gateway key of the member's. */
export interface GatewayFixture extends ChatFixture {
  memberKey: string;
  memberKeyId: string;
  memberId: string;
  /** An OpenAI-shaped client (groq-sdk: its paths are `/openai/v1/…`, so its base URL is the server's root). */
  openAi(key?: string): Groq;
  /** The official Anthropic SDK pointed at `/anthropic`. */
  anthropic(key?: string): Anthropic;
}

export async function startGatewayFixture(
  options: { server?: TestServerOptions; fakes?: FakeProvidersOptions } = {},
): Promise<GatewayFixture> {
  const fixture = await startChatFixture(options);
  const created = await createApiKey(fixture.server, fixture.memberToken, "laptop");
  const me = await fixture.server.request("GET", "/me", { token: fixture.memberToken });
  return {
    ...fixture,
    memberKey: created.key,
    memberKeyId: created.apiKey.id,
    memberId: me.body.user.id,
    // no retries of their own: what the gateway answers is what the test sees
    openAi: (key = created.key) => new Groq({ apiKey: key, baseURL: fixture.server.url, maxRetries: 0, logLevel: "off" }),
    anthropic: (key = created.key) =>
      new Anthropic({ apiKey: key, baseURL: `${fixture.server.url}/anthropic`, maxRetries: 0, logLevel: "off" }),
  };
}

export async function createApiKey(
  server: TestServer,
  token: string,
  name: string,
): Promise<{ key: string; apiKey: { id: string; name: string; prefix: string } }> {
  const response = await server.request("POST", "/me/api-keys", { token, body: { name } });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

/** The ledger's rows, newest last (straight from the table: the test checks what was stored), once written. */
export async function ledgerRows(server: TestServer): Promise<any[]> {
  // the gateway does not wait for an answer's row to be written: wait for it here
  await server.services.ledger.flush();
  const rows = await server.database("usage_ledger").orderBy([{ column: "finished_at" }, { column: "id" }]);
  return rows.map((row: any) => ({
    ...row,
    input_tokens: row.input_tokens === null ? null : Number(row.input_tokens),
    output_tokens: row.output_tokens === null ? null : Number(row.output_tokens),
    cached_input_tokens: row.cached_input_tokens === null ? null : Number(row.cached_input_tokens),
    cost_micro_usd: row.cost_micro_usd === null ? null : Number(row.cost_micro_usd),
  }));
}

/** Waits until the ledger has `count` rows (a streamed answer is recorded as its stream closes). */
export async function waitForLedgerRows(server: TestServer, count: number): Promise<any[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const rows = await ledgerRows(server);
    if (rows.length >= count) return rows;
    if (Date.now() > deadline) throw new Error(`the ledger has ${rows.length} rows, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * What the fake itself reports as usage for the last chat request it received: the same body sent
 * again straight to it, unstreamed, and its usage read in its own format (a second measurement,
 * independent of our adapters).
 */
export async function fakeReportedUsage(
  fixture: ChatFixture,
  kind: ProviderKind,
): Promise<{ input: number; output: number; cached: number | undefined }> {
  const requests = chatRequests(fixture.fakes, kind);
  assert.ok(requests.length > 0, `${kind} received no chat request`);
  const last = requests.at(-1)!;
  const body = { ...(last.body as Record<string, unknown>), stream: false };
  const paths: Record<ProviderKind, string> = { anthropic: "/v1/messages", groq: "/openai/v1/chat/completions", ollama: "/api/chat" };
  const headers: Record<ProviderKind, Record<string, string>> = {
    anthropic: { "x-api-key": "fake-anthropic-key", "anthropic-version": "2023-06-01" },
    groq: { authorization: "Bearer fake-groq-key" },
    ollama: {},
  };
  const response = await fetch(`${fixture.fakes[kind].url}${paths[kind]}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers[kind] },
    body: JSON.stringify(body),
  });
  const answer: any = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  if (kind === "anthropic") {
    const cached = answer.usage.cache_read_input_tokens ?? 0;
    return {
      input: answer.usage.input_tokens + cached + (answer.usage.cache_creation_input_tokens ?? 0),
      output: answer.usage.output_tokens,
      cached,
    };
  }
  if (kind === "groq")
    return {
      input: answer.usage.prompt_tokens,
      output: answer.usage.completion_tokens,
      cached: answer.usage.prompt_tokens_details?.cached_tokens,
    };
  return { input: answer.prompt_eval_count, output: answer.eval_count, cached: undefined };
}

/** The `{ message, type, param, code }` of an OpenAI-style error as groq-sdk holds it (the whole body is its `error`). */
export function openAiErrorOf(error: any): { message: string; type: string; param: string | null; code: string | null } {
  return error?.error?.error ?? error?.error;
}

/** The `{ type, message }` of an Anthropic error as the Anthropic SDK holds it. */
export function anthropicErrorOf(error: any): { type: string; message: string } {
  return error?.error?.error;
}
