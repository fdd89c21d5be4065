import assert from "node:assert/strict";
import { SecretBox, SecretBoxError } from "../../../server/src/services/secret-box";

describe("SecretBox", () => {
  const secretKey = "a".repeat(40);
  const plainKey = "sk-ant-api03-THIS-IS-THE-PLAIN-KEY";

  it("round-trips a key and never stores it in the clear", () => {
    const box = new SecretBox(secretKey);
    const stored = box.encrypt(plainKey, "anthropic");
    assert.ok(!stored.includes(plainKey));
    assert.ok(!Buffer.from(stored.split(".")[3], "base64").toString("utf8").includes("PLAIN-KEY"));
    assert.equal(box.decrypt(stored, "anthropic"), plainKey);
  });

  it("uses a fresh IV every time: the same key encrypts differently", () => {
    const box = new SecretBox(secretKey);
    assert.notEqual(box.encrypt(plainKey), box.encrypt(plainKey));
  });

  it("refuses with a clear error under another SECRET_KEY, in another row, or when damaged", () => {
    const stored = new SecretBox(secretKey).encrypt(plainKey, "anthropic");
    assert.throws(
      () => new SecretBox("b".repeat(40)).decrypt(stored, "anthropic"),
      (error: unknown) => error instanceof SecretBoxError && /SECRET_KEY/.test(error.message),
    );
    assert.throws(() => new SecretBox(secretKey).decrypt(stored, "groq"), SecretBoxError);
    const parts = stored.split(".");
    const flipped = Buffer.from(parts[3], "base64");
    flipped[0] ^= 1;
    assert.throws(
      () => new SecretBox(secretKey).decrypt([parts[0], parts[1], parts[2], flipped.toString("base64")].join("."), "anthropic"),
      SecretBoxError,
    );
    assert.throws(() => new SecretBox(secretKey).decrypt("not-a-stored-key"), SecretBoxError);
  });
});
