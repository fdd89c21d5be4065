#!/usr/bin/env node
/**
 * Bundles the extension and its webviews with esbuild (`npm run build`).
 *
 *   node tools/build.mjs            production: minified, no source maps (what the .vsix ships)
 *   node tools/build.mjs --dev      not minified, with linked source maps
 *   node tools/build.mjs --watch    --dev, rebuilding on change
 *
 * Outputs: dist/extension/extension.js (node, cjs, `vscode` external), dist/webview/<page>.js
 * (+ <page>.css from the CSS the page imports), and codicon.css + codicon.ttf copied beside them.
 * A webview entry that does not exist yet is skipped with a note, so the extension still builds.
 */
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argumentsGiven = new Set(process.argv.slice(2));
const isWatching = argumentsGiven.has("--watch");
const isDevelopment = isWatching || argumentsGiven.has("--dev");
const distribution = path.join(root, "dist");
const webviewOutput = path.join(distribution, "webview");

const webviewPages = [
  { name: "chat", entry: "webview/src/chat-main.ts" },
  { name: "team-settings", entry: "webview/src/team-settings-main.ts" },
];

/**
 * Zod's `z.locales` namespace pulls in ~40 translations (≈ 250 KiB minified) that we never use: the
 * messages people see are our own or English. Only English stays; it is what zod configures by default.
 * @type {esbuild.Plugin}
 */
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (arguments_) => {
      if (!arguments_.importer.includes(`${path.sep}node_modules${path.sep}zod${path.sep}`)) return undefined;
      return { path: path.join(path.dirname(arguments_.importer), "..", "locales", "en.js"), namespace: "zod-locales" };
    });
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (arguments_) => ({
      contents: `export { default as en } from ${JSON.stringify(arguments_.path)};`,
      resolveDir: path.dirname(arguments_.path),
      loader: "js",
    }));
  },
};

/** @type {esbuild.BuildOptions} */
const shared = {
  plugins: [zodEnglishOnly],
  bundle: true,
  minify: !isDevelopment,
  sourcemap: isDevelopment ? "linked" : false,
  legalComments: isDevelopment ? "inline" : "none",
  logLevel: "warning",
  metafile: true,
  absWorkingDir: root,
};

/** @type {esbuild.BuildOptions} */
const extensionOptions = {
  ...shared,
  entryPoints: { extension: "extension/src/extension.ts" },
  outdir: path.join(distribution, "extension"),
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["vscode"],
  // The first statement of the bundle: activate() reports how long loading the bundle took.
  banner: { js: "\"use strict\";var __jugglerBundleLoadStartedAt = performance.now();" },
  // zod and the protocol are the bulk; keep names readable in stack traces only in development.
  keepNames: isDevelopment,
};

function webviewOptions() {
  const entryPoints = {};
  for (const page of webviewPages) {
    if (fs.existsSync(path.join(root, page.entry))) entryPoints[page.name] = page.entry;
    else console.log(`build: skipped webview page "${page.name}" (${page.entry} does not exist yet)`);
  }
  if (Object.keys(entryPoints).length === 0) return undefined;
  /** @type {esbuild.BuildOptions} */
  const options = {
    ...shared,
    entryPoints,
    outdir: webviewOutput,
    platform: "browser",
    target: ["chrome120"],
    format: "iife",
    // Webviews get fonts only from their own folder (the CSP), so the codicon font is copied, not inlined.
    loader: { ".ttf": "file", ".woff": "file", ".woff2": "file", ".svg": "file" },
    assetNames: "[name]",
  };
  return options;
}

function copyCodicons() {
  fs.mkdirSync(webviewOutput, { recursive: true });
  const source = path.join(root, "node_modules", "@vscode", "codicons", "dist");
  for (const file of ["codicon.css", "codicon.ttf"]) fs.copyFileSync(path.join(source, file), path.join(webviewOutput, file));
}

/** A page whose script imports no CSS still gets its stylesheet link answered (an empty file, not a 404). */
function ensurePageStylesheets() {
  for (const page of webviewPages) {
    const script = path.join(webviewOutput, `${page.name}.js`);
    const stylesheet = path.join(webviewOutput, `${page.name}.css`);
    if (fs.existsSync(script) && !fs.existsSync(stylesheet)) fs.writeFileSync(stylesheet, "/* this page imports no CSS */\n");
  }
}

function reportSizes(results) {
  for (const result of results) {
    for (const [file, output] of Object.entries(result.metafile?.outputs ?? {})) {
      if (file.endsWith(".map")) continue;
      console.log(`build: ${file} ${(output.bytes / 1024).toFixed(1)} KiB`);
    }
  }
}

async function main() {
  // Stale outputs (a renamed page, a map from a dev build) must not end up in the .vsix.
  if (!isWatching) {
    fs.rmSync(path.join(distribution, "extension"), { recursive: true, force: true });
    fs.rmSync(webviewOutput, { recursive: true, force: true });
  }
  copyCodicons();
  const webview = webviewOptions();
  const builds = [extensionOptions, ...(webview ? [webview] : [])];
  if (isWatching) {
    for (const options of builds) {
      const context = await esbuild.context({
        ...options,
        plugins: [...(options.plugins ?? []), { name: "report", setup: (build) => build.onEnd((result) => console.log(`build: rebuilt ${Object.keys(options.entryPoints).join(", ")} (${result.errors.length} errors)`)) }],
      });
      await context.watch();
    }
    console.log("build: watching for changes…");
    return;
  }
  const results = await Promise.all(builds.map((options) => esbuild.build(options)));
  ensurePageStylesheets();
  reportSizes(results);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
