import type Router from "@koa/router";
import type { Config } from "../config";
import { createMount, type MountedEndpoints } from "../http/mount";
import type { Services } from "../services/services";
import { accountRoutes } from "./account-routes";
import { adminUserRoutes } from "./admin-user-routes";
import { apiKeyRoutes } from "./api-key-routes";
import { budgetRoutes } from "./budget-routes";
import { conversationRoutes } from "./conversation-routes";
import { exportRoutes } from "./export-routes";
import { libraryRoutes } from "./library-routes";
import { messageRoutes } from "./message-routes";
import { metaRoutes } from "./meta-routes";
import { modelRoutes } from "./model-routes";
import { priceRoutes } from "./price-routes";
import { promptRoutes } from "./prompt-routes";
import { providerRoutes } from "./provider-routes";
import { usageRoutes } from "./usage-routes";

/** Every route under /api/v1, on `router`; returns the endpoint definitions mounted (a test checks them). */
export function mountApiRoutes(router: Router, services: Services, config: Config): MountedEndpoints {
  const mounted: MountedEndpoints = [];
  const mount = createMount(router, services.accounts, mounted, services.apiKeys);
  metaRoutes(mount, services);
  accountRoutes(mount, services);
  adminUserRoutes(mount, services);
  providerRoutes(mount, services);
  modelRoutes(mount, services);
  conversationRoutes(mount, services);
  messageRoutes(mount, router, services);
  apiKeyRoutes(mount, services);
  usageRoutes(mount, services);
  priceRoutes(mount, services);
  budgetRoutes(mount, services);
  libraryRoutes(mount, services, config);
  promptRoutes(mount, services);
  exportRoutes(router, services);
  return mounted;
}
