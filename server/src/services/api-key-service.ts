import crypto from "node:crypto";
import type { AdminApiKey, ApiKey, CreateApiKeyResponse } from "../../../protocol/http/api-keys";
import { AppError, notFound } from "../domain/app-error";
import type { AuthenticatedUser } from "../domain/authenticated-user";
import { ApiKeyRepository, type ApiKeyRow } from "../storage/api-key-repository";
import { generateApiKey, hashApiKey, isApiKeyShaped } from "./api-key-tokens";
import type { ServiceContext } from "./service-context";

/** The caller of a gateway request: the key's owner, and the key (its name is the usage's client). */
export interface ApiKeyCaller {
  user: AuthenticatedUser;
  apiKey: { id: string; name: string };
}

/** How a key's owner is checked: the same cached check as access tokens (disabled → refused at once). */
export interface AccountCheck {
  authenticateAccount(userId: string): Promise<AuthenticatedUser>;
}

/**
 * How long a key found by its hash is trusted before it is read again. A revocation through this
 * server drops it at once; this bounds what another server on the same database (or a hand edit) does.
 */
const KEY_CACHE_MS = 2_000;
/** `last_used_at` is written at most this often per key: a write per request would cost every gateway call. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** Most keys held in memory at once (bounded against a flood of distinct keys). */
const KEY_CACHE_MAX = 10_000;

const invalidKey = () =>
  new AppError(401, "unauthenticated", "The API key is not valid (revoked, or not one of this server's)", false, {
    "WWW-Authenticate": 'Bearer realm="juggler-gateway"',
  });

interface CachedKey {
  row: Promise<ApiKeyRow | undefined>;
  expiresAt: number;
}

/**
 * Personal API keys: each member creates, names, lists and revokes their own; an admin lists and
 * revokes anyone's. A key is shown once, stored as its SHA-256, and accepted only where the gateway
 * (and the reading of one's own usage) allows it. Authentication is from memory on the hot path: the
 * key by its hash (2 s), its owner through the account service's cached check.
 */
export class ApiKeyService {
  private readonly keys: ApiKeyRepository;
  private readonly cachedKeys = new Map<string, CachedKey>();
  private readonly lastUseWrittenAt = new Map<string, number>();

  constructor(
    private readonly context: ServiceContext,
    private readonly accounts: AccountCheck,
  ) {
    this.keys = new ApiKeyRepository(context.database);
  }

  async create(userId: string, name: string): Promise<CreateApiKeyResponse> {
    const { key, prefix, hash } = generateApiKey();
    const row: ApiKeyRow = {
      id: crypto.randomUUID(),
      user_id: userId,
      name: name.normalize("NFC"),
      key_prefix: prefix,
      key_hash: hash,
      created_at: this.context.now(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.keys.insert(row);
    this.context.logger.info("api key created", { userId, apiKeyId: row.id });
    return { apiKey: toApiKey(row), key };
  }

  async listOwn(userId: string): Promise<ApiKey[]> {
    return (await this.keys.listOfUser(userId)).map(toApiKey);
  }

  /** Another user's key (or an unknown id) is a 404, like every user-owned row. Revoking twice is fine. */
  async revokeOwn(userId: string, keyId: string): Promise<void> {
    const row = await this.keys.findOfUser(userId, keyId);
    if (row === undefined) throw notFound("API key");
    await this.revokeRow(row, userId);
  }

  async listAll(): Promise<AdminApiKey[]> {
    return (await this.keys.listAll()).map((row) => ({ ...toApiKey(row), userId: row.user_id, userName: row.user_name }));
  }

  async revokeAny(actingUserId: string, keyId: string): Promise<void> {
    const row = await this.keys.findById(keyId);
    if (row === undefined) throw notFound("API key");
    await this.revokeRow(row, actingUserId);
  }

  /**
   * The caller a presented key stands for. Refused: not a key's shape, unknown, revoked (401), or its
   * owner is gone, disabled or pending (the account check's 401 / 403), each at once.
   */
  async authenticate(presented: string): Promise<ApiKeyCaller> {
    if (!isApiKeyShaped(presented)) throw invalidKey();
    const hash = hashApiKey(presented);
    const row = await this.findByHash(hash);
    if (row === undefined || row.revoked_at !== null) throw invalidKey();
    const user = await this.accounts.authenticateAccount(row.user_id);
    this.noteUse(row.id);
    return { user, apiKey: { id: row.id, name: row.name } };
  }

  private async revokeRow(row: ApiKeyRow, actingUserId: string): Promise<void> {
    try {
      if (await this.keys.revoke(row.id, this.context.now())) {
        this.context.logger.info("api key revoked", { apiKeyId: row.id, ownerId: row.user_id, actingUserId });
      }
    } finally {
      // whatever happened, the next request with this key reads it afresh
      this.cachedKeys.clear();
    }
  }

  private findByHash(hash: string): Promise<ApiKeyRow | undefined> {
    const now = performance.now();
    const cached = this.cachedKeys.get(hash);
    if (cached && cached.expiresAt > now) return cached.row;
    const entry: CachedKey = { row: this.keys.findByHash(hash), expiresAt: now + KEY_CACHE_MS };
    // unknown keys are not remembered (a flood of made-up keys would fill the map for nothing)
    entry.row.then(
      (row) => {
        if (row === undefined && this.cachedKeys.get(hash) === entry) this.cachedKeys.delete(hash);
      },
      () => {
        if (this.cachedKeys.get(hash) === entry) this.cachedKeys.delete(hash);
      },
    );
    if (this.cachedKeys.size >= KEY_CACHE_MAX) this.cachedKeys.clear();
    this.cachedKeys.set(hash, entry);
    return entry.row;
  }

  /** Records the key's use, at most once a minute and without holding the request up. */
  private noteUse(keyId: string): void {
    const now = this.context.now();
    const writtenAt = this.lastUseWrittenAt.get(keyId);
    if (writtenAt !== undefined && now - writtenAt < LAST_USED_RESOLUTION_MS) return;
    if (this.lastUseWrittenAt.size >= KEY_CACHE_MAX) this.lastUseWrittenAt.clear();
    this.lastUseWrittenAt.set(keyId, now);
    this.keys.recordUse(keyId, now).catch((error: unknown) => {
      this.context.logger.warn("recording an api key's use failed", { apiKeyId: keyId, error });
    });
  }
}

function toApiKey(row: Pick<ApiKeyRow, "id" | "name" | "key_prefix" | "created_at" | "last_used_at" | "revoked_at">): ApiKey {
  const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());
  return {
    id: row.id,
    name: row.name,
    prefix: row.key_prefix,
    createdAt: new Date(row.created_at).toISOString(),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}
