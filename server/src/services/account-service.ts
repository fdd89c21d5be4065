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
import { describeNameLooks, normaliseAccountName, skeletonsOf } from "./account-name";
import { AccessTokens } from "./access-tokens";
import { AuthenticationRateLimits } from "./authentication-rate-limits";
import { burnEquivalentWork, hashPassword, needsRehash, prepareEquivalentWork, verifyPassword } from "./password-hashing";
import { generateRefreshToken, hashRefreshToken } from "./refresh-tokens";
import type { ServiceContext } from "./service-context";
import type { ClusterChange } from "./cluster";

/** What start-up found: the one-time admin token when the team has no admin yet (to print for the operator). */
export interface AccountsStartResult {
  adminToken: string | undefined;
}

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
  expiresAt: number;
}

interface CachedSession {
  userId: string;
  isActive: Promise<boolean>;
  expiresAt: number;
}

/** Accounts whose name forms are filled per query at start-up. */
const nameFormsBatchSize = 500;

/** SHA-256 hex: the token has 192 random bits, so a plain hash cannot be reversed, and it is compared by hash. */
function hashAdminToken(token: string): string {
  return crypto.createHash("sha256").update(token, "utf8").digest("hex");
}

async function isCurrentAdminToken(settings: SettingsRepository, token: string): Promise<boolean> {
  const stored = await settings.read("admin_token_hash");
  if (stored === undefined) return false;
  const presented = Buffer.from(hashAdminToken(token), "hex");
  const expected = Buffer.from(stored, "hex");
  return presented.length === expected.length && crypto.timingSafeEqual(presented, expected);
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
  /**
   * Whether a session (refresh-token family) is still open, by family id, kept as briefly as the
   * user rows and dropped at once when this process ends the session.
   */
  private readonly cachedSessions = new Map<string, CachedSession>();
  /** Bumped by every forget, so a read that started before a change is not cached after it. */
  private cacheGeneration = 0;

  private readonly limits: AuthenticationRateLimits;
  private readonly statusListeners = new Set<(userId: string, status: UserStatus) => void>();

  constructor(private readonly context: ServiceContext) {
    this.accessTokens = new AccessTokens(deriveKey(context.secretKey, "access-token"), context.config.accessTokenTtlSeconds);
    this.stores = accountStores(context.database);
    this.limits = new AuthenticationRateLimits({ attemptsPerMinute: context.config.authRateLimitPerMinute, database: context.database });
    context.cluster.onChange((change) => this.applyClusterChange(change));
  }

  // ---- settings ----

  /**
   * On start: a fresh install takes REGISTRATION (default open); afterwards the admin's stored
   * choice rules. Accounts of an older version get their name forms. While the team has no admin,
   * a new one-time admin token replaces any earlier one (only its hash is stored): the operator
   * reads it on the console and creates the first admin with it.
   */
  async start(): Promise<AccountsStartResult> {
    const now = this.context.now();
    const policy = this.context.config.initialRegistration ?? "open";
    await this.stores.settings.writeIfMissing("registration", policy, now);
    await this.fillNameForms();
    prepareEquivalentWork();
    if (await this.stores.users.hasActiveAdmin()) {
      await this.stores.settings.remove("admin_token_hash");
      return { adminToken: undefined };
    }
    const adminToken = crypto.randomBytes(24).toString("base64url");
    await this.stores.settings.write("admin_token_hash", hashAdminToken(adminToken), now);
    this.context.logger.info("the team has no admin yet: a one-time admin token was printed on the console");
    return { adminToken };
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

  /**
   * Creates an account, or queues it for approval, or — when the name or a look-alike of it is
   * taken — does nothing; the caller answers the same in every case, so registering tells nobody
   * which names exist (signing in with the same name and password tells the registrant the outcome).
   * The first admin needs the one-time admin token, except on a fresh server whose registration is
   * open (anyone may join it, and its first account administers it). `clientAddress`: the caller's IP,
   * for the per-address limit on registrations.
   */
  async register(request: RegisterRequest, clientAddress: string): Promise<void> {
    await this.limits.consumeRegistration(clientAddress);
    const normalised = normaliseAccountName(request.name);
    if ("problem" in normalised) throw new AppError(400, "validation_failed", normalised.problem);
    const { name, nameKey } = normalised;
    const looks = await describeNameLooks(name);
    if ("problem" in looks) throw new AppError(400, "validation_failed", looks.problem);
    const { skeletons } = looks;
    // Hash before the transaction: scrypt takes tens of milliseconds and must not hold the lock.
    const passwordHash = await hashPassword(request.password);
    const now = this.context.now();

    const outcome = await this.transaction(async (stores) => {
      await stores.users.lockForRoleDecisions();
      // Decided inside the transaction so two simultaneous first registrations cannot both become admin.
      let role: UserRole = "member";
      let status: UserStatus = "active";
      if (request.adminToken !== undefined) {
        if ((await stores.users.hasActiveAdmin()) || !(await isCurrentAdminToken(stores.settings, request.adminToken))) {
          throw new AppError(
            403,
            "forbidden",
            "This admin token is not valid: it is printed on the server's console on start while the team has no admin, and works once",
          );
        }
        role = "admin";
      } else {
        const policy = await this.getRegistrationPolicy(stores.settings);
        if (policy === "closed") {
          throw new AppError(403, "registration_closed", "Registration is closed; ask an admin for an account");
        }
        if (policy === "approval") status = "pending";
        else if (!(await stores.users.hasAnyUser())) role = "admin";
      }
      if (await stores.users.isNameTaken(nameKey, skeletons)) return { kind: "taken" as const };
      const row: UserRow = {
        id: crypto.randomUUID(),
        name,
        name_key: nameKey,
        name_skeleton: skeletons.written,
        name_skeleton_lower: skeletons.lower,
        name_skeleton_upper: skeletons.upper,
        password_hash: passwordHash,
        role,
        status,
        last_model_id: null,
        password_changed_at: now,
        created_at: now,
        updated_at: now,
      };
      // a concurrent registration of the same name may still win the unique index
      if (!(await stores.users.insert(row))) return { kind: "taken" as const };
      // the first admin exists: the one-time token has done its work
      if (role === "admin") await stores.settings.remove("admin_token_hash");
      return { kind: "created" as const, user: toUser(row) };
    });

    if (outcome.kind === "taken") {
      this.context.logger.info("registration not created: the name or a look-alike is taken");
      return;
    }
    const { user } = outcome;
    this.context.logger.info("account registered", { userId: user.id, role: user.role, status: user.status });
  }

  /**
   * Checks name and password, within the limits on guessing (AuthenticationRateLimits: the address
   * that keeps failing waits, the account's owner elsewhere does not). `clientAddress`: the caller's IP.
   */
  async signIn(request: CredentialsRequest, clientAddress: string): Promise<SessionResponse> {
    const normalised = normaliseAccountName(request.name);
    // a name no account can have is refused like a wrong password (after the same work)
    const nameKey = "problem" in normalised ? request.name.trim().toLowerCase() : normalised.nameKey;
    const check = await this.limits.beginPasswordCheck(nameKey, clientAddress);
    const row = "problem" in normalised ? undefined : await this.stores.users.findByNameKey(nameKey);
    if (row === undefined) {
      await burnEquivalentWork(request.password);
      await check.failed();
      throw invalidCredentials();
    }
    if (!(await verifyPassword(request.password, row.password_hash))) {
      await check.failed();
      throw invalidCredentials();
    }
    await check.succeeded();
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
        return { kind: "reused" as const, userId: token.user_id, familyId: token.family_id };
      }
      if (token.expires_at <= now) return { kind: "expired" as const };
      // Conditional update: of two concurrent refreshes with the same token only one wins; the other counts as reuse.
      if (!(await stores.refreshTokens.claimForRotation(token.id, now))) {
        await stores.refreshTokens.revokeFamily(token.family_id, now);
        return { kind: "reused" as const, userId: token.user_id, familyId: token.family_id };
      }
      const user = await stores.users.findById(token.user_id);
      if (user === undefined) return { kind: "invalid" as const };
      const refusal = statusError(user.status);
      if (refusal) {
        await stores.refreshTokens.revokeFamily(token.family_id, now);
        return { kind: "refused" as const, error: refusal, familyId: token.family_id };
      }
      return { kind: "session" as const, session: await this.createSession(stores, user, token.family_id, now) };
    });
    if (outcome.kind === "reused" || outcome.kind === "refused") this.forgetSession(outcome.familyId);
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
    // the session's access tokens end now, not when they expire
    this.forgetSession(token.family_id);
    this.context.logger.info("signed out", { userId: token.user_id });
  }

  /** Checks the current password, stores the new one, ends every other session and returns a fresh one. */
  async changePassword(userId: string, request: ChangePasswordRequest, clientAddress: string): Promise<SessionResponse> {
    const row = await this.stores.users.findById(userId);
    if (row === undefined) throw new AppError(401, "unauthenticated", "The account no longer exists; sign in again");
    // checking the current password is a password check too: limited like a sign-in
    const check = await this.limits.beginPasswordCheck(row.name_key, clientAddress);
    if (!(await verifyPassword(request.currentPassword, row.password_hash))) {
      await check.failed();
      // 403, not 401: the session is fine, only the confirmation failed (a 401 would make a client refresh or sign out).
      throw new AppError(403, "invalid_credentials", "The current password is wrong");
    }
    await check.succeeded();
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
   * its session ended (signed out, refresh family revoked: 401 unauthenticated), or the account is
   * disabled or pending (403).
   */
  async authenticate(accessToken: string): Promise<AuthenticatedUser> {
    const claims = this.accessTokens.verify(accessToken, this.context.now());
    const [row, isSessionActive] = await Promise.all([
      this.readAuthenticationRow(claims.sub),
      this.readSessionState(claims.sub, claims.sid),
    ]);
    if (row === undefined) throw new AppError(401, "unauthenticated", "The account no longer exists; sign in again");
    const refusal = statusError(row.status);
    if (refusal) throw refusal;
    if (claims.pwv !== row.password_changed_at) {
      throw new AppError(401, "unauthenticated", "This session has ended (password changed or account disabled); sign in again");
    }
    if (!isSessionActive) throw new AppError(401, "unauthenticated", "This session has ended (signed out); sign in again");
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
   * already names it — people mostly keep their model, and the write would be on every send. The
   * row comes from the authentication cache (one shared query if it just expired), never a write
   * of the same value: such a write drops the cached row, so the sends running at the same time
   * would each find it gone and write again (a third of all sends under 50 at once did).
   */
  async rememberLastModel(userId: string, modelId: string): Promise<void> {
    const row = await this.readAuthenticationRow(userId);
    if (row === undefined || row.last_model_id === modelId) return;
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
    for (const listener of this.statusListeners) {
      try {
        listener(userId, updated.status as UserStatus);
      } catch (error) {
        this.context.logger.error("account status listener failed", { error });
      }
    }
    return toUser(updated);
  }

  /**
   * Told after an admin changed an account (with its status now), so that what the account is doing
   * (its answers being written) stops at once when it is no longer active. Returns an unsubscribe function.
   */
  onAccountStatusChanged(listener: (userId: string, status: UserStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  // ---- internals ----

  /**
   * Name forms for accounts of a version before them (the key was NFC then, and there was no
   * skeleton): computed here rather than in a migration, which must not import the application's
   * rules. A key that would now equal another account's stays as it was (logged).
   */
  private async fillNameForms(): Promise<void> {
    for (;;) {
      const rows = await this.stores.users.listWithoutSkeleton(nameFormsBatchSize);
      if (rows.length === 0) return;
      for (const row of rows) {
        const normalised = normaliseAccountName(row.name);
        const skeletons = await skeletonsOf("problem" in normalised ? row.name : normalised.name);
        const nameKey = "problem" in normalised ? row.name_key : normalised.nameKey;
        const forms = { name_skeleton: skeletons.written, name_skeleton_lower: skeletons.lower, name_skeleton_upper: skeletons.upper };
        if (!(await this.stores.users.updateNameForms(row.id, { ...forms, name_key: nameKey }))) {
          this.context.logger.warn("an account's name now reads as another's; its old key is kept", { userId: row.id });
          await this.stores.users.updateNameForms(row.id, { ...forms, name_key: row.name_key });
        }
      }
    }
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
      row: this.stores.users.findAuthenticationRow(userId).then((row) => {
        // a missing account is not remembered, and neither is a read that a change overtook
        if (row === undefined || generation !== this.cacheGeneration) this.dropCachedUser(userId, entry);
        return row;
      }),
      expiresAt: now + authenticatedUserCacheMs,
    };
    entry.row.catch(() => this.dropCachedUser(userId, entry));
    if (this.cachedUsers.size >= 10_000) this.cachedUsers.clear();
    this.cachedUsers.set(userId, entry);
    return entry.row;
  }

  /**
   * Whether the token's session is still open: from the short-lived cache (dropped at once by every
   * change this process makes), or one indexed query shared by the requests that arrive meanwhile.
   */
  private readSessionState(userId: string, familyId: string): Promise<boolean> {
    const now = performance.now();
    const cached = this.cachedSessions.get(familyId);
    if (cached && cached.expiresAt > now && cached.userId === userId) return cached.isActive;
    const generation = this.cacheGeneration;
    const entry: CachedSession = {
      userId,
      isActive: this.stores.refreshTokens.isFamilyActive(userId, familyId, this.context.now()).then((isActive) => {
        // an ended session stays ended, but a read that a change overtook is not kept
        if (generation !== this.cacheGeneration) this.dropCachedSession(familyId, entry);
        return isActive;
      }),
      expiresAt: now + authenticatedUserCacheMs,
    };
    entry.isActive.catch(() => this.dropCachedSession(familyId, entry));
    if (this.cachedSessions.size >= 10_000) this.cachedSessions.clear();
    this.cachedSessions.set(familyId, entry);
    return entry.isActive;
  }

  private dropCachedSession(familyId: string, entry: CachedSession): void {
    if (this.cachedSessions.get(familyId) === entry) this.cachedSessions.delete(familyId);
  }

  /** Called after a session ended, so its next request reads it afresh (here and on the other instances). */
  private forgetSession(familyId: string): void {
    this.forgetSessionHere(familyId);
    this.context.cluster.announce({ kind: "session", familyId });
  }

  private forgetSessionHere(familyId: string): void {
    this.cacheGeneration += 1;
    this.cachedSessions.delete(familyId);
  }

  /** What another instance changed: its cached copies here are dropped. */
  private applyClusterChange(change: ClusterChange): void {
    if (change.kind === "user") this.forgetUserHere(change.userId);
    else if (change.kind === "session") this.forgetSessionHere(change.familyId);
    else if (change.kind === "everything") {
      this.cacheGeneration += 1;
      this.cachedUsers.clear();
      this.cachedSessions.clear();
    }
  }

  private dropCachedUser(userId: string, entry: CachedUser): void {
    if (this.cachedUsers.get(userId) === entry) this.cachedUsers.delete(userId);
  }

  /**
   * Called after every write to a user's row, so the next request reads it afresh; their sessions
   * too, since the writes that end sessions (password, status) are among them. Such writes are rare
   * next to requests, so walking the session cache (at most 10,000 entries) is cheap enough.
   */
  private forgetUser(userId: string): void {
    this.forgetUserHere(userId);
    this.context.cluster.announce({ kind: "user", userId });
  }

  private forgetUserHere(userId: string): void {
    this.cacheGeneration += 1;
    this.cachedUsers.delete(userId);
    for (const [familyId, entry] of this.cachedSessions) {
      if (entry.userId === userId) this.cachedSessions.delete(familyId);
    }
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
    const access = this.accessTokens.issue(
      { id: user.id, name: user.name, role, passwordChangedAtMs: user.password_changed_at },
      familyId,
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
