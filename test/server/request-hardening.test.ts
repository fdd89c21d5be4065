import assert from "node:assert/strict";
import net from "node:net";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { openSse } from "../../tools/harness/sse-client";
import { startTestServer, type TestResponse, type TestServer } from "../../tools/harness/test-server";
import { createConversation, startChatFixture, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

function assertError(response: TestResponse, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status} ${JSON.stringify(response.body)}`);
  assert.equal(errorResponseSchema.parse(response.body).error.code, code);
}

const password = "correct horse battery";

describe("request hardening: client addresses behind a proxy", function () {
  let server: TestServer;
  afterEach(async () => {
    await server?.dispose();
  });

  const signIn = (name: string, forwardedFor: string) =>
    server.request("POST", "/auth/sign-in", { body: { name, password: "wrong password" }, headers: { "x-forwarded-for": forwardedFor } });

  it("limits by the address the trusted proxy appended, not the leftmost entry the client wrote", async () => {
    server = await startTestServer({ environment: { TRUST_PROXY: "true", AUTH_RATE_LIMIT_PER_MINUTE: "3" } });
    // One client (203.0.113.7 as the proxy saw it) makes up a new leftmost entry every time; each
    // attempt uses another name so that only the per-address limit can apply.
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      assertError(await signIn(`someone-${attempt}`, `198.51.100.${attempt}, 203.0.113.7`), 401, "invalid_credentials");
    }
    assertError(await signIn("someone-4", "198.51.100.99, 203.0.113.7"), 429, "rate_limited");
    // another client behind the same proxy is not affected
    assertError(await signIn("someone-5", "198.51.100.1, 203.0.113.8"), 401, "invalid_credentials");
  });

  it("counts proxy hops from the right when there are several (TRUST_PROXY_HOPS)", async () => {
    server = await startTestServer({ environment: { TRUST_PROXY: "true", TRUST_PROXY_HOPS: "2", AUTH_RATE_LIMIT_PER_MINUTE: "2" } });
    // client → edge proxy (appends the client) → inner proxy (appends the edge) → server
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      assertError(await signIn(`hop-${attempt}`, `10.9.9.${attempt}, 203.0.113.7, 10.0.0.2`), 401, "invalid_credentials");
    }
    assertError(await signIn("hop-3", "10.9.9.3, 203.0.113.7, 10.0.0.2"), 429, "rate_limited");
    assertError(await signIn("hop-4", "10.9.9.4, 203.0.113.9, 10.0.0.2"), 401, "invalid_credentials");
  });

  it("refuses a proxy hop count without TRUST_PROXY, naming the variable", async () => {
    await assert.rejects(startTestServer({ environment: { TRUST_PROXY_HOPS: "2" } }), /TRUST_PROXY_HOPS/);
  });
});

/** Every text the API accepts, with a NUL character in it. PostgreSQL cannot store U+0000 in text. */
async function probeNulCharacters(fixture: ChatFixture): Promise<void> {
  const { server, memberToken: token, adminToken } = fixture;
  const model = fixture.models.groq[0]!;
  const conversation = await createConversation(server, token);
  const nul = "\u0000";
  const probes: Array<[string, string, { body?: unknown; token?: string }]> = [
    ["POST", "/auth/register", { body: { name: `eve${nul}`, password } }],
    ["POST", "/auth/sign-in", { body: { name: `member${nul}`, password } }],
    ["POST", "/auth/sign-in", { body: { name: "member", password: `pass${nul}word!!` } }],
    ["POST", "/conversations", { token, body: { title: `Title${nul}` } }],
    ["PATCH", `/conversations/${conversation.id}`, { token, body: { title: `Renamed${nul}` } }],
    ["POST", `/conversations/${conversation.id}/messages`, { token, body: { content: `Hello${nul}there`, modelId: model } }],
    ["POST", `/conversations/${conversation.id}/messages`, { token, body: { content: "Hello", modelId: model, parentId: `x${nul}` } }],
    ["GET", `/conversations/${encodeURIComponent(`${conversation.id}${nul}`)}`, { token }],
    ["GET", `/messages/${encodeURIComponent(`abc${nul}`)}`, { token }],
    ["GET", `/conversations?cursor=${encodeURIComponent(`abc${nul}`)}`, { token }],
    ["PATCH", "/me/preferences", { token, body: { lastModelId: `${model}${nul}` } }],
    ["PATCH", "/admin/providers/groq", { token: adminToken, body: { baseUrl: `http://localhost${nul}/` } }],
    ["PATCH", "/admin/providers/groq", { token: adminToken, body: { apiKey: `gsk_${nul}secret` } }],
    ["PATCH", `/admin/users/${encodeURIComponent(`id${nul}`)}`, { token: adminToken, body: { status: "active" } }],
    // a NUL in a key of the body, not only in a value
    ["POST", "/conversations", { token, body: { [`title${nul}`]: "x" } }],
  ];
  for (const [method, path, options] of probes) {
    const response = await server.request(method, path, options);
    assert.equal(
      response.status,
      400,
      `${method} ${path} ${JSON.stringify(options.body)} → ${response.status} ${JSON.stringify(response.body)}`,
    );
    assert.equal(errorResponseSchema.parse(response.body).error.code, "validation_failed");
  }
  // nothing was stored: the conversation keeps its title and has no message
  const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
  assert.equal(detail.status, 200);
  assert.equal(detail.body.conversation.title, conversation.title);
  assert.equal(detail.body.messages.length, 0);
  const list = await server.request("GET", "/conversations", { token });
  assert.equal(list.body.conversations.length, 1);
}

