import { endpoints } from "../../../protocol/http/endpoints";
import type { Mount } from "../http/mount";
import type { Services } from "../services/services";

/** Personal API keys: a member's own (signed in, never with a key), and every key for an admin. */
export function apiKeyRoutes(mount: Mount, services: Services): void {
  mount(endpoints.createApiKey, ({ request, user }) => services.apiKeys.create(user.id, request.name));
  mount(endpoints.listApiKeys, async ({ user }) => ({ apiKeys: await services.apiKeys.listOwn(user.id) }));
  mount(endpoints.revokeApiKey, ({ params, user }) => services.apiKeys.revokeOwn(user.id, params.keyId ?? ""));
  mount(endpoints.listAllApiKeys, async () => ({ apiKeys: await services.apiKeys.listAll() }));
  mount(endpoints.revokeAnyApiKey, ({ params, user }) => services.apiKeys.revokeAny(user.id, params.keyId ?? ""));
}
