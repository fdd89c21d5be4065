import Router from "@koa/router";
import { endpoints } from "../../../protocol/http/endpoints";
import { API_VERSION, type MetaResponse } from "../../../protocol/http/meta";
import type { Services } from "../services/services";
import { serverVersion } from "../server-version";

export function metaRoutes(services: Services): Router {
  const router = new Router();
  router.get(endpoints.getMeta.path, async (context) => {
    const body: MetaResponse = {
      name: "juggler-team-server",
      serverVersion,
      apiVersion: API_VERSION,
      // from the settings cache: /meta must not wait behind a transaction for the one SQLite connection
      registration: (await services.teamSettings.get()).registration,
    };
    context.body = body;
  });
  return router;
}
