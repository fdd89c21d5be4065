import type { Knex } from "knex";
import type { AdminModel } from "../../../protocol/http/models";
import { providerKinds, type ProviderKind } from "../../../protocol/http/providers";

/** One `models` row as the database holds it (booleans and numbers differ between SQLite and PostgreSQL). */
interface ModelRow {
  id: string;
  provider: string;
  name: string;
  display_name: string;
  context_window: number | string | null;
  max_output_tokens: number | string | null;
  supports_vision: boolean | number | null;
  is_visible: boolean | number;
  is_available: boolean | number;
}

/** What a refresh or an admin may change of a stored model. */
export type ModelChanges = Partial<
  Pick<AdminModel, "displayName" | "contextWindow" | "maxOutputTokens" | "supportsVision" | "isVisible" | "isAvailable">
>;

/** Per provider: the models it currently offers, and of those the ones members see. */
export interface ModelCounts {
  available: number;
  visible: number;
}

const modelColumns = [
  "id",
  "provider",
  "name",
  "display_name",
  "context_window",
  "max_output_tokens",
  "supports_vision",
  "is_visible",
  "is_available",
] as const;

// Rows per INSERT: well under SQLite's 32,766 bound parameters (11 columns each).
const insertBatchSize = 200;

/** The model catalog: every model any provider listed, kept (with its visibility) when it is no longer offered. */
export class ModelRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  /** Models of provider kinds this server does not know (left by a newer version) are skipped. */
  async listAll(): Promise<AdminModel[]> {
    const rows: ModelRow[] = await this.database("models").select(...modelColumns);
    return rows.filter((row) => (providerKinds as readonly string[]).includes(row.provider)).map(toAdminModel);
  }

  async listByProvider(kind: ProviderKind): Promise<AdminModel[]> {
    const rows: ModelRow[] = await this.database("models")
      .where({ provider: kind })
      .select(...modelColumns);
    return rows.map(toAdminModel);
  }

  /** Ids are `<provider>:<name>`; the (provider, name) pair is unique. */
  async insert(models: AdminModel[], now: number): Promise<void> {
    const rows = models.map((model) => ({
      id: model.id,
      provider: model.provider,
      name: model.name,
      ...toColumns(model),
      created_at: now,
      updated_at: now,
    }));
    for (let index = 0; index < rows.length; index += insertBatchSize) {
      await this.database("models").insert(rows.slice(index, index + insertBatchSize));
    }
  }

  async update(modelId: string, changes: ModelChanges, now: number): Promise<void> {
    await this.database("models")
      .where({ id: modelId })
      .update({ ...toColumns(changes), updated_at: now });
  }

  async markUnavailable(modelIds: string[], now: number): Promise<void> {
    if (modelIds.length === 0) return;
    await this.database("models").whereIn("id", modelIds).update({ is_available: false, updated_at: now });
  }

  /** One grouped query over the whole catalog. */
  async countByProvider(): Promise<Map<ProviderKind, ModelCounts>> {
    const rows: Array<{ provider: string; is_visible: boolean | number; is_available: boolean | number; count: number | string }> =
      await this.database("models")
        .select("provider", "is_visible", "is_available")
        .count({ count: "*" })
        .groupBy("provider", "is_visible", "is_available");
    const counts = new Map<ProviderKind, ModelCounts>();
    for (const row of rows) {
      const kind = row.provider as ProviderKind;
      const entry = counts.get(kind) ?? { available: 0, visible: 0 };
      const isAvailable = isTrue(row.is_available);
      if (isAvailable) entry.available += Number(row.count);
      if (isAvailable && isTrue(row.is_visible)) entry.visible += Number(row.count);
      counts.set(kind, entry);
    }
    return counts;
  }
}

/** The columns of the given fields only (an absent field is left as it is). */
function toColumns(changes: ModelChanges): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  if (changes.displayName !== undefined) columns.display_name = changes.displayName;
  if (changes.contextWindow !== undefined) columns.context_window = changes.contextWindow;
  if (changes.maxOutputTokens !== undefined) columns.max_output_tokens = changes.maxOutputTokens;
  if (changes.supportsVision !== undefined) columns.supports_vision = changes.supportsVision;
  if (changes.isVisible !== undefined) columns.is_visible = changes.isVisible;
  if (changes.isAvailable !== undefined) columns.is_available = changes.isAvailable;
  return columns;
}

/** SQLite returns booleans as 0/1, PostgreSQL as true/false. */
function isTrue(value: boolean | number | null): boolean {
  return value === true || value === 1;
}

// ---- row → protocol ----

function toAdminModel(row: ModelRow): AdminModel {
  return {
    id: row.id,
    provider: row.provider as ProviderKind,
    name: row.name,
    displayName: row.display_name,
    contextWindow: row.context_window === null ? null : Number(row.context_window),
    maxOutputTokens: row.max_output_tokens === null ? null : Number(row.max_output_tokens),
    supportsVision: row.supports_vision === null ? null : isTrue(row.supports_vision),
    isVisible: isTrue(row.is_visible),
    isAvailable: isTrue(row.is_available),
  };
}
