import { endpoints } from "../../../protocol/http/endpoints";
import { providerKindSchema, type ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** Admin: provider settings and keys, test connection, refresh a provider's models. */
export function providerRoutes(mount: Mount, services: Services): void {
  mount(endpoints.listProviders, async () => ({ providers: await services.providers.listProviders() }));

  mount(endpoints.updateProvider, async ({ request, params }) => ({
    provider: await services.providers.updateProvider(parseKind(params.kind), request),
  }));

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
