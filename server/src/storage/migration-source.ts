import type { Knex } from "knex";
import * as initialSchema from "./migrations/0001-initial-schema";
import * as longConversationsSchema from "./migrations/0002-long-conversations-schema";
import * as backfillMessageDepthAndTokenEstimate from "./migrations/0003-backfill-message-depth-and-token-estimate";
import * as compactContextRecords from "./migrations/0004-compact-context-records";
import * as hardeningSchema from "./migrations/0005-hardening-schema";
import * as usageLedgerSchema from "./migrations/0007-usage-ledger-schema";
import * as backfillUsageLedger from "./migrations/0008-backfill-usage-ledger";
import * as librarySchema from "./migrations/0009-library-schema";
import * as buildSearchIndex from "./migrations/0010-build-search-index";
import * as sharedInstancesSchema from "./migrations/0011-shared-instances-schema";
import * as branchesAndPromptsSchema from "./migrations/0013-branches-and-prompts-schema";
import * as messageAttachmentsSchema from "./migrations/0014-message-attachments-schema";
import * as answerEventBatches from "./migrations/0015-answer-event-batches";

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations listed explicitly instead of read from a folder: they work the same under tsx,
 * in a bundle and in tests, and the order is visible in one place. Append; never edit a shipped one.
 */
const migrations: Array<[name: string, migration: Migration]> = [
  ["0001-initial-schema", initialSchema],
  ["0002-long-conversations-schema", longConversationsSchema],
  ["0003-backfill-message-depth-and-token-estimate", backfillMessageDepthAndTokenEstimate],
  ["0004-compact-context-records", compactContextRecords],
  ["0005-hardening-schema", hardeningSchema],
  ["0007-usage-ledger-schema", usageLedgerSchema],
  ["0008-backfill-usage-ledger", backfillUsageLedger],
  ["0009-library-schema", librarySchema],
  ["0010-build-search-index", buildSearchIndex],
  ["0011-shared-instances-schema", sharedInstancesSchema],
  ["0013-branches-and-prompts-schema", branchesAndPromptsSchema],
  ["0014-message-attachments-schema", messageAttachmentsSchema],
  ["0015-answer-event-batches", answerEventBatches],
];

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => migrations.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = migrations.find(([candidate]) => candidate === name);
    if (!found) throw new Error(`Unknown migration ${name}`);
    return found[1];
  },
};
