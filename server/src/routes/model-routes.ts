import Router from "@koa/router";
import { endpoints } from "../../../protocol/http/endpoints";
import { requireAdmin, requireMember, type AuthenticatedState } from "../http/auth-middleware";
import { validate } from "../http/validate";
import type { Services } from "../services/services";

/** Members: the visible models (from memory). Admins: every model and its visibility. */
export function modelRoutes(services: Services): Router {
  const router = new Router<AuthenticatedState>();

  router.get(endpoints.listModels.path, requireMember(services.accounts), async (context) => {
    context.body = await services.catalog.listVisibleModels();
  });

  router.get(endpoints.listAllModels.path, requireAdmin(services.accounts), async (context) => {
    context.body = await services.catalog.listAllModels();
  });

  router.patch(endpoints.updateModelVisibility.path, requireAdmin(services.accounts), async (context) => {
    const request = validate(endpoints.updateModelVisibility.request, context.request.body);
    context.body = await services.catalog.updateVisibility(request);
  });

  return router;
}
