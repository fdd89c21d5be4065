import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ProviderKind } from "../../protocol/http/providers";
import { parseEchoText, startFakeProviders, type FakeProviders } from "../../tools/fake-providers";
import { openSse } from "../../tools/harness/sse-client";

/**
 * `npm start` builds the server into dist/server/ and runs that bundle, which loads each provider
 * SDK from its own file on first use. The other suites run the TypeScript sources; this one runs
 * exactly what the start script runs, so a bundling mistake (an SDK file not found, an export lost
 * on the way) shows up here rather than on a team's first message.
 */
const repositoryRoot = path.resolve(__dirname, "../..");

interface StartScript {
  preparations: string[][];
  server: string[];
}

/** "node a && node b": the preparations, then the server's node arguments (the same reading as bench/team-server-process.ts). */
function readStartScript(): StartScript {
  const packageJson = JSON.parse(fs.readFileSync(path.join(repositoryRoot, "package.json"), "utf8")) as { scripts: { start: string } };
  const commands = packageJson.scripts.start.split("&&").map((command) => command.trim().split(/\s+/));
  for (const command of commands) assert.equal(command[0], "node", `the start script runs node directly: ${packageJson.scripts.start}`);
  const nodeArguments = commands.map((command) => command.slice(1));
  return { preparations: nodeArguments.slice(0, -1), server: nodeArguments.at(-1) as string[] };
}

async function call(url: string, method: string, apiPath: string, token?: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}/api/v1${apiPath}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${apiPath}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

describe("npm start (the built server)", function () {
  this.timeout(60_000);
  let fakes: FakeProviders;
  let dataDirectory: string;
  let child: ChildProcess | undefined;
  let url: string;
  let output = "";

  before(async () => {
    const script = readStartScript();
    for (const preparation of script.preparations) execFileSync(process.execPath, preparation, { cwd: repositoryRoot, stdio: "pipe" });
    fakes = await startFakeProviders();
    dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-start-"));
    child = spawn(process.execPath, script.server, {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        PORT: "0",
        HOST: "127.0.0.1",
        DATA_DIR: dataDirectory,
        LOG_LEVEL: "warn",
        ANTHROPIC_API_KEY: "fake-anthropic-key",
        ANTHROPIC_BASE_URL: fakes.anthropic.url,
        GROQ_API_KEY: "fake-groq-key",
        GROQ_BASE_URL: fakes.groq.url,
        OLLAMA_BASE_URL: fakes.ollama.url,
        CATALOG_REFRESH_MINUTES: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    url = await new Promise<string>((resolve, reject) => {
      child!.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      child!.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child!.once("exit", (code) => reject(new Error(`the server exited with ${code}:\n${output}`)));
    });
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await new Promise((resolve) => child!.once("exit", resolve));
    }
    await fakes?.close();
    if (dataDirectory) fs.rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("answers through each provider's SDK, then stops cleanly on SIGTERM", async () => {
    // registering answers the same whatever happened; signing in gives the session
    await call(url, "POST", "/auth/register", undefined, { name: "admin", password: "correct horse battery" });
    const { accessToken: token } = await call(url, "POST", "/auth/sign-in", undefined, {
      name: "admin",
      password: "correct horse battery",
    });
    for (const provider of ["anthropic", "groq", "ollama"] as ProviderKind[]) {
      const refreshed = await call(url, "POST", `/admin/providers/${provider}/refresh-models`, token, {});
      const model = refreshed.models.find((candidate: { isAvailable: boolean }) => candidate.isAvailable);
      assert.ok(model, `${provider} listed models through its SDK`);
      await call(url, "PATCH", "/admin/models", token, { changes: [{ id: model.id, isVisible: true }] });

      const { conversation } = await call(url, "POST", "/conversations", token, {});
      const sent = await call(url, "POST", `/conversations/${conversation.id}/messages`, token, {
        content: `Hello ${provider}`,
        modelId: model.id,
      });
      const stream = await openSse(`${url}/api/v1/messages/${sent.assistantMessage.id}/stream`, { token });
      await stream.ended;
      const last = stream.events.at(-1);
      assert.equal(last?.event, "generation-end", `${provider}: ${JSON.stringify(last?.data)}`);
      assert.equal(last.data.message.provider, provider);
      const echoed = parseEchoText(last.data.message.content);
      assert.deepEqual(echoed.messages, [{ role: "user", text: `Hello ${provider}` }]);
      assert.equal(last.data.message.context.firstMessageId, sent.userMessage.id);
      assert.equal(last.data.message.context.lastMessageId, sent.userMessage.id);
    }

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child!.kill("SIGTERM");
    assert.equal(await exited, 0, output);
  });
});
