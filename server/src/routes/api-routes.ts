import type Router from "@koa/router";
import type { Config } from "../config";
import { createMount, type MountedEndpoints } from "../http/mount";
import type { Services } from "../services/services";
import { accountRoutes } from "./account-routes";
import { adminUserRoutes } from "./admin-user-routes";
import { conversationRoutes } from "./conversation-routes";
import { exportRoutes } from "./export-routes";
import { libraryRoutes } from "./library-routes";
import { messageRoutes } from "./message-routes";
import { metaRoutes } from "./meta-routes";
import { modelRoutes } from "./model-routes";
import { providerRoutes } from "./provider-routes";

/** Every route under /api/v1, on `router`; returns the endpoint definitions mounted (a test checks them). */
export function mountApiRoutes(router: Router, services: Services, config: Config): MountedEndpoints {
  const mounted: MountedEndpoints = [];
  const mount = createMount(router, services.accounts, mounted);
  metaRoutes(mount, services);
  accountRoutes(mount, services, config);
  adminUserRoutes(mount, services);
  providerRoutes(mount, services);
  modelRoutes(mount, services);
  conversationRoutes(mount, services);
  messageRoutes(mount, router, services);
  libraryRoutes(mount, services, config);
  exportRoutes(router, services);
  return mounted;
}
