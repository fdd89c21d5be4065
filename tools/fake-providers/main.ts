/**
 * Runs the three fake providers until SIGINT/SIGTERM:
 *
 *   npx tsx tools/fake-providers/main.ts [--anthropic-port N] [--groq-port N] [--ollama-port N]
 *     [--host 127.0.0.1] [--anthropic-key K] [--groq-key K] [--reply echo|replay|text:<answer>]
 *     [--token-delay-ms N]
 *
 * Each flag can also come from the environment: FAKE_ANTHROPIC_PORT, FAKE_GROQ_PORT,
 * FAKE_OLLAMA_PORT, FAKE_PROVIDERS_HOST, FAKE_ANTHROPIC_KEY, FAKE_GROQ_KEY, FAKE_REPLY,
 * FAKE_TOKEN_DELAY_MS. Ports default to 0 (ephemeral). Prints one `<provider> <url>` line each.
 * Faults and settings can then be changed over HTTP: POST <url>/__control/faults, /__control/settings,
 * /__control/reset; GET <url>/__control/requests.
 */
import { parseArgs } from "node:util";
import { startFakeProviders } from "./index";
import type { ReplyMode } from "./reply-mode";

function parsePort(value: string | undefined, name: string): number {
  if (value === undefined || value === "") return 0;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number, got ${value}`);
  return port;
}

function parseReply(value: string | undefined): ReplyMode | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "echo" || value === "replay") return value;
  if (value.startsWith("text:")) return { text: value.slice("text:".length) };
  throw new Error(`--reply must be echo, replay or text:<answer>, got ${value}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "anthropic-port": { type: "string" },
      "groq-port": { type: "string" },
      "ollama-port": { type: "string" },
      host: { type: "string" },
      "anthropic-key": { type: "string" },
      "groq-key": { type: "string" },
      reply: { type: "string" },
      "token-delay-ms": { type: "string" },
    },
    strict: true,
  });
  const environment = process.env;
  const host = values.host ?? environment.FAKE_PROVIDERS_HOST ?? "127.0.0.1";
  const tokenDelayText = values["token-delay-ms"] ?? environment.FAKE_TOKEN_DELAY_MS;
  const tokenDelayMs = tokenDelayText === undefined || tokenDelayText === "" ? undefined : Number(tokenDelayText);
  if (tokenDelayMs !== undefined && !(tokenDelayMs >= 0)) throw new Error(`--token-delay-ms must be >= 0, got ${tokenDelayText}`);

  const fakes = await startFakeProviders({
    reply: parseReply(values.reply ?? environment.FAKE_REPLY),
    tokenDelayMs,
    anthropic: {
      host,
      port: parsePort(values["anthropic-port"] ?? environment.FAKE_ANTHROPIC_PORT, "--anthropic-port"),
      apiKey: values["anthropic-key"] ?? environment.FAKE_ANTHROPIC_KEY ?? "fake-anthropic-key",
    },
    groq: {
      host,
      port: parsePort(values["groq-port"] ?? environment.FAKE_GROQ_PORT, "--groq-port"),
      apiKey: values["groq-key"] ?? environment.FAKE_GROQ_KEY ?? "fake-groq-key",
    },
    ollama: { host, port: parsePort(values["ollama-port"] ?? environment.FAKE_OLLAMA_PORT, "--ollama-port") },
  });
  process.stdout.write(`anthropic ${fakes.anthropic.url}\ngroq ${fakes.groq.url}\nollama ${fakes.ollama.url}\n`);

  let isStopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (isStopping) return;
    isStopping = true;
    process.stderr.write(`fake providers: ${signal}, closing\n`);
    // close() destroys open streams, so the event loop empties and the process exits by itself.
    void fakes.close().then(() => {
      process.exitCode = 0;
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`fake providers failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
