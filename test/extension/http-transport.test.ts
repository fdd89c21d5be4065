import assert from "node:assert/strict";
import net from "node:net";
import { HttpTransport, normalizeServerUrl, toTeamServerError } from "../../extension/src/server-client/http-transport";
import { TeamServerError } from "../../extension/src/server-client/team-server-error";
import { startStubServer } from "./extension-test-environment";

describe("extension: HttpTransport (one request to the team server)", () => {
  it("sends JSON under /api/v1 with the bearer token, and normalises the server's address", async () => {
    const seen: Array<{ url?: string; authorization?: string; contentType?: string; body: string }> = [];
    const stub = await startStubServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        seen.push({ url: request.url, authorization: request.headers.authorization, contentType: request.headers["content-type"], body });
        response.writeHead(200, { "content-type": "application/json" });
        response.end("{}");
      });
    });
    try {
      const transport = new HttpTransport({ serverUrl: ` ${stub.url}// ` }, 5_000);
      assert.equal(transport.serverUrl, stub.url);
      const response = await transport.send("POST", "/conversations", { body: { title: "x" }, token: "secret" });
      assert.equal(response.status, 200);
      assert.deepEqual(seen, [
        { url: "/api/v1/conversations", authorization: "Bearer secret", contentType: "application/json", body: '{"title":"x"}' },
      ]);
    } finally {
      await stub.close();
    }
  });

  it("says plainly when the server cannot be reached, does not answer in time, or the caller cancelled", async () => {
    const port = await closedPort();
    const unreachable = new HttpTransport({ serverUrl: `http://127.0.0.1:${port}` }, 5_000);
    await assert.rejects(unreachable.send("GET", "/meta"), (error: unknown) => {
      assert.ok(error instanceof TeamServerError && error.code === "offline" && error.retryable);
      assert.match(error.message, new RegExp(`^Can't reach the Juggler server at http://127\\.0\\.0\\.1:${port}\\.`));
      return true;
    });
    const silent = await startStubServer(() => undefined); // never answers
    try {
      const slow = new HttpTransport({ serverUrl: silent.url }, 200);
      await assert.rejects(
        slow.send("GET", "/meta"),
        (error: unknown) => error instanceof TeamServerError && /did not answer in time/.test(error.message),
      );
      const controller = new AbortController();
      const cancelled = new HttpTransport({ serverUrl: silent.url }, 5_000).send("GET", "/meta", { signal: controller.signal });
      controller.abort();
      await assert.rejects(cancelled, (error: unknown) => error instanceof TeamServerError && error.code === "aborted");
    } finally {
      await silent.close();
    }
  });

  it("maps the server's error body to its code, and anything else to a plain description", () => {
    const coded = toTeamServerError(new Response(null, { status: 409 }), { error: { code: "conflict", message: "Busy" } });
    assert.deepEqual([coded.status, coded.code, coded.message, coded.retryable], [409, "conflict", "Busy", false]);
    const page = toTeamServerError(new Response(null, { status: 502, statusText: "Bad Gateway" }), undefined);
    assert.deepEqual(
      [page.code, page.message, page.retryable],
      ["invalid_response", "The Juggler server answered 502 Bad Gateway without an error description.", true],
    );
    assert.equal(normalizeServerUrl("http://host:8080///"), "http://host:8080");
  });
});

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
