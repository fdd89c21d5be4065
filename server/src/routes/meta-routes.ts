import { endpoints } from "../../../protocol/http/endpoints";
import { API_VERSION } from "../../../protocol/http/meta";
import type { Mount } from "../http/mount";
import { serverVersion } from "../server-version";
import type { Services } from "../services/services";

export function metaRoutes(mount: Mount, services: Services): void {
  mount(endpoints.getMeta, async () => ({
    name: "juggler-team-server" as const,
    serverVersion,
    apiVersion: API_VERSION,
    // from the settings cache: /meta must not wait behind a transaction for the one SQLite connection
    registration: (await services.teamSettings.get()).registration,
  }));
}
