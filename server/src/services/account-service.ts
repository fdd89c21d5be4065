import crypto from "node:crypto";
import type { Knex } from "knex";
import {
  registrationPolicySchema,
  type ChangePasswordRequest,
  type CredentialsRequest,
  type RegisterRequest,
  type RegistrationPolicy,
  type SessionResponse,
  type TeamSettings,
  type UpdateUserRequest,
  type User,
  type UserRole,
  type UserStatus,
} from "../../../protocol/http/accounts";
import { AppError, notFound } from "../domain/app-error";
import type { AuthenticatedUser } from "../domain/authenticated-user";
import { deriveKey } from "../secrets";
import { RefreshTokenRepository } from "../storage/refresh-token-repository";
import { SettingsRepository } from "../storage/settings-repository";
import { toUser, UserRepository, type AuthenticationRow, type UserRow } from "../storage/user-repository";
import { AccessTokens } from "./access-tokens";
import { burnEquivalentWork, hashPassword, needsRehash, prepareEquivalentWork, verifyPassword } from "./password-hashing";
import { generateRefreshToken, hashRefreshToken } from "./refresh-tokens";
import type { ServiceContext } from "./service-context";

export type RegistrationResult = { kind: "session"; session: SessionResponse } | { kind: "pending"; user: User };

const millisecondsPerDay = 86_400_000;

/**
 * How long a user's row, read to authenticate a request, is reused. Every change made through this
 * service (disable, role, password) drops it at once; this bound is for changes this process cannot
 * see (a second server on the same PostgreSQL, a hand edit). A send makes two requests in a row
 * (POST, then its stream), and each query saved is a turn on SQLite's one connection.
 */
const authenticatedUserCacheMs = 2_000;

interface CachedUser {
  row: Promise<AuthenticationRow | undefined>;
  /** The row once read, for synchronous peeks. */
  value: AuthenticationRow | undefined;
  expiresAt: number;
}

