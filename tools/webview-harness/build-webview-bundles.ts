import { copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";

const repositoryRoot = path.resolve(__dirname, "../..");

export interface WebviewBundles {
  directory: string;
  /** File names inside `directory`. */
  files: {
    chatScript: string;
    chatStyle: string;
    teamSettingsScript: string;
    teamSettingsStyle: string;
    usageScript: string;
    usageStyle: string;
    codiconStyle: string;
  };
}

let bundles: Promise<WebviewBundles> | undefined;

/**
 * Builds the webview bundles the way the extension ships them (esbuild, browser, iife, minified)
 * into a temp folder, once per test run. Kept apart from tools/build.mjs so these tests need
 * nothing but the webview's own sources.
 */
export function buildWebviewBundles(): Promise<WebviewBundles> {
  bundles ??= buildOnce();
  return bundles;
}

async function buildOnce(): Promise<WebviewBundles> {
  const directory = await mkdtemp(path.join(tmpdir(), "juggler-webview-"));
  await build({
    entryPoints: {
      chat: path.join(repositoryRoot, "webview/src/chat-main.ts"),
      "team-settings": path.join(repositoryRoot, "webview/src/team-settings-main.ts"),
      usage: path.join(repositoryRoot, "webview/src/usage-main.ts"),
    },
    outdir: directory,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["chrome120"],
    minify: true,
    sourcemap: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const codicons = path.join(repositoryRoot, "node_modules/@vscode/codicons/dist");
  await copyFile(path.join(codicons, "codicon.css"), path.join(directory, "codicon.css"));
  await copyFile(path.join(codicons, "codicon.ttf"), path.join(directory, "codicon.ttf"));
  return {
    directory,
    files: {
      chatScript: "chat.js",
      chatStyle: "chat.css",
      teamSettingsScript: "team-settings.js",
      teamSettingsStyle: "team-settings.css",
      usageScript: "usage.js",
      usageStyle: "usage.css",
      codiconStyle: "codicon.css",
    },
  };
}
