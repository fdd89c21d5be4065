import { endpoints } from "../../../protocol/http/endpoints";
import { modelIdSchema } from "../../../protocol/http/models";
import type { Mount } from "../http/mount";
import { validate } from "../http/validate";
import type { Services } from "../services/services";

/**
 * Sign-up, sign-in, token refresh, sign-out, password change and the user's own account (/me).
 * The limits on password guessing and sign-ups live in the account service (they count per client
 * address, `context.ip`: behind TRUST_PROXY, the address the trusted proxy saw).
 */
export function accountRoutes(mount: Mount, services: Services): void {
  const accounts = services.accounts;

  mount(endpoints.register, async ({ request, context }) => {
    await accounts.register(request, context.ip);
    // one answer whatever happened, so registering tells nobody which names exist
    return {
      status: "accepted" as const,
      message: "If the name was free, the account was created (or queued for an admin's approval); sign in to continue",
    };
  });

  mount(endpoints.signIn, ({ request, context }) => accounts.signIn(request, context.ip));

  mount(endpoints.refresh, ({ request }) => accounts.refresh(request.refreshToken));

  mount(endpoints.signOut, ({ request }) => accounts.signOut(request.refreshToken));

  mount(endpoints.changePassword, ({ request, user, context }) => accounts.changePassword(user.id, request, context.ip));

  mount(endpoints.getMe, async ({ user }) => ({ user: await accounts.getUser(user.id) }));

  mount(endpoints.updatePreferences, async ({ request, user }) => {
    const lastModelId = request.lastModelId === null ? null : validate(modelIdSchema, request.lastModelId);
    return { user: await accounts.updatePreferences(user.id, { lastModelId }) };
  });
}
