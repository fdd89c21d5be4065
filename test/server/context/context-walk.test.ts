import assert from "node:assert/strict";
import crypto from "node:crypto";
import type { Database } from "../../../server/src/storage/database";
import { ConversationRepository, type SummaryKey } from "../../../server/src/storage/conversation-repository";
import { SummaryRepository } from "../../../server/src/storage/summary-repository";
import { buildLongConversation } from "../../../tools/harness/long-conversation";
import { testDatabases } from "../../support/test-databases";

const MESSAGE_COUNT = 1000;
/** 196 characters: an estimate of ceil(196 / 4) + 4 = 53 tokens per message. */
const contentOf = (index: number) => `message ${String(index + 1).padStart(5, "0")} `.padEnd(196, "x");
const TOKENS_PER_MESSAGE = 53;
const key: SummaryKey = { summariserModelId: "ollama:summariser:latest", promptVersion: "summary-v1" };

async function insertUser(database: Database, name: string): Promise<string> {
  const id = crypto.randomUUID();
  await database("users").insert({
    id,
    name,
    name_key: name,
    password_hash: "not-used",
    role: "member",
    status: "active",
    last_model_id: null,
    password_changed_at: 0,
    created_at: 0,
    updated_at: 0,
  });
  return id;
}

async function insertConversation(repository: ConversationRepository): Promise<string> {
  const id = crypto.randomUUID();
  await repository.insertConversation({
    id,
    title: "long",
    model_id: null,
    leaf_message_id: null,
    created_at: 0,
    updated_at: 0,
    last_message_at: 0,
  });
  return id;
}

