import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import type { CodeServer } from "./code-server-process";
import { REPO_ROOT } from "./provision";
import { closeWorkbench, screenshot } from "./workbench-driver";

/** What a journey starts and must stop, stopped in this order: the workbench, code-server, the team (server and fakes), the temporary folder. */
export interface JourneyResources {
  page?: Page;
  codeServer?: CodeServer;
  team?: { dispose(): Promise<void> };
  tempDir?: string;
}

/**
 * The life of a code-server journey, for its describe(): its steps build on each other, so after the
 * first failure the rest are skipped (they would only repeat it); the teardown stops everything
 * whatever failed, and a failed run keeps its evidence (a screenshot, code-server's log, both
 * printed). `resources` is read at teardown.
 */
export function followJourney(failureScreenshot: string, resources: () => JourneyResources): void {
  let isFailed = false;
  beforeEach(function () {
    if (isFailed) this.skip();
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") isFailed = true;
  });
  after(async function () {
    this.timeout(60_000);
    const { page, codeServer, team, tempDir } = resources();
    try {
      if (page) {
        if (isFailed) await screenshot(page, failureScreenshot).catch(() => undefined);
        await closeWorkbench(page);
      }
    } finally {
      try {
        await codeServer?.stop({ removeLog: !isFailed });
        if (isFailed && codeServer) console.log(`      code-server log: ${codeServer.logFile}; screenshot: ${failureScreenshot}`);
      } finally {
        try {
          await team?.dispose();
        } finally {
          if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
        }
      }
    }
  });
}

/** What a member installs: the extension built afresh and packaged as a .vsix into `directory`; returns its path. */
export function packageExtension(directory: string): string {
  execFileSync(process.execPath, [path.join(REPO_ROOT, "tools", "build.mjs")], { cwd: REPO_ROOT, stdio: "pipe" });
  const vsix = path.join(directory, "juggler.vsix");
  execFileSync(path.join(REPO_ROOT, "node_modules", ".bin", "vsce"), ["package", "--no-dependencies", "-o", vsix], {
    cwd: REPO_ROOT,
    stdio: "pipe",
  });
  return vsix;
}
