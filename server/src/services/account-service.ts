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
import { isPostgres } from "../storage/database";
import { AccessTokens } from "./access-tokens";
import { burnEquivalentWork, hashPassword, needsRehash, prepareEquivalentWork, verifyPassword } from "./password-hashing";
import { generateRefreshToken, hashRefreshToken } from "./refresh-tokens";
import type { ServiceContext } from "./service-context";

/** Who a valid access token belongs to, as loaded from the database on every request. */

export type RegistrationResult = { kind: "session"; session: SessionResponse } | { kind: "pending"; user: User };

interface UserRow {
  id: string;
  name: string;
  name_key: string;
  password_hash: string;
  role: string;
  status: string;
  last_model_id: string | null;
  password_changed_at: number | string;
  created_at: number | string;
  updated_at: number | string;
}

interface RefreshTokenRow {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  status: "active" | "rotated" | "revoked";
  expires_at: number | string;
}

const registrationSettingKey = "registration";
/** The model that summarises older messages (absent: the cheapest visible model). */
const summariserSettingKey = "summariser_model_id";
const millisecondsPerDay = 86_400_000;

/**
 * How long a user's row, read to authenticate a request, is reused. Every change made through this
 * service (disable, role, password) drops it at once; this bound is for changes this process cannot
 * see (a second server on the same PostgreSQL, a hand edit). A send makes two requests in a row
 * (POST, then its stream), and each query saved is a turn on SQLite's one connection.
 */
const authenticatedUserCacheMs = 2_000;

/** The columns authentication and the last-model preference read. */
type AuthenticationRow = Pick<UserRow, "id" | "name" | "role" | "status" | "last_model_id" | "password_changed_at">;

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

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    role: row.role as UserRole,
    status: row.status as UserStatus,
    lastModelId: row.last_model_id,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

function statusError(status: string): AppError | undefined {
  if (status === "pending") return new AppError(403, "account_pending", "This account is waiting for an admin's approval");
  if (status === "disabled") return new AppError(403, "account_disabled", "This account has been disabled by an admin");
  if (status !== "active") return new AppError(403, "account_disabled", "This account cannot sign in");
  return undefined;
}

function isUniqueViolation(error: unknown): boolean {
  const details = error as { code?: string; message?: string };
  // PostgreSQL: unique_violation; SQLite: SQLITE_CONSTRAINT with a UNIQUE message.
  return details.code === "23505" || (details.code === "SQLITE_CONSTRAINT" && /UNIQUE/i.test(details.message ?? ""));
}

/**
 * Accounts, sessions and the team's registration policy. Passwords are scrypt hashes; access
 * tokens are short-lived HS256 JWTs; refresh tokens are opaque, stored hashed and rotate within a
 * family, and presenting an already-rotated one (a sign of theft) revokes the whole family.
 */
export class AccountService {
  private readonly accessTokens: AccessTokens;
  private readonly cachedUsers = new Map<string, CachedUser>();
  /** Bumped by every forget, so a read that started before a change is not cached after it. */
  private cacheGeneration = 0;

  constructor(private readonly context: ServiceContext) {
    this.accessTokens = new AccessTokens(deriveKey(context.secretKey, "access-token"), context.config.accessTokenTtlSeconds);
  }

  /** The injected clock (epoch ms), so the HTTP layer's rate limits move with the same time as token expiry. */
  now(): number {
    return this.context.now();
  }

  private get database(): Knex {
    return this.context.database;
  }

  // ---- settings ----

  /** On start: a fresh install takes REGISTRATION (default open); afterwards the admin's stored choice rules. */
  async applyInitialSettings(): Promise<void> {
    const policy = this.context.config.initialRegistration ?? "open";
    await this.database("settings")
      .insert({ key: registrationSettingKey, value: policy, updated_at: this.context.now() })
      .onConflict("key")
      .ignore();
    prepareEquivalentWork();
  }

  async getRegistrationPolicy(database: Knex = this.database): Promise<RegistrationPolicy> {
    const row: { value: string } | undefined = await database("settings").where({ key: registrationSettingKey }).first("value");
    const parsed = registrationPolicySchema.safeParse(row?.value);
    // A missing or unreadable value falls back to the configured start value rather than failing every request.
    return parsed.success ? parsed.data : (this.context.config.initialRegistration ?? "open");
  }

