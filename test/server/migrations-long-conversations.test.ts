import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { contextRecordSchema } from "../../protocol/http/conversations";
import { connectDatabase, type Database } from "../../server/src/storage/database";
import { migrationSource } from "../../server/src/storage/migration-source";
import * as backfill from "../../server/src/storage/migrations/0003-backfill-message-depth-and-token-estimate";
import * as compactRecords from "../../server/src/storage/migrations/0004-compact-context-records";
import { toMessage, type MessageRow } from "../../server/src/storage/conversation-repository";
import { estimateMessageTokens } from "../../server/src/services/token-estimate";
import { createTestDatabase } from "../support/postgres";

/** A context snapshot as the first schema's server stored it (every id listed). */
interface FirstFormatSnapshot {
  modelId: string;
  contextWindowTokens: number | null;
  reservedOutputTokens: number;
  estimatedInputTokens: number;
  includedMessageIds: string[];
  droppedMessageIds: string[];
  adjustments: string[];
}

const BRANCH_LENGTH = 40;

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`migrating a first-schema store to long conversations on ${backend}`, function () {
    this.timeout(120_000);
    let database: Database;
    let directory: string | undefined;
    const ids: string[] = Array.from({ length: BRANCH_LENGTH }, () => crypto.randomUUID());
    const editedRoot = crypto.randomUUID();
    const editedAnswer = crypto.randomUUID();
    const contents = ids.map((_id, index) => `message ${index + 1} ${"é".repeat(index)}`);
    const snapshots = new Map<string, string>();

    before(async () => {
      if (backend === "SQLite") {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-migrate-"));
        database = await connectDatabase({ sqliteFile: path.join(directory, "juggler.sqlite") });
      } else {
        database = await connectDatabase({ databaseUrl: await createTestDatabase(), sqliteFile: "" });
      }
      // the first schema only, filled the way the first server wrote it
      await database.migrate.up({ migrationSource });
      const [completed] = await database.migrate.list({ migrationSource });
      assert.deepEqual(
        completed.map((migration: { name: string }) => migration.name),
        ["0001-initial-schema"],
        "only 0001 applied",
      );
      const userId = crypto.randomUUID();
      await database("users").insert({
        id: userId,
        name: "old",
        name_key: "old",
        password_hash: "x",
        role: "admin",
        status: "active",
        last_model_id: null,
        password_changed_at: 0,
        created_at: 0,
        updated_at: 0,
      });
      const conversationId = crypto.randomUUID();
      await database("conversations").insert({
        id: conversationId,
        user_id: userId,
        title: "old",
        model_id: null,
        leaf_message_id: ids.at(-1),
        created_at: 0,
        updated_at: 0,
        last_message_at: 0,
      });

      // answer 40 saw messages 11…39 (answer 16 had no text, so it was not listed) and left out 1…10
      const longSeen: FirstFormatSnapshot = {
        modelId: "anthropic:claude-sonnet-4-5",
        contextWindowTokens: 1000,
        reservedOutputTokens: 250,
        estimatedInputTokens: 700,
        includedMessageIds: ids.slice(10, 39).filter((_id, index) => index !== 5),
        droppedMessageIds: ids.slice(0, 10),
        adjustments: [
          "Left out the 10 oldest messages to fit anthropic:claude-sonnet-4-5's context window",
          "Left out 1 answer without text",
        ],
      };
      snapshots.set(ids[39]!, JSON.stringify(longSeen));
      // a huge one (the kind that made storage grow with the square of the length): 12,000 ids listed
      const huge: FirstFormatSnapshot = {
        modelId: "groq:llama-3.1-8b-instant",
        contextWindowTokens: null,
        reservedOutputTokens: 4096,
        estimatedInputTokens: 9000,
        includedMessageIds: [ids[0]!, ...Array.from({ length: 12_000 }, () => crypto.randomUUID()), ids[1]!],
        droppedMessageIds: [],
        adjustments: Array.from({ length: 30 }, (_unused, index) => `adjustment ${index} ${"x".repeat(400)}`),
      };
      snapshots.set(ids[1]!, JSON.stringify(huge));
      snapshots.set(ids[3]!, "not a snapshot at all");
      const emptySeen: FirstFormatSnapshot = { ...longSeen, includedMessageIds: [], droppedMessageIds: [], adjustments: [] };
      snapshots.set(ids[5]!, JSON.stringify(emptySeen));

      const rows = ids.map((id, index) => ({
        id,
        conversation_id: conversationId,
        parent_id: index === 0 ? null : ids[index - 1],
        role: index % 2 === 0 ? "user" : "assistant",
        content: contents[index],
        status: index === 15 ? "error" : "complete",
        provider: index % 2 === 0 ? null : index === 1 ? "groq" : "anthropic",
        model_id: index % 2 === 0 ? null : "anthropic:claude-sonnet-4-5",
        context_snapshot: snapshots.get(id) ?? null,
        created_at: index,
        updated_at: index,
      }));
      // an edit: a second root with an answer under it (a forest, not one chain)
      rows.push(
        { ...rows[0]!, id: editedRoot, content: "edited first question", context_snapshot: null },
        { ...rows[1]!, id: editedAnswer, parent_id: editedRoot, content: "its answer", context_snapshot: null },
      );
      for (let start = 0; start < rows.length; start += 20) await database("messages").insert(rows.slice(start, start + 20));

      await database.migrate.latest({ migrationSource });
    });
    after(async () => {
      await database?.destroy();
      if (directory) fs.rmSync(directory, { recursive: true, force: true });
    });

    async function storedMessages(): Promise<Map<string, MessageRow>> {
      const rows: MessageRow[] = await database("messages").select("*");
      return new Map(rows.map((row) => [row.id, row]));
    }

    it("gives every message its depth on its branch and its token estimate", async () => {
      const stored = await storedMessages();
      ids.forEach((id, index) => {
        assert.equal(Number(stored.get(id)!.depth), index + 1, `depth of message ${index + 1}`);
        assert.equal(Number(stored.get(id)!.token_estimate), estimateMessageTokens(contents[index]!), `estimate of message ${index + 1}`);
      });
      assert.equal(Number(stored.get(editedRoot)!.depth), 1);
      assert.equal(Number(stored.get(editedAnswer)!.depth), 2);
    });

    it("rewrites first-format snapshots into compact records that read back through the protocol schema", async () => {
      const stored = await storedMessages();
      const longSeen = contextRecordSchema.parse(JSON.parse(stored.get(ids[39]!)!.context_snapshot!));
      assert.deepEqual(longSeen, {
        version: 2,
        modelId: "anthropic:claude-sonnet-4-5",
        provider: "anthropic",
        contextWindowTokens: 1000,
        reservedOutputTokens: 250,
        systemPromptId: "juggler-default-v1",
        firstMessageId: ids[10],
        lastMessageId: ids[38],
        // the stretch 11…39, the unlisted empty answer included
        includedMessageCount: 29,
        summary: null,
        leftOutMessageCount: 10,
        adjustments: [
          "Left out the 10 oldest messages to fit anthropic:claude-sonnet-4-5's context window",
          "Left out 1 answer without text",
        ],
        settings: { maxOutputTokens: 250, temperature: null },
        estimatedInputTokens: 700,
      });
      assert.deepEqual(toMessage({ ...stored.get(ids[39]!)!, created_at: 0, updated_at: 0 }).context, longSeen);

      const hugeText = stored.get(ids[1]!)!.context_snapshot!;
      assert.ok(Buffer.byteLength(hugeText) <= 2048, `${Buffer.byteLength(hugeText)} bytes`);
      const huge = contextRecordSchema.parse(JSON.parse(hugeText));
      assert.equal(huge.provider, "groq", "the provider comes from the row");
      assert.equal(huge.firstMessageId, ids[0]);
      assert.equal(huge.lastMessageId, ids[1]);
      assert.equal(huge.includedMessageCount, 2, "counted by depth, not by the listed ids");
      assert.equal(huge.contextWindowTokens, null);
      assert.ok(huge.adjustments.length < 30 && huge.adjustments.every((note) => note.length <= 300));

      const empty = contextRecordSchema.parse(JSON.parse(stored.get(ids[5]!)!.context_snapshot!));
      assert.equal(empty.firstMessageId, null);
      assert.equal(empty.includedMessageCount, 0);

      assert.equal(stored.get(ids[3]!)!.context_snapshot, "not a snapshot at all", "an unreadable snapshot is left alone");
    });

    it("is safe to run again, and rolls back to the first schema and forward", async () => {
      const before = await storedMessages();
      await backfill.up(database);
      await compactRecords.up(database);
      await database.migrate.latest({ migrationSource });
      assert.deepEqual(await storedMessages(), before);

      // back to the first schema, whatever later migrations there are
      while ((await database.migrate.list({ migrationSource }))[0].length > 1) await database.migrate.down({ migrationSource });
      assert.equal(await database.schema.hasColumn("messages", "depth"), false);
      assert.equal(await database.schema.hasTable("conversation_summaries"), false);
      await database.migrate.latest({ migrationSource });
      const after = await storedMessages();
      assert.equal(Number(after.get(ids[39]!)!.depth), 40);
      assert.equal(after.get(ids[39]!)!.context_snapshot, before.get(ids[39]!)!.context_snapshot, "version 2 records stay as they are");
    });
  });
}
