// ESLint: typescript-eslint's recommended rules, and the walls between the sides of the project.
//
// The walls are stated twice on purpose: each TypeScript project (tsconfig.*.json) has only the
// types its runtime has, so the compiler refuses the DOM in the server or Node in the webview; the
// rules below state which folder may import which, which the compiler cannot express.
// See docs/decisions/0008-walls-and-linting.md.
import { builtinModules } from "node:module";
import javascript from "@eslint/js";
import boundaries from "eslint-plugin-boundaries";
import typescript from "typescript-eslint";

/** Every element of the project, by folder. A file in none of them is an error (boundaries/no-unknown-files). */
const elements = [
  { type: "protocol", pattern: "protocol/**", mode: "full" },
  // server: routes → services → storage / providers; http is the routes' plumbing; domain is below all
  { type: "server-composition", pattern: "server/src/{app,team-server,main}.ts", mode: "full" },
  { type: "server-support", pattern: "server/src/*.ts", mode: "full" },
  { type: "server-domain", pattern: "server/src/domain/**", mode: "full" },
  { type: "server-http", pattern: "server/src/http/**", mode: "full" },
  { type: "server-routes", pattern: "server/src/routes/**", mode: "full" },
  { type: "server-services", pattern: "server/src/services/**", mode: "full" },
  { type: "server-storage", pattern: "server/src/storage/**", mode: "full" },
  { type: "server-providers", pattern: "server/src/providers/**", mode: "full" },
  // the OpenAI- and Anthropic-compatible gateway: wire formats and one answer's call, beside the services
  { type: "server-gateway", pattern: "server/src/gateway/**", mode: "full" },
  // extension: only surfaces/ (and the composition root) touch the VS Code API
  { type: "extension-composition", pattern: "extension/src/extension.ts", mode: "full" },
  { type: "extension-surfaces", pattern: "extension/src/surfaces/**", mode: "full" },
  { type: "extension-core", pattern: "extension/src/**", mode: "full" },
  { type: "webview", pattern: "webview/src/**", mode: "full" },
  // tests may use anything; tools and benchmarks anything but the tests
  { type: "test", pattern: "test/**", mode: "full" },
  { type: "tools", pattern: "tools/**", mode: "full" },
  { type: "bench", pattern: "bench/**", mode: "full" },
];

const serverBase = ["protocol", "server-domain", "server-support"];
/** Who may import whom: anything not listed is refused. */
const allowedImports = [
  { from: "protocol", allow: ["protocol"] },
  { from: "server-domain", allow: ["protocol", "server-domain"] },
  { from: "server-support", allow: serverBase },
  { from: "server-storage", allow: [...serverBase, "server-storage"] },
  { from: "server-providers", allow: [...serverBase, "server-providers"] },
  { from: "server-services", allow: [...serverBase, "server-services", "server-storage", "server-providers"] },
  { from: "server-http", allow: [...serverBase, "server-http"] },
  { from: "server-gateway", allow: [...serverBase, "server-gateway", "server-services", "server-providers"] },
  { from: "server-routes", allow: [...serverBase, "server-http", "server-routes", "server-services", "server-gateway"] },
  {
    from: "server-composition",
    allow: [
      ...serverBase,
      "server-composition",
      "server-http",
      "server-routes",
      "server-services",
      "server-storage",
      "server-providers",
      "server-gateway",
    ],
  },
  { from: "extension-core", allow: ["protocol", "extension-core"] },
  { from: "extension-surfaces", allow: ["protocol", "extension-core", "extension-surfaces"] },
  { from: "extension-composition", allow: ["protocol", "extension-core", "extension-surfaces"] },
  { from: "webview", allow: ["protocol", "webview"] },
  { from: "tools", allow: elements.map((element) => element.type).filter((type) => type !== "test" && type !== "bench") },
  { from: "bench", allow: elements.map((element) => element.type).filter((type) => type !== "test") },
  { from: "test", allow: elements.map((element) => element.type) },
];

const nodeModules = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

/** A side that runs in a browser frame or on both runtimes: no Node modules, no VS Code API. */
const noNodeNoVscode = {
  paths: [
    { name: "vscode", message: "The VS Code API exists only in the extension host (extension/src/surfaces/)." },
    ...nodeModules.map((name) => ({ name, message: "Node's modules do not exist in a webview and protocol/ must run on every side." })),
  ],
};

/** `import("vscode")` or `require("vscode")` written to get past the import rules: refused where the static import is. */
const noDynamicVscode = [
  {
    selector: "ImportExpression[source.value='vscode']",
    message: "The VS Code API exists only in the extension host's surfaces (extension/src/surfaces/), dynamic imports included.",
  },
  {
    selector: "CallExpression[callee.name='require'][arguments.0.value='vscode']",
    message: "The VS Code API exists only in the extension host's surfaces (extension/src/surfaces/), require() included.",
  },
];

/** The browser's globals, which do not exist on the server (its tsconfig has no DOM either; this names the file first). */
const browserGlobals = ["document", "window", "navigator", "localStorage", "sessionStorage", "HTMLElement", "customElements"].map(
  (name) => ({ name, message: "The server runs on Node: there is no DOM here." }),
);

export default typescript.config(
  { ignores: ["node_modules/", "dist/", ".cache/", "coverage/", "test-results/", "data/", "**/fixture-extension/**"] },
  javascript.configs.recommended,
  ...typescript.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { boundaries },
    settings: {
      "boundaries/elements": elements,
      // Elements are matched on the whole path ("full"): a few of them are single files (the composition
      // roots). v7 calls that mode deprecated but keeps it; the warning about it is turned off.
      "boundaries/legacy-warnings": false,
      "import/resolver": { node: { extensions: [".ts", ".js", ".mjs"] } },
    },
    rules: {
      "boundaries/dependencies": [
        "error",
        {
          default: "disallow",
          policies: allowedImports.map(({ from, allow }) => ({
            from: { element: { type: from } },
            allow: { to: { element: { types: { anyOf: allow } } } },
          })),
        },
      ],
      "boundaries/no-unknown-files": "error",
      // Unused values are usually mistakes; a leading underscore says "deliberately unused".
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["webview/src/**/*.ts", "protocol/**/*.ts"],
    rules: { "no-restricted-imports": ["error", noNodeNoVscode], "no-restricted-syntax": ["error", ...noDynamicVscode] },
  },
  {
    files: ["server/src/**/*.ts"],
    rules: { "no-restricted-globals": ["error", ...browserGlobals] },
  },
  {
    files: ["server/src/**/*.ts", "extension/src/**/*.ts"],
    ignores: ["extension/src/surfaces/**", "extension/src/extension.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "vscode",
              message: "Only extension/src/surfaces/ and extension.ts import the VS Code API; keep the rest testable without VS Code.",
            },
          ],
        },
      ],
      "no-restricted-syntax": ["error", ...noDynamicVscode],
    },
  },
  {
    // Tests and their harness read untyped JSON bodies from the server under test: `any` there is the
    // honest type, and each test asserts the shape it relies on.
    files: ["test/**/*.ts", "tools/harness/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Plain JavaScript tools run on Node.
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", performance: "readonly" } },
  },
  {
    // CommonJS configuration files (Mocha's): require and module are how they are written.
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { process: "readonly", require: "readonly", module: "writable" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
