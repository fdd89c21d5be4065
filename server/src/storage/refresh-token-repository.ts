import type { Knex } from "knex";

/**
 * One `refresh_tokens` row. Only the token's hash is stored; a token belongs to a family (one
 * sign-in and every rotation after it), so reuse of a rotated token can end the whole family.
 */
export interface RefreshTokenRow {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  status: "active" | "rotated" | "revoked";
  expires_at: number;
  created_at: number;
  used_at: number | null;
}

export class RefreshTokenRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  async findByHash(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const row: RefreshTokenRow | undefined = await this.database("refresh_tokens").where({ token_hash: tokenHash }).first();
    return row ? normaliseRefreshTokenRow(row) : undefined;
  }

  async insert(row: RefreshTokenRow): Promise<void> {
    await this.database("refresh_tokens").insert(row);
  }

  /**
   * Marks an active token `rotated`. A conditional update: of two concurrent rotations of the same
   * token only one finds it still active; false for the other.
   */
  async claimForRotation(tokenId: string, now: number): Promise<boolean> {
    const claimed = await this.database("refresh_tokens")
      .where({ id: tokenId, status: "active" })
      .update({ status: "rotated", used_at: now });
    return claimed > 0;
  }

  /**
   * Whether the session (the family) of `userId` still has a usable refresh token: false once it
   * was revoked (sign-out, reuse, password change, disabling) or ran out. One indexed lookup.
   */
  async isFamilyActive(userId: string, familyId: string, now: number): Promise<boolean> {
    const row = await this.database("refresh_tokens")
      .where({ family_id: familyId, user_id: userId, status: "active" })
      .where("expires_at", ">", now)
      .first("id");
    return row !== undefined;
  }

  async revokeFamily(familyId: string, now: number): Promise<void> {
    await this.database("refresh_tokens")
      .where({ family_id: familyId })
      .whereNot({ status: "revoked" })
      .update({ status: "revoked", used_at: now });
  }

  /** Ends every session of the user. */
  async revokeAllOfUser(userId: string, now: number): Promise<void> {
    await this.database("refresh_tokens")
      .where({ user_id: userId })
      .whereNot({ status: "revoked" })
      .update({ status: "revoked", used_at: now });
  }

  /** Expired rows are no longer needed for reuse detection. */
  async deleteExpiredOfUser(userId: string, now: number): Promise<void> {
    await this.database("refresh_tokens").where({ user_id: userId }).where("expires_at", "<=", now).delete();
  }
}

function normaliseRefreshTokenRow(row: RefreshTokenRow): RefreshTokenRow {
  return {
    ...row,
    expires_at: Number(row.expires_at),
    created_at: Number(row.created_at),
    used_at: row.used_at === null ? null : Number(row.used_at),
  };
}
