import { endpoints } from "../../../protocol/http/endpoints";
import { modelIdSchema } from "../../../protocol/http/models";
import type { Config } from "../config";
import type { Mount } from "../http/mount";
import { RateLimiter } from "../http/rate-limiter";
import { validate } from "../http/validate";
import { nameKeyOf } from "../services/account-service";
import type { Services } from "../services/services";

const minuteMs = 60_000;

/** Sign-up, sign-in, token refresh, sign-out, password change and the user's own account (/me). */
export function accountRoutes(mount: Mount, services: Services, config: Config): void {
  const accounts = services.accounts;
  // Password guessing is limited per client address and per account name, so neither one address
  // trying many names nor many addresses trying one name gets far.
  const signInLimiter = new RateLimiter({ limit: config.authRateLimitPerMinute, windowMs: minuteMs, now: () => accounts.now() });
  const registerLimiter = new RateLimiter({ limit: config.authRateLimitPerMinute, windowMs: minuteMs, now: () => accounts.now() });
  const limitKeys = (ip: string, name: string) => [`ip:${ip}`, `name:${nameKeyOf(name)}`];

  mount(endpoints.register, async ({ request, context }) => {
    registerLimiter.consume(limitKeys(context.ip, request.name));
    const result = await accounts.register(request);
    if (result.kind === "session") return result.session;
    // the account waits for an admin: accepted, not created
    context.status = 202;
    return { user: result.user, status: "pending" as const };
  });

  mount(endpoints.signIn, ({ request, context }) => {
    signInLimiter.consume(limitKeys(context.ip, request.name));
    return accounts.signIn(request);
  });

  mount(endpoints.refresh, ({ request }) => accounts.refresh(request.refreshToken));

  mount(endpoints.signOut, ({ request }) => accounts.signOut(request.refreshToken));

  mount(endpoints.changePassword, ({ request, user, context }) => {
    // Checking the current password is a password check too: limit it like sign-in, by account.
    signInLimiter.consume(limitKeys(context.ip, user.name));
    return accounts.changePassword(user.id, request);
  });

  mount(endpoints.getMe, async ({ user }) => ({ user: await accounts.getUser(user.id) }));

  mount(endpoints.updatePreferences, async ({ request, user }) => {
    const lastModelId = request.lastModelId === null ? null : validate(modelIdSchema, request.lastModelId);
    return { user: await accounts.updatePreferences(user.id, { lastModelId }) };
  });
}
