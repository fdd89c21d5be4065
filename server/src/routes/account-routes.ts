import Router from "@koa/router";
import { modelIdSchema } from "../../../protocol/http/models";
import { endpoints } from "../../../protocol/http/endpoints";
import type { Config } from "../config";
import { requireMember, type AuthenticatedState } from "../http/auth-middleware";
import { RateLimiter } from "../http/rate-limiter";
import { validate } from "../http/validate";
import { nameKeyOf } from "../services/account-service";
import type { Services } from "../services/services";

// Other routers import it from here too (it lived here first).

const minuteMs = 60_000;

/** Sign-up, sign-in, token refresh, sign-out, password change and the user's own account (/me). */
export function accountRoutes(services: Services, config: Config): Router {
  const router = new Router();
  const accounts = services.accounts;
  // Password guessing is limited per client address and per account name, so neither one address
  // trying many names nor many addresses trying one name gets far.
  const signInLimiter = new RateLimiter({ limit: config.authRateLimitPerMinute, windowMs: minuteMs, now: () => accounts.now() });
  const registerLimiter = new RateLimiter({ limit: config.authRateLimitPerMinute, windowMs: minuteMs, now: () => accounts.now() });
  const limitKeys = (ip: string, name: string) => [`ip:${ip}`, `name:${nameKeyOf(name)}`];

  router.post(endpoints.register.path, async (context) => {
    const request = validate(endpoints.register.request, context.request.body);
    registerLimiter.consume(limitKeys(context.ip, request.name));
    const result = await accounts.register(request);
    if (result.kind === "session") {
      context.status = 201;
      context.body = result.session;
    } else {
      context.status = 202;
      context.body = { user: result.user, status: "pending" };
    }
  });

  router.post(endpoints.signIn.path, async (context) => {
    const request = validate(endpoints.signIn.request, context.request.body);
    signInLimiter.consume(limitKeys(context.ip, request.name));
    context.body = await accounts.signIn(request);
  });

  router.post(endpoints.refresh.path, async (context) => {
    const request = validate(endpoints.refresh.request, context.request.body);
    context.body = await accounts.refresh(request.refreshToken);
  });

  router.post(endpoints.signOut.path, async (context) => {
    const request = validate(endpoints.signOut.request, context.request.body);
    await accounts.signOut(request.refreshToken);
    context.status = 204;
  });

  router.post<AuthenticatedState>(endpoints.changePassword.path, requireMember(services.accounts), async (context) => {
    const request = validate(endpoints.changePassword.request, context.request.body);
    // Checking the current password is a password check too: limit it like sign-in, by account.
    signInLimiter.consume(limitKeys(context.ip, context.state.user.name));
    context.body = await accounts.changePassword(context.state.user.id, request);
  });

  router.get<AuthenticatedState>(endpoints.getMe.path, requireMember(services.accounts), async (context) => {
    context.body = { user: await accounts.getUser(context.state.user.id) };
  });

  router.patch<AuthenticatedState>(endpoints.updatePreferences.path, requireMember(services.accounts), async (context) => {
    const request = validate(endpoints.updatePreferences.request, context.request.body);
    const lastModelId = request.lastModelId === null ? null : validate(modelIdSchema, request.lastModelId);
    context.body = { user: await accounts.updatePreferences(context.state.user.id, { lastModelId }) };
  });

  return router;
}
