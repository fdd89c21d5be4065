import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SearchService } from "../../server/src/services/search-service";
import { SingleInstance } from "../../server/src/services/cluster";
import { loadConfig } from "../../server/src/config";
import { createLogger } from "../../server/src/logger";
import { connectDatabase, isPostgres, type Database } from "../../server/src/storage/database";
import { migrationSource } from "../../server/src/storage/migration-source";
import * as buildSearchIndex from "../../server/src/storage/migrations/0010-build-search-index";
import { createTestDatabase } from "../support/postgres";

/**
 * Migrations 0009 (the library's schema and the triggers that keep the search index) and 0010 (the
 * index of what was written before) on a store filled the way the server wrote it before them.
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`migrating to the library's search index on ${backend}`, function () {
    this.timeout(120_000);
    let database: Database;
    let directory: string | undefined;
    const userId = crypto.randomUUID();
    const otherId = crypto.randomUUID();
    const conversationId = crypto.randomUUID();

    before(async () => {
      if (backend === "SQLite") {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-migrate-search-"));
        database = await connectDatabase({ sqliteFile: path.join(directory, "juggler.sqlite") });
      } else {
        database = await connectDatabase({ databaseUrl: await createTestDatabase(), sqliteFile: "" });
      }
      // every migration before the library's
      const nameOf = (migration: unknown) => (typeof migration === "string" ? migration : String((migration as { file?: string }).file));
      for (;;) {
        const [, pending] = await database.migrate.list({ migrationSource });
        if (pending.length === 0 || nameOf(pending[0]).startsWith("0009")) break;
        await database.migrate.up({ migrationSource });
      }
      assert.equal(await database.schema.hasTable("search_documents"), false);
      for (const [id, name] of [
        [userId, "writer"],
        [otherId, "other"],
      ] as const) {
        await database("users").insert({
          id,
          name,
          name_key: name,
          password_hash: "x",
          role: "member",
          status: "active",
          last_model_id: null,
          password_changed_at: 0,
          created_at: 0,
          updated_at: 0,
        });
      }
      await database("conversations").insert([
        {
          id: conversationId,
          user_id: userId,
          title: "Pangolin facts",
          model_id: null,
          leaf_message_id: null,
          created_at: 1,
          updated_at: 1,
          last_message_at: 1,
        },
        {
          id: crypto.randomUUID(),
          user_id: otherId,
          title: "Someone else's pangolins",
          model_id: null,
          leaf_message_id: null,
          created_at: 2,
          updated_at: 2,
          last_message_at: 2,
        },
      ]);
      const message = (content: string, role: string, status: string, depth: number, parentId: string | null) => ({
        id: crypto.randomUUID(),
        conversation_id: conversationId,
        parent_id: parentId,
        role,
        content,
        status,
        depth,
        token_estimate: 1,
        created_at: 10 + depth,
        updated_at: 10 + depth,
      });
      const system = message("You are a pangolin expert", "system", "complete", 1, null);
      const question = message("Do pangolins have scales?", "user", "complete", 2, system.id);
      const answer = message("Yes, pangolins have keratin scales.", "assistant", "complete", 3, question.id);
      const streaming = message("pangolins partial", "assistant", "streaming", 3, question.id);
      const empty = message("", "assistant", "error", 3, question.id);
      await database("messages").insert([system, question, answer, streaming, empty]);
    });
    after(async () => {
      await database?.destroy();
      if (directory) fs.rmSync(directory, { recursive: true, force: true });
    });

    const search = (q: string, as = userId) =>
      new SearchService({
        config: loadConfig({}),
        database,
        logger: createLogger("silent"),
        secretKey: "",
        now: Date.now,
        cluster: new SingleInstance(),
      }).search(as, {
        q,
        limit: 20,
      });

    it("indexes the titles and messages written before, not system prompts, empty or streaming answers", async () => {
      await database.migrate.latest({ migrationSource });
      const found = await search("pangolins");
      assert.deepEqual(found.results.map((result) => result.snippet).sort(), [
        "Do pangolins have scales?",
        "Yes, pangolins have keratin scales.",
      ]);
      assert.equal((await search("pangolin")).results.length, 3, "the title, the question, the answer: not the system prompt");
      assert.equal((await search("partial")).results.length, 0, "a streaming answer waits for its final text");
      assert.deepEqual(
        (await search("someone", otherId)).results.map((result) => result.title),
        ["Someone else's pangolins"],
      );
      const documents = Number((await database("search_documents").count({ count: "*" }))[0]!.count);
      assert.equal(documents, 4, "two titles, two messages");
    });

    it("gives each owner one range of ids, and every foreign key an index", async () => {
      const owners = await database("search_owners").select("id", "user_id");
      assert.equal(owners.length, 2);
      for (const owner of owners) {
        const ids = await database("search_documents")
          .join("conversations", "conversations.id", "search_documents.conversation_id")
          .where("conversations.user_id", owner.user_id)
          .pluck("search_documents.id");
        for (const id of ids) assert.equal(Math.floor(Number(id) / 2 ** 36), Number(owner.id));
      }
      for (const [table, column] of [
        ["search_documents", "conversation_id"],
        ["search_documents", "message_id"],
        ["search_owners", "user_id"],
      ] as const) {
        assert.ok(await hasIndexOn(database, table, column), `${table}.${column} is indexed`);
      }
    });

    it("is safe to run again, and rolls back and forward", async () => {
      const before = await database("search_documents").orderBy("id").select("id", "message_id");
      await buildSearchIndex.up(database);
      assert.deepEqual(await database("search_documents").orderBy("id").select("id", "message_id"), before);
      assert.equal((await search("keratin")).results.length, 1);

      // back to before the library, and forward: the index is built again
      while (
        (await database.migrate.list({ migrationSource }))[0].some((migration: { name: string }) => migration.name.startsWith("0009"))
      ) {
        await database.migrate.down({ migrationSource });
      }
      assert.equal(await database.schema.hasTable("search_documents"), false);
      assert.equal(await database.schema.hasTable("search_owners"), false);
      await database.migrate.latest({ migrationSource });
      assert.equal((await search("keratin")).results.length, 1);
    });
  });
}

async function hasIndexOn(database: Database, table: string, column: string): Promise<boolean> {
  if (isPostgres(database)) {
    const result = await database.raw(
      `SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = ?::regclass AND a.attname = ?`,
      [table, column],
    );
    return result.rows.length > 0;
  }
  const indexes: Array<{ name: string }> = await database.raw(`PRAGMA index_list(${table})`);
  for (const index of indexes) {
    const columns: Array<{ name: string; seqno: number }> = await database.raw(`PRAGMA index_info("${index.name}")`);
    if (columns.find((entry) => entry.seqno === 0)?.name === column) return true;
  }
  return false;
}
