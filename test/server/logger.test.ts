import assert from "node:assert/strict";
import { createLogger } from "../../server/src/logger";
import { createConversation, sendAndWait, startChatFixture, type ChatFixture } from "../support/chat-helpers";

/** Parses every captured line: each must be exactly one JSON object. */
function parseLines(lines: string[]): Array<Record<string, unknown>> {
  return lines.map((line) => {
    assert.ok(!line.includes("\n"), `one object per line: ${line}`);
    return JSON.parse(line) as Record<string, unknown>;
  });
}

describe("server log lines", function () {
  it("are one JSON object per line with level, ISO time, message and the fields", () => {
    const lines: string[] = [];
    const logger = createLogger("info", (line) => lines.push(line));
    logger.info("answer finished", { messageId: "m1", status: "complete", durationMs: 5310 });
    logger.warn("no fields");
    const [finished, warning] = parseLines(lines);
    assert.equal(finished!.level, "info");
    assert.equal(finished!.msg, "answer finished");
    assert.equal(finished!.messageId, "m1");
    assert.equal(finished!.durationMs, 5310);
    assert.equal(new Date(finished!.time as string).toISOString(), finished!.time);
    assert.deepEqual(Object.keys(warning!).sort(), ["level", "msg", "time"]);
  });

  it("drop what is below the level", () => {
    const lines: string[] = [];
    const logger = createLogger("warn", (line) => lines.push(line));
    logger.debug("debug");
    logger.info("info");
    logger.warn("warn");
    logger.error("error");
    assert.deepEqual(
      parseLines(lines).map((line) => line.msg),
      ["warn", "error"],
    );
    const silent: string[] = [];
    createLogger("silent", (line) => silent.push(line)).error("never");
    assert.deepEqual(silent, []);
  });

  it("redact keys, passwords, tokens and credential headers by name, and keep timings and token counts", () => {
    const lines: string[] = [];
    const logger = createLogger("debug", (line) => lines.push(line));
    const secrets = {
      apiKey: "sk-ant-api03-SECRET-apiKey",
      password: "correct horse battery staple",
      newPassword: "another secret phrase",
      accessToken: "eyJhbGciOiJIUzI1NiJ9.payload.SIGNATURE",
      refreshToken: "opaque-refresh-token-value",
      authorization: "Bearer gsk_header_secret",
      xApiKey: "x-api-key-header-secret",
    };
    logger.info("answer finished", {
      timeToFirstTokenMs: 412,
      inputTokens: 1200,
      outputTokens: 96,
      keyLast4: "abcd",
      apiKey: secrets.apiKey,
      password: secrets.password,
      accessToken: secrets.accessToken,
      body: { name: "ada", newPassword: secrets.newPassword },
      request: { headers: { authorization: secrets.authorization, "x-api-key": secrets.xApiKey, accept: "application/json" } },
    });
    logger.child({ refreshToken: secrets.refreshToken, service: "accounts" }).info("signed in", { userId: "u1" });

    for (const secret of Object.values(secrets)) {
      for (const line of lines) assert.ok(!line.includes(secret), `a secret reached the log: ${line}`);
    }
    const [finished, signedIn] = parseLines(lines);
    assert.equal(finished!.timeToFirstTokenMs, 412, "a timing is not a secret");
    assert.equal(finished!.inputTokens, 1200);
    assert.equal(finished!.outputTokens, 96);
    assert.equal(finished!.keyLast4, "abcd");
    assert.equal(finished!.apiKey, "[redacted]");
    assert.equal(finished!.accessToken, "[redacted]");
    assert.deepEqual(finished!.body, { name: "ada", newPassword: "[redacted]" });
    assert.deepEqual(finished!.request, {
      headers: { authorization: "[redacted]", "x-api-key": "[redacted]", accept: "application/json" },
    });
    assert.equal(signedIn!.refreshToken, "[redacted]", "a child logger's fields are redacted too");
    assert.equal(signedIn!.service, "accounts");
  });

  it("write an error's name, message and stack, never its cause or other properties", () => {
    const lines: string[] = [];
    const logger = createLogger("info", (line) => lines.push(line));
    const cause = new Error("401 from https://api.example with key sk-in-the-cause");
    const error = Object.assign(new Error("The provider rejected the request", { cause }), { requestHeaders: { "x-api-key": "sk-prop" } });
    logger.error("request failed", { error });
    const [line] = parseLines(lines);
    const logged = line!.error as Record<string, unknown>;
    assert.equal(logged.name, "Error");
    assert.equal(logged.message, "The provider rejected the request");
    assert.match(String(logged.stack), /^Error: The provider rejected the request\n/);
    assert.ok(!lines[0]!.includes("sk-in-the-cause"));
    assert.ok(!lines[0]!.includes("sk-prop"));
  });

  describe("of a real answer", function () {
    let fixture: ChatFixture;

    before(async () => {
      fixture = await startChatFixture({ kinds: ["groq"] });
    });
    after(async () => {
      await fixture?.dispose();
    });

    it("show the answer's time to first token, not [redacted]", async () => {
      const { server, memberToken: token } = fixture;
      const conversation = await createConversation(server, token);
      const { answer } = await sendAndWait(server, token, conversation.id, "Hello", fixture.models.groq[0]!);
      assert.equal(answer.status, "complete");
      const finished = parseLines(server.logLines).find((line) => line.msg === "answer finished" && line.messageId === answer.id);
      assert.ok(finished, "the answer's last log line");
      assert.equal(finished.timeToFirstTokenMs, answer.timeToFirstTokenMs);
      assert.equal(typeof finished.timeToFirstTokenMs, "number");
    });
  });
});
