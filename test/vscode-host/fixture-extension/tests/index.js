// Extension tests entry (desktop contract: `run(): Promise<void>`, rejects when a test fails).
// Runs inside the extension host; mocha comes from the repository's node_modules (mocha 12 is
// an ES module package, which Node 24's require() loads).
const path = require("node:path");
const Mocha = require("mocha");

async function run() {
  const mocha = new Mocha({ ui: "bdd", color: false, timeout: 20000, reporter: "spec" });
  mocha.addFile(path.join(__dirname, "fixture.test.js"));
  await mocha.loadFilesAsync();
  const failures = await new Promise((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} fixture test(s) failed`);
}

module.exports = { run };