/** Names are unique case-insensitively; the lower-cased form is the unique key on every database. */
export function nameKeyOf(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

const invalidCredentials = () => new AppError(401, "invalid_credentials", "The name or password is wrong");
const invalidRefreshToken = (message = "The refresh token is not valid; sign in again") =>
  new AppError(401, "refresh_token_invalid", message);

/** The tables an account operation touches, bound to one transaction (or to the database outside one). */
interface AccountStores {
  users: UserRepository;
  refreshTokens: RefreshTokenRepository;
  settings: SettingsRepository;
}

function accountStores(database: Knex | Knex.Transaction): AccountStores {
  return {
    users: new UserRepository(database),
    refreshTokens: new RefreshTokenRepository(database),
    settings: new SettingsRepository(database),
  };
}

function statusError(status: string): AppError | undefined {
  if (status === "pending") return new AppError(403, "account_pending", "This account is waiting for an admin's approval");
  if (status === "disabled") return new AppError(403, "account_disabled", "This account has been disabled by an admin");
  if (status !== "active") return new AppError(403, "account_disabled", "This account cannot sign in");
  return undefined;
}

/**
 * Accounts, sessions and the team's registration policy. Passwords are scrypt hashes; access
 * tokens are short-lived HS256 JWTs; refresh tokens are opaque, stored hashed and rotate within a
 * family, and presenting an already-rotated one (a sign of theft) revokes the whole family.
 */
export class AccountService {
  private readonly accessTokens: AccessTokens;
  /** Outside any transaction. */
  private readonly stores: AccountStores;
  private readonly cachedUsers = new Map<string, CachedUser>();
  /** Bumped by every forget, so a read that started before a change is not cached after it. */
  private cacheGeneration = 0;

  constructor(private readonly context: ServiceContext) {
    this.accessTokens = new AccessTokens(deriveKey(context.secretKey, "access-token"), context.config.accessTokenTtlSeconds);
    this.stores = accountStores(context.database);
  }

  /** The injected clock (epoch ms), so the HTTP layer's rate limits move with the same time as token expiry. */
  now(): number {
    return this.context.now();
  }

  // ---- settings ----

  /** On start: a fresh install takes REGISTRATION (default open); afterwards the admin's stored choice rules. */
  async applyInitialSettings(): Promise<void> {
    const policy = this.context.config.initialRegistration ?? "open";
    await this.stores.settings.writeIfMissing("registration", policy, this.context.now());
    prepareEquivalentWork();
  }

  async getRegistrationPolicy(settings: SettingsRepository = this.stores.settings): Promise<RegistrationPolicy> {
    const parsed = registrationPolicySchema.safeParse(await settings.read("registration"));
    // A missing or unreadable value falls back to the configured start value rather than failing every request.
    return parsed.success ? parsed.data : (this.context.config.initialRegistration ?? "open");
  }

  async getTeamSettings(): Promise<TeamSettings> {
    const summariserModelId = await this.stores.settings.read("summariser_model_id");
    return { registration: await this.getRegistrationPolicy(), summariserModelId: summariserModelId ?? null };
  }

  async updateTeamSettings(changes: Partial<TeamSettings>): Promise<TeamSettings> {
    if (changes.registration !== undefined) {
      await this.stores.settings.write("registration", changes.registration, this.context.now());
      this.context.logger.info("registration policy changed", { registration: changes.registration });
    }
    if (changes.summariserModelId !== undefined) {
      if (changes.summariserModelId === null) {
        await this.stores.settings.remove("summariser_model_id");
      } else {
        await this.stores.settings.write("summariser_model_id", changes.summariserModelId, this.context.now());
      }
      this.context.logger.info("summariser model changed", { summariserModelId: changes.summariserModelId });
    }
    return this.getTeamSettings();
  }

  // ---- registration and sessions ----

  async register(request: RegisterRequest): Promise<RegistrationResult> {
    const name = request.name.normalize("NFC");
    const nameKey = nameKeyOf(name);
    // Hash before the transaction: scrypt takes tens of milliseconds and must not hold the lock.
    const passwordHash = await hashPassword(request.password);
    const now = this.context.now();

    const outcome = await this.transaction(async (stores) => {
      await stores.users.lockForRoleDecisions();
      if (await stores.users.isNameKeyTaken(nameKey)) throw new AppError(409, "conflict", "That name is taken");
      // Decided inside the transaction so two simultaneous first registrations cannot both become admin.
      const isFirstUser = !(await stores.users.hasAnyUser());
      let role: UserRole = "member";
      let status: UserStatus = "active";
      if (isFirstUser) {
        // A fresh server has no admin to approve anyone: the first account can always register.
        role = "admin";
      } else {
        const policy = await this.getRegistrationPolicy(stores.settings);
        if (policy === "closed") throw new AppError(403, "registration_closed", "Registration is closed; ask an admin for an account");
        if (policy === "approval") status = "pending";
      }
      const row: UserRow = {
        id: crypto.randomUUID(),
        name,
        name_key: nameKey,
        password_hash: passwordHash,
        role,
        status,
        last_model_id: null,
        password_changed_at: now,
        created_at: now,
        updated_at: now,
      };
      // a concurrent registration of the same name may still win the unique index
      if (!(await stores.users.insert(row))) throw new AppError(409, "conflict", "That name is taken");
      if (status !== "active") return { kind: "pending" as const, user: toUser(row) };
      return { kind: "session" as const, session: await this.createSession(stores, row, crypto.randomUUID(), now) };
    });

    const user = outcome.kind === "session" ? outcome.session.user : outcome.user;
    this.context.logger.info("account registered", { userId: user.id, role: user.role, status: user.status });
    return outcome;
  }

  async signIn(request: CredentialsRequest): Promise<SessionResponse> {
    const row = await this.stores.users.findByNameKey(nameKeyOf(request.name));
    if (row === undefined) {
      await burnEquivalentWork(request.password);
      throw invalidCredentials();
    }
    if (!(await verifyPassword(request.password, row.password_hash))) throw invalidCredentials();
    // The account's state is told only to someone who knows its password.
    const refusal = statusError(row.status);
    if (refusal) throw refusal;

    if (needsRehash(row.password_hash)) {
      await this.stores.users.update(row.id, { password_hash: await hashPassword(request.password) });
    }
    const now = this.context.now();
    const session = await this.transaction((stores) => this.createSession(stores, row, crypto.randomUUID(), now));
    this.context.logger.info("signed in", { userId: row.id });
    return session;
  }

  /** Rotates a refresh token: the presented one becomes `rotated`, a new one joins its family. */
  async refresh(refreshToken: string): Promise<SessionResponse> {
    const tokenHash = hashRefreshToken(refreshToken);
    const now = this.context.now();
    const outcome = await this.transaction(async (stores) => {
      const token = await stores.refreshTokens.findByHash(tokenHash);
      if (token === undefined) return { kind: "invalid" as const };
      if (token.status === "revoked") return { kind: "invalid" as const };
      if (token.status === "rotated") {
        // Reuse of a rotated token: someone else holds a copy. End the whole family (the legitimate holder signs in again).
        await stores.refreshTokens.revokeFamily(token.family_id, now);
        return { kind: "reused" as const, userId: token.user_id };
      }
      if (token.expires_at <= now) return { kind: "expired" as const };
      // Conditional update: of two concurrent refreshes with the same token only one wins; the other counts as reuse.
      if (!(await stores.refreshTokens.claimForRotation(token.id, now))) {
        await stores.refreshTokens.revokeFamily(token.family_id, now);
        return { kind: "reused" as const, userId: token.user_id };
      }
      const user = await stores.users.findById(token.user_id);
      if (user === undefined) return { kind: "invalid" as const };
      const refusal = statusError(user.status);
      if (refusal) {
        await stores.refreshTokens.revokeFamily(token.family_id, now);
        return { kind: "refused" as const, error: refusal };
      }
      return { kind: "session" as const, session: await this.createSession(stores, user, token.family_id, now) };
    });
    switch (outcome.kind) {
      case "session":
        return outcome.session;
      case "reused":
        this.context.logger.warn("rotated refresh token presented again; its family is revoked", { userId: outcome.userId });
        throw invalidRefreshToken();
      case "expired":
        throw invalidRefreshToken("The refresh token has expired; sign in again");
      case "refused":
        throw outcome.error;
      case "invalid":
        throw invalidRefreshToken();
    }
  }

  /** Revokes the presented token's family. Unknown tokens are ignored: signing out twice is not an error. */
  async signOut(refreshToken: string): Promise<void> {
    const token = await this.stores.refreshTokens.findByHash(hashRefreshToken(refreshToken));
    if (token === undefined) return;
    await this.stores.refreshTokens.revokeFamily(token.family_id, this.context.now());
    this.context.logger.info("signed out", { userId: token.user_id });
  }

  /** Checks the current password, stores the new one, ends every other session and returns a fresh one. */
  async changePassword(userId: string, request: ChangePasswordRequest): Promise<SessionResponse> {
    const row = await this.stores.users.findById(userId);
    if (row === undefined) throw new AppError(401, "unauthenticated", "The account no longer exists; sign in again");
    if (!(await verifyPassword(request.currentPassword, row.password_hash))) {
      // 403, not 401: the session is fine, only the confirmation failed (a 401 would make a client refresh or sign out).
      throw new AppError(403, "invalid_credentials", "The current password is wrong");
    }
    const passwordHash = await hashPassword(request.newPassword);
    const now = this.context.now();
    const session = await this.changingUser(userId, () =>
      this.transaction(async (stores) => {
        const current = await stores.users.findById(userId);
        if (current === undefined) throw new AppError(401, "unauthenticated", "The account no longer exists; sign in again");
        // Strictly increasing, even when two changes share a millisecond (or a test's frozen clock):
        // access tokens carry this value as `pwv` and must stop matching.
        const passwordChangedAt = Math.max(now, current.password_changed_at + 1);
        await stores.users.update(userId, { password_hash: passwordHash, password_changed_at: passwordChangedAt, updated_at: now });
        await stores.refreshTokens.revokeAllOfUser(userId, now);
        return this.createSession(
          stores,
          { ...current, password_hash: passwordHash, password_changed_at: passwordChangedAt },
          crypto.randomUUID(),
          now,
        );
      }),
    );
    this.context.logger.info("password changed; other sessions ended", { userId });
    return session;
  }

  /**
   * Verifies an access token (HS256 only) and loads its user. Refused: expired (401 token_expired),
   * forged or malformed (401 unauthenticated), issued before a password change (401 unauthenticated),
   * or the account is disabled or pending (403).
   */
  async authenticate(accessToken: string): Promise<AuthenticatedUser> {
    const claims = this.accessTokens.verify(accessToken, this.context.now());
    const row = await this.readAuthenticationRow(claims.sub);
    if (row === undefined) throw new AppError(401, "unauthenticated", "The account no longer exists; sign in again");
    const refusal = statusError(row.status);
    if (refusal) throw refusal;
    if (claims.pwv !== row.password_changed_at) {
      throw new AppError(401, "unauthenticated", "This session has ended (password changed or account disabled); sign in again");
    }
    // Role and name come from the database, so a change by an admin applies at once.
    return { id: row.id, name: row.name, role: row.role === "admin" ? "admin" : "member" };
  }

  /**
   * The active account `userId`, checked like an access token's (the same cached row, dropped when an
   * admin changes the account): for credentials other than access tokens, such as API keys. Refused:
   * gone (401), disabled or pending (403), at once.
   */
  async authenticateAccount(userId: string): Promise<AuthenticatedUser> {
    const row = await this.readAuthenticationRow(userId);
    if (row === undefined) throw new AppError(401, "unauthenticated", "The account no longer exists");
    const refusal = statusError(row.status);
    if (refusal) throw refusal;
    return { id: row.id, name: row.name, role: row.role === "admin" ? "admin" : "member" };
  }

  // ---- the user's own account ----

  async getUser(userId: string): Promise<User> {
    const row = await this.stores.users.findById(userId);
    if (row === undefined) throw notFound("User");
    return toUser(row);
  }

  /** Remembers the model a user last chose (null forgets it). Whether the model exists is the catalog's business. */
  async setLastModel(userId: string, modelId: string | null): Promise<void> {
    await this.changingUser(userId, () => this.stores.users.update(userId, { last_model_id: modelId, updated_at: this.context.now() }));
  }

  /**
   * After a send: stores the model unless the user's row, just read to authenticate the send,
   * already names it — people mostly keep their model, and the write would be on every send.
   */
  async rememberLastModel(userId: string, modelId: string): Promise<void> {
    const cached = this.cachedUsers.get(userId);
    if (cached && cached.expiresAt > performance.now() && cached.value?.last_model_id === modelId) return;
    await this.setLastModel(userId, modelId);
  }

  async updatePreferences(userId: string, preferences: { lastModelId: string | null }): Promise<User> {
    await this.setLastModel(userId, preferences.lastModelId);
    return this.getUser(userId);
  }

  // ---- admin ----

  async listUsers(): Promise<User[]> {
    return (await this.stores.users.listAll()).map(toUser);
  }

  /**
   * Approves, disables, re-enables, promotes or demotes an account. The last active admin cannot be
   * demoted or disabled (409), so a team can never lock itself out. Leaving `active` ends the
   * account's sessions at once.
   */
  async updateUser(actingUserId: string, userId: string, changes: UpdateUserRequest): Promise<User> {
    const now = this.context.now();
    const updated = await this.changingUser(userId, () =>
      this.transaction(async (stores) => {
        await stores.users.lockForRoleDecisions();
        const target = await stores.users.findById(userId);
        if (target === undefined) throw notFound("User");
        const role = changes.role ?? (target.role as UserRole);
        const status = changes.status ?? (target.status as UserStatus);
        const wasActiveAdmin = target.role === "admin" && target.status === "active";
        if (wasActiveAdmin && (role !== "admin" || status !== "active")) {
          if ((await stores.users.countOtherActiveAdmins(userId)) === 0) {
            throw new AppError(409, "conflict", "This is the last active admin; make another account admin first");
          }
        }
        // Disabling also moves the token version on, so access tokens issued before stay dead
        // after the account is enabled again (the user signs in afresh).
        const isBeingDisabled = status === "disabled" && target.status !== "disabled";
        const passwordChangedAt = isBeingDisabled ? Math.max(now, target.password_changed_at + 1) : target.password_changed_at;
        await stores.users.update(userId, { role, status, password_changed_at: passwordChangedAt, updated_at: now });
        if (status !== "active") await stores.refreshTokens.revokeAllOfUser(userId, now);
        return { ...target, role, status, password_changed_at: passwordChangedAt, updated_at: now };
      }),
    );
    this.context.logger.info("account updated by admin", { userId, actingUserId, role: updated.role, status: updated.status });
    return toUser(updated);
  }

  // ---- internals ----

  /**
   * The user's row for authentication, from the short-lived cache or one query shared by every
   * request that arrives while it runs.
   */
  private readAuthenticationRow(userId: string): Promise<AuthenticationRow | undefined> {
    const now = performance.now();
    const cached = this.cachedUsers.get(userId);
    if (cached && cached.expiresAt > now) return cached.row;
    const generation = this.cacheGeneration;
    const entry: CachedUser = {
      row: this.stores.users.findAuthenticationRow(userId).then((row) => {
        entry.value = row;
        // a missing account is not remembered, and neither is a read that a change overtook
        if (row === undefined || generation !== this.cacheGeneration) this.dropCachedUser(userId, entry);
        return row;
      }),
      value: undefined,
      expiresAt: now + authenticatedUserCacheMs,
    };
    entry.row.catch(() => this.dropCachedUser(userId, entry));
    if (this.cachedUsers.size >= 10_000) this.cachedUsers.clear();
    this.cachedUsers.set(userId, entry);
    return entry.row;
  }

  private dropCachedUser(userId: string, entry: CachedUser): void {
    if (this.cachedUsers.get(userId) === entry) this.cachedUsers.delete(userId);
  }

  /** Called after every write to a user's row, so the next request reads it afresh. */
  private forgetUser(userId: string): void {
    this.cacheGeneration += 1;
    this.cachedUsers.delete(userId);
  }

  /** Runs a write to the user's row; whether it committed or not, the cached copy is dropped afterwards. */
  private async changingUser<Result>(userId: string, write: () => Promise<Result>): Promise<Result> {
    try {
      return await write();
    } finally {
      this.forgetUser(userId);
    }
  }

  /** Runs `work` in one transaction, with the repositories bound to it. */
  private transaction<Result>(work: (stores: AccountStores) => Promise<Result>): Promise<Result> {
    return this.context.database.transaction((transaction) => work(accountStores(transaction)));
  }

  /** Stores a new refresh token in `familyId` and signs an access token for the user. */
  private async createSession(stores: AccountStores, user: UserRow, familyId: string, now: number): Promise<SessionResponse> {
    // Expired rows are no longer needed for reuse detection; drop this user's as we go.
    await stores.refreshTokens.deleteExpiredOfUser(user.id, now);
    const refreshToken = generateRefreshToken();
    const refreshExpiresAt = now + this.context.config.refreshTokenTtlDays * millisecondsPerDay;
    await stores.refreshTokens.insert({
      id: crypto.randomUUID(),
      user_id: user.id,
      family_id: familyId,
      token_hash: hashRefreshToken(refreshToken),
      status: "active",
      expires_at: refreshExpiresAt,
      created_at: now,
      used_at: null,
    });
    const role: "admin" | "member" = user.role === "admin" ? "admin" : "member";
    const access = this.accessTokens.issue({ id: user.id, name: user.name, role, passwordChangedAtMs: user.password_changed_at }, now);
    return {
      user: toUser(user),
      accessToken: access.token,
      accessTokenExpiresAt: new Date(access.expiresAtMs).toISOString(),
      refreshToken,
      refreshTokenExpiresAt: new Date(refreshExpiresAt).toISOString(),
    };
  }
}
