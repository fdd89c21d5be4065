import assert from "node:assert/strict";
import type { AdminModel } from "../../protocol/http/models";
import type { Database } from "../../server/src/storage/database";
import { ModelRepository } from "../../server/src/storage/model-repository";
import { ProviderRepository } from "../../server/src/storage/provider-repository";
import { RefreshTokenRepository, type RefreshTokenRow } from "../../server/src/storage/refresh-token-repository";
import { SettingsRepository } from "../../server/src/storage/settings-repository";
import { toUser, UserRepository, type UserRow } from "../../server/src/storage/user-repository";
import { testDatabases } from "../support/test-databases";

/**
 * The repositories against both databases the server supports: the same calls must give the same
 * rows (numbers as numbers, booleans as booleans) on SQLite and on real PostgreSQL, and the
 * conditional writes the account rules rely on must hold on each.
 */

function userRow(id: string, name: string, overrides: Partial<UserRow> = {}): UserRow {
  return {
    id,
    name,
    name_key: name.toLowerCase(),
    name_skeleton: name,
    name_skeleton_lower: name.toLowerCase(),
    name_skeleton_upper: name.toUpperCase(),
    password_hash: "scrypt$test",
    role: "member",
    status: "active",
    last_model_id: null,
    password_changed_at: 1_000,
    created_at: 1_000,
    updated_at: 1_000,
    ...overrides,
  };
}

function tokenRow(id: string, userId: string, familyId: string, overrides: Partial<RefreshTokenRow> = {}): RefreshTokenRow {
  return {
    id,
    user_id: userId,
    family_id: familyId,
    token_hash: `hash-${id}`,
    status: "active",
    expires_at: 10_000,
    created_at: 1_000,
    used_at: null,
    ...overrides,
  };
}

function model(provider: "anthropic" | "groq" | "ollama", name: string, overrides: Partial<AdminModel> = {}): AdminModel {
  return {
    id: `${provider}:${name}`,
    provider,
    name,
    displayName: name,
    contextWindow: 8192,
    maxOutputTokens: null,
    supportsVision: null,
    isVisible: false,
    isAvailable: true,
    ...overrides,
  };
}

