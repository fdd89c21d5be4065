import type { Middleware } from "koa";
import type { Config } from "../config";
import { anthropicGateway } from "../gateway/anthropic-gateway";
import { gatewayMiddleware } from "../gateway/gateway-api";
import { GatewayService } from "../gateway/gateway-service";
import { openAiGateway } from "../gateway/openai-gateway";
import type { Logger } from "../logger";
import type { Services } from "../services/services";

/**
 * The team gateway (docs/gateway.md): `/openai/v1/…` and `/anthropic/v1/…`, outside /api/v1 and
 * answered in those APIs' own shapes, on personal API keys. One middleware, registered in app.ts
 * before the /api/v1 body checks and error handling.
 */
export function gatewayRoutes(services: Services, config: Config, logger: Logger, now: () => number): Middleware {
  const gateway = new GatewayService({
    config,
    logger: logger.child({ service: "gateway" }),
    now,
    apiKeys: services.apiKeys,
    catalog: services.catalog,
    providers: services.providers,
    budgets: services.budgets,
    fallbacks: services.fallbacks,
    ledger: services.ledger,
  });
  // a disabled account's gateway answers stop at once, like its chat answers
  services.accounts.onAccountStatusChanged((userId, status) => gateway.applyAccountStatus(userId, status));
  return gatewayMiddleware([openAiGateway(gateway, now), anthropicGateway(gateway)], { maxBodyBytes: config.maxBodyBytes, logger });
}
