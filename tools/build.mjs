#!/usr/bin/env node
/**
 * Bundles the extension and its webviews with esbuild (`npm run build`).
 *
 *   node tools/build.mjs            production: minified, no source maps (what the .vsix ships)
 *   node tools/build.mjs --dev      not minified, with linked source maps
 *   node tools/build.mjs --watch    --dev, rebuilding on change
 *   node tools/build.mjs --server   only the team server (what `npm start` runs; well under a second)
 *
 * Outputs: dist/extension/extension.js (node, cjs, `vscode` external), dist/webview/<page>.js
 * (+ <page>.css from the CSS the page imports), and codicon.css + codicon.ttf copied beside them.
 * A webview entry that does not exist yet is skipped with a note, so the extension still builds.
 * The server goes to dist/server/ (see serverBuilds below) and only with --server.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argumentsGiven = new Set(process.argv.slice(2));
const isWatching = argumentsGiven.has("--watch");
const isServerOnly = argumentsGiven.has("--server");
const isDevelopment = isWatching || argumentsGiven.has("--dev");
const distribution = path.join(root, "dist");
const webviewOutput = path.join(distribution, "webview");

// esbuild is a development dependency. `npm start` builds the server with it, but an install
// without development dependencies must still start: the server then runs from its sources (below).
/** @type {typeof import("esbuild") | undefined} */
let esbuild;
try {
  esbuild = await import("esbuild");
} catch (error) {
  if (!isServerOnly || /** @type {{ code?: string }} */ (error).code !== "ERR_MODULE_NOT_FOUND") throw error;
}

const webviewPages = [
  { name: "chat", entry: "webview/src/chat-main.ts" },
  { name: "team-settings", entry: "webview/src/team-settings-main.ts" },
];

/**
 * Zod's `z.locales` namespace pulls in ~40 translations (≈ 250 KiB minified) that we never use: the
 * messages people see are our own or English. Only English stays; it is what zod configures by default.
 * @type {import("esbuild").Plugin}
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

/** @type {import("esbuild").BuildOptions} */
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

/** @type {import("esbuild").BuildOptions} */
const extensionOptions = {
  ...shared,
  entryPoints: { extension: "extension/src/extension.ts" },
  outdir: path.join(distribution, "extension"),
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["vscode"],
  // The first statement of the bundle: activate() reports how long loading the bundle took.
  banner: { js: '"use strict";var __jugglerBundleLoadStartedAt = performance.now();' },
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
  /** @type {import("esbuild").BuildOptions} */
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

/**
 * The team server: our code in one file, its packages loaded from node_modules as usual, except
 * the three provider SDKs, each bundled and minified into a file of its own that the server
 * requires on first use (docs/decisions/0006-server-performance.md has the measurements):
 *   - node_modules stay external: measured, loading koa, zod, knex … from their files leaves the
 *     process ≈ 8 MB smaller than the same code bundled, and knex loads its dialects dynamically;
 *     sqlite3 is native anyway. Our code is bundled: no TypeScript compiler at run time (tsx cost
 *     25–60 MB and a second thread) and about 100 files fewer to resolve at start.
 *   - an SDK loaded from node_modules costs about twice the memory of the same SDK in one minified
 *     file (Anthropic: ≈ 17 MB against ≈ 9 MB), and the adapters import them only when used.
 */
const serverOutput = path.join(distribution, "server");
const providerSdks = [
  { module: "@anthropic-ai/sdk", file: "anthropic-sdk.js" },
  { module: "groq-sdk", file: "groq-sdk.js" },
  { module: "ollama", file: "ollama-sdk.js" },
];

/** In the server bundle, `import("<sdk>")` becomes a require of its own bundled file beside main.js. */
const providerSdkFiles = {
  name: "provider-sdk-files",
  setup(build) {
    for (const sdk of providerSdks) {
      const filter = new RegExp(`^${sdk.module.replace(/[/.]/g, "\\$&")}$`);
      build.onResolve({ filter }, () => ({ path: `./${sdk.file}`, external: true }));
    }
  },
};

function serverBuilds() {
  /** @type {import("esbuild").BuildOptions} */
  const common = {
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    logLevel: "warning",
    metafile: true,
    absWorkingDir: root,
    legalComments: "none",
  };
  /** @type {import("esbuild").BuildOptions} */
  const main = {
    ...common,
    entryPoints: { main: "server/src/main.ts" },
    outdir: serverOutput,
    packages: "external",
    plugins: [providerSdkFiles],
    // import() of a package becomes require(): the CommonJS SDK files then keep their named
    // exports (a native import() of CommonJS only sees what Node's export scanner finds)
    supported: { "dynamic-import": false },
    // stack traces in the server log point at readable code (minifying saved no memory)
    minify: false,
    sourcemap: isDevelopment ? "linked" : false,
  };
  const sdks = providerSdks.map((sdk) => ({
    ...common,
    stdin: { contents: `module.exports = require(${JSON.stringify(sdk.module)});`, resolveDir: root, sourcefile: sdk.file, loader: "js" },
    outfile: path.join(serverOutput, sdk.file),
    minify: true,
  }));
  return [main, ...sdks];
}

async function buildServer() {
  const started = performance.now();
  fs.mkdirSync(serverOutput, { recursive: true });
  if (!esbuild) return writeServerFromSources();
  // Files are overwritten, not deleted first: a server already running from here may still
  // require an SDK file it has not loaded yet.
  const results = await Promise.all(serverBuilds().map((options) => esbuild.build(options)));
  const outputs = results.flatMap((result) => Object.entries(result.metafile?.outputs ?? {}));
  const written = new Set(outputs.map(([file]) => path.resolve(root, file)));
  for (const file of fs.readdirSync(serverOutput)) {
    if (!written.has(path.join(serverOutput, file))) fs.rmSync(path.join(serverOutput, file), { recursive: true, force: true });
  }
  const bytes = outputs.reduce((sum, [, output]) => sum + output.bytes, 0);
  console.log(`build: dist/server/ ${(bytes / 1024).toFixed(0)} KiB in ${(performance.now() - started).toFixed(0)} ms`);
}

/** Without esbuild: a main.js that runs server/src/main.ts through tsx (a runtime dependency), as before bundling. */
function writeServerFromSources() {
  for (const file of fs.readdirSync(serverOutput)) fs.rmSync(path.join(serverOutput, file), { recursive: true, force: true });
  fs.writeFileSync(
    path.join(serverOutput, "main.js"),
    [
      '"use strict";',
      "// Written by tools/build.mjs --server without esbuild (no development dependencies installed).",
      'require("tsx/cjs/api").register();',
      'import("tsx/esm/api").then(({ register }) => {',
      "  register();",
      '  return import("../../server/src/main.ts");',
      "});",
      "",
    ].join("\n"),
  );
  console.log("build: esbuild is not installed; dist/server/main.js runs the TypeScript sources through tsx");
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
  if (isServerOnly) return buildServer();
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
        plugins: [
          ...(options.plugins ?? []),
          {
            name: "report",
            setup: (build) =>
              build.onEnd((result) =>
                console.log(`build: rebuilt ${Object.keys(options.entryPoints).join(", ")} (${result.errors.length} errors)`),
              ),
          },
        ],
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
