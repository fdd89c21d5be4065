import { endpoints } from "../../../protocol/http/endpoints";
import { providerKindSchema, type ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** Admin: provider settings and keys, test connection, refresh a provider's models. */
export function providerRoutes(mount: Mount, services: Services): void {
  mount(endpoints.listProviders, async () => ({ providers: await services.providers.listProviders() }));

  mount(endpoints.updateProvider, async ({ request, params }) => {
    const kind = parseKind(params.kind);
    const provider = await services.providers.updateProvider(kind, request);
    if (!provider.isActive || provider.lastRefreshedAt !== null) return { provider };
    // Turned on and never refreshed (a new team's first key): its models are read now, so the
    // well-known ones are visible at once instead of after the next background refresh.
    try {
      await services.catalog.refreshProviderModels(kind);
    } catch (error) {
      // the provider's failure is recorded as its lastError, which the answer shows
      if (!(error instanceof AppError)) throw error;
    }
    return { provider: await services.providers.getProvider(kind) };
  });

  mount(endpoints.testProvider, ({ params }) => services.providers.testConnection(parseKind(params.kind)));

  mount(endpoints.refreshProviderModels, ({ params }) => services.catalog.refreshProviderModels(parseKind(params.kind)));
}

/** An unknown kind in the path is a resource that does not exist: 404, not a malformed body. */
function parseKind(value: string | undefined): ProviderKind {
  const parsed = providerKindSchema.safeParse(value);
  if (!parsed.success) {
    throw new AppError(404, "not_found", `No provider "${value ?? ""}" — the providers are anthropic, groq and ollama`);
  }
  return parsed.data;
}
