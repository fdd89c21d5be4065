import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { startCodeServer, workbenchUrl, type CodeServer } from "../../../tools/vscode-host/code-server-process";
import { packageExtension } from "../../../tools/vscode-host/journey-lifecycle";
import { ensureVscodeHost } from "../../../tools/vscode-host/provision";
import { openWorkbench } from "../../../tools/vscode-host/workbench-driver";
import { writeSampleWorkspace } from "./sample-workspace";

/**
 * A journey's member machine before its team exists: VS Code (code-server) provisioned, a temporary
 * folder holding the extension packaged as a .vsix, and the sample workspace in it. The journey
 * removes the folder (followJourney does) and starts the team in between, as each needs it.
 */
export interface JourneyMachine {
  readonly tempDir: string;
  /** The sample workspace, the folder the workbench opens (a journey may add files to it first). */
  readonly workspace: string;
  /** code-server with the packaged extension installed, its `juggler.serverUrl` set to `serverUrl`. */
  startCodeServer(serverUrl: string, settings?: Record<string, unknown>): Promise<CodeServer>;
  /** The workbench on the workspace, in Chromium. */
  openWorkbench(codeServer: CodeServer): Promise<Page>;
}

export async function prepareJourneyMachine(tempPrefix: string): Promise<JourneyMachine> {
  const host = await ensureVscodeHost();
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), tempPrefix));
  let vsix: string;
  let workspace: string;
  try {
    vsix = packageExtension(tempDir);
    workspace = writeSampleWorkspace(path.join(tempDir, "workspace"));
  } catch (error) {
    // the journey never learns the folder's name: it is removed here
    fs.rmSync(tempDir, { recursive: true, force: true });
    throw error;
  }
  return {
    tempDir,
    workspace,
    startCodeServer: (serverUrl, settings = {}) =>
      startCodeServer({
        host,
        installExtensions: [vsix],
        settings: { "juggler.serverUrl": serverUrl, "workbench.colorTheme": "Default Dark Modern", ...settings },
      }),
    openWorkbench: (codeServer) =>
      openWorkbench(workbenchUrl(codeServer, { folder: workspace }), { viewport: { width: 1400, height: 900 } }),
  };
}
