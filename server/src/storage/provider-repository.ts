import type { Knex } from "knex";
import type { ErrorDetail } from "../../../protocol/http/error-codes";
import { providerKinds, type ProviderKind } from "../../../protocol/http/providers";

/** One `providers` row as the database holds it (booleans and times differ between SQLite and PostgreSQL). */
interface ProviderRow {
  kind: string;
  is_active: boolean | number;
  base_url: string;
  encrypted_key: string | null;
  key_last4: string | null;
  last_refreshed_at: number | string | null;
  last_error: string | null;
}

/** A provider's settings as read. The key stays encrypted; only ProviderService decrypts it, to build an adapter. */
export interface StoredProvider {
  kind: ProviderKind;
  isActive: boolean;
  baseUrl: string;
  encryptedKey: string | null;
  keyLast4: string | null;
  lastRefreshedAt: number | null;
  lastError: ErrorDetail | null;
}

export interface ProviderChanges {
  is_active?: boolean;
  base_url?: string;
  encrypted_key?: string | null;
  key_last4?: string | null;
  /** Only cleared here; a refresh failure is stored with recordRefreshError. */
  last_error?: null;
  last_refreshed_at?: number;
  updated_at?: number;
}

/** The team's providers: one row per kind, whatever its state (created on start, never deleted). */
export class ProviderRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  /** Rows of kinds this server does not know (left by a newer version) are skipped. */
  async listAll(): Promise<StoredProvider[]> {
    const rows: ProviderRow[] = await this.database("providers").select(
      "kind",
      "is_active",
      "base_url",
      "encrypted_key",
      "key_last4",
      "last_refreshed_at",
      "last_error",
    );
    return rows.filter((row) => (providerKinds as readonly string[]).includes(row.kind)).map(toStoredProvider);
  }

  /** A row for `kind`, off and without a key, unless it exists already (whatever it holds). */
  async insertIfMissing(kind: ProviderKind, baseUrl: string, now: number): Promise<void> {
    await this.database("providers")
      .insert({ kind, is_active: false, base_url: baseUrl, encrypted_key: null, key_last4: null, updated_at: now })
      .onConflict("kind")
      .ignore();
  }

  async update(kind: ProviderKind, changes: ProviderChanges): Promise<void> {
    await this.database("providers").where({ kind }).update(changes);
  }

  async recordRefreshSuccess(kind: ProviderKind, refreshedAt: number): Promise<void> {
    await this.update(kind, { last_error: null, last_refreshed_at: refreshedAt });
  }

  /** Keeps the time of the last successful refresh. */
  async recordRefreshError(kind: ProviderKind, error: ErrorDetail): Promise<void> {
    await this.database("providers")
      .where({ kind })
      .update({ last_error: JSON.stringify(error) });
  }
}

function toStoredProvider(row: ProviderRow): StoredProvider {
  return {
    kind: row.kind as ProviderKind,
    // SQLite returns booleans as 0/1, PostgreSQL as true/false
    isActive: row.is_active === true || row.is_active === 1,
    baseUrl: row.base_url,
    encryptedKey: row.encrypted_key,
    keyLast4: row.key_last4,
    lastRefreshedAt: row.last_refreshed_at === null ? null : Number(row.last_refreshed_at),
    lastError: parseErrorDetail(row.last_error),
  };
}

/** An unreadable stored error is shown as none rather than failing the provider list. */
function parseErrorDetail(text: string | null): ErrorDetail | null {
  if (text === null || text === "") return null;
  try {
    const parsed = JSON.parse(text) as ErrorDetail;
    return typeof parsed?.code === "string" && typeof parsed.message === "string" ? parsed : null;
  } catch {
    return null;
  }
}
