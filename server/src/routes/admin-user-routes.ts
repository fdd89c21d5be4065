import { endpoints } from "../../../protocol/http/endpoints";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** Admin: the team's accounts (approve, disable, make admin) and the team settings. */
export function adminUserRoutes(mount: Mount, services: Services): void {
  const accounts = services.accounts;

  mount(endpoints.listUsers, async () => ({ users: await accounts.listUsers() }));

  mount(endpoints.updateUser, async ({ request, params, user }) => ({
    user: await accounts.updateUser(user.id, params.userId ?? "", request),
  }));

  mount(endpoints.getTeamSettings, () => accounts.getTeamSettings());

  mount(endpoints.updateTeamSettings, async ({ request }) => {
    // the summariser must be a model members can use (400 model_unavailable otherwise); null: automatic
    if (typeof request.summariserModelId === "string") await services.catalog.getVisibleModel(request.summariserModelId);
    const settings = await accounts.updateTeamSettings(request);
    services.teamSettings.forget();
    return settings;
  });
}
