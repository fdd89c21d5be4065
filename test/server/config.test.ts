import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, loadConfig } from "../../server/src/config";
import { deriveKey, loadSecretKey } from "../../server/src/secrets";

describe("configuration", () => {
  it("has working defaults for a fresh install", () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.dataDirectory, path.resolve("./data"));
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.secretKey, undefined);
    assert.equal(config.providerPresets.ollama.isActive, undefined);
  });

  it("names every bad variable", () => {
    assert.throws(
      () => loadConfig({ PORT: "eighty", DATABASE_URL: "mysql://x", SECRET_KEY: "short", LOG_LEVEL: "loud" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const text = error.message;
        for (const name of ["PORT", "DATABASE_URL", "SECRET_KEY", "LOG_LEVEL"]) assert.match(text, new RegExp(name));
        return true;
      },
    );
  });

  it("reads provider presets", () => {
    const config = loadConfig({ GROQ_API_KEY: " gsk_123 ", OLLAMA_BASE_URL: "http://gpu-box:11434" });
    assert.equal(config.providerPresets.groq.apiKey, "gsk_123");
    assert.equal(config.providerPresets.ollama.baseUrl, "http://gpu-box:11434");
    assert.equal(config.providerPresets.ollama.isActive, true);
    assert.throws(() => loadConfig({ ANTHROPIC_BASE_URL: "ftp://x" }), /ANTHROPIC_BASE_URL/);
  });

  it("stops start-up with a message naming the variable", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "server/src/main.ts"], {
      cwd: path.resolve(__dirname, "../.."),
      env: { ...process.env, PORT: "-1" },
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /PORT/);
  });
});

describe("secret key", () => {
  it("is generated once into the data folder, readable by the owner only", () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-secret-"));
    try {
      const first = loadSecretKey(undefined, directory);
      const second = loadSecretKey(undefined, directory);
      assert.equal(first, second);
      assert.ok(first.length >= 32);
      const mode = fs.statSync(path.join(directory, "secret.key")).mode & 0o777;
      assert.equal(mode, 0o600);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  it("prefers SECRET_KEY and derives different keys per purpose", () => {
    const secret = "x".repeat(40);
    assert.equal(loadSecretKey(secret, "/nonexistent-folder"), secret);
    assert.notDeepEqual(deriveKey(secret, "access-token"), deriveKey(secret, "provider-key-encryption"));
  });
});
