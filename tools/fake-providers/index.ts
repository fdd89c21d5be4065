/**
 * Local fake Anthropic, Groq and Ollama servers for tests and demos: real wire formats, an `echo`
 * reply that shows what each provider received, recorded replays, and injectable faults.
 */
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions } from "./fake-anthropic";
import { startFakeGroq, type FakeGroq, type FakeGroqOptions } from "./fake-groq";
import { startFakeOllama, type FakeOllama, type FakeOllamaOptions } from "./fake-ollama";
import type { ReplyMode } from "./reply-mode";

export interface FakeProvidersOptions {
  anthropic?: FakeAnthropicOptions;
  groq?: FakeGroqOptions;
  ollama?: FakeOllamaOptions;
  /** Default reply mode for all three (each provider's own option wins). */
  reply?: ReplyMode;
  /** Default delay before each delta for all three (each provider's own option wins). */
  tokenDelayMs?: number;
}

export interface FakeProviders {
  anthropic: FakeAnthropic;
  groq: FakeGroq;
  ollama: FakeOllama;
  /** `reset()` on all three: no faults, empty request logs, initial options. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeProviders(options: FakeProvidersOptions = {}): Promise<FakeProviders> {
  const shared = { reply: options.reply, tokenDelayMs: options.tokenDelayMs };
  const started = await Promise.allSettled([
    startFakeAnthropic({ ...shared, ...options.anthropic }),
    startFakeGroq({ ...shared, ...options.groq }),
    startFakeOllama({ ...shared, ...options.ollama }),
  ] as const);
  const [anthropic, groq, ollama] = started;
  if (anthropic.status === "rejected" || groq.status === "rejected" || ollama.status === "rejected") {
    // Do not leak the ones that did start (e.g. one port was taken).
    await Promise.all(started.map((result) => (result.status === "fulfilled" ? result.value.close() : undefined)));
    const failure = started.find((result) => result.status === "rejected");
    throw failure?.reason instanceof Error ? failure.reason : new Error("Fake providers failed to start");
  }
  const all = [anthropic.value, groq.value, ollama.value];
  return {
    anthropic: anthropic.value,
    groq: groq.value,
    ollama: ollama.value,
    reset: () => all.forEach((fake) => fake.reset()),
    close: async () => {
      await Promise.all(all.map((fake) => fake.close()));
    },
  };
}

export { startFakeAnthropic, defaultAnthropicModels } from "./fake-anthropic";
export type { FakeAnthropic, FakeAnthropicModel, FakeAnthropicOptions } from "./fake-anthropic";
export { startFakeGroq, defaultGroqModels } from "./fake-groq";
export type { FakeGroq, FakeGroqModel, FakeGroqOptions } from "./fake-groq";
export { startFakeOllama, defaultOllamaModels } from "./fake-ollama";
export type { FakeOllama, FakeOllamaModel, FakeOllamaOptions } from "./fake-ollama";
export { buildEchoText, parseEchoText } from "./echo-reply";
export type { EchoInput, EchoMessage } from "./echo-reply";
export { faultNames } from "./fault-plan";
export type { FaultName, FaultSpec, FaultSpecInput } from "./fault-plan";
export type { ReplyMode } from "./reply-mode";
export type { RecordedRequest } from "./request-log";
export type { CommonFakeOptions, FakeProviderHandle, ProviderName } from "./start-fake-server";
export { estimateTokenCount, splitIntoTokenChunks } from "./token-chunks";
