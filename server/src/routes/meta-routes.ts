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
      registration: await services.accounts.getRegistrationPolicy(),
    };
    context.body = body;
  });
  return router;
}
