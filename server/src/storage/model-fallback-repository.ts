import type { Knex } from "knex";

/** Per model, the models that answer in its place, in the order they are tried (`position` 0, 1, …). */
export class ModelFallbackRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  /** Every model's fallbacks, in order. */
  async listAll(): Promise<Map<string, string[]>> {
    const rows: Array<{ model_id: string; fallback_model_id: string }> = await this.database("model_fallbacks")
      .orderBy([{ column: "model_id" }, { column: "position" }])
      .select("model_id", "fallback_model_id");
    const fallbacks = new Map<string, string[]>();
    for (const row of rows) {
      const list = fallbacks.get(row.model_id) ?? [];
      list.push(row.fallback_model_id);
      fallbacks.set(row.model_id, list);
    }
    return fallbacks;
  }

  /** Replaces a model's fallbacks with `fallbackModelIds` (none: it has no fallback). Run it in a transaction. */
  async replace(modelId: string, fallbackModelIds: readonly string[], now: number): Promise<void> {
    await this.database("model_fallbacks").where({ model_id: modelId }).delete();
    if (fallbackModelIds.length === 0) return;
    await this.database("model_fallbacks").insert(
      fallbackModelIds.map((fallbackModelId, position) => ({
        model_id: modelId,
        position,
        fallback_model_id: fallbackModelId,
        updated_at: now,
      })),
    );
  }
}
