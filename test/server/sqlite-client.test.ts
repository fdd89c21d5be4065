import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase, WAL_CHECKPOINT_PAGES, type Database } from "../../server/src/storage/database";

/**
 * The SQLite client (better-sqlite3, statements run on the server's thread): a long run of
 * statements lets the event loop run, prepared statements are reused and follow schema changes, and
 * SQLite's errors reach the caller.
 */
describe("the SQLite client", function () {
  this.timeout(30_000);
  let folder: string;
  let database: Database;

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-sqlite-client-"));
    database = await openDatabase({ sqliteFile: path.join(folder, "juggler.sqlite") });
    await database.schema.createTable("client_probe", (table) => {
      table.increments("id");
      table.string("text").notNullable();
    });
  });

  after(async () => {
    await database.destroy();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it("lets the event loop run during a long run of statements, even inside a transaction", async () => {
    let turnsOfTheLoop = 0;
    const ticker = setInterval(() => (turnsOfTheLoop += 1), 0);
    try {
      let statements = 0;
      await database.transaction(async (transaction) => {
        const started = performance.now();
        // each awaited statement alone would only ever yield to microtasks
        while (performance.now() - started < 100) {
          await transaction("client_probe").insert({ text: `row ${statements}` });
          statements += 1;
        }
      });
      assert.ok(statements > 10, `ran ${statements} statements`);
      assert.ok(turnsOfTheLoop >= 3, `the timer ran ${turnsOfTheLoop} times during 100 ms of statements`);
    } finally {
      clearInterval(ticker);
    }
    assert.equal(Number((await database("client_probe").count({ count: "*" }))[0]!.count) > 10, true, "and all of them are committed");
  });

  it("reuses a prepared statement across runs and sees a column added meanwhile", async () => {
    await database("client_probe").delete();
    await database("client_probe").insert({ text: "before" });
    const read = () => database("client_probe").select("*").orderBy("id");
    assert.deepEqual(Object.keys((await read())[0] as object).sort(), ["id", "text"]);
    await database.schema.alterTable("client_probe", (table) => table.integer("extra").nullable());
    await database("client_probe").insert({ text: "after", extra: 7 });
    const rows = (await read()) as Array<{ text: string; extra: number | null }>;
    assert.deepEqual(
      rows.map((row) => [row.text, row.extra]),
      [
        ["before", null],
        ["after", 7],
      ],
    );
  });

  it("refuses bad SQL with SQLite's own error, and the next statement runs", async () => {
    await assert.rejects(database.raw("SELECT * FROM no_such_table"), /no such table: no_such_table/);
    await assert.rejects(
      database("client_probe")
        .insert({ id: 1, text: "dup" })
        .then(() => database("client_probe").insert({ id: 1, text: "dup" })),
      (error: { code?: string }) => error.code === "SQLITE_CONSTRAINT_PRIMARYKEY",
    );
    assert.equal(((await database.raw("SELECT 1 + 1 AS two")) as Array<{ two: number }>)[0]!.two, 2);
  });

  it("writes a LIMIT and an OFFSET into the SQL as numbers (a bound one made SQLite prepare the statement again on every run)", async () => {
    await database.schema.createTable("limit_probe", (table) => {
      table.integer("id").primary();
    });
    await database("limit_probe").insert([1, 2, 3, 4, 5].map((id) => ({ id })));
    const page = database("limit_probe").select("id").orderBy("id").limit(2).offset(1);
    assert.deepEqual(page.toSQL().bindings, []);
    assert.match(page.toSQL().sql, / limit 2 offset 1$/);
    assert.deepEqual(await page, [{ id: 2 }, { id: 3 }]);
    const first = database("limit_probe").first("id").orderBy("id", "desc");
    assert.match(first.toSQL().sql, / limit 1$/);
    assert.deepEqual(await first, { id: 5 });
    // an offset alone still needs SQLite's "no limit"
    assert.deepEqual(await database("limit_probe").select("id").orderBy("id").offset(3), [{ id: 4 }, { id: 5 }]);
    await database.schema.dropTable("limit_probe");
  });

  it("lets the WAL reach WAL_CHECKPOINT_PAGES before a commit checkpoints it, and no further", async () => {
    const walFile = path.join(folder, "juggler.sqlite-wal");
    const walPages = () => (fs.existsSync(walFile) ? fs.statSync(walFile).size : 0) / 4096;
    await database.raw("PRAGMA wal_checkpoint(TRUNCATE)");
    // a row of 3,000 characters fills most of a page: every commit adds at least one frame
    const text = "x".repeat(3_000);
    let largest = 0;
    let commits = 0;
    while (commits < 3 * WAL_CHECKPOINT_PAGES) {
      await database("client_probe").insert({ text });
      commits += 1;
      largest = Math.max(largest, walPages());
    }
    assert.equal(
      ((await database.raw("PRAGMA wal_autocheckpoint")) as Array<{ wal_autocheckpoint: number }>)[0]!.wal_autocheckpoint,
      WAL_CHECKPOINT_PAGES,
    );
    // SQLite's default would have checkpointed (and started the WAL over) at 1,000 pages
    assert.ok(largest > WAL_CHECKPOINT_PAGES * 0.9, `the WAL grew to ${largest.toFixed(0)} pages`);
    // a checkpoint lets the next commit start the WAL over: it never grows far past the threshold
    assert.ok(largest < WAL_CHECKPOINT_PAGES * 1.1, `the WAL grew to ${largest.toFixed(0)} pages`);
    await database("client_probe").where("text", text).delete();
  });

  it("keeps temporary data in memory, so an insert whose triggers write several rows makes no file in /var/tmp", async () => {
    // 2 = MEMORY; SQLite's default (0, a file) cost a create, write and unlink per message sent
    assert.deepEqual(await database.raw("PRAGMA temp_store"), [{ temp_store: 2 }]);
  });
});
