import type { Knex } from "knex";

/**
 * The team's settings, one `settings` row per key:
 *   - `registration`: open | approval | closed (who may create an account);
 *   - `summariser_model_id`: the model that summarises older messages (absent: the cheapest visible model);
 *   - `admin_token_hash`: SHA-256 of the one-time admin token printed on start while the team has no admin.
 * Values are stored as text; reading them into their types (and what a bad value means) is the service's business.
 */
export type SettingKey = "registration" | "summariser_model_id" | "admin_token_hash";

export class SettingsRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  async read(key: SettingKey): Promise<string | undefined> {
    const row: { value: string } | undefined = await this.database("settings").where({ key }).first("value");
    return row?.value;
  }

  async write(key: SettingKey, value: string, now: number): Promise<void> {
    await this.database("settings").insert({ key, value, updated_at: now }).onConflict("key").merge(["value", "updated_at"]);
  }

  /** Stores `value` only when the key has none yet (a start-up default never overwrites an admin's choice). */
  async writeIfMissing(key: SettingKey, value: string, now: number): Promise<void> {
    await this.database("settings").insert({ key, value, updated_at: now }).onConflict("key").ignore();
  }

  async remove(key: SettingKey): Promise<void> {
    await this.database("settings").where({ key }).delete();
  }
}
