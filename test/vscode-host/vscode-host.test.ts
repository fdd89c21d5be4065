/**
 * Self-test of the real-VS-Code test host (code-server 4.139.1 = VS Code 1.139.1) with a
 * throw-away fixture extension: provisioning, extension tests through the unmodified
 * `@vscode/test-electron` runTests() (passing and failing), and the Playwright workbench driver.
 * The first run provisions `.cache/vscode-host/` (≈ 2 min, hence the long hook timeout).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TestRunFailedError } from "@vscode/test-electron";
import type { Page } from "playwright-core";
import { startCodeServer, workbenchUrl, type CodeServer } from "../../tools/vscode-host/code-server-process";
import { ensureVscodeHost, REPO_ROOT, type VscodeHost } from "../../tools/vscode-host/provision";
import { runExtensionTests } from "../../tools/vscode-host/run-extension-tests";
import {
  closeWorkbench,
  openViewContainer,
  openWorkbench,
  runCommand,
  screenshot,
  statusBarItem,
  treeRows,
  waitForNotification,
  webviewFrame,
} from "../../tools/vscode-host/workbench-driver";

const FIXTURE = path.join(__dirname, "fixture-extension");
const FIXTURE_TESTS = path.join(FIXTURE, "tests", "index.js");

function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function poll<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

describe("vscode-host: code-server as the real VS Code test host", function () {
  this.timeout(15 * 60_000);
  let host: VscodeHost;
  let workspace: string;

  before(async () => {
    host = await ensureVscodeHost();
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), "vscode-host-ws-"));
    fs.writeFileSync(path.join(workspace, "hello.txt"), "hello\n");
  });

  after(() => {
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("provisions Node 24 and code-server embedding VS Code 1.139, and reuses the cache", async () => {
    assert.match(host.vscodeVersion, /^1\.139\./);
    assert.equal(execFileSync(host.nodeBinary, ["--version"], { encoding: "utf8" }).trim(), "v24.21.0");
    const marker = path.join(path.dirname(path.dirname(host.codeServerDir)), ".installed.json");
    const before = fs.readFileSync(marker, "utf8");
    const again = await ensureVscodeHost({ log: (line) => assert.fail(`unexpected install step: ${line}`) });
    assert.deepEqual(again, host);
    assert.equal(fs.readFileSync(marker, "utf8"), before, "the install marker must not be rewritten");
  });

  it("runs extension tests through @vscode/test-electron runTests() and resolves on success", async () => {
    const code = await runExtensionTests({
      extensionDevelopmentPath: FIXTURE,
      extensionTestsPath: FIXTURE_TESTS,
      workspaceFolder: workspace,
      env: { JUGGLER_FIXTURE_GREETING: "runTests", JUGGLER_FIXTURE_EXPECT_FOLDER: workspace },
    });
    assert.equal(code, 0);
  });

  it("makes runTests() reject when an extension test fails", async () => {
    await assert.rejects(
      runExtensionTests({
        extensionDevelopmentPath: FIXTURE,
        extensionTestsPath: FIXTURE_TESTS,
        workspaceFolder: workspace,
        env: { JUGGLER_FIXTURE_FAIL: "1", VSCODE_HOST_KEEP_LOGS: "0" },
      }),
      (error: unknown) => error instanceof TestRunFailedError && error.code === 1,
    );
  });

  describe("workbench driver on an installed .vsix", () => {
    let server: CodeServer;
    let page: Page;
    let vsixDir: string;
    let failed = false;

    before(async () => {
      // Same path the product's UI journeys take: vsce package → --install-extension.
      vsixDir = fs.mkdtempSync(path.join(os.tmpdir(), "vscode-host-vsix-"));
      const vsix = path.join(vsixDir, "fixture.vsix");
      execFileSync(
        path.join(REPO_ROOT, "node_modules", ".bin", "vsce"),
        ["package", "--no-dependencies", "--allow-missing-repository", "--skip-license", "-o", vsix],
        { cwd: FIXTURE, stdio: "pipe" },
      );
      server = await startCodeServer({
        host,
        installExtensions: [vsix],
        env: { JUGGLER_FIXTURE_GREETING: "palette" },
        settings: { "jugglerFixture.punctuation": "!?" }, // user settings reach the extension
      });
      page = await openWorkbench(workbenchUrl(server, { folder: workspace }));
    });

    afterEach(function () {
      if (this.currentTest?.state === "failed") failed = true;
    });

    after(async () => {
      if (page) {
        if (failed) await screenshot(page, path.join(REPO_ROOT, "test-results", "vscode-host-failure.png"));
        await closeWorkbench(page);
      }
      if (server) {
        await server.stop({ removeLog: !failed });
        assert.equal(processGroupAlive(server.pid), false, "code-server process group must be gone after stop()");
      }
      if (vsixDir) fs.rmSync(vsixDir, { recursive: true, force: true });
    });

    it("shows the extension status-bar item", async () => {
      await statusBarItem(page, "Fixture ready").waitFor({ state: "visible", timeout: 30_000 });
    });

    it("runs a command from the palette and shows its notification", async () => {
      await runCommand(page, "Juggler Fixture: Say Hello");
      const toast = await waitForNotification(page, "Fixture says: Hello, palette!?");
      assert.match((await toast.textContent()) ?? "", /Hello, palette!\?/);
    });

    it("lists tree rows of a contributed view container", async () => {
      await openViewContainer(page, "Juggler Fixture");
      const rows = treeRows(page, "Fixture Items");
      const labels = await poll(
        () => rows.allTextContents(),
        (texts) => texts.length === 2,
      );
      assert.deepEqual(labels, ["First fixture item", "Second fixture item"]);
    });

    it("reaches into a webview", async () => {
      await runCommand(page, "Juggler Fixture: Show Webview");
      const heading = webviewFrame(page).locator("#greeting");
      await heading.waitFor({ state: "visible", timeout: 30_000 });
      assert.equal(await heading.textContent(), "Hello from the fixture webview");
    });
  });
});
