/**
 * Runs the integration tests of test/vscode/extension-host/ inside a real VS Code extension host
 * (code-server 4.139 = VS Code 1.139, through @vscode/test-electron's runTests and the launcher of
 * tools/vscode-host/), with the Juggler extension loaded from this repository, against the real team
 * server and the fake providers started here. The extension host learns where they are from
 * environment variables (code-server's environment reaches it).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../tools/vscode-host/provision";
import { runExtensionTests } from "../../tools/vscode-host/run-extension-tests";
import { ENVIRONMENT_VARIABLES } from "./extension-host/environment-variables";
import { buildExtensionHostTests } from "./support/build-extension-host-tests";
import { writeSampleWorkspace } from "./support/sample-workspace";
import { ADMIN_NAME, ADMIN_PASSWORD, startTeamEnvironment, type TeamEnvironment } from "../../tools/harness/team-environment";

describe("vscode: Juggler's integration tests inside code-server's extension host", function () {
  // The first run also provisions code-server (≈ 2 min); a warm run takes well under a minute.
  this.timeout(10 * 60_000);
  let team: TeamEnvironment | undefined;
  let tempDir: string;

  before(async () => {
    // The extension is loaded from dist/: build it as `npm test` does (cheap, ~2 s).
    execFileSync(process.execPath, [path.join(REPO_ROOT, "tools", "build.mjs")], { cwd: REPO_ROOT, stdio: "pipe" });
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "juggler-extension-host-"));
    team = await startTeamEnvironment({ withAdmin: true });
  });

  after(async () => {
    await team?.dispose();
    if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  });

  it("passes them all (runTests resolves with 0)", async () => {
    const testsModule = await buildExtensionHostTests(path.join(tempDir, "out"));
    const workspaceFolder = writeSampleWorkspace(path.join(tempDir, "workspace"));
    const { server, fakes, admin } = team!;
    const code = await runExtensionTests({
      extensionDevelopmentPath: REPO_ROOT,
      extensionTestsPath: testsModule,
      workspaceFolder,
      timeoutMs: 5 * 60_000,
      env: {
        [ENVIRONMENT_VARIABLES.serverUrl]: server.url,
        [ENVIRONMENT_VARIABLES.userName]: ADMIN_NAME,
        [ENVIRONMENT_VARIABLES.password]: ADMIN_PASSWORD,
        [ENVIRONMENT_VARIABLES.models]: JSON.stringify(admin!.models),
        [ENVIRONMENT_VARIABLES.fakeUrls]: JSON.stringify({
          anthropic: fakes.anthropic.url,
          groq: fakes.groq.url,
          ollama: fakes.ollama.url,
        }),
        [ENVIRONMENT_VARIABLES.workspaceFolder]: workspaceFolder,
      },
    });
    assert.equal(code, 0);
  });
});
