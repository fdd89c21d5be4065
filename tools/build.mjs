#!/usr/bin/env node
/**
 * Bundles the extension and its webviews with esbuild (`npm run build`).
 *
 *   node tools/build.mjs            production: minified, no source maps (what the .vsix ships)
 *   node tools/build.mjs --dev      not minified, with linked source maps
 *   node tools/build.mjs --watch    --dev, rebuilding on change
 *   node tools/build.mjs --server   only the team server (what `npm start` runs; well under a second)
 *   node tools/build.mjs --extension-only --out <folder>
 *                                   only the extension, into <folder>/extension (test/tools/extension-bundle.test.ts)
 *
 * Outputs: dist/extension/extension.js (node, cjs, `vscode` external) and dist/extension/protocol.js
 * (the protocol's schemas and zod, required on first use: see lazyProtocol), dist/webview/<page>.js
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
const isExtensionOnly = argumentsGiven.has("--extension-only");
const outArgument = process.argv.indexOf("--out");
const distribution =
  outArgument > 0 && process.argv[outArgument + 1] ? path.resolve(process.argv[outArgument + 1]) : path.join(root, "dist");
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
  // ECharts (tree-shaken to the bar chart) is bundled into this page only.
  { name: "usage", entry: "webview/src/usage-main.ts" },
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

/**
 * The extension's start-up bundle leaves out zod and the protocol modules that build schemas with
 * it: they go into dist/extension/protocol.js, which is required the first time extension code
 * reads one of their exports (a schema, the endpoint table…), after activate() has returned. Built
 * at load they were about 60 % of the bundle's compile and evaluation time
 * (docs/decisions/0023-first-run-and-everyday-use.md has the figures).
 *
 * How: an import of such a module (or of zod) from extension/src resolves to a small CommonJS
 * module whose properties are getters; esbuild's interop reads an import at each use
 * (`import_x.name`), so the getter loads protocol.js on the first use, not at load. A module of
 * protocol/ without zod (parse-http-url.ts, message-page-sizes.ts) is bundled as usual. An export
 * read at the top level of an extension module would load protocol.js at once again:
 * test/tools/extension-bundle.test.ts checks that loading the bundle does not.
 */
function lazyProtocol() {
  /** Module key in protocol.js → the module ("zod" or a file of protocol/). */
  const modules = new Map();
  const protocolFolder = path.join(root, "protocol") + path.sep;
  const extensionFolder = path.join(root, "extension") + path.sep;
  const keyOf = (file) =>
    file === "zod"
      ? "zod"
      : path
          .relative(root, file)
          .replace(/\.ts$/, "")
          .replace(/[^A-Za-z0-9]/g, "_");
  const probe = (entry, options) =>
    esbuild.build({
      entryPoints: [entry],
      write: false,
      metafile: true,
      outdir: distribution,
      logLevel: "silent",
      platform: "node",
      ...options,
    });
  /** @type {import("esbuild").Plugin} */
  const plugin = {
    name: "lazy-protocol",
    setup(build) {
      build.onResolve({ filter: /protocol\/|^zod$/ }, async (arguments_) => {
        if (arguments_.namespace === "lazy-protocol" || !arguments_.importer.startsWith(extensionFolder)) return undefined;
        if (arguments_.path === "zod") return { path: "zod", namespace: "lazy-protocol" };
        const resolved = await build.resolve(arguments_.path, { resolveDir: arguments_.resolveDir, kind: arguments_.kind });
        if (resolved.errors.length > 0 || !resolved.path.startsWith(protocolFolder)) return undefined;
        const { metafile } = await probe(resolved.path, { bundle: true });
        const buildsSchemas = Object.keys(metafile.inputs).some((input) => input.includes(`node_modules/zod/`));
        return buildsSchemas ? { path: resolved.path, namespace: "lazy-protocol" } : undefined;
      });
      build.onLoad({ filter: /.*/, namespace: "lazy-protocol" }, async (arguments_) => {
        const key = keyOf(arguments_.path);
        modules.set(key, arguments_.path);
        const names =
          arguments_.path === "zod"
            ? ["z"]
            : Object.values((await probe(arguments_.path, { bundle: false, format: "esm" })).metafile.outputs)[0].exports;
        const lines = [
          "let loaded;",
          `const load = () => (loaded ??= require("./protocol.js")[${JSON.stringify(key)}]);`,
          ...names.map(
            (name) =>
              `Object.defineProperty(exports, ${JSON.stringify(name)}, { enumerable: true, get: () => load()[${JSON.stringify(name)}] });`,
          ),
        ];
        return { contents: lines.join("\n"), loader: "js" };
      });
      build.onResolve({ filter: /^\.\/protocol\.js$/ }, () => ({ path: "./protocol.js", external: true }));
    },
  };
  /** The options of protocol.js: one namespace per module the last build of the extension asked for. */
  const protocolBundleOptions = () => ({
    ...shared,
    stdin: {
      contents: [...modules].map(([key, file]) => `export * as ${key} from ${JSON.stringify(file === "zod" ? "zod" : file)};`).join("\n"),
      resolveDir: root,
      sourcefile: "protocol.js",
      loader: "ts",
    },
    outfile: path.join(distribution, "extension", "protocol.js"),
    platform: "node",
    target: "node20",
    format: "cjs",
  });
  return { plugin, protocolBundleOptions };
}

const extensionProtocol = lazyProtocol();

/** @type {import("esbuild").BuildOptions} */
const extensionOptions = {
  ...shared,
  plugins: [...shared.plugins, extensionProtocol.plugin],
  entryPoints: { extension: "extension/src/extension.ts" },
  outdir: path.join(distribution, "extension"),
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["vscode"],
  // The bundle's first and last statements: activate() reports how long evaluating the bundle took,
  // apart from the time VS Code then spends preparing the extension's context before calling it.
  // The CPU time beside it (the main thread's where Node tells it) tells our cost from a busy machine's.
  banner: {
    js: '"use strict";var __jugglerBundleLoadStartedAt = performance.now(), __jugglerBundleLoadStartedCpu = (process.threadCpuUsage ?? process.cpuUsage)();',
  },
  footer: {
    js: "var __jugglerBundleLoadEndedAt = performance.now(), __jugglerBundleLoadEndedCpu = (process.threadCpuUsage ?? process.cpuUsage)();",
  },
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
 *     better-sqlite3 is native anyway. Our code is bundled: no TypeScript compiler at run time (tsx cost
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
  if (isExtensionOnly) {
    fs.rmSync(path.join(distribution, "extension"), { recursive: true, force: true });
    const extension = await esbuild.build(extensionOptions);
    return reportSizes([extension, await esbuild.build(extensionProtocol.protocolBundleOptions())]);
  }
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
              build.onEnd(async (result) => {
                // protocol.js follows the extension's imports.
                if (options === extensionOptions && result.errors.length === 0)
                  await esbuild.build(extensionProtocol.protocolBundleOptions());
                console.log(`build: rebuilt ${Object.keys(options.entryPoints).join(", ")} (${result.errors.length} errors)`);
              }),
          },
        ],
      });
      await context.watch();
    }
    console.log("build: watching for changes…");
    return;
  }
  const results = await Promise.all(builds.map((options) => esbuild.build(options)));
  // After the extension's build: protocol.js holds exactly what it imports.
  results.push(await esbuild.build(extensionProtocol.protocolBundleOptions()));
  ensurePageStylesheets();
  reportSizes(results);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
