import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..", "..");

/**
 * The extension's bundle as tools/build.mjs makes it for the .vsix: loading it (what VS Code does
 * before activate()) must not evaluate zod or the protocol's schemas; they are in protocol.js and
 * load on first use (docs/decisions/0023-first-run-and-everyday-use.md). A top-level read of a
 * protocol export in extension code would undo that silently: this test notices.
 */
describe("tools: the extension bundle loads the protocol's schemas on first use", function () {
  this.timeout(60_000);
  let folder: string;

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-extension-bundle-"));
    execFileSync(process.execPath, [path.join(REPO_ROOT, "tools", "build.mjs"), "--extension-only", "--out", folder], {
      cwd: REPO_ROOT,
      stdio: "pipe",
    });
  });

  after(() => {
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  });

  /** Runs `body` in a fresh Node process after requiring the bundle; module evaluation touches no VS Code API, so `vscode` is an empty object. */
  function inFreshProcess(body: string): unknown {
    const bundle = path.join(folder, "extension", "extension.js");
    const script = `
      const Module = require("node:module");
      const load = Module._load;
      Module._load = function (request, ...rest) { return request === "vscode" ? {} : load.call(this, request, ...rest); };
      const bundle = require(${JSON.stringify(bundle)});
      const loaded = () => Object.keys(require.cache).map((file) => require("node:path").basename(file));
      process.stdout.write(JSON.stringify((() => { ${body} })()));
    `;
    return JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }));
  }

  it("evaluates neither zod nor protocol.js when the bundle loads", () => {
    const result = inFreshProcess(
      `return { files: loaded(), hasZod: globalThis.__zod_globalConfig !== undefined, exports: Object.keys(bundle) };`,
    ) as {
      files: string[];
      hasZod: boolean;
      exports: string[];
    };
    assert.deepEqual(result.exports.sort(), ["activate", "deactivate"]);
    assert.ok(!result.files.includes("protocol.js"), `loaded at start: ${result.files.join(", ")}`);
    assert.equal(result.hasZod, false, "zod was evaluated while the bundle loaded");
  });

  it("puts zod and every schema-building protocol module the extension imports into protocol.js", () => {
    const result = inFreshProcess(`
      const protocol = require(${JSON.stringify(path.join(folder, "extension", "protocol.js"))});
      return { modules: Object.keys(protocol).sort(), hasEndpoints: typeof protocol.protocol_http_endpoints.endpoints.sendMessage.path, hasZod: typeof protocol.zod.z.object };
    `) as { modules: string[]; hasEndpoints: string; hasZod: string };
    for (const module of ["zod", "protocol_http_endpoints", "protocol_webview_chat_protocol", "protocol_http_accounts"]) {
      assert.ok(result.modules.includes(module), `${module} in ${result.modules.join(", ")}`);
    }
    assert.ok(!result.modules.includes("protocol_parse_http_url"), "a module without schemas stays in the start-up bundle");
    assert.equal(result.hasEndpoints, "string");
    assert.equal(result.hasZod, "function");
  });
});
