import type { Middleware } from "koa";
import type { AuthenticatedUser } from "../domain/authenticated-user";
import { requireMember, type AuthenticatedState, type Authenticator } from "./auth-middleware";

/** Who turns a personal API key into the active user it belongs to (the API key service, in the app). */
export interface ApiKeyAuthenticator {
  authenticate(presentedKey: string): Promise<{ user: AuthenticatedUser }>;
}

/** Our keys start with this; anything else in the header is an access token. */
const API_KEY_PREFIX = "jgl_";

/**
 * For the few endpoints a script may call with a personal API key (reading one's own usage): a key in
 * `Authorization: Bearer` or `x-api-key` stands for its owner; otherwise this is requireMember. Keys
 * are refused everywhere else: an access token's check never accepts one.
 */
export function requireMemberOrApiKey(authenticator: Authenticator, apiKeys: ApiKeyAuthenticator): Middleware<AuthenticatedState> {
  const member = requireMember(authenticator);
  return async (context, next) => {
    const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(context.get("authorization"))?.[1];
    const presented = bearer ?? (context.get("x-api-key") || undefined);
    if (presented === undefined || !presented.startsWith(API_KEY_PREFIX)) return member(context, next);
    context.state.user = (await apiKeys.authenticate(presented)).user;
    await next();
  };
}