describe("request hardening: NUL characters", function () {
  this.timeout(120_000);

  it("refuses U+0000 anywhere in a request as bad input on SQLite, and stores nothing", async () => {
    const fixture = await startChatFixture({ kinds: ["groq"] });
    try {
      await probeNulCharacters(fixture);
    } finally {
      await fixture.dispose();
    }
  });

  it("refuses U+0000 anywhere in a request as bad input on PostgreSQL, and stores nothing", async () => {
    const fixture = await startChatFixture({ server: { environment: { DATABASE_URL: await createTestDatabase() } }, kinds: ["groq"] });
    try {
      await probeNulCharacters(fixture);
    } finally {
      await fixture.dispose();
    }
  });

  it("still accepts the text \\u0000 written out (a backslash and five characters)", async () => {
    const fixture = await startChatFixture({ kinds: ["groq"] });
    try {
      const created = await fixture.server.request("POST", "/conversations", {
        token: fixture.memberToken,
        body: { title: "say \\u0000 here" },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.conversation.title, "say \\u0000 here");
    } finally {
      await fixture.dispose();
    }
  });
});

describe("request hardening: slow clients", function () {
  this.timeout(60_000);
  let server: TestServer;
  afterEach(async () => {
    await server?.dispose();
  });

  /** Opens a raw connection, sends `head` (and a partial body), and resolves with what the server wrote before it closed the socket. */
  function sendPartialRequest(head: string): Promise<{ closedAfterMs: number; response: string }> {
    const url = new URL(server.url);
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let response = "";
      const socket = net.connect(Number(url.port), url.hostname, () => socket.write(head));
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (response += chunk));
      socket.on("close", () => resolve({ closedAfterMs: Date.now() - started, response }));
      socket.on("error", reject);
      // the test fails by timeout if the server never closes the connection
    });
  }

  it("cuts a request whose body never finishes arriving", async () => {
    server = await startTestServer({ environment: { REQUEST_TIMEOUT_MS: "1500", HEADERS_TIMEOUT_MS: "1000" } });
    const body = JSON.stringify({ name: "someone", password });
    const result = await sendPartialRequest(
      `POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 50}\r\n\r\n${body}`,
    );
    assert.match(result.response, /^HTTP\/1\.1 408/, result.response || "(closed without a response)");
    assert.ok(result.closedAfterMs < 10_000, `closed after ${result.closedAfterMs} ms`);
  });

  it("cuts a client that never finishes its headers", async () => {
    server = await startTestServer({ environment: { REQUEST_TIMEOUT_MS: "1500", HEADERS_TIMEOUT_MS: "1000" } });
    const result = await sendPartialRequest("GET /api/v1/meta HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    assert.match(result.response, /^HTTP\/1\.1 408/, result.response || "(closed without a response)");
  });

  it("lets an answer stream for longer than the request timeout", async function () {
    const fixture = await startChatFixture({
      server: { environment: { REQUEST_TIMEOUT_MS: "1000", HEADERS_TIMEOUT_MS: "1000" } },
      kinds: ["groq"],
    });
    try {
      fixture.fakes.groq.setReply({ text: "one two three four five six seven eight nine ten" });
      fixture.fakes.groq.setTokenDelayMs(300);
      const conversation = await createConversation(fixture.server, fixture.memberToken);
      const sent = await fixture.server.request("POST", `/conversations/${conversation.id}/messages`, {
        token: fixture.memberToken,
        body: { content: "Take your time", modelId: fixture.models.groq[0]! },
      });
      assert.equal(sent.status, 202);
      const started = Date.now();
      const stream = await openSse(`${fixture.server.url}/api/v1/messages/${sent.body.assistantMessage.id}/stream`, {
        token: fixture.memberToken,
      });
      await stream.ended;
      assert.ok(Date.now() - started > 2000, "the stream lasted longer than the request timeout");
      assert.equal(stream.events.at(-1)?.event, "generation-end", JSON.stringify(stream.events.at(-1)));
    } finally {
      await fixture.dispose();
    }
  });
});
