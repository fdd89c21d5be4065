import crypto from "node:crypto";
import jwt from "jsonwebtoken";
import { AppError } from "../http/app-error";

/** The claims of our access tokens. `pwv` is the user's password_changed_at (ms) when the token was issued. */
export interface AccessTokenClaims {
  sub: string;
  name: string;
  role: "admin" | "member";
  pwv: number;
  iat: number;
  exp: number;
  jti: string;
}

export interface IssuedAccessToken {
  token: string;
  expiresAtMs: number;
}

// The one algorithm we sign and accept. Pinning it refuses `alg: none` and keeps an attacker from
// choosing an algorithm (e.g. RS256 with our HMAC key passed off as a public key).
const algorithm = "HS256" as const;

export class AccessTokens {
  constructor(
    private readonly key: Buffer,
    private readonly ttlSeconds: number,
  ) {}

  issue(user: { id: string; name: string; role: "admin" | "member"; passwordChangedAtMs: number }, nowMs: number): IssuedAccessToken {
    // iat and exp come from the injected clock, not jsonwebtoken's own Date.now(), so tests can move time.
    const issuedAtSeconds = Math.floor(nowMs / 1000);
    const expiresAtSeconds = issuedAtSeconds + this.ttlSeconds;
    const claims: AccessTokenClaims = {
      sub: user.id,
      name: user.name,
      role: user.role,
      pwv: user.passwordChangedAtMs,
      iat: issuedAtSeconds,
      exp: expiresAtSeconds,
      jti: crypto.randomUUID(),
    };
    const token = jwt.sign(claims, this.key, { algorithm });
    return { token, expiresAtMs: expiresAtSeconds * 1000 };
  }

  /** The verified claims; throws 401 token_expired for an expired token and 401 unauthenticated for anything else wrong. */
  verify(token: string, nowMs: number): AccessTokenClaims {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.key, {
        algorithms: [algorithm],
        // jsonwebtoken checks exp against its own clock unless told the time.
        clockTimestamp: Math.floor(nowMs / 1000),
      });
    } catch (error) {
      // jsonwebtoken checks the signature before exp, so only a genuine (signed by us) token can be "expired".
      if (error instanceof jwt.TokenExpiredError) {
        throw new AppError(401, "token_expired", "The access token has expired; refresh it", true);
      }
      throw invalidToken();
    }
    if (typeof payload === "string") throw invalidToken();
    const { sub, name, role, pwv, iat, exp, jti } = payload as Record<string, unknown>;
    if (
      typeof sub !== "string" ||
      typeof name !== "string" ||
      (role !== "admin" && role !== "member") ||
      typeof pwv !== "number" ||
      typeof iat !== "number" ||
      typeof exp !== "number" ||
      typeof jti !== "string"
    ) {
      throw invalidToken();
    }
    return { sub, name, role, pwv, iat, exp, jti };
  }
}

function invalidToken(): AppError {
  return new AppError(401, "unauthenticated", "The access token is not valid; sign in again");
}
