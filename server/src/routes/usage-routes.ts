import { endpoints } from "../../../protocol/http/endpoints";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** Usage from the ledger: the usage view's figures, this month against the budget, a conversation's totals. */
export function usageRoutes(mount: Mount, services: Services): void {
  mount(endpoints.getUsage, ({ request, user }) => services.usage.usage(user, request));
  mount(endpoints.getUsageSummary, ({ user }) => services.budgets.usageSummary(user.id));
  mount(endpoints.getConversationUsage, ({ params, user }) => services.usage.conversationUsage(user.id, params.conversationId ?? ""));
}
