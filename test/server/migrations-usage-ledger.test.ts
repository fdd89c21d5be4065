import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connectDatabase, type Database } from "../../server/src/storage/database";
import { migrationSource } from "../../server/src/storage/migration-source";
import * as backfill from "../../server/src/storage/migrations/0008-backfill-usage-ledger";
import { createTestDatabase } from "../support/postgres";

/**
 * 0007 + 0008 on a store that already has answers: each finished answer lands in the ledger with its
 * tokens as stored and no cost (no price was in force then), the rollups match, running it again adds
 * nothing, and rolling 0008 back removes only what it added.
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`migrating answers into the usage ledger on ${backend}`, function () {
    this.timeout(120_000);
    let database: Database;
    let directory: string | undefined;
    const userId = crypto.randomUUID();
    const conversationId = crypto.randomUUID();
    // 2026-11-15 23:30 UTC (a Sunday) and 2026-11-16 00:30 UTC (the Monday after)
    const sunday = Date.UTC(2026, 10, 15, 23, 30);
    const monday = Date.UTC(2026, 10, 16, 0, 30);
    const answers = [
      { id: crypto.randomUUID(), status: "complete", input: 120, output: 30, at: sunday, model: "anthropic:claude-haiku-4-5" },
      { id: crypto.randomUUID(), status: "stopped", input: 80, output: null, at: monday, model: "anthropic:claude-haiku-4-5" },
      { id: crypto.randomUUID(), status: "error", input: null, output: null, at: monday, model: "groq:llama-3.1-8b-instant" },
    ];
    const streamingId = crypto.randomUUID();

    before(async () => {
      if (backend === "SQLite") {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-ledger-migrate-"));
        database = await connectDatabase({ sqliteFile: path.join(directory, "juggler.sqlite") });
      } else {
        database = await connectDatabase({ databaseUrl: await createTestDatabase(), sqliteFile: "" });
      }
      // every migration before the ledger's
      for (;;) {
        const [, pending] = await database.migrate.list({ migrationSource });
        if ((pending[0] as { name?: string } | string | undefined) === undefined) break;
        const next = typeof pending[0] === "string" ? pending[0] : (pending[0] as { name: string }).name;
        if (next === "0007-usage-ledger-schema") break;
        await database.migrate.up({ migrationSource });
      }
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
      await database("conversations").insert({
        id: conversationId,
        user_id: userId,
        title: "old",
        model_id: null,
        leaf_message_id: null,
        created_at: 0,
        updated_at: 0,
        last_message_at: 0,
      });
      const questionId = crypto.randomUUID();
      const base = { conversation_id: conversationId, content: "x", depth: 1, token_estimate: 1, created_at: 0 };
      await database("messages").insert({
        ...base,
        id: questionId,
        parent_id: null,
        role: "user",
        status: "complete",
        provider: null,
        model_id: null,
        updated_at: 0,
      });
      for (const [index, answer] of answers.entries()) {
        await database("messages").insert({
          ...base,
          id: answer.id,
          parent_id: questionId,
          depth: 2,
          role: "assistant",
          status: answer.status,
          provider: answer.model.split(":")[0],
          model_id: answer.model,
          input_tokens: answer.input,
          output_tokens: answer.output,
          time_to_first_token_ms: index * 100,
          duration_ms: 1000,
          updated_at: answer.at,
        });
      }
      await database("messages").insert({
        ...base,
        id: streamingId,
        parent_id: questionId,
        depth: 2,
        role: "assistant",
        status: "streaming",
        provider: "groq",
        model_id: "groq:llama-3.1-8b-instant",
        updated_at: monday,
      });
      await database.migrate.latest({ migrationSource });
    });
    after(async () => {
      await database?.destroy();
      if (directory) fs.rmSync(directory, { recursive: true, force: true });
    });

    const ledger = async () =>
      (await database("usage_ledger").orderBy("finished_at").orderBy("id")).map((row: any) => ({
        message_id: row.message_id,
        status: row.status,
        input: row.input_tokens === null ? null : Number(row.input_tokens),
        output: row.output_tokens === null ? null : Number(row.output_tokens),
        cost: row.cost_micro_usd,
        day: row.day,
        client: `${row.client_kind}/${row.client_name}`,
        user: row.user_id,
      }));

    it("puts every finished answer in the ledger as stored, without a cost, and skips one still streaming", async () => {
      const rows = await ledger();
      assert.deepEqual(
        [...rows].sort((left, right) => String(left.message_id).localeCompare(String(right.message_id))),
        answers
          .map((answer) => ({
            message_id: answer.id,
            status: answer.status,
            input: answer.input,
            output: answer.output,
            cost: null,
            day: new Date(answer.at).toISOString().slice(0, 10),
            client: "chat/chat",
            user: userId,
          }))
          .sort((left, right) => left.message_id.localeCompare(right.message_id)),
      );
      assert.ok(!rows.some((row) => row.message_id === streamingId));
    });

    it("rolls the answers up by day, with the week's Monday and the month", async () => {
      const rollups = (await database("usage_daily").orderBy(["day", "model_id"])).map((row: any) => ({
        day: row.day,
        week: row.week,
        month: row.month,
        model: row.model_id,
        answers: Number(row.answers),
        input: Number(row.input_tokens),
        withInput: Number(row.answers_with_input_tokens),
        withOutput: Number(row.answers_with_output_tokens),
        withCost: Number(row.answers_with_cost),
      }));
      assert.deepEqual(rollups, [
        {
          day: "2026-11-15",
          week: "2026-11-09",
          month: "2026-11",
          model: "anthropic:claude-haiku-4-5",
          answers: 1,
          input: 120,
          withInput: 1,
          withOutput: 1,
          withCost: 0,
        },
        {
          day: "2026-11-16",
          week: "2026-11-16",
          month: "2026-11",
          model: "anthropic:claude-haiku-4-5",
          answers: 1,
          input: 80,
          withInput: 1,
          withOutput: 0,
          withCost: 0,
        },
        {
          day: "2026-11-16",
          week: "2026-11-16",
          month: "2026-11",
          model: "groq:llama-3.1-8b-instant",
          answers: 1,
          input: 0,
          withInput: 0,
          withOutput: 0,
          withCost: 0,
        },
      ]);
    });

    it("adds nothing when run again, and its rollback removes only the rows it added", async () => {
      const before = await ledger();
      await backfill.up(database);
      assert.deepEqual(await ledger(), before);

      // an answer recorded by the server itself since (its own id, not its message's)
      await database("usage_ledger").insert({
        id: crypto.randomUUID(),
        user_id: userId,
        client_kind: "gateway",
        client_name: "laptop",
        api_key_id: null,
        provider: "groq",
        model_id: "groq:llama-3.1-8b-instant",
        conversation_id: null,
        message_id: null,
        status: "complete",
        input_tokens: 5,
        output_tokens: 5,
        cached_input_tokens: null,
        cost_micro_usd: 1,
        time_to_first_token_ms: 1,
        duration_ms: 2,
        finished_at: monday,
        day: "2026-11-16",
      });
      await backfill.down(database);
      const remaining = await ledger();
      assert.deepEqual(
        remaining.map((row) => row.client),
        ["gateway/laptop"],
      );
      const rollups = await database("usage_daily");
      assert.equal(rollups.length, 1);
      assert.equal(Number(rollups[0].answers), 1);
    });
  });
}