for (const { name: backend, open } of testDatabases) {
  describe(`the context walk and branch pages on ${backend}`, function () {
    this.timeout(120_000);
    let database: Database;
    let cleanUp: (() => void) | undefined;
    let repository: ConversationRepository;
    let otherRepository: ConversationRepository;
    let conversationId: string;
    let ids: string[];
    const leaf = () => ids.at(-1)!;
    const depthOf = (id: string) => ids.indexOf(id) + 1;

    before(async () => {
      ({ database, cleanUp } = await open());
      const userId = await insertUser(database, "owner");
      repository = new ConversationRepository(database, userId);
      otherRepository = new ConversationRepository(database, await insertUser(database, "other"));
      conversationId = await insertConversation(repository);
      ({ messageIds: ids } = await buildLongConversation({
        database,
        userId,
        conversationId,
        messageCount: MESSAGE_COUNT,
        answeredBy: { provider: "ollama", modelId: "ollama:llama3.2:latest" },
        contentOf,
      }));
    });
    after(async () => {
      await database?.destroy();
      cleanUp?.();
    });

    it("walks up from a message carrying a running token total, and stops at the row that spends the budget", async () => {
      const rows = await repository.walkForContext(conversationId, leaf(), 10 * TOKENS_PER_MESSAGE - 1, null);
      assert.deepEqual(
        rows.map((row) => row.id),
        ids.slice(-10).reverse(),
        "the ten newest, newest first: the tenth crosses the budget and is included",
      );
      assert.deepEqual(
        rows.map((row) => row.totalTokens),
        rows.map((_row, index) => (index + 1) * TOKENS_PER_MESSAGE),
      );
      assert.deepEqual(
        rows.map((row) => row.depth),
        rows.map((_row, index) => MESSAGE_COUNT - index),
      );
      assert.equal(rows[0]!.content, contentOf(MESSAGE_COUNT - 1));
      assert.equal(rows[0]!.role, "assistant");
      assert.equal(rows[1]!.role, "user");
      assert.deepEqual(await repository.walkForContext(crypto.randomUUID(), leaf(), 100, null), [], "not from another conversation");
      assert.ok(rows.every((row) => row.summary === null));
    });

    it("reaches the root when the budget allows, and finds nothing for another user", async () => {
      const rows = await repository.walkForContext(conversationId, leaf(), 10_000_000, null);
      assert.equal(rows.length, MESSAGE_COUNT);
      assert.equal(rows.at(-1)!.parentId, null);
      assert.equal(rows.at(-1)!.totalTokens, MESSAGE_COUNT * TOKENS_PER_MESSAGE);
      assert.deepEqual(await otherRepository.walkForContext(conversationId, leaf(), 10_000_000, null), []);
    });

    it("reads a walk longer than one statement's stretch as one walk: the same rows, totals and stop", async () => {
      // one statement reads at most 400 messages: budgets that run out at the end of the first
      // stretch, just after it, and deep in the third
      for (const rowsExpected of [400, 401, 950]) {
        const rows = await repository.walkForContext(conversationId, leaf(), rowsExpected * TOKENS_PER_MESSAGE - 1, null);
        assert.deepEqual(
          rows.map((row) => row.id),
          ids.slice(-rowsExpected).reverse(),
          `${rowsExpected} messages, newest first, the last one crossing the budget`,
        );
        assert.deepEqual(
          rows.map((row) => row.totalTokens),
          rows.map((_row, index) => (index + 1) * TOKENS_PER_MESSAGE),
          "the running total goes on across stretches",
        );
      }
      // a summary past the first stretch: the summary walk stops at it, the context walk goes on
      const covered = ids[MESSAGE_COUNT - 600]!;
      const summaries = new SummaryRepository(database, repository.userId);
      const deepKey = { ...key, promptVersion: "summary-deep" };
      const stored = await summaries.insert({
        ...deepKey,
        coversThroughMessageId: covered,
        content: "Long ago",
        tokenEstimate: 8,
        messageCount: 400,
        leftOutCount: depthOf(covered) - 400,
        createdAt: 1,
      });
      const forSummary = await repository.walkForSummary(conversationId, leaf(), 10_000_000, deepKey);
      assert.deepEqual(
        forSummary.map((row) => row.id),
        ids.slice(MESSAGE_COUNT - 600).reverse(),
      );
      assert.equal(forSummary.at(-1)!.summary!.id, stored.id);
      const forContext = await repository.walkForContext(conversationId, leaf(), 10_000_000, deepKey);
      assert.equal(forContext.length, MESSAGE_COUNT, "the context walk reads on past a summary");
      assert.deepEqual(
        forContext.filter((row) => row.summary !== null).map((row) => row.id),
        [covered],
      );
    });

    it("an answer still streaming costs nothing", async () => {
      await database("messages").where({ id: leaf() }).update({ status: "streaming" });
      try {
        const rows = await repository.walkForContext(conversationId, leaf(), 3 * TOKENS_PER_MESSAGE, null);
        assert.deepEqual(
          rows.map((row) => row.totalTokens),
          [0, TOKENS_PER_MESSAGE, 2 * TOKENS_PER_MESSAGE, 3 * TOKENS_PER_MESSAGE],
        );
      } finally {
        await database("messages").where({ id: leaf() }).update({ status: "complete" });
      }
    });

    it("left-joins the summaries of the walk's key on the rows walked, and the summary walk stops at one", async () => {
      const covered = ids[MESSAGE_COUNT - 6]!;
      const summaries = new SummaryRepository(database, repository.userId);
      const stored = await summaries.insert({
        ...key,
        coversThroughMessageId: covered,
        content: "What came before",
        tokenEstimate: 8,
        messageCount: 990,
        leftOutCount: depthOf(covered) - 990,
        createdAt: 1,
      });
      // the same key again keeps the first
      const again = await summaries.insert({
        ...key,
        coversThroughMessageId: covered,
        content: "other",
        tokenEstimate: 5,
        messageCount: 1,
        leftOutCount: 0,
        createdAt: 2,
      });
      assert.equal(again.id, stored.id);
      assert.equal(again.content, "What came before");

      const walked = await repository.walkForContext(conversationId, leaf(), 10 * TOKENS_PER_MESSAGE, key);
      const withSummary = walked.filter((row) => row.summary !== null);
      assert.deepEqual(
        withSummary.map((row) => [row.id, row.summary!.id, row.summary!.content, row.summary!.messageCount]),
        [[covered, stored.id, "What came before", 990]],
      );
      const otherKey = await repository.walkForContext(conversationId, leaf(), 10 * TOKENS_PER_MESSAGE, {
        ...key,
        promptVersion: "summary-v0",
      });
      assert.ok(
        otherKey.every((row) => row.summary === null),
        "another prompt version's summaries do not count",
      );

      const forSummary = await repository.walkForSummary(conversationId, leaf(), 10_000_000, key);
      assert.deepEqual(
        forSummary.map((row) => row.id),
        ids.slice(MESSAGE_COUNT - 6).reverse(),
        "stops at the summarised message, which it includes",
      );
      assert.equal(forSummary.at(-1)!.summary!.id, stored.id);
      assert.equal((await summaries.findById(stored.id))?.content, "What came before");
      assert.equal(await new SummaryRepository(database, otherRepository.userId).findById(stored.id), undefined);
    });

    it("pages a branch: at most `limit` messages up from one, oldest first, only within the conversation", async () => {
      const newest = await repository.loadBranchPage(conversationId, leaf(), 50);
      assert.deepEqual(
        newest.map((row) => row.id),
        ids.slice(-50),
      );
      assert.equal(newest[0]!.depth, MESSAGE_COUNT - 49);
      const top = await repository.loadBranchPage(conversationId, ids[9]!, 50);
      assert.deepEqual(
        top.map((row) => row.id),
        ids.slice(0, 10),
      );
      assert.deepEqual(await repository.loadBranchPage(crypto.randomUUID(), leaf(), 50), []);
      assert.deepEqual(await otherRepository.loadBranchPage(conversationId, leaf(), 50), []);
    });

    it("reads a stretch of a branch by depth, oldest first", async () => {
      const stretch = await repository.loadStretch(leaf(), 10, 20);
      assert.deepEqual(
        stretch.map((row) => row.id),
        ids.slice(9, 20),
      );
      assert.deepEqual(await otherRepository.loadStretch(leaf(), 10, 20), []);
      const depths = await repository.findDepths([ids[0]!, leaf()]);
      assert.equal(depths.get(ids[0]!), 1);
      assert.equal(depths.get(leaf()), MESSAGE_COUNT);
    });
  });
}
