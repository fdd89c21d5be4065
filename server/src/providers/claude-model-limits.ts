/**
 * Fallback limits for Claude models when the models list does not carry them. `max_input_tokens`
 * and `max_tokens` are newer, nullable fields of `GET /v1/models` (docs/providers.md#anthropic-model-list); older
 * responses hold only id, display_name and created_at. Figures from Anthropic's model overview
 * (2025): every Claude 3 and later model has a 200k-token window; output limits differ by family.
 * First match wins, so longer prefixes come first.
 */
const knownClaudeLimits: ReadonlyArray<{ prefix: string; maxOutputTokens: number }> = [
  { prefix: "claude-opus-4-5", maxOutputTokens: 64_000 },
  { prefix: "claude-opus-4", maxOutputTokens: 32_000 },
  { prefix: "claude-sonnet-4", maxOutputTokens: 64_000 },
  { prefix: "claude-haiku-4", maxOutputTokens: 64_000 },
  { prefix: "claude-3-7-sonnet", maxOutputTokens: 64_000 },
  { prefix: "claude-3-5-", maxOutputTokens: 8_192 },
  { prefix: "claude-3-", maxOutputTokens: 4_096 },
];

const claudeContextWindowTokens = 200_000;

export interface ModelLimits {
  contextWindow: number | null;
  maxOutputTokens: number | null;
}

/** The list's own figures when present, else the table above; null when the model is not a Claude we know. */
export function resolveClaudeModelLimits(
  modelId: string,
  listed: { maxInputTokens: number | null | undefined; maxTokens: number | null | undefined },
): ModelLimits {
  const known = knownClaudeLimits.find((entry) => modelId.startsWith(entry.prefix));
  const isClaude = modelId.startsWith("claude-");
  return {
    contextWindow: listed.maxInputTokens ?? (isClaude ? claudeContextWindowTokens : null),
    maxOutputTokens: listed.maxTokens ?? known?.maxOutputTokens ?? null,
  };
}
