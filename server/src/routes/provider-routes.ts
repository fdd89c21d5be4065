import Router from "@koa/router";
import { endpoints } from "../../../protocol/http/endpoints";
import { providerKindSchema, type ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import { requireAdmin, type AuthenticatedState } from "../http/auth-middleware";
import { validate } from "../http/validate";
import type { Services } from "../services/services";

/** Admin: provider settings and keys, test connection, refresh a provider's models. */
export function providerRoutes(services: Services): Router {
  const router = new Router<AuthenticatedState>();
  const admin = requireAdmin(services.accounts);

  router.get(endpoints.listProviders.path, admin, async (context) => {
    context.body = { providers: await services.providers.listProviders() };
  });

  router.patch(endpoints.updateProvider.path, admin, async (context) => {
    const kind = parseKind(context.params.kind);
    const request = validate(endpoints.updateProvider.request, context.request.body);
    context.body = { provider: await services.providers.updateProvider(kind, request) };
  });

  router.post(endpoints.testProvider.path, admin, async (context) => {
    const kind = parseKind(context.params.kind);
    validate(endpoints.testProvider.request, context.request.body ?? undefined);
    context.body = await services.providers.testConnection(kind);
  });

  router.post(endpoints.refreshProviderModels.path, admin, async (context) => {
    const kind = parseKind(context.params.kind);
    validate(endpoints.refreshProviderModels.request, context.request.body ?? undefined);
    context.body = await services.catalog.refreshProviderModels(kind);
  });

  return router;
}

/** An unknown kind in the path is a resource that does not exist: 404, not a malformed body. */
function parseKind(value: string | undefined): ProviderKind {
  const parsed = providerKindSchema.safeParse(value);
  if (!parsed.success) {
    throw new AppError(404, "not_found", `No provider "${value ?? ""}" — the providers are anthropic, groq and ollama`);
  }
  return parsed.data;
}
