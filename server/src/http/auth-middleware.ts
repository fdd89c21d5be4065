import type { Middleware } from "koa";
import { AppError } from "../domain/app-error";
import type { AuthenticatedUser } from "../domain/authenticated-user";

/** Who turns an access token into the active user it belongs to (the account service, in the app). */
export interface Authenticator {
  authenticate(accessToken: string): Promise<AuthenticatedUser>;
}

/** Koa state after requireMember / requireAdmin: the signed-in, active user. */
export interface AuthenticatedState {
  user: AuthenticatedUser;
}

// RFC 6750: the scheme is case-insensitive; the token is base64url-ish with dots (a JWT).
const bearerPattern = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i;

function readBearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === "") {
    throw new AppError(401, "unauthenticated", "Sign in first: this request needs an access token", false, {
      "WWW-Authenticate": 'Bearer realm="juggler"',
    });
  }
  const match = bearerPattern.exec(header);
  if (!match?.[1]) {
    throw new AppError(401, "unauthenticated", "The Authorization header must be 'Bearer <access token>'", false, {
      "WWW-Authenticate": 'Bearer realm="juggler", error="invalid_request"',
    });
  }
  return match[1];
}

/** Any active account. Missing or bad token → 401 unauthenticated; expired → 401 token_expired. */
export function requireMember(authenticator: Authenticator): Middleware<AuthenticatedState> {
  return async (context, next) => {
    const token = readBearerToken(context.get("authorization") || undefined);
    context.state.user = await authenticator.authenticate(token);
    await next();
  };
}

/** An active admin; a signed-in member gets 403 forbidden. */
export function requireAdmin(authenticator: Authenticator): Middleware<AuthenticatedState> {
  return async (context, next) => {
    const token = readBearerToken(context.get("authorization") || undefined);
    const user = await authenticator.authenticate(token);
    if (user.role !== "admin") throw new AppError(403, "forbidden", "Only an admin can do this");
    context.state.user = user;
    await next();
  };
}
