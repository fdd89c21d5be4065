import assert from "node:assert/strict";
import { StallWatchdog } from "../../../server/src/services/stall-watchdog";

const wait = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe("StallWatchdog", () => {
  it("is not armed before the first activity (the connect timeout covers that part)", async () => {
    const watchdog = new StallWatchdog(20, new AbortController().signal);
    await wait(60);
    assert.equal(watchdog.hasStalled, false);
    assert.equal(watchdog.signal.aborted, false);
    watchdog.stop();
  });

  it("fires after a silence, not while chunks keep arriving", async () => {
    // generous margins: a busy machine may pause this loop for a while without making it a stall
    const watchdog = new StallWatchdog(250, new AbortController().signal);
    for (let chunk = 0; chunk < 10; chunk += 1) {
      watchdog.activity();
      await wait(25);
    }
    assert.equal(watchdog.hasStalled, false, "250 ms of chunks 25 ms apart is not a stall");
    await wait(600);
    assert.equal(watchdog.hasStalled, true);
    assert.equal(watchdog.signal.aborted, true);
  });

  it("passes the job's own abort through without calling it a stall, and stays quiet once stopped", async () => {
    const job = new AbortController();
    const watchdog = new StallWatchdog(20, job.signal);
    watchdog.activity();
    job.abort();
    assert.equal(watchdog.signal.aborted, true);
    watchdog.stop();
    await wait(60);
    assert.equal(watchdog.hasStalled, false);
  });
});