  async getTeamSettings(): Promise<TeamSettings> {
    const summariser: { value: string } | undefined = await this.database("settings").where({ key: summariserSettingKey }).first("value");
    return { registration: await this.getRegistrationPolicy(), summariserModelId: summariser?.value ?? null };
  }

  async updateTeamSettings(changes: Partial<TeamSettings>): Promise<TeamSettings> {
    if (changes.registration !== undefined) {
      const now = this.context.now();
      await this.database("settings")
        .insert({ key: registrationSettingKey, value: changes.registration, updated_at: now })
        .onConflict("key")
        .merge(["value", "updated_at"]);
      this.context.logger.info("registration policy changed", { registration: changes.registration });
    }
    if (changes.summariserModelId !== undefined) {
      if (changes.summariserModelId === null) {
        await this.database("settings").where({ key: summariserSettingKey }).delete();
      } else {
        await this.database("settings")
          .insert({ key: summariserSettingKey, value: changes.summariserModelId, updated_at: this.context.now() })
          .onConflict("key")
          .merge(["value", "updated_at"]);
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

    const outcome = await this.transaction(async (transaction) => {
      await this.lockUsersForRoleDecisions(transaction);
      const existing = await transaction("users").where({ name_key: nameKey }).first("id");
      if (existing) throw new AppError(409, "conflict", "That name is taken");
      // Decided inside the transaction so two simultaneous first registrations cannot both become admin.
      const firstUser = await transaction("users").first("id");
      const isFirstUser = firstUser === undefined;
      let role: UserRole = "member";
      let status: UserStatus = "active";
      if (isFirstUser) {
        // A fresh server has no admin to approve anyone: the first account can always register.
        role = "admin";
      } else {
        const policy = await this.getRegistrationPolicy(transaction);
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
      try {
        await transaction("users").insert(row);
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError(409, "conflict", "That name is taken");
        throw error;
      }
      if (status !== "active") return { kind: "pending" as const, user: toUser(row) };
      return { kind: "session" as const, session: await this.createSession(transaction, row, crypto.randomUUID(), now) };
    });

    const user = outcome.kind === "session" ? outcome.session.user : outcome.user;
    this.context.logger.info("account registered", { userId: user.id, role: user.role, status: user.status });
    return outcome;
  }

  async signIn(request: CredentialsRequest): Promise<SessionResponse> {
    const row: UserRow | undefined = await this.database("users")
      .where({ name_key: nameKeyOf(request.name) })
      .first();
    if (row === undefined) {
      await burnEquivalentWork(request.password);
      throw invalidCredentials();
    }
    if (!(await verifyPassword(request.password, row.password_hash))) throw invalidCredentials();
    // The account's state is told only to someone who knows its password.
    const refusal = statusError(row.status);
    if (refusal) throw refusal;

    if (needsRehash(row.password_hash)) {
      await this.database("users")
        .where({ id: row.id })
        .update({ password_hash: await hashPassword(request.password) });
    }
    const now = this.context.now();
    const session = await this.transaction((transaction) => this.createSession(transaction, row, crypto.randomUUID(), now));
    this.context.logger.info("signed in", { userId: row.id });
    return session;
  }

  /** Rotates a refresh token: the presented one becomes `rotated`, a new one joins its family. */
  async refresh(refreshToken: string): Promise<SessionResponse> {
    const tokenHash = hashRefreshToken(refreshToken);
    const now = this.context.now();
    const outcome = await this.transaction(async (transaction) => {
      const token: RefreshTokenRow | undefined = await transaction("refresh_tokens").where({ token_hash: tokenHash }).first();
      if (token === undefined) return { kind: "invalid" as const };
      if (token.status === "revoked") return { kind: "invalid" as const };
      if (token.status === "rotated") {
        // Reuse of a rotated token: someone else holds a copy. End the whole family (the legitimate holder signs in again).
        await this.revokeFamily(transaction, token.family_id);
        return { kind: "reused" as const, userId: token.user_id };
      }
      if (Number(token.expires_at) <= now) return { kind: "expired" as const };
      // Conditional update: of two concurrent refreshes with the same token only one wins; the other counts as reuse.
      const claimed = await transaction("refresh_tokens")
        .where({ id: token.id, status: "active" })
        .update({ status: "rotated", used_at: now });
      if (claimed === 0) {
        await this.revokeFamily(transaction, token.family_id);
        return { kind: "reused" as const, userId: token.user_id };
      }
      const user: UserRow | undefined = await transaction("users").where({ id: token.user_id }).first();
      if (user === undefined) return { kind: "invalid" as const };
      const refusal = statusError(user.status);
      if (refusal) {
        await this.revokeFamily(transaction, token.family_id);
        return { kind: "refused" as const, error: refusal };
      }
      return { kind: "session" as const, session: await this.createSession(transaction, user, token.family_id, now) };
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
    const token: RefreshTokenRow | undefined = await this.database("refresh_tokens")
      .where({ token_hash: hashRefreshToken(refreshToken) })
      .first();
    if (token === undefined) return;
    await this.revokeFamily(this.database, token.family_id);
    this.context.logger.info("signed out", { userId: token.user_id });
  }

  /** Checks the current password, stores the new one, ends every other session and returns a fresh one. */
  async changePassword(userId: string, request: ChangePasswordRequest): Promise<SessionResponse> {
    const row = await this.findUserRow(userId);
    if (row === undefined) throw new AppError(401, "unauthenticated", "The account no longer exists; sign in again");
    if (!(await verifyPassword(request.currentPassword, row.password_hash))) {
      // 403, not 401: the session is fine, only the confirmation failed (a 401 would make a client refresh or sign out).
      throw new AppError(403, "invalid_credentials", "The current password is wrong");
    }
    const passwordHash = await hashPassword(request.newPassword);
    const now = this.context.now();
    const session = await this.changingUser(userId, () =>
      this.transaction(async (transaction) => {
        const current: UserRow | undefined = await transaction("users").where({ id: userId }).first();
        if (current === undefined) throw new AppError(401, "unauthenticated", "The account no longer exists; sign in again");
        // Strictly increasing, even when two changes share a millisecond (or a test's frozen clock):
        // access tokens carry this value as `pwv` and must stop matching.
        const passwordChangedAt = Math.max(now, Number(current.password_changed_at) + 1);
        await transaction("users")
          .where({ id: userId })
          .update({ password_hash: passwordHash, password_changed_at: passwordChangedAt, updated_at: now });
        await transaction("refresh_tokens")
          .where({ user_id: userId })
          .whereNot({ status: "revoked" })
          .update({ status: "revoked", used_at: now });
        return this.createSession(
          transaction,
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
    if (claims.pwv !== Number(row.password_changed_at)) {
      throw new AppError(401, "unauthenticated", "This session has ended (password changed or account disabled); sign in again");
    }
    // Role and name come from the database, so a change by an admin applies at once.
    return { id: row.id, name: row.name, role: row.role === "admin" ? "admin" : "member" };
  }

  // ---- the user's own account ----

  async getUser(userId: string): Promise<User> {
    const row = await this.findUserRow(userId);
    if (row === undefined) throw notFound("User");
    return toUser(row);
  }

  /** Remembers the model a user last chose (null forgets it). Whether the model exists is the catalog's business. */
  async setLastModel(userId: string, modelId: string | null): Promise<void> {
    await this.changingUser(userId, () =>
      this.database("users").where({ id: userId }).update({ last_model_id: modelId, updated_at: this.context.now() }),
    );
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
    const rows: UserRow[] = await this.database("users").orderBy([{ column: "created_at" }, { column: "id" }]);
    return rows.map(toUser);
  }

  /**
   * Approves, disables, re-enables, promotes or demotes an account. The last active admin cannot be
   * demoted or disabled (409), so a team can never lock itself out. Leaving `active` ends the
   * account's sessions at once.
   */
  async updateUser(actingUserId: string, userId: string, changes: UpdateUserRequest): Promise<User> {
    const now = this.context.now();
    const updated = await this.changingUser(userId, () =>
      this.transaction(async (transaction) => {
        await this.lockUsersForRoleDecisions(transaction);
        const target: UserRow | undefined = await transaction("users").where({ id: userId }).first();
        if (target === undefined) throw notFound("User");
        const role = changes.role ?? (target.role as UserRole);
        const status = changes.status ?? (target.status as UserStatus);
        const wasActiveAdmin = target.role === "admin" && target.status === "active";
        if (wasActiveAdmin && (role !== "admin" || status !== "active")) {
          const otherAdmins = await transaction("users")
            .where({ role: "admin", status: "active" })
            .whereNot({ id: userId })
            .count<{ count: number | string }[]>({ count: "*" });
          if (Number(otherAdmins[0]?.count ?? 0) === 0) {
            throw new AppError(409, "conflict", "This is the last active admin; make another account admin first");
          }
        }
        // Disabling also moves the token version on, so access tokens issued before stay dead
        // after the account is enabled again (the user signs in afresh).
        const isBeingDisabled = status === "disabled" && target.status !== "disabled";
        const passwordChangedAt = isBeingDisabled
          ? Math.max(now, Number(target.password_changed_at) + 1)
          : Number(target.password_changed_at);
        await transaction("users").where({ id: userId }).update({ role, status, password_changed_at: passwordChangedAt, updated_at: now });
        if (status !== "active") {
          await transaction("refresh_tokens")
            .where({ user_id: userId })
            .whereNot({ status: "revoked" })
            .update({ status: "revoked", used_at: now });
        }
        return { ...target, role, status, password_changed_at: passwordChangedAt, updated_at: now };
      }),
    );
    this.context.logger.info("account updated by admin", { userId, actingUserId, role: updated.role, status: updated.status });
    return toUser(updated);
  }

  // ---- internals ----

  private async findUserRow(userId: string): Promise<UserRow | undefined> {
    return this.database("users").where({ id: userId }).first();
  }

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
      row: this.database("users")
        .where({ id: userId })
        .first("id", "name", "role", "status", "last_model_id", "password_changed_at")
        .then((row: AuthenticationRow | undefined) => {
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

  private transaction<Result>(work: (transaction: Knex.Transaction) => Promise<Result>): Promise<Result> {
    return this.database.transaction(work);
  }

  /**
   * Serialises decisions that depend on who else exists (first account becomes admin; last admin
   * cannot be demoted). SQLite already runs one writer at a time (and we use one connection);
   * PostgreSQL's default isolation would let two transactions both see "no admin yet", so lock.
   * SHARE ROW EXCLUSIVE conflicts with itself and with writes, not with plain reads.
   */
  private async lockUsersForRoleDecisions(transaction: Knex.Transaction): Promise<void> {
    if (isPostgres(this.database)) await transaction.raw("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE");
  }

  private async revokeFamily(database: Knex, familyId: string): Promise<void> {
    await database("refresh_tokens")
      .where({ family_id: familyId })
      .whereNot({ status: "revoked" })
      .update({ status: "revoked", used_at: this.context.now() });
  }

  /** Stores a new refresh token in `familyId` and signs an access token for the user. */
  private async createSession(transaction: Knex.Transaction, user: UserRow, familyId: string, now: number): Promise<SessionResponse> {
    // Expired rows are no longer needed for reuse detection; drop this user's as we go.
    await transaction("refresh_tokens").where({ user_id: user.id }).where("expires_at", "<=", now).delete();
    const refreshToken = generateRefreshToken();
    const refreshExpiresAt = now + this.context.config.refreshTokenTtlDays * millisecondsPerDay;
    await transaction("refresh_tokens").insert({
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
    const access = this.accessTokens.issue(
      { id: user.id, name: user.name, role, passwordChangedAtMs: Number(user.password_changed_at) },
      now,
    );
    return {
      user: toUser(user),
      accessToken: access.token,
      accessTokenExpiresAt: new Date(access.expiresAtMs).toISOString(),
      refreshToken,
      refreshTokenExpiresAt: new Date(refreshExpiresAt).toISOString(),
    };
  }
}
