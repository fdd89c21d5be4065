import assert from "node:assert/strict";
import type { ProviderKind } from "../../protocol/http/providers";
import { startFakeProviders, type FakeProviders, type FakeProvidersOptions, type RecordedRequest } from "../../tools/fake-providers";
import { configureFakeProviders, type VisibleModelIds } from "../../tools/harness/provider-setup";
import { openSse, readSseToEnd, type SseConnection, type SseMessage } from "../../tools/harness/sse-client";
import { registerUser, startTestServer, type TestServer, type TestServerOptions } from "../../tools/harness/test-server";

/** A running team server wired to the three fakes, with an admin and a member signed in. */
export interface ChatFixture {
  server: TestServer;
  fakes: FakeProviders;
  adminToken: string;
  memberToken: string;
  models: VisibleModelIds;
  dispose(): Promise<void>;
}

export async function startChatFixture(
  options: { server?: TestServerOptions; fakes?: FakeProvidersOptions; kinds?: ProviderKind[] } = {},
): Promise<ChatFixture> {
  const fakes = await startFakeProviders(options.fakes);
  const server = await startTestServer(options.server);
  try {
    const admin = await registerUser(server, "admin");
    const member = await registerUser(server, "member");
    const models = await configureFakeProviders(server, fakes, admin.accessToken, options.kinds);
    return {
      server,
      fakes,
      adminToken: admin.accessToken,
      memberToken: member.accessToken,
      models,
      dispose: async () => {
        await server.dispose();
        await fakes.close();
      },
    };
  } catch (error) {
    await server.dispose();
    await fakes.close();
    throw error;
  }
}

/** The request paths that are chat calls (as opposed to model listing). */
const chatPaths: Record<ProviderKind, string> = {
  anthropic: "/v1/messages",
  groq: "/openai/v1/chat/completions",
  ollama: "/api/chat",
};

export function chatRequests(fakes: FakeProviders, kind: ProviderKind): RecordedRequest[] {
  return fakes[kind].requests.filter((request) => request.method === "POST" && request.path === chatPaths[kind]);
}

export function lastChatRequest(fakes: FakeProviders, kind: ProviderKind): RecordedRequest {
  const requests = chatRequests(fakes, kind);
  assert.ok(requests.length > 0, `${kind} received no chat request`);
  return requests[requests.length - 1]!;
}

export async function createConversation(server: TestServer, token: string, body: Record<string, unknown> = {}): Promise<any> {
  const response = await server.request("POST", "/conversations", { token, body });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.conversation;
}

export async function send(
  server: TestServer,
  token: string,
  conversationId: string,
  content: string,
  modelId: string,
  extra: Record<string, unknown> = {},
): Promise<any> {
  const response = await server.request("POST", `/conversations/${conversationId}/messages`, {
    token,
    body: { content, modelId, ...extra },
  });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body;
}

export function streamUrl(server: TestServer, messageId: string): string {
  return `${server.url}/api/v1/messages/${messageId}/stream`;
}

export function openAnswerStream(
  server: TestServer,
  token: string,
  messageId: string,
  lastEventId?: number | string,
): Promise<SseConnection> {
  return openSse(streamUrl(server, messageId), { token, lastEventId });
}

/** Reads an answer's stream to its end; returns the events and the final message of the terminal event. */
export async function waitForAnswer(server: TestServer, token: string, messageId: string): Promise<{ events: SseMessage[]; message: any }> {
  const connection = await readSseToEnd(streamUrl(server, messageId), { token });
  assert.equal(connection.status, 200, JSON.stringify(connection.errorBody));
  const terminal = connection.events.at(-1);
  assert.ok(
    terminal && (terminal.event === "generation-end" || terminal.event === "generation-error"),
    "stream ended without a terminal event",
  );
  return { events: connection.events, message: terminal.data.message };
}

/** Sends and waits for the answer to finish; returns the send reply and the final answer. */
export async function sendAndWait(
  server: TestServer,
  token: string,
  conversationId: string,
  content: string,
  modelId: string,
  extra: Record<string, unknown> = {},
): Promise<{ sent: any; answer: any; events: SseMessage[] }> {
  const sent = await send(server, token, conversationId, content, modelId, extra);
  const { events, message } = await waitForAnswer(server, token, sent.assistantMessage.id);
  return { sent, answer: message, events };
}

export async function getMessage(server: TestServer, token: string, messageId: string): Promise<any> {
  const response = await server.request("GET", `/messages/${messageId}`, { token });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.message;
}

/** Polls until `check` returns a value other than undefined. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function textOfDeltas(events: readonly SseMessage[]): string {
  return events
    .filter((event) => event.event === "text-delta")
    .map((event) => event.data.text as string)
    .join("");
}

/** A message long enough that its echo streams many deltas (for stop / re-attach tests). */
export function longMessage(words = 120): string {
  return Array.from({ length: words }, (_unused, index) => `word${index}`).join(" ");
}
