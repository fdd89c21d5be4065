import assert from "node:assert/strict";
import crypto from "node:crypto";
import Router from "@koa/router";
import { buildPath, endpoints, type EndpointDefinition } from "../../protocol/http/endpoints";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { mountApiRoutes } from "../../server/src/routes/api-routes";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";

/**
 * Routes are bound to protocol/http/endpoints.ts: every definition is mounted once, and who may call
 * it is the definition's `access`, seen from outside over HTTP.
 */
describe("endpoints are mounted exactly as defined", function () {
  let server: TestServer;
  let memberToken: string;
  const definitions = Object.entries(endpoints) as Array<[string, EndpointDefinition]>;

  before(async () => {
    server = await startTestServer();
    await registerUser(server, "admin");
    memberToken = (await registerUser(server, "member")).accessToken;
  });
  after(async () => {
    await server?.dispose();
  });

  it("mounts every definition once, and nothing else", () => {
    const mounted = mountApiRoutes(new Router(), server.services, server.config);
    for (const [name, definition] of definitions) {
      assert.equal(mounted.filter((entry) => entry === definition).length, 1, `${name} mounted once`);
    }
    assert.equal(mounted.length, definitions.length);
  });

  /** The path with every parameter filled by an id nobody has. */
  const pathOf = (definition: EndpointDefinition) =>
    buildPath(
      definition.path,
      Object.fromEntries([...definition.path.matchAll(/:([A-Za-z]+)/g)].map((match) => [match[1]!, crypto.randomUUID()])),
    );

  for (const [name, definition] of definitions) {
    it(`${name}: ${definition.method} ${definition.path} is ${definition.access}`, async () => {
      const anonymous = await server.request(definition.method, pathOf(definition), { body: definition.method === "GET" ? undefined : {} });
      assert.notEqual(anonymous.status, 405, "the method is mounted");
      if (definition.access === "public") {
        assert.notEqual(anonymous.status, 401, JSON.stringify(anonymous.body));
        return;
      }
      assert.equal(anonymous.status, 401, `without a token: ${JSON.stringify(anonymous.body)}`);
      assert.equal(errorResponseSchema.parse(anonymous.body).error.code, "unauthenticated");

      const asMember = await server.request(definition.method, pathOf(definition), {
        token: memberToken,
        body: definition.method === "GET" ? undefined : {},
      });
      if (definition.access === "admin") {
        assert.equal(asMember.status, 403, `as a member: ${JSON.stringify(asMember.body)}`);
        assert.equal(errorResponseSchema.parse(asMember.body).error.code, "forbidden");
      } else {
        assert.ok(asMember.status !== 401 && asMember.status !== 403, `as a member: ${asMember.status} ${JSON.stringify(asMember.body)}`);
      }
    });
  }
});
