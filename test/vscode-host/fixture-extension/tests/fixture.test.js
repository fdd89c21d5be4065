const assert = require("node:assert/strict");
const vscode = require("vscode");

describe("fixture extension in code-server", () => {
  it("runs its command through vscode.commands.executeCommand", async () => {
    const greeting = await vscode.commands.executeCommand("jugglerFixture.hello");
    assert.equal(greeting, `Hello, ${process.env.JUGGLER_FIXTURE_GREETING || "world"}!`);
  });

  it("sees the opened workspace folder", () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (process.env.JUGGLER_FIXTURE_EXPECT_FOLDER) {
      assert.equal(folders[0]?.uri.fsPath, process.env.JUGGLER_FIXTURE_EXPECT_FOLDER);
    }
    // The deliberate failure that proves failures reach runTests() as a rejection.
    assert.notEqual(process.env.JUGGLER_FIXTURE_FAIL, "1", "JUGGLER_FIXTURE_FAIL=1 makes this test fail");
  });
});
