import type { Model } from "../../../protocol/http/models";

/**
 * Which model summarises older messages when a conversation no longer fits a model's window.
 *
 * The team's setting (summariserModelId) when it names a visible model. Otherwise the cheapest
 * visible model, by this rule:
 *   1. a local Ollama model (no cost per token): the one with the largest window, then by id;
 *   2. else Groq: the smallest model by the parameter count in its name ("llama-3.1-8b-instant"
 *      → 8), names without one last; then the largest window, then by id;
 *   3. else Anthropic's smallest line: Haiku, then Sonnet, then Opus (others last); then the
 *      largest window, then the newest-sounding id (descending).
 * null when no model is visible: the oldest messages are then left out instead.
 */
export function chooseSummariserModel(configuredModelId: string | null, visibleModels: readonly Model[]): Model | null {
  if (configuredModelId !== null) {
    const configured = visibleModels.find((model) => model.id === configuredModelId);
    if (configured) return configured;
  }
  const byWindowThenId = (left: Model, right: Model) =>
    (right.contextWindow ?? 0) - (left.contextWindow ?? 0) || left.id.localeCompare(right.id);

  const ollama = visibleModels.filter((model) => model.provider === "ollama").sort(byWindowThenId);
  if (ollama[0]) return ollama[0];

  const groq = visibleModels
    .filter((model) => model.provider === "groq")
    .sort((left, right) => parameterBillionsOf(left.name) - parameterBillionsOf(right.name) || byWindowThenId(left, right));
  if (groq[0]) return groq[0];

  const anthropic = visibleModels
    .filter((model) => model.provider === "anthropic")
    .sort(
      (left, right) =>
        anthropicLineRank(left.name) - anthropicLineRank(right.name) ||
        (right.contextWindow ?? 0) - (left.contextWindow ?? 0) ||
        right.id.localeCompare(left.id),
    );
  return anthropic[0] ?? null;
}

/** "llama-3.1-8b-instant" → 8, "gpt-oss-120b" → 120; Infinity when the name does not say. */
export function parameterBillionsOf(name: string): number {
  const match = /(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)b(?![a-z])/i.exec(name);
  return match ? Number(match[1]) : Number.POSITIVE_INFINITY;
}

function anthropicLineRank(name: string): number {
  if (/haiku/i.test(name)) return 0;
  if (/sonnet/i.test(name)) return 1;
  if (/opus/i.test(name)) return 2;
  return 3;
}
