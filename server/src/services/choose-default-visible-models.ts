import type { ProviderKind } from "../../../protocol/http/providers";

/**
 * The models members see as soon as a provider is first set up, so that a fresh team is not left on
 * "No model" until someone ticks boxes in Team Settings. Only a provider's first refresh applies
 * this (catalog-service.ts): a later refresh adds new models hidden and never touches what an admin
 * shows or hides. The rules, per provider, pick well-known chat models that any team would offer:
 *
 * - Anthropic: the newest Claude Sonnet and the newest Claude Haiku (Opus, the most expensive, is
 *   left for an admin to choose). Anthropic's ids carry the family and version, in two styles:
 *   `claude-sonnet-4-5-20250929` / `claude-haiku-5-5` and the older `claude-3-5-haiku-20241022`.
 * - Groq: the Llama and GPT-OSS families, Groq's production chat models; its previews and other
 *   families (Qwen, Kimi, Compound…) stay hidden. Speech and guard models never get this far
 *   (is-groq-chat-model.ts).
 * - Ollama: every chat model: they are the ones the team installed on its own server.
 */
export function chooseDefaultVisibleModels(kind: ProviderKind, modelNames: readonly string[]): Set<string> {
  switch (kind) {
    case "anthropic":
      return newestClaudeOfEachFamily(modelNames, ["sonnet", "haiku"]);
    case "groq":
      return new Set(modelNames.filter((name) => wellKnownGroqFamilies.test(name)));
    case "ollama":
      return new Set(modelNames);
  }
}

const wellKnownGroqFamilies = /^(llama-|meta-llama\/llama-|openai\/gpt-oss-)/;

/** `claude-<family>-<major>[-<minor>][-<date>]`, the style since Claude 4. */
const currentClaudeId = /^claude-(opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?:-(\d{8}|latest))?$/;
/** `claude-<major>[-<minor>]-<family>[-<date>]`, the style of Claude 3. */
const olderClaudeId = /^claude-(\d+)(?:-(\d{1,2}))?-(opus|sonnet|haiku)(?:-(\d{8}|latest))?$/;

interface ClaudeVersion {
  family: string;
  /** major, minor, date (an undated alias counts as the newest of its version). */
  rank: [number, number, number];
}

function parseClaudeId(name: string): ClaudeVersion | undefined {
  const current = currentClaudeId.exec(name);
  if (current) return { family: current[1]!, rank: [Number(current[2]), Number(current[3] ?? 0), dateRank(current[4])] };
  const older = olderClaudeId.exec(name);
  if (older) return { family: older[3]!, rank: [Number(older[1]), Number(older[2] ?? 0), dateRank(older[4])] };
  return undefined;
}

function dateRank(date: string | undefined): number {
  return date === undefined || date === "latest" ? Number.MAX_SAFE_INTEGER : Number(date);
}

function newestClaudeOfEachFamily(modelNames: readonly string[], families: readonly string[]): Set<string> {
  const newest = new Map<string, { name: string; rank: ClaudeVersion["rank"] }>();
  for (const name of modelNames) {
    const version = parseClaudeId(name);
    if (!version || !families.includes(version.family)) continue;
    const best = newest.get(version.family);
    if (!best || compareRanks(version.rank, best.rank) > 0) newest.set(version.family, { name, rank: version.rank });
  }
  return new Set([...newest.values()].map((entry) => entry.name));
}

function compareRanks(left: ClaudeVersion["rank"], right: ClaudeVersion["rank"]): number {
  return left[0] - right[0] || left[1] - right[1] || left[2] - right[2];
}