for (const { name, open } of testDatabases) {
  describe(`repositories on ${name}`, function () {
    this.timeout(120_000);
    let database: Database;
    let cleanUp: () => void;

    before(async () => {
      ({ database, cleanUp } = await open());
    });

    after(async () => {
      await database?.destroy();
      cleanUp?.();
    });

    it("users: a taken name (any case) is refused by the unique key, rows come back with numeric times", async () => {
      const users = new UserRepository(database);
      assert.equal(await users.hasAnyUser(), false);
      assert.equal(await users.insert(userRow("u1", "Ada", { role: "admin", created_at: 2_000 })), true);
      assert.equal(await users.insert(userRow("u2", "ADA")), false, "same name key");
      assert.equal(await users.insert(userRow("u3", "Grace", { created_at: 1_500 })), true);
      assert.equal(await users.hasAnyUser(), true);
      assert.equal(await users.isNameTaken("ada", { written: "ada", lower: "ada", upper: "ADA" }), true);
      assert.equal(await users.isNameTaken("linus", { written: "Linus", lower: "linus", upper: "LINUS" }), false);
      // another key that looks the same (a skeleton in common) counts as taken
      assert.equal(await users.isNameTaken("grаce", { written: "Grace", lower: "x", upper: "X" }), true);
      assert.equal(await users.isNameTaken("grаce", { written: "x", lower: "grace", upper: "X" }), true);
      assert.equal(await users.isNameTaken("grаce", { written: "x", lower: "x", upper: "GRACE" }), true);

      const ada = await users.findByNameKey("ada");
      assert.equal(ada?.id, "u1");
      assert.equal(typeof ada?.password_changed_at, "number");
      assert.equal(ada?.created_at, 2_000);
      assert.equal(toUser(ada!).createdAt, new Date(2_000).toISOString());
      assert.deepEqual(
        (await users.listAll()).map((row) => row.id),
        ["u3", "u1"],
        "oldest first",
      );
      assert.deepEqual(await users.findAuthenticationRow("u1"), {
        id: "u1",
        name: "Ada",
        role: "admin",
        status: "active",
        last_model_id: null,
        password_changed_at: 1_000,
      });
      assert.equal(await users.findById("nobody"), undefined);
    });

    it("users: updates only the given columns and counts the other active admins", async () => {
      const users = new UserRepository(database);
      assert.equal(await users.countOtherActiveAdmins("u1"), 0);
      await users.update("u3", { role: "admin", updated_at: 3_000 });
      assert.equal(await users.countOtherActiveAdmins("u1"), 1);
      await users.update("u3", { status: "disabled" });
      assert.equal(await users.countOtherActiveAdmins("u1"), 0, "a disabled admin does not count");
      const grace = await users.findById("u3");
      assert.equal(grace?.name, "Grace");
      assert.equal(grace?.updated_at, 3_000);
      await database.transaction(async (transaction) => {
        // the lock statement must be valid where it runs (PostgreSQL); on SQLite it is not needed
        await new UserRepository(transaction).lockForRoleDecisions();
        await new UserRepository(transaction).update("u3", { status: "active" });
      });
      assert.equal((await users.findById("u3"))?.status, "active");
    });

    it("refresh tokens: only one rotation of a token wins; revoking a family leaves the others", async () => {
      const tokens = new RefreshTokenRepository(database);
      await tokens.insert(tokenRow("t1", "u1", "family-a"));
      await tokens.insert(tokenRow("t2", "u1", "family-a", { expires_at: 500 }));
      await tokens.insert(tokenRow("t3", "u1", "family-b"));
      assert.equal(await tokens.claimForRotation("t1", 2_000), true);
      assert.equal(await tokens.claimForRotation("t1", 2_001), false, "already rotated");
      const rotated = await tokens.findByHash("hash-t1");
      assert.equal(rotated?.status, "rotated");
      assert.equal(rotated?.used_at, 2_000);
      assert.equal(rotated?.expires_at, 10_000);

      await tokens.revokeFamily("family-a", 3_000);
      assert.equal((await tokens.findByHash("hash-t1"))?.status, "revoked");
      assert.equal((await tokens.findByHash("hash-t3"))?.status, "active", "another family is untouched");

      await tokens.deleteExpiredOfUser("u1", 1_000);
      assert.equal(await tokens.findByHash("hash-t2"), undefined, "expired row deleted");
      assert.ok(await tokens.findByHash("hash-t3"));

      await tokens.revokeAllOfUser("u1", 4_000);
      assert.equal((await tokens.findByHash("hash-t3"))?.status, "revoked");
    });

    it("settings: a start-up default never overwrites a stored value; write replaces; remove forgets", async () => {
      const settings = new SettingsRepository(database);
      assert.equal(await settings.read("registration"), undefined);
      await settings.writeIfMissing("registration", "open", 1);
      await settings.write("registration", "approval", 2);
      await settings.writeIfMissing("registration", "closed", 3);
      assert.equal(await settings.read("registration"), "approval");
      await settings.write("summariser_model_id", "groq:llama-3.1-8b-instant", 4);
      assert.equal(await settings.read("summariser_model_id"), "groq:llama-3.1-8b-instant");
      await settings.remove("summariser_model_id");
      assert.equal(await settings.read("summariser_model_id"), undefined);
      assert.equal(await settings.read("registration"), "approval", "removing one key leaves the others");
    });

    it("providers: one row per kind that a restart does not overwrite; a refresh error keeps the last success time", async () => {
      const providers = new ProviderRepository(database);
      for (const kind of ["anthropic", "groq", "ollama"] as const) await providers.insertIfMissing(kind, `https://${kind}.example`, 1);
      await providers.update("groq", { is_active: true, encrypted_key: "ciphertext", key_last4: "9f2e", updated_at: 2 });
      await providers.insertIfMissing("groq", "https://other.example", 3);
      await providers.recordRefreshSuccess("groq", 5_000);
      await providers.recordRefreshError("groq", { code: "provider_unreachable", message: "Could not connect", retryable: true });
      // a row left by a newer server version with a kind this one does not know
      await database("providers").insert({ kind: "future", is_active: true, base_url: "https://future.example", updated_at: 1 });

      const stored = await providers.listAll();
      assert.deepEqual(stored.map((provider) => provider.kind).sort(), ["anthropic", "groq", "ollama"]);
      const groq = stored.find((provider) => provider.kind === "groq");
      assert.deepEqual(groq, {
        kind: "groq",
        isActive: true,
        baseUrl: "https://groq.example",
        encryptedKey: "ciphertext",
        keyLast4: "9f2e",
        lastRefreshedAt: 5_000,
        lastError: { code: "provider_unreachable", message: "Could not connect", retryable: true },
      });
      assert.equal(stored.find((provider) => provider.kind === "ollama")?.isActive, false);

      await providers.update("groq", { last_error: null });
      await database("providers").where({ kind: "anthropic" }).update({ last_error: "{not json" });
      const reread = await providers.listAll();
      assert.equal(reread.find((provider) => provider.kind === "groq")?.lastError, null);
      assert.equal(reread.find((provider) => provider.kind === "anthropic")?.lastError, null, "an unreadable error reads as none");
    });

    it("models: inserts more rows than one statement may bind, changes only given fields, counts per provider", async () => {
      const models = new ModelRepository(database);
      // 3,000 rows × 11 columns is more than SQLite's 32,766 bound parameters in one INSERT
      const many = Array.from({ length: 3_000 }, (_, index) => model("ollama", `model-${index}`));
      await models.insert([...many, model("groq", "visible", { isVisible: true, supportsVision: true, maxOutputTokens: 4096 })], 1);
      await models.update("ollama:model-1", { isVisible: true }, 2);
      await models.update("ollama:model-2", { isVisible: true, displayName: "Two", contextWindow: null }, 2);
      await models.markUnavailable(["ollama:model-2", "ollama:model-3"], 3);
      await models.markUnavailable([], 4);

      const counts = await models.countByProvider();
      assert.deepEqual(counts.get("ollama"), { available: 2_998, visible: 1 });
      assert.deepEqual(counts.get("groq"), { available: 1, visible: 1 });
      assert.equal(counts.get("anthropic"), undefined);

      const ollama = await models.listByProvider("ollama");
      assert.equal(ollama.length, 3_000);
      const two = ollama.find((entry) => entry.id === "ollama:model-2");
      assert.deepEqual(two, model("ollama", "model-2", { displayName: "Two", contextWindow: null, isVisible: true, isAvailable: false }));
      const all = await models.listAll();
      assert.equal(all.length, 3_001);
      assert.deepEqual(
        all.find((entry) => entry.provider === "groq"),
        model("groq", "visible", { isVisible: true, supportsVision: true, maxOutputTokens: 4096 }),
      );
    });
  });
}
