import assert from "node:assert/strict";
import { API_VERSION, errorResponseSchema, metaResponseSchema } from "../../protocol/http";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";

/** What holds for every endpoint: the meta answer, the error body, methods and bodies. */
describe("HTTP API conventions", () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startTestServer();
    token = (await registerUser(server, "admin")).accessToken;
  });
  after(() => server.dispose());

  it("answers /meta with the server and API version and the registration policy", async () => {
    const response = await server.request("GET", "/meta");
    assert.equal(response.status, 200);
    const meta = metaResponseSchema.parse(response.body);
    assert.equal(meta.apiVersion, API_VERSION);
    assert.match(meta.serverVersion, /^\d+\.\d+\.\d+/);
    assert.equal(meta.registration, "open");
  });

  it("answers an unknown path with a coded 404, and a wrong method with 405", async () => {
    const unknown = await server.request("GET", "/no-such-thing", { token });
    assert.equal(unknown.status, 404);
    assert.equal(errorResponseSchema.parse(unknown.body).error.code, "not_found");
    const wrongMethod = await server.request("PUT", "/meta");
    assert.equal(wrongMethod.status, 405);
    assert.equal(errorResponseSchema.parse(wrongMethod.body).error.code, "method_not_allowed");
  });

  it("accepts a POST without any body where none is needed, and refuses a non-JSON one with 415", async () => {
    const created = await server.request("POST", "/conversations", { token });
    assert.equal(created.status, 201);
    const refreshed = await server.request("POST", "/admin/providers/ollama/test", { token });
    assert.equal(refreshed.status, 200);
    const asText = await server.request("PATCH", `/conversations/${created.body.conversation.id}`, {
      token,
      rawBody: "title=x",
      headers: { "content-type": "text/plain" },
    });
    assert.equal(asText.status, 415);
    assert.equal(errorResponseSchema.parse(asText.body).error.code, "unsupported_media_type");
  });

  it("answers malformed JSON with a coded 400, never a 500", async () => {
    const response = await server.request("POST", "/conversations", {
      token,
      rawBody: '{"title": ',
      headers: { "content-type": "application/json" },
    });
    assert.equal(response.status, 400);
    assert.equal(errorResponseSchema.parse(response.body).error.code, "validation_failed");
  });

  it("sets no-store and nosniff on every answer", async () => {
    const response = await server.request("GET", "/meta");
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  });
});
