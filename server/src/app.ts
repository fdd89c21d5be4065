import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import Koa from "koa";
import { API_PREFIX, endpoints } from "../../protocol/http/endpoints";
import type { Config } from "./config";
import { AppError } from "./domain/app-error";
import { errorMiddleware } from "./http/error-middleware";
import { refuseNulCharacters } from "./http/refuse-nul-characters";
import { requireJsonBody } from "./http/require-json-body";
import type { Logger } from "./logger";
import { mountApiRoutes } from "./routes/api-routes";
import { gatewayRoutes } from "./routes/gateway-routes";
import type { Services } from "./services/services";

export interface AppDependencies {
  config: Config;
  logger: Logger;
  services: Services;
  /** The services' clock (tests move it to check expiry and budgets' periods). */
  now: () => number;
}

/**
 * The Koa app, apart from the code that listens (tests and the benchmark start it on an
 * ephemeral port). Middleware and routers are registered here explicitly, in order.
 */
export function createApp({ config, logger, services, now }: AppDependencies): Koa {
  // Behind `trustProxyHops` proxies, Koa reads only that many entries from the right of
  // X-Forwarded-For, so the client's address is the one the outermost trusted proxy appended.
  const app = new Koa({ proxy: config.trustProxy, maxIpsCount: config.trustProxy ? config.trustProxyHops : 0 });
  // Koa's own error output goes to the console; ours goes to the log, with the request it broke
  app.silent = true;
  app.on("error", (error: unknown, context?: { method?: string; path?: string }) => {
    logger.error("response failed", { method: context?.method, path: context?.path, error });
  });
  app.use(errorMiddleware(logger));
  app.use(async (context, next) => {
    context.set("X-Content-Type-Options", "nosniff");
    context.set("Cache-Control", "no-store");
    await next();
  });
  // the gateway speaks other APIs, with their own bodies and error shapes: before the /api/v1 checks
  app.use(gatewayRoutes(services, config, logger, now));
  app.use(requireJsonBody);
  const parseJsonBody = bodyParser({
    enableTypes: ["json"],
    jsonLimit: config.maxBodyBytes,
    // a JSON body that is not an object or array is refused, like any malformed body
    jsonStrict: true,
  });
  // POST /import takes a whole export file: its route reads the body itself, with its own limit.
  const importPath = `${API_PREFIX}${endpoints.importConversations.path}`;
  app.use((context, next) => (context.path === importPath ? next() : parseJsonBody(context, next)));
  app.use(refuseNulCharacters);

  const api = new Router({ prefix: API_PREFIX });
  mountApiRoutes(api, services, config);
  app.use(api.routes());
  app.use(
    api.allowedMethods({
      throw: true,
      methodNotAllowed: () => new AppError(405, "method_not_allowed", "This endpoint does not take that method"),
      notImplemented: () => new AppError(501, "method_not_allowed", "That HTTP method is not supported"),
    }),
  );
  return app;
}
