import assert from "node:assert/strict";
import http from "node:http";
import Koa from "koa";
import { errorResponseSchema } from "../../protocol/http/error-codes";
import { errorMiddleware } from "../../server/src/http/error-middleware";
import { createLogger } from "../../server/src/logger";
import { closeLoopbackServer, listenOnLoopback } from "../../tools/harness/loopback-server";

/**
 * The error middleware on a real Koa app and real HTTP: a body that fails to serialise (after every
 * route has returned) still gets the JSON error shape, and is logged.
 */
describe("error middleware: every error is the JSON error shape and logged", () => {
  let server: http.Server;
  let url: string;
  const logLines: string[] = [];

  before(async () => {
    const app = new Koa();
    app.silent = true;
    app.use(errorMiddleware(createLogger("debug", (line) => logLines.push(line))));
    app.use(async (context) => {
      if (context.path === "/bigint") context.body = { count: 10n };
      else if (context.path === "/circular") {
        const body: Record<string, unknown> = { name: "loop" };
        body.self = body;
        context.body = body;
      } else if (context.path === "/created") {
        context.status = 201;
        context.body = { ok: true };
      } else if (context.path === "/text") context.body = "plain";
    });
    server = http.createServer(app.callback());
    url = await listenOnLoopback(server);
  });
  after(() => closeLoopbackServer(server));

  for (const path of ["/bigint", "/circular"]) {
    it(`a body JSON cannot represent (${path}) is a coded 500 in JSON, and logged`, async () => {
      logLines.length = 0;
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, 500);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      const body = errorResponseSchema.parse(await response.json());
      assert.equal(body.error.code, "internal_error");
      assert.ok(
        logLines.some((line) => {
          const entry = JSON.parse(line) as { level?: string; msg?: string; path?: string };
          return entry.level === "error" && entry.msg === "request failed" && entry.path === path;
        }),
        logLines.join("\n"),
      );
    });
  }

  it("leaves good bodies as they were: JSON keeps its status and type, text stays text", async () => {
    const created = await fetch(`${url}/created`);
    assert.equal(created.status, 201);
    assert.match(created.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await created.json(), { ok: true });
    const text = await fetch(`${url}/text`);
    assert.equal(await text.text(), "plain");
    assert.match(text.headers.get("content-type") ?? "", /^text\/plain/);
  });
});
