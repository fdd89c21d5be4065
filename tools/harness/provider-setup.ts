import type { ProviderKind } from "../../protocol/http/providers";
import { defaultAnthropicModels, defaultGroqModels, defaultOllamaModels, type FakeProviders } from "../fake-providers/index";
import type { ApiClient } from "./api-client";

/** The keys the fakes accept by default. */
export const FAKE_API_KEYS: Record<Exclude<ProviderKind, "ollama">, string> = {
  anthropic: "fake-anthropic-key",
  groq: "fake-groq-key",
};

export type VisibleModelIds = Record<ProviderKind, string[]>;

/**
 * Does what an admin does in Team Settings, through the real API: points each provider at its
 * fake (with the key the fake accepts), turns it on, refreshes its model list and makes every
 * model visible. Returns the visible model ids per provider (e.g. `anthropic:claude-…`), in the
 * order the fake lists them by default, models that can no longer answer (retired) last, so
 * `[0]` is a model that answers.
 */
export async function configureFakeProviders(
  server: ApiClient,
  fakes: Pick<FakeProviders, ProviderKind>,
  adminToken: string,
  kinds: readonly ProviderKind[] = ["anthropic", "groq", "ollama"],
): Promise<VisibleModelIds> {
  const visible: VisibleModelIds = { anthropic: [], groq: [], ollama: [] };
  for (const kind of kinds) {
    const body: Record<string, unknown> = { baseUrl: fakes[kind].url, isActive: true };
    if (kind !== "ollama") body.apiKey = FAKE_API_KEYS[kind];
    const updated = await server.request("PATCH", `/admin/providers/${kind}`, { token: adminToken, body });
    if (updated.status !== 200) throw new Error(`PATCH /admin/providers/${kind}: ${updated.status} ${JSON.stringify(updated.body)}`);
    visible[kind] = await refreshAndShowModels(server, kind, adminToken);
  }
  return visible;
}

/** Re-reads one provider's models (e.g. after `fake.ollama.setModels`) and makes them all visible. */
export async function refreshAndShowModels(server: ApiClient, kind: ProviderKind, adminToken: string): Promise<string[]> {
  const refreshed = await server.request("POST", `/admin/providers/${kind}/refresh-models`, { token: adminToken, body: {} });
  if (refreshed.status !== 200) {
    throw new Error(`POST /admin/providers/${kind}/refresh-models: ${refreshed.status} ${JSON.stringify(refreshed.body)}`);
  }
  const ids = (refreshed.body.models as Array<{ id: string; provider: string; isAvailable: boolean }>)
    .filter((model) => model.provider === kind && model.isAvailable)
    .map((model) => model.id);
  if (ids.length === 0) throw new Error(`${kind} offered no models`);
  ids.sort((left, right) => preferenceOf(kind, left) - preferenceOf(kind, right));
  const shown = await server.request("PATCH", "/admin/models", {
    token: adminToken,
    body: { changes: ids.map((id) => ({ id, isVisible: true })) },
  });
  if (shown.status !== 200) throw new Error(`PATCH /admin/models: ${shown.status} ${JSON.stringify(shown.body)}`);
  return ids;
}

/** Position in the fake's default model list; retired models and unknown ones go last. */
function preferenceOf(kind: ProviderKind, id: string): number {
  const name = id.slice(kind.length + 1);
  if (kind === "anthropic") {
    const index = defaultAnthropicModels.findIndex((model) => model.id === name);
    return index === -1 || defaultAnthropicModels[index]!.lifecycle === "retired" ? 1000 : index;
  }
  const names: readonly string[] =
    kind === "groq" ? defaultGroqModels.map((model) => model.id) : defaultOllamaModels.map((model) => model.name);
  const index = names.indexOf(name);
  return index === -1 ? 1000 : index;
}
