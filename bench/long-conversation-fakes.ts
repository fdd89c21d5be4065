/**
 * The fake providers for the long-conversation benchmark, in a process of their own (like
 * tools/fake-providers/main.ts, which it mirrors): zero token delay, every answer "Noted.", and one
 * more Ollama model whose window a 1,000-message branch already fills. Prints one `<provider> <url>`
 * line each, then runs until SIGTERM.
 */
import { defaultOllamaModels, startFakeProviders } from "../tools/fake-providers";

/** The benchmark's small-window model: 32,768 tokens, i.e. ≈ 550 messages of ≈ 52 estimated tokens. */
export const BENCH_WINDOW_MODEL = "bench-window:latest";
export const BENCH_WINDOW_TOKENS = 32_768;

async function main(): Promise<void> {
  const fakes = await startFakeProviders({
    reply: { text: "Noted." },
    tokenDelayMs: 0,
    ollama: {
      models: [
        ...defaultOllamaModels,
        { ...defaultOllamaModels[1]!, name: BENCH_WINDOW_MODEL, contextLength: BENCH_WINDOW_TOKENS, digest: "b".repeat(64) },
      ],
    },
  });
  process.stdout.write(`anthropic ${fakes.anthropic.url}\ngroq ${fakes.groq.url}\nollama ${fakes.ollama.url}\n`);
  const stop = (): void => {
    void fakes.close().then(() => {
      process.exitCode = 0;
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`long-conversation fakes failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
