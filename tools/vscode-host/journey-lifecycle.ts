import fs from "node:fs";
import type { Page } from "playwright-core";
import type { CodeServer } from "./code-server-process";
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
