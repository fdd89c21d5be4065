// Fixture for the code-server test host's self-test (test/vscode-host/vscode-host.test.ts).
// Plain CommonJS so it needs no build step. JUGGLER_FIXTURE_GREETING comes from the
// environment of code-server and `jugglerFixture.punctuation` from the user settings: the two
// ways tests hand values (server URLs, flags) to an extension under test.
const vscode = require("vscode");

function activate(context) {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 100);
  item.text = "$(beaker) Fixture ready";
  item.command = "jugglerFixture.hello";
  item.show();

  const tree = {
    getTreeItem: (label) => new vscode.TreeItem(label),
    getChildren: (parent) => (parent ? [] : ["First fixture item", "Second fixture item"]),
  };

  context.subscriptions.push(
    item,
    vscode.window.registerTreeDataProvider("jugglerFixture.items", tree),
    vscode.commands.registerCommand("jugglerFixture.hello", () => {
      const punctuation = vscode.workspace.getConfiguration("jugglerFixture").get("punctuation", "!");
      const greeting = `Hello, ${process.env.JUGGLER_FIXTURE_GREETING || "world"}${punctuation}`;
      // Not awaited: the command returns while the toast is still shown.
      void vscode.window.showInformationMessage(`Fixture says: ${greeting}`);
      return greeting;
    }),
    vscode.commands.registerCommand("jugglerFixture.showWebview", () => {
      const panel = vscode.window.createWebviewPanel("jugglerFixture.webview", "Fixture Webview", vscode.ViewColumn.One, {});
      panel.webview.html =
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\';"></head>' +
        '<body><h1 id="greeting">Hello from the fixture webview</h1></body></html>';
      return panel.title;
    }),
  );
}

function deactivate() {}

module.exports = { activate, deactivate };
