import type { Knex } from "knex";

/** One `team_presets` row (migration 0013), numbers normalised (SQLite and PostgreSQL differ). */
export interface PresetRow {
  id: string;
  name: string;
  name_lower: string;
  system_prompt_id: string | null;
  model_id: string | null;
  temperature: number | null;
  max_output_tokens: number | null;
  created_at: number;
  updated_at: number;
}

export type PresetChanges = Partial<Omit<PresetRow, "id" | "created_at">>;

/** The team's presets: everyone reads them, admins write them (the service decides who may). */
export class PresetRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  /** By name; a team has at most PRESETS_MAX, so one read. */
  async list(limit: number): Promise<PresetRow[]> {
    const rows: PresetRow[] = await this.database("team_presets")
      .orderBy([{ column: "name_lower" }, { column: "id" }])
      .limit(limit);
    return rows.map(normalisePresetRow);
  }

  async count(): Promise<number> {
    const row = await this.database("team_presets").count<{ count: number | string }[]>({ count: "*" }).first();
    return Number(row?.count ?? 0);
  }

  async findById(id: string): Promise<PresetRow | undefined> {
    const row: PresetRow | undefined = await this.database("team_presets").where({ id }).first();
    return row ? normalisePresetRow(row) : undefined;
  }

  async findByNameLower(nameLower: string): Promise<PresetRow | undefined> {
    const row: PresetRow | undefined = await this.database("team_presets").where({ name_lower: nameLower }).first();
    return row ? normalisePresetRow(row) : undefined;
  }

  async insert(row: PresetRow): Promise<void> {
    await this.database("team_presets").insert(row);
  }

  async update(id: string, changes: PresetChanges): Promise<boolean> {
    return (await this.database("team_presets").where({ id }).update(changes)) > 0;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.database("team_presets").where({ id }).delete()) > 0;
  }
}

function normalisePresetRow(row: PresetRow): PresetRow {
  return {
    ...row,
    temperature: row.temperature === null ? null : Number(row.temperature),
    max_output_tokens: row.max_output_tokens === null ? null : Number(row.max_output_tokens),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}
