import { endpoints } from "../../../protocol/http/endpoints";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** Budgets (admins): the team's defaults and each user's overrides. */
export function budgetRoutes(mount: Mount, services: Services): void {
  mount(endpoints.getBudgets, () => services.budgets.getBudgets());
  mount(endpoints.updateTeamBudget, ({ request, user }) => services.budgets.updateTeam(user.id, request));
  mount(endpoints.updateUserBudget, ({ request, params, user }) => services.budgets.updateUser(user.id, params.userId ?? "", request));
}
