import assert from "node:assert/strict";
import path from "node:path";
import * as esbuild from "esbuild";

const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** The node_modules packages a page's bundle takes code from, as esbuild resolves its imports. */
async function packagesBundledInto(entry: string): Promise<Set<string>> {
  const result = await esbuild.build({
    entryPoints: [path.join(REPO_ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    outdir: path.join(REPO_ROOT, "dist", "webview-probe"),
    loader: { ".ttf": "file" },
    logLevel: "silent",
    absWorkingDir: REPO_ROOT,
  });
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.add(match[1]!);
  }
  return packages;
}

/**
 * ECharts is a large library that only the usage view draws with (tools/build.mjs, webviewPages):
 * an import of it from code the chat or Team Settings share would put it into their bundles too,
 * silently. This notices.
 */
describe("tools: the chart library stays in the usage page's bundle", function () {
  this.timeout(60_000);

  it("bundles ECharts and zrender into the usage page", async () => {
    const packages = await packagesBundledInto("webview/src/usage-main.ts");
    assert.ok(packages.has("echarts") && packages.has("zrender"), [...packages].join(", "));
  });

  for (const entry of ["webview/src/chat-main.ts", "webview/src/team-settings-main.ts"]) {
    it(`keeps them out of ${path.basename(entry)}`, async () => {
      const packages = await packagesBundledInto(entry);
      assert.ok(!packages.has("echarts") && !packages.has("zrender"), [...packages].join(", "));
    });
  }
});
