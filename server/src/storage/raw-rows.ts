import type { Knex } from "knex";

/** The rows of a raw query: knex.raw answers with the driver's shape (an array on SQLite, `{ rows }` on PostgreSQL). */
export async function rawRows<Row>(database: Knex | Knex.Transaction, sql: string, bindings: readonly Knex.RawBinding[]): Promise<Row[]> {
  const result: unknown = await database.raw(sql, bindings);
  return Array.isArray(result) ? (result as Row[]) : (result as { rows: Row[] }).rows;
}

export function isPostgresConnection(database: Knex | Knex.Transaction): boolean {
  return database.client.config.client === "pg";
}
