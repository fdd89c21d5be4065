import type { Knex } from "knex";
import type { User, UserRole, UserStatus } from "../../../protocol/http/accounts";
import { isPostgres } from "./database";

/** One `users` row, with its times as numbers on SQLite and PostgreSQL alike. */
export interface UserRow {
  id: string;
  name: string;
  /** The lower-cased name: the unique key (names are unique case-insensitively on every database). */
  name_key: string;
  /** How the name looks as written (confusables folded): a look-alike of a taken name is refused. Null only before the start-up fill. */
  name_skeleton: string | null;
  /** The same, of the name in small letters and in capitals. */
  name_skeleton_lower: string | null;
  name_skeleton_upper: string | null;
  password_hash: string;
  role: string;
  status: string;
  last_model_id: string | null;
  password_changed_at: number;
  created_at: number;
  updated_at: number;
}

/** The columns authentication and the last-model preference read. */
export type AuthenticationRow = Pick<UserRow, "id" | "name" | "role" | "status" | "last_model_id" | "password_changed_at">;

export type UserChanges = Partial<
  Pick<UserRow, "password_hash" | "password_changed_at" | "role" | "status" | "last_model_id" | "updated_at">
>;

const authenticationColumns = ["id", "name", "role", "status", "last_model_id", "password_changed_at"] as const;

/** Accounts. Every user may be read here: the rules of who may see or change whom live in AccountService. */
export class UserRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  /** The user's default system prompt (system_prompts.id; null: the built-in one). Migration 0013. */
  async findDefaultSystemPromptId(userId: string): Promise<string | null> {
    const row: { default_system_prompt_id: string | null } | undefined = await this.database("users")
      .where({ id: userId })
      .first("default_system_prompt_id");
    return row?.default_system_prompt_id ?? null;
  }

  async setDefaultSystemPromptId(userId: string, systemPromptId: string | null, now: number): Promise<void> {
    await this.database("users").where({ id: userId }).update({ default_system_prompt_id: systemPromptId, updated_at: now });
  }

  async findById(userId: string): Promise<UserRow | undefined> {
    const row: UserRow | undefined = await this.database("users").where({ id: userId }).first();
    return row ? normaliseUserRow(row) : undefined;
  }

  async findByNameKey(nameKey: string): Promise<UserRow | undefined> {
    const row: UserRow | undefined = await this.database("users").where({ name_key: nameKey }).first();
    return row ? normaliseUserRow(row) : undefined;
  }

  /** Whether an account has this name, or one that looks the same (a skeleton in common). */
  async isNameTaken(nameKey: string, skeletons: { written: string; lower: string; upper: string }): Promise<boolean> {
    const row = await this.database("users")
      .where({ name_key: nameKey })
      .orWhere({ name_skeleton: skeletons.written })
      .orWhere({ name_skeleton_lower: skeletons.lower })
      .orWhere({ name_skeleton_upper: skeletons.upper })
      .first("id");
    return row !== undefined;
  }

  async hasAnyUser(): Promise<boolean> {
    return (await this.database("users").first("id")) !== undefined;
  }

  async hasActiveAdmin(): Promise<boolean> {
    return (await this.database("users").where({ role: "admin", status: "active" }).first("id")) !== undefined;
  }

  /** Accounts whose name forms were never computed (made by a version before skeletons), a batch at a time. */
  async listWithoutSkeleton(limit: number): Promise<Array<Pick<UserRow, "id" | "name" | "name_key">>> {
    return this.database("users").whereNull("name_skeleton").orderBy("id").limit(limit).select("id", "name", "name_key");
  }

  /** Stores a name's compared forms; false when the key is another account's (the old key is kept then). */
  async updateNameForms(
    userId: string,
    forms: Pick<UserRow, "name_key" | "name_skeleton" | "name_skeleton_lower" | "name_skeleton_upper">,
  ): Promise<boolean> {
    try {
      await this.database("users").where({ id: userId }).update(forms);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Only what authenticating a request needs (the row is cached per request burst by AccountService). */
  async findAuthenticationRow(userId: string): Promise<AuthenticationRow | undefined> {
    const row: AuthenticationRow | undefined = await this.database("users")
      .where({ id: userId })
      .first(...authenticationColumns);
    return row ? { ...row, password_changed_at: Number(row.password_changed_at) } : undefined;
  }

  /** Oldest account first (the id breaks ties of accounts created in the same millisecond). */
  async listAll(): Promise<UserRow[]> {
    const rows: UserRow[] = await this.database("users").orderBy([{ column: "created_at" }, { column: "id" }]);
    return rows.map(normaliseUserRow);
  }

  /** false when the name is already taken: the unique index on `name_key` decides, even between concurrent inserts. */
  async insert(row: UserRow): Promise<boolean> {
    try {
      await this.database("users").insert(row);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async update(userId: string, changes: UserChanges): Promise<void> {
    await this.database("users").where({ id: userId }).update(changes);
  }

  /** Active admins other than `userId`. */
  async countOtherActiveAdmins(userId: string): Promise<number> {
    const rows = await this.database("users")
      .where({ role: "admin", status: "active" })
      .whereNot({ id: userId })
      .count<{ count: number | string }[]>({ count: "*" });
    return Number(rows[0]?.count ?? 0);
  }

  /**
   * Serialises decisions that depend on who else exists (first account becomes admin; last admin
   * cannot be demoted); call it first inside the deciding transaction. SQLite already runs one
   * writer at a time (and we use one connection); PostgreSQL's default isolation would let two
   * transactions both see "no admin yet", so lock. SHARE ROW EXCLUSIVE conflicts with itself and
   * with writes, not with plain reads.
   */
  async lockForRoleDecisions(): Promise<void> {
    if (isPostgres(this.database)) await this.database.raw("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE");
  }
}

function normaliseUserRow(row: UserRow): UserRow {
  return {
    ...row,
    password_changed_at: Number(row.password_changed_at),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

function isUniqueViolation(error: unknown): boolean {
  const details = error as { code?: string; message?: string };
  // PostgreSQL: unique_violation; SQLite (better-sqlite3 gives the extended result code)
  return details.code === "23505" || details.code === "SQLITE_CONSTRAINT_UNIQUE" || details.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

// ---- row → protocol ----

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    role: row.role as UserRole,
    status: row.status as UserStatus,
    lastModelId: row.last_model_id,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
