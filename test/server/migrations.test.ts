import assert from "node:assert/strict";
import { migrationSource } from "../../server/src/storage/migration-source";
import { isPostgres, type Database } from "../../server/src/storage/database";
import { testDatabases } from "../support/test-databases";

const tables = [
  "users",
  "refresh_tokens",
  "providers",
  "models",
  "conversations",
  "messages",
  "conversation_summaries",
  "settings",
  "model_fallbacks",
  "api_keys",
  "usage_ledger",
  "usage_daily",
  "usage_weekly",
  "model_prices",
  "budget_limits",
];

/** Foreign-key columns and whether an index starts with them (the original Juggler's missing one cost 2.2 s). */
async function foreignKeysWithoutIndex(database: Database): Promise<string[]> {
  const missing: string[] = [];
  if (isPostgres(database)) {
    const result = await database.raw(`
      SELECT c.conrelid::regclass::text AS table_name, a.attname AS column_name
      FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1
        AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])`);
    for (const row of result.rows as Array<{ table_name: string; column_name: string }>)
      missing.push(`${row.table_name}.${row.column_name}`);
    return missing;
  }
  for (const table of tables) {
    const keys: Array<{ from: string }> = await database.raw(`PRAGMA foreign_key_list(${table})`);
    const indexes: Array<{ name: string }> = await database.raw(`PRAGMA index_list(${table})`);
    const firstColumns = new Set<string>();
    for (const index of indexes) {
      const columns: Array<{ name: string; seqno: number }> = await database.raw(`PRAGMA index_info("${index.name}")`);
      const first = columns.find((column) => column.seqno === 0);
      if (first) firstColumns.add(first.name);
    }
    for (const key of keys) if (!firstColumns.has(key.from)) missing.push(`${table}.${key.from}`);
  }
  return missing;
}

for (const { name: backend, open } of testDatabases) {
  describe(`migrations on ${backend}`, function () {
    this.timeout(120_000);
    let database: Database;
    let cleanUp: (() => void) | undefined;

    before(async () => {
      ({ database, cleanUp } = await open());
    });
    after(async () => {
      await database?.destroy();
      cleanUp?.();
    });

    it("creates every table, and re-running is a no-op", async () => {
      for (const table of tables) assert.ok(await database.schema.hasTable(table), `${table} exists`);
      const [, pending] = await database.migrate.list({ migrationSource });
      assert.equal(pending.length, 0);
      await database.migrate.latest({ migrationSource });
    });

    it("indexes every foreign key", async () => {
      assert.deepEqual(await foreignKeysWithoutIndex(database), []);
    });

    it("rolls back to nothing and forward again", async () => {
      await database.migrate.rollback({ migrationSource }, true);
      for (const table of tables) assert.equal(await database.schema.hasTable(table), false, `${table} dropped`);
      await database.migrate.latest({ migrationSource });
      for (const table of tables) assert.ok(await database.schema.hasTable(table));
    });
  });
}
