import type { User } from "../../../protocol/http/accounts";
import type { BudgetLimits, BudgetsResponse } from "../../../protocol/http/budgets";
import type { AdminModel } from "../../../protocol/http/models";
import type { ModelPrice } from "../../../protocol/http/prices";
import type { Provider } from "../../../protocol/http/providers";

/** Test-data builders for the Team Settings panel, valid by default. */

export function buildProvider(overrides: Partial<Provider> & Pick<Provider, "kind">): Provider {
  const labels = { anthropic: "Anthropic", groq: "Groq", ollama: "Ollama" } as const;
  const needsKey = overrides.kind !== "ollama";
  return {
    label: labels[overrides.kind],
    isActive: true,
    baseUrl: { anthropic: "https://api.anthropic.com", groq: "https://api.groq.com/openai/v1", ollama: "http://localhost:11434" }[
      overrides.kind
    ],
    needsKey,
    hasKey: needsKey,
    keyMasked: needsKey ? "••••abcd" : null,
    modelCount: 3,
    visibleModelCount: 2,
    lastRefreshedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
    lastError: null,
    ...overrides,
  };
}

export function buildProviders(): Provider[] {
  return [
    buildProvider({ kind: "anthropic", keyMasked: "••••abcd", modelCount: 4, visibleModelCount: 2 }),
    buildProvider({ kind: "groq", keyMasked: "••••9f2e", modelCount: 3, visibleModelCount: 1 }),
    buildProvider({
      kind: "ollama",
      isActive: false,
      modelCount: 2,
      visibleModelCount: 0,
      lastRefreshedAt: null,
      lastError: { code: "provider_unreachable", message: "Could not connect to http://localhost:11434 (connection refused)." },
    }),
  ];
}

export function buildModel(overrides: Partial<AdminModel> & Pick<AdminModel, "id">): AdminModel {
  const [provider, name] = overrides.id.split(":") as [AdminModel["provider"], string];
  return {
    provider,
    name,
    displayName: name,
    contextWindow: 128_000,
    maxOutputTokens: 8192,
    supportsVision: null,
    isVisible: true,
    isAvailable: true,
    ...overrides,
  };
}

export function buildModels(): AdminModel[] {
  return [
    buildModel({ id: "anthropic:claude-sonnet-4-5", displayName: "Claude Sonnet 4.5", contextWindow: 200_000, supportsVision: true }),
    buildModel({ id: "anthropic:claude-opus-4-1", displayName: "Claude Opus 4.1", contextWindow: 200_000, isVisible: false }),
    buildModel({ id: "anthropic:claude-haiku-4-5", displayName: "Claude Haiku 4.5", contextWindow: 200_000 }),
    buildModel({
      id: "anthropic:claude-3-opus-20240229",
      displayName: "Claude 3 Opus",
      contextWindow: 200_000,
      isVisible: false,
      isAvailable: false,
    }),
    buildModel({ id: "groq:llama-3.3-70b-versatile", displayName: "Llama 3.3 70B Versatile", contextWindow: 131_072 }),
    buildModel({ id: "groq:openai/gpt-oss-120b", displayName: "GPT-OSS 120B", contextWindow: 131_072, isVisible: false }),
    buildModel({ id: "groq:qwen/qwen3-32b", displayName: "Qwen3 32B", contextWindow: 131_072, isVisible: false }),
    buildModel({ id: "ollama:llama3.2:3b", name: "llama3.2:3b", displayName: "llama3.2:3b", contextWindow: null, isVisible: false }),
    buildModel({
      id: "ollama:qwen2.5-coder:7b",
      name: "qwen2.5-coder:7b",
      displayName: "qwen2.5-coder:7b",
      contextWindow: 32_768,
      isVisible: false,
    }),
  ];
}

export function buildUser(overrides: Partial<User> & Pick<User, "id" | "name">): User {
  return { role: "member", status: "active", lastModelId: null, createdAt: "2026-11-02T10:00:00.000Z", ...overrides };
}

export function buildUsers(): User[] {
  return [
    buildUser({ id: "user-admin", name: "ada", role: "admin", createdAt: "2026-10-01T08:00:00.000Z" }),
    buildUser({ id: "user-grace", name: "grace" }),
    buildUser({ id: "user-linus", name: "linus", status: "pending", createdAt: "2026-11-21T16:20:00.000Z" }),
    buildUser({ id: "user-ken", name: "ken", status: "disabled", createdAt: "2026-10-12T12:00:00.000Z" }),
  ];
}

/** Prices: a default with its day and source, an admin's, and a model without a price. */
export function buildPrices(): ModelPrice[] {
  return [
    {
      modelId: "anthropic:claude-sonnet-4-5",
      provider: "anthropic",
      displayName: "Claude Sonnet 4.5",
      current: {
        inputUsdPerMillionTokens: 3,
        outputUsdPerMillionTokens: 15,
        cachedInputUsdPerMillionTokens: 0.3,
        source: "default",
        effectiveFrom: null,
        takenOn: "2026-10-01",
        sourceUrl: "https://www.anthropic.com/pricing",
      },
      scheduled: [],
    },
    {
      modelId: "groq:llama-3.3-70b-versatile",
      provider: "groq",
      displayName: "Llama 3.3 70B Versatile",
      current: {
        inputUsdPerMillionTokens: 0.59,
        outputUsdPerMillionTokens: 0.79,
        cachedInputUsdPerMillionTokens: 0.59,
        source: "admin",
        effectiveFrom: "2026-11-01T00:00:00.000Z",
        takenOn: null,
        sourceUrl: null,
      },
      scheduled: [],
    },
    { modelId: "ollama:llama3.2", provider: "ollama", displayName: "llama3.2", current: null, scheduled: [] },
  ];
}

/** The team's budget and two members: one with a cost limit of their own, one on the team's. */
export function buildBudgets(
  team: BudgetLimits = { monthlyCostMicroUsd: 50_000_000, monthlyTokens: null, requestsPerMinute: null },
): BudgetsResponse {
  return {
    team,
    users: [
      { userId: "user-1", userName: "ada", overrides: {}, effective: team },
      {
        userId: "user-2",
        userName: "grace",
        overrides: { monthlyCostMicroUsd: 10_000_000 },
        effective: { ...team, monthlyCostMicroUsd: 10_000_000 },
      },
    ],
  };
}
