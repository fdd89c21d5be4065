import type { Knex } from "knex";

/** One `api_keys` row: a member's personal key for the gateway, stored as its SHA-256. */
export interface ApiKeyRow {
  id: string;
  user_id: string;
  name: string;
  /** The first characters of the key, shown in lists so a person can tell keys apart. */
  key_prefix: string;
  key_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A key with the name of the account it belongs to (the admin's list). */
export type ApiKeyWithOwnerRow = ApiKeyRow & { user_name: string };

const listedColumns = ["id", "user_id", "name", "key_prefix", "created_at", "last_used_at", "revoked_at"] as const;

/**
 * The `api_keys` table. Reads for a member are scoped to them by the caller passing their id; the
 * admin's reads span everyone. The hash is only ever compared, never returned to a list.
 */
export class ApiKeyRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  async insert(row: ApiKeyRow): Promise<void> {
    await this.database("api_keys").insert(row);
  }

  /** The key a presented secret hashes to, revoked or not (the caller decides what a revoked one means). */
  async findByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    const row: ApiKeyRow | undefined = await this.database("api_keys").where({ key_hash: keyHash }).first();
    return row ? normaliseApiKeyRow(row) : undefined;
  }

  /** One user's keys, newest first (revoked ones too: the list shows when each was revoked). */
  async listOfUser(userId: string): Promise<ApiKeyRow[]> {
    const rows: ApiKeyRow[] = await this.database("api_keys")
      .where({ user_id: userId })
      .orderBy([{ column: "created_at", order: "desc" }, { column: "id" }])
      .select(...listedColumns);
    return rows.map(normaliseApiKeyRow);
  }

  /** Everyone's keys with their owners' names, newest first. */
  async listAll(): Promise<ApiKeyWithOwnerRow[]> {
    const rows: ApiKeyWithOwnerRow[] = await this.database("api_keys as k")
      .join("users as u", "u.id", "k.user_id")
      .orderBy([{ column: "k.created_at", order: "desc" }, { column: "k.id" }])
      .select(...listedColumns.map((column) => `k.${column}`), "u.name as user_name");
    return rows.map((row) => ({ ...normaliseApiKeyRow(row), user_name: row.user_name }));
  }

  /** The key `keyId` when it belongs to `userId` (undefined for anyone else's: the caller answers 404). */
  async findOfUser(userId: string, keyId: string): Promise<ApiKeyRow | undefined> {
    const row: ApiKeyRow | undefined = await this.database("api_keys")
      .where({ id: keyId, user_id: userId })
      .first(...listedColumns);
    return row ? normaliseApiKeyRow(row) : undefined;
  }

  async findById(keyId: string): Promise<ApiKeyRow | undefined> {
    const row: ApiKeyRow | undefined = await this.database("api_keys")
      .where({ id: keyId })
      .first(...listedColumns);
    return row ? normaliseApiKeyRow(row) : undefined;
  }

  /** Revokes a key not yet revoked; false when it already was (the first revocation's time stays). */
  async revoke(keyId: string, now: number): Promise<boolean> {
    return (await this.database("api_keys").where({ id: keyId }).whereNull("revoked_at").update({ revoked_at: now })) > 0;
  }

  async recordUse(keyId: string, now: number): Promise<void> {
    await this.database("api_keys").where({ id: keyId }).update({ last_used_at: now });
  }
}

function normaliseApiKeyRow<Row extends Partial<ApiKeyRow>>(row: Row): Row & ApiKeyRow {
  return {
    ...row,
    created_at: Number(row.created_at),
    last_used_at: row.last_used_at === null || row.last_used_at === undefined ? null : Number(row.last_used_at),
    revoked_at: row.revoked_at === null || row.revoked_at === undefined ? null : Number(row.revoked_at),
  } as Row & ApiKeyRow;
}
