import type { Knex } from "knex";

/** One `model_prices` row: an admin's price for a model, per million tokens in micro-dollars, from a time on. */
export interface PriceRow {
  id: string;
  model_id: string;
  input_micro_usd_per_million: number;
  output_micro_usd_per_million: number;
  /** null: cached input costs the input price. */
  cached_input_micro_usd_per_million: number | null;
  effective_from: number;
  created_by: string | null;
  created_at: number;
}

/**
 * Prices admins set. Never updated or deleted: a change is a new row effective from its time, so the
 * price in force at any moment can be told afterwards. The table is small (a few rows per model);
 * the price service holds it in memory.
 */
export class PriceRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  async insert(row: PriceRow): Promise<void> {
    await this.database("model_prices").insert(row);
  }

  /** Every row, oldest effective first. */
  async listAll(): Promise<PriceRow[]> {
    const rows: PriceRow[] = await this.database("model_prices").orderBy([
      { column: "model_id" },
      { column: "effective_from" },
      { column: "created_at" },
    ]);
    return rows.map((row) => ({
      ...row,
      input_micro_usd_per_million: Number(row.input_micro_usd_per_million),
      output_micro_usd_per_million: Number(row.output_micro_usd_per_million),
      cached_input_micro_usd_per_million:
        row.cached_input_micro_usd_per_million === null ? null : Number(row.cached_input_micro_usd_per_million),
      effective_from: Number(row.effective_from),
      created_at: Number(row.created_at),
    }));
  }
}
