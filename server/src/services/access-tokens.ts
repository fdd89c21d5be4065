import crypto from "node:crypto";
import jwt from "jsonwebtoken";
import { AppError } from "../domain/app-error";

/**
 * The claims of our access tokens. `pwv` is the user's password_changed_at (ms) when the token was
 * issued; `sid` is the session: the refresh-token family it was issued with, so that ending the
 * session (sign-out, a revoked family) ends its access tokens too.
 */
export interface AccessTokenClaims {
  sub: string;
  name: string;
  role: "admin" | "member";
  pwv: number;
  sid: string;
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

/** Verified tokens remembered; a member's client sends the same one on every request until it refreshes. */
const VERIFIED_TOKENS_KEPT = 1000;

export class AccessTokens {
  /**
   * A KeyObject, made once: given a Buffer, jsonwebtoken first tries it as a PEM public key (which
   * throws) and only then as a secret, on every sign and verify: 0.4–0.7 ms per request measured.
   */
  private readonly key: crypto.KeyObject;
  /**
   * Tokens whose signature and claims were checked, by their exact text (only a token we signed
   * can be in here). jsonwebtoken's verify costs ≈ 0.15 ms per request (two decodes, an HMAC);
   * a remembered token only has its expiry checked again, against the injected clock.
   */
  private readonly verified = new Map<string, AccessTokenClaims>();

  constructor(
    key: Buffer,
    private readonly ttlSeconds: number,
  ) {
    this.key = crypto.createSecretKey(key);
  }

  issue(
    user: { id: string; name: string; role: "admin" | "member"; passwordChangedAtMs: number },
    sessionId: string,
    nowMs: number,
  ): IssuedAccessToken {
    // iat and exp come from the injected clock, not jsonwebtoken's own Date.now(), so tests can move time.
    const issuedAtSeconds = Math.floor(nowMs / 1000);
    const expiresAtSeconds = issuedAtSeconds + this.ttlSeconds;
    const claims: AccessTokenClaims = {
      sub: user.id,
      name: user.name,
      role: user.role,
      pwv: user.passwordChangedAtMs,
      sid: sessionId,
      iat: issuedAtSeconds,
      exp: expiresAtSeconds,
      jti: crypto.randomUUID(),
    };
    const token = jwt.sign(claims, this.key, { algorithm });
    return { token, expiresAtMs: expiresAtSeconds * 1000 };
  }

  /** The verified claims; throws 401 token_expired for an expired token and 401 unauthenticated for anything else wrong. */
  verify(token: string, nowMs: number): AccessTokenClaims {
    const known = this.verified.get(token);
    if (known) {
      // the same rule as jsonwebtoken's: expired from the second `exp` on
      if (Math.floor(nowMs / 1000) >= known.exp) {
        this.verified.delete(token);
        throw tokenExpired();
      }
      return known;
    }
    const claims = this.verifySignedToken(token, nowMs);
    if (this.verified.size >= VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, claims);
    return claims;
  }

  private verifySignedToken(token: string, nowMs: number): AccessTokenClaims {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.key, {
        algorithms: [algorithm],
        // jsonwebtoken checks exp against its own clock unless told the time.
        clockTimestamp: Math.floor(nowMs / 1000),
      });
    } catch (error) {
      // jsonwebtoken checks the signature before exp, so only a genuine (signed by us) token can be "expired".
      if (error instanceof jwt.TokenExpiredError) throw tokenExpired();
      throw invalidToken();
    }
    if (typeof payload === "string") throw invalidToken();
    const { sub, name, role, pwv, sid, iat, exp, jti } = payload as Record<string, unknown>;
    if (
      typeof sub !== "string" ||
      typeof name !== "string" ||
      (role !== "admin" && role !== "member") ||
      typeof pwv !== "number" ||
      // a token from before sessions were named carries none: refused, the client refreshes once
      typeof sid !== "string" ||
      typeof iat !== "number" ||
      typeof exp !== "number" ||
      typeof jti !== "string"
    ) {
      throw invalidToken();
    }
    return Object.freeze({ sub, name, role, pwv, sid, iat, exp, jti });
  }
}

function tokenExpired(): AppError {
  return new AppError(401, "token_expired", "The access token has expired; refresh it", true);
}

function invalidToken(): AppError {
  return new AppError(401, "unauthenticated", "The access token is not valid; sign in again");
}
