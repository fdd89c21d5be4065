import type { ProviderKind } from "../../../protocol/http/providers";

/** A published price, in US dollars per million tokens, and when and where it was taken. */
export interface DefaultPrice {
  inputUsdPerMillionTokens: number;
  outputUsdPerMillionTokens: number;
  /** Input read from the prompt cache (Anthropic's "cache hits", Groq's cached input). */
  cachedInputUsdPerMillionTokens: number;
  takenOn: string;
  sourceUrl: string | null;
}

interface DefaultPriceEntry extends DefaultPrice {
  provider: ProviderKind;
  /** Model names it applies to, exactly or followed by a date (`claude-haiku-4-5` covers `claude-haiku-4-5-20251001`). */
  names: string[];
}

const anthropicSource = { takenOn: "2026-12-07", sourceUrl: "https://platform.claude.com/docs/en/about-claude/pricing" };
const groqSource = { takenOn: "2026-12-07", sourceUrl: "https://groq.com/pricing" };

const anthropic = (names: string[], input: number, output: number, cachedInput: number): DefaultPriceEntry => ({
  provider: "anthropic",
  names,
  inputUsdPerMillionTokens: input,
  outputUsdPerMillionTokens: output,
  cachedInputUsdPerMillionTokens: cachedInput,
  ...anthropicSource,
});

const groq = (names: string[], input: number, output: number, cachedInput = input): DefaultPriceEntry => ({
  provider: "groq",
  names,
  inputUsdPerMillionTokens: input,
  outputUsdPerMillionTokens: output,
  cachedInputUsdPerMillionTokens: cachedInput,
  ...groqSource,
});

/**
 * Juggler's defaults for well-known models, as the providers published them on `takenOn` (standard
 * tier, no batch discount). An admin's price always wins; a model in neither has no price, and its
 * answers get no cost rather than a guessed one. Known simplifications: Anthropic bills writes to the
 * prompt cache above the input price and Claude Haiku 5.5 prompts over 100,000 tokens at five times
 * its price; both are counted at the plain input price here. Ollama runs on the team's own machines: zero.
 */
const defaultPrices: readonly DefaultPriceEntry[] = [
  anthropic(["claude-fable-5-1"], 10, 50, 0.25),
  anthropic(["claude-fable-5"], 10, 50, 1),
  anthropic(["claude-opus-5-5"], 4, 20, 0.2),
  anthropic(["claude-opus-5"], 5, 25, 0.5),
  // cache reads cut from $0.20 to $0.10 on 2026-10-07
  anthropic(["claude-sonnet-5-5"], 2, 10, 0.1),
  anthropic(["claude-sonnet-5"], 2, 10, 0.2),
  anthropic(["claude-haiku-5-5"], 0.1, 0.5, 0.01),
  anthropic(["claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5"], 5, 25, 0.5),
  anthropic(["claude-opus-4-1", "claude-opus-4-0", "claude-opus-4"], 15, 75, 1.5),
  anthropic(["claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4-0", "claude-sonnet-4", "claude-3-7-sonnet"], 3, 15, 0.3),
  anthropic(["claude-haiku-4-5"], 1, 5, 0.1),
  anthropic(["claude-3-5-haiku"], 0.8, 4, 0.08),
  anthropic(["claude-3-haiku"], 0.25, 1.25, 0.03),
  groq(["llama-3.3-70b-versatile"], 0.59, 0.79),
  groq(["llama-3.1-8b-instant"], 0.05, 0.08),
  groq(["openai/gpt-oss-120b"], 0.15, 0.6, 0.075),
  groq(["openai/gpt-oss-20b"], 0.075, 0.3, 0.037),
  groq(["meta-llama/llama-4-scout-17b-16e-instruct"], 0.11, 0.34),
  groq(["meta-llama/llama-4-maverick-17b-128e-instruct"], 0.2, 0.6),
  groq(["qwen/qwen3-32b"], 0.29, 0.59),
  groq(["moonshotai/kimi-k2-instruct", "moonshotai/kimi-k2-instruct-0905"], 1, 3, 0.5),
  groq(["meta-llama/llama-guard-4-12b"], 0.2, 0.2),
];

const ollamaPrice: DefaultPrice = {
  inputUsdPerMillionTokens: 0,
  outputUsdPerMillionTokens: 0,
  cachedInputUsdPerMillionTokens: 0,
  takenOn: "2026-12-07",
  sourceUrl: null,
};

/** The default price of a provider's model name, if Juggler knows one. */
export function findDefaultPrice(provider: ProviderKind, modelName: string): DefaultPrice | undefined {
  if (provider === "ollama") return ollamaPrice;
  const entry = defaultPrices.find(
    (candidate) =>
      candidate.provider === provider &&
      candidate.names.some((name) => modelName === name || new RegExp(`^${escapeRegExp(name)}-\\d{8}$`).test(modelName)),
  );
  if (entry === undefined) return undefined;
  const { provider: _provider, names: _names, ...price } = entry;
  return price;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
