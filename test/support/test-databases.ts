import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase, type Database } from "../../server/src/storage/database";
import { createTestDatabase } from "./postgres";

export interface TestDatabase {
  name: "SQLite" | "PostgreSQL";
  /** A fresh, migrated database; `cleanUp` removes what it left on disk (after `database.destroy()`). */
  open(): Promise<{ database: Database; cleanUp: () => void }>;
}

/** Both databases the server supports, each opened fresh and migrated: storage tests run on each. */
export const testDatabases: readonly TestDatabase[] = [
  {
    name: "SQLite",
    open: async () => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-test-database-"));
      const database = await openDatabase({ sqliteFile: path.join(folder, "juggler.sqlite") });
      return { database, cleanUp: () => fs.rmSync(folder, { recursive: true, force: true }) };
    },
  },
  {
    name: "PostgreSQL",
    open: async () => {
      const database = await openDatabase({ databaseUrl: await createTestDatabase(), sqliteFile: "" });
      return { database, cleanUp: () => undefined };
    },
  },
];
