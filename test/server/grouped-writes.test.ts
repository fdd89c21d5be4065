import assert from "node:assert/strict";
import type { Knex } from "knex";
import type { Database } from "../../server/src/storage/database";
import { GroupedWrites } from "../../server/src/storage/grouped-writes";
import { testDatabases } from "../support/test-databases";

/**
 * The shared transaction of the answers' writes, on both databases: writes of one turn are committed
 * together, each caller gets its own result, and a failing write is rolled back alone (on PostgreSQL a
 * failed statement would otherwise abort everyone's transaction).
 */

for (const { name, open } of testDatabases) {
  describe(`grouped writes on ${name}`, function () {
    this.timeout(60_000);
    let database: Database;
    let cleanUp: () => void;

    before(async () => {
      ({ database, cleanUp } = await open());
      await database.schema.createTable("grouped_probe", (table) => {
        table.string("id").primary();
        table.integer("value").notNullable();
      });
    });

    after(async () => {
      await database.destroy();
      cleanUp();
    });

    beforeEach(() => database("grouped_probe").delete());

    it("commits the writes of one turn in one transaction and answers each caller with its own result", async () => {
      // the database as GroupedWrites sees it, counting the transactions it opens
      let transactions = 0;
      const counted = Object.create(database, {
        transaction: {
          value: (...parameters: Parameters<Database["transaction"]>) => {
            transactions += 1;
            return database.transaction(...parameters);
          },
        },
      }) as Database;
      const writes = new GroupedWrites(counted);
      const results = await Promise.all(
        [1, 2, 3, 4, 5].map((value) =>
          writes.run(async (transaction) => {
            await transaction("grouped_probe").insert({ id: `row-${value}`, value });
            return value * 10;
          }),
        ),
      );
      assert.deepEqual(results, [10, 20, 30, 40, 50]);
      assert.equal(transactions, 1, "one shared transaction");
      const rows = await database("grouped_probe").orderBy("value").select("id", "value");
      assert.deepEqual(
        rows.map((row: { id: string; value: number | string }) => [row.id, Number(row.value)]),
        [1, 2, 3, 4, 5].map((value) => [`row-${value}`, value]),
      );
    });

    it("rolls a failing write back alone: its caller gets the error, the others are committed", async () => {
      const writes = new GroupedWrites(database);
      await database("grouped_probe").insert({ id: "taken", value: 0 });
      const outcomes = await Promise.allSettled([
        writes.run((transaction) => transaction("grouped_probe").insert({ id: "first", value: 1 })),
        writes.run(async (transaction) => {
          await transaction("grouped_probe").insert({ id: "half-written", value: 2 });
          // the primary key is taken: this write fails after a statement of its own went in
          await transaction("grouped_probe").insert({ id: "taken", value: 3 });
        }),
        writes.run((transaction) => transaction("grouped_probe").insert({ id: "last", value: 4 })),
      ]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ["fulfilled", "rejected", "fulfilled"],
      );
      const ids = (await database("grouped_probe").orderBy("id").pluck("id")) as string[];
      assert.deepEqual(ids, ["first", "last", "taken"], "the failing write left nothing behind, the others stand");

      // failing first and last, around one that succeeds
      const failing = (id: string) => async (transaction: Knex.Transaction) => {
        await transaction("grouped_probe").insert({ id, value: 5 });
        await transaction("grouped_probe").insert({ id: "taken", value: 6 });
      };
      const second = await Promise.allSettled([
        writes.run(failing("first-half")),
        writes.run((transaction) => transaction("grouped_probe").insert({ id: "middle", value: 7 })),
        writes.run(failing("last-half")),
      ]);
      assert.deepEqual(
        second.map((outcome) => outcome.status),
        ["rejected", "fulfilled", "rejected"],
      );
      assert.deepEqual((await database("grouped_probe").orderBy("id").pluck("id")) as string[], ["first", "last", "middle", "taken"]);
    });

    it("lets a write nest a savepoint of its own, and rolls back only what that savepoint wrote", async () => {
      const writes = new GroupedWrites(database);
      const outcomes = await Promise.allSettled([
        writes.run(async (transaction) => {
          await transaction("grouped_probe").insert({ id: "outer", value: 1 });
          await transaction
            .transaction(async (nested) => {
              await nested("grouped_probe").insert({ id: "nested-undone", value: 2 });
              throw new Error("the nested part fails");
            })
            .catch(() => undefined);
          await transaction("grouped_probe").insert({ id: "after-nested", value: 3 });
        }),
        writes.run((transaction) => transaction("grouped_probe").insert({ id: "neighbour", value: 4 })),
      ]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ["fulfilled", "fulfilled"],
      );
      const ids = (await database("grouped_probe").orderBy("id").pluck("id")) as string[];
      assert.deepEqual(ids, ["after-nested", "neighbour", "outer"]);
    });

    it("writes a write alone in its turn, and writes queued while a batch is being written in the next", async () => {
      const writes = new GroupedWrites(database);
      assert.equal(
        await writes.run((transaction) =>
          transaction("grouped_probe")
            .insert({ id: "alone", value: 1 })
            .then(() => "done"),
        ),
        "done",
      );
      await assert.rejects(
        writes.run((transaction) => transaction("grouped_probe").insert({ id: "alone", value: 2 })),
        "a lone failing write is refused too",
      );
      const later: Array<Promise<unknown>> = [];
      const first = writes.run(async (transaction) => {
        // queued while this batch is being written: joins a later transaction, not this one
        later.push(writes.run((inner) => inner("grouped_probe").insert({ id: "later", value: 3 })));
        await transaction("grouped_probe").insert({ id: "first-batch", value: 2 });
      });
      await first;
      await Promise.all(later);
      assert.deepEqual(((await database("grouped_probe").orderBy("id").pluck("id")) as string[]).sort(), ["alone", "first-batch", "later"]);
    });

    it("runs the writes without a lock first, then those with one by its key, each key's writes in their order", async () => {
      const writes = new GroupedWrites(database);
      const ran: string[] = [];
      const write = (label: string, lockOrder?: bigint) =>
        writes.run(
          async () => {
            ran.push(label);
          },
          lockOrder === undefined ? {} : { lockOrder },
        );
      await Promise.all([
        write("key 5, first", 5n),
        write("no lock"),
        write("key -3", -3n),
        write("key 5, second", 5n),
        write("no lock either"),
      ]);
      assert.deepEqual(ran, ["no lock", "no lock either", "key -3", "key 5, first", "key 5, second"]);
    });

    if (name === "PostgreSQL") {
      it("takes the locks of two instances' turns in one order, so that neither waits for the other in a cycle", async () => {
        // two instances' writers on one database, each with a turn whose two writes take two locks,
        // queued in opposite orders: taken as queued, each transaction would hold one lock and wait
        // for the other (PostgreSQL ends such a deadlock after a second, failing one of the writes)
        const [one, two] = [new GroupedWrites(database), new GroupedWrites(database)];
        const lockAndLinger = (key: bigint) => async (transaction: Knex.Transaction) => {
          await transaction.raw("SELECT pg_advisory_xact_lock(?::bigint)", [key.toString()]);
          await new Promise((resolve) => setTimeout(resolve, 100));
          return key;
        };
        const results = await Promise.all([
          one.run(lockAndLinger(1n), { lockOrder: 1n }),
          one.run(lockAndLinger(2n), { lockOrder: 2n }),
          two.run(lockAndLinger(2n), { lockOrder: 2n }),
          two.run(lockAndLinger(1n), { lockOrder: 1n }),
        ]);
        assert.deepEqual(results, [1n, 2n, 2n, 1n]);
      });
    }
  });
}
