import { endpoints } from "../../../protocol/http/endpoints";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** Members: the visible models (from memory). Admins: every model, its visibility and its fallbacks. */
export function modelRoutes(mount: Mount, services: Services): void {
  mount(endpoints.listModels, () => services.catalog.listVisibleModels());
  mount(endpoints.listAllModels, () => services.catalog.listAllModels());
  mount(endpoints.updateModelVisibility, ({ request }) => services.catalog.updateVisibility(request));
  mount(endpoints.listModelFallbacks, () => services.fallbacks.list());
  mount(endpoints.updateModelFallbacks, ({ request }) => services.fallbacks.update(request));
}
