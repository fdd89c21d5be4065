import Router from "@koa/router";
import { endpoints } from "../../../protocol/http/endpoints";
import { requireAdmin, type AuthenticatedState } from "../http/auth-middleware";
import { validate } from "../http/validate";
import type { Services } from "../services/services";

/** Admin: the team's accounts (approve, disable, make admin) and the registration policy. */
export function adminUserRoutes(services: Services): Router {
  const router = new Router<AuthenticatedState>();
  const accounts = services.accounts;
  const admin = requireAdmin(services.accounts);

  router.get(endpoints.listUsers.path, admin, async (context) => {
    context.body = { users: await accounts.listUsers() };
  });

  router.patch(endpoints.updateUser.path, admin, async (context) => {
    const request = validate(endpoints.updateUser.request, context.request.body);
    const userId = context.params.userId ?? "";
    context.body = { user: await accounts.updateUser(context.state.user.id, userId, request) };
  });

  router.get(endpoints.getTeamSettings.path, admin, async (context) => {
    context.body = await accounts.getTeamSettings();
  });

  router.patch(endpoints.updateTeamSettings.path, admin, async (context) => {
    const request = validate(endpoints.updateTeamSettings.request, context.request.body);
    // the summariser must be a model members can use (400 model_unavailable otherwise); null: automatic
    if (typeof request.summariserModelId === "string") await services.catalog.getVisibleModel(request.summariserModelId);
    context.body = await accounts.updateTeamSettings(request);
    services.teamSettings.forget();
  });

  return router;
}
