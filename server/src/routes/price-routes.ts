import { endpoints } from "../../../protocol/http/endpoints";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** Prices per model (admins): the list with defaults, a new price from a time on, a model's history. */
export function priceRoutes(mount: Mount, services: Services): void {
  mount(endpoints.listPrices, async () => ({ prices: await services.prices.listPrices() }));
  mount(endpoints.setPrice, ({ request, user }) => services.prices.setPrice(user.id, request));
  mount(endpoints.getPriceHistory, ({ request }) => services.prices.history(request.modelId));
}
