import type { CDPSession, Page } from "playwright-core";
import type { Message } from "../protocol/http/conversations";
import { buildConversation, buildMessage, buildPagedSnapshot, variedAnswer } from "../tools/webview-harness/chat-fixtures";
import { type HarnessPage, WebviewHarness } from "../tools/webview-harness/webview-harness";
import { formatMs, percentile } from "./statistics";

/**
 * Chat webview benchmark, in headless Chromium with the stub host of the webview tests (the real
 * bundle, page HTML and CSP): a 10,000-message conversation whose older pages the stub serves from
 * inside the page, so the figures are the webview's own work, not Playwright's round trips.
 *
 *   npx tsx bench/webview-bench.ts
 */

const PAIRS = 5_000;
const PAGE_SIZE = 50;
const FIRST_PAINT_SAMPLES = 15;
const DELTA_SAMPLES = 200;

export interface WebviewBenchResult {
  messages: number;
  /** Snapshot posted → the frame that shows it painted, newest page of the branch (what the host sends). */
  firstPaintMs: number[];
  /** The same, to the start of the frame after (an upper bound that includes a whole frame). */
  firstPaintNextFrameMs: number[];
  /** For scale: a snapshot carrying all 10,000 messages at once (the host never sends this). */
  fullSnapshotFirstPaintMs: number[];
  /** Home pressed → the first message shown, all pages requested from the stub one after another. */
  homeToFirstMessageMs: number;
  pagesLoaded: number;
  /** JS heap after a garbage collection, and DOM nodes, at each stage. */
  heaps: Array<{ stage: string; jsHeapBytes: number; domNodes: number; listElements: number }>;
  /** While scrolling through all 10,000 messages, one viewport per frame. */
  scrollThrough: { steps: number; maxListElements: number; longFrames: number; worstFrameMs: number; frameMs: number[] };
  /** Posting a delta → the frame that shows it painted, streaming into the last message. */
  deltaFrameMs: Array<{ loaded: number; paintedMs: number[]; workMs: number[] }>;
  messagesJsonBytes: number;
}

async function measureFirstPaint(view: HarnessPage, snapshot: unknown): Promise<{ paintedMs: number; nextFrameMs: number }> {
  return view.page.evaluate(async (snapshot) => {
    const started = performance.now();
    window.dispatchEvent(new MessageEvent("message", { data: { kind: "notification", method: "state/snapshot", params: snapshot } }));
    // A task queued from the frame's animation callback runs once that frame is painted.
    const paintedMs = await new Promise<number>((resolve) =>
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - started), 0)),
    );
    const nextFrameMs = await new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now() - started)));
    return { paintedMs, nextFrameMs };
  }, snapshot);
}

async function heapStage(session: CDPSession, page: Page, stage: string): Promise<WebviewBenchResult["heaps"][number]> {
  await session.send("HeapProfiler.collectGarbage");
  const { usedSize } = (await session.send("Runtime.getHeapUsage")) as { usedSize: number };
  const { metrics } = (await session.send("Performance.getMetrics")) as { metrics: Array<{ name: string; value: number }> };
  const domNodes = metrics.find((metric) => metric.name === "Nodes")?.value ?? Number.NaN;
  const listElements = await page.evaluate(() => document.querySelector(".message-list")?.querySelectorAll("*").length ?? 0);
  return { stage, jsHeapBytes: usedSize, domNodes, listElements };
}

/** Long animation frames (over 50 ms) the page reports from now on, kept in window.__longFrames. */
async function recordLongFrames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const record = window as unknown as { __longFrames: number[] };
    record.__longFrames = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) record.__longFrames.push(entry.duration);
    }).observe({ type: "long-animation-frame", buffered: false });
  });
}

async function takeLongFrames(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const record = window as unknown as { __longFrames: number[] };
    const frames = record.__longFrames;
    record.__longFrames = [];
    return frames;
  });
}

/**
 * Streams deltas into the last message at the bottom. `paintedMs`: posted → painted (includes the
 * wait for the next frame). `workMs`: the handler plus the frame's work for it (markdown render,
 * style and layout), from the frame's start, forced to finish inside a later animation callback.
 */
async function measureDeltas(view: HarnessPage, live: Message): Promise<{ paintedMs: number[]; workMs: number[] }> {
  // The same text each time (rendering a message costs with its length): the answer starts empty again.
  await view.notify("message/updated", { message: live });
  // Back to the bottom, following.
  await view.page.keyboard.press("End");
  await view.nextFrames(5);
  const messageId = live.id;
  return view.page.evaluate(
    async ({ messageId, samples }) => {
      const paintedMs: number[] = [];
      const workMs: number[] = [];
      for (let sample = 0; sample < samples; sample++) {
        const text = sample % 10 === 9 ? "\n\n" : `word${sample} `;
        const started = performance.now();
        window.dispatchEvent(
          new MessageEvent("message", { data: { kind: "notification", method: "stream/delta", params: { messageId, text } } }),
        );
        const handlerMs = performance.now() - started;
        // Queued after the list's own callback, so it runs after the render, in the same frame.
        const frameMs = await new Promise<number>((resolve) =>
          requestAnimationFrame((frameStart) => {
            void document.body.offsetHeight;
            resolve(performance.now() - frameStart);
          }),
        );
        workMs.push(handlerMs + frameMs);
        paintedMs.push(await new Promise<number>((resolve) => setTimeout(() => resolve(performance.now() - started), 0)));
      }
      return { paintedMs, workMs };
    },
    { messageId, samples: DELTA_SAMPLES },
  );
}

export async function runWebviewBench(log: (line: string) => void): Promise<WebviewBenchResult> {
  const conversation = buildConversation(PAIRS, variedAnswer);
  const live = buildMessage({ id: "live", parentId: conversation.at(-2)!.id, status: "streaming", content: "", finishReason: null });
  const branch: Message[] = [...conversation.slice(0, -1), live];
  const harness = await WebviewHarness.start();
  try {
    const firstPaintMs: number[] = [];
    const firstPaintNextFrameMs: number[] = [];
    const fullSnapshotFirstPaintMs: number[] = [];
    log(`first paint of the newest page of ${branch.length} messages, ${FIRST_PAINT_SAMPLES} fresh pages`);
    for (let sample = 0; sample < FIRST_PAINT_SAMPLES; sample++) {
      const view = await harness.open({ view: "chat" });
      await view.nextFrames(3);
      const { paintedMs, nextFrameMs } = await measureFirstPaint(view, buildPagedSnapshot(branch, PAGE_SIZE));
      firstPaintMs.push(paintedMs);
      firstPaintNextFrameMs.push(nextFrameMs);
      await view.close();
    }
    log("first paint of a snapshot carrying all messages (for scale)");
    for (let sample = 0; sample < 5; sample++) {
      const view = await harness.open({ view: "chat" });
      await view.nextFrames(3);
      fullSnapshotFirstPaintMs.push((await measureFirstPaint(view, buildPagedSnapshot(branch, branch.length))).paintedMs);
      await view.close();
    }

    log("heap: open, newest page, all pages loaded, scrolled through");
    const view = await harness.open({ view: "chat" });
    const page = view.page;
    const session = await page.context().newCDPSession(page);
    await session.send("Performance.enable");
    const heaps: WebviewBenchResult["heaps"] = [];
    heaps.push(await heapStage(session, page, "chat view open, no conversation"));
    await view.serveOlderPages(branch, { pageSize: PAGE_SIZE, delayMs: 0 });
    await view.notify("state/snapshot", buildPagedSnapshot(branch, PAGE_SIZE));
    await view.nextFrames(5);
    heaps.push(await heapStage(session, page, `newest page (${PAGE_SIZE} messages) shown`));
    const deltaFrameMs: WebviewBenchResult["deltaFrameMs"] = [];
    await page.locator(".message-list").focus();
    deltaFrameMs.push({ loaded: PAGE_SIZE, ...(await measureDeltas(view, live)) });

    await recordLongFrames(page);
    const homeStarted = Date.now();
    await page.keyboard.press("Home");
    await page.waitForFunction(
      () => document.querySelector(".message-list__older")!.hasAttribute("hidden") && document.querySelector('[data-message-id="user-0"]'),
      undefined,
      { timeout: 300_000, polling: 50 },
    );
    const homeToFirstMessageMs = Date.now() - homeStarted;
    const pagesLoaded = (await view.requests("messages/loadOlder")).length;
    log(`Home reached the first message in ${homeToFirstMessageMs} ms (${pagesLoaded} pages)`);
    await takeLongFrames(page);
    heaps.push(await heapStage(session, page, `all ${branch.length} loaded, at the top`));

    log("scrolling through every message, a viewport per frame");
    await recordLongFrames(page);
    const scrollThrough = await page.evaluate(async () => {
      const list = document.querySelector(".message-list")!;
      const frameMs: number[] = [];
      let maxListElements = 0;
      let steps = 0;
      let last = performance.now();
      while (list.scrollTop + list.clientHeight < list.scrollHeight - 1) {
        list.scrollTop += list.clientHeight;
        await new Promise((resolve) => requestAnimationFrame(resolve));
        const now = performance.now();
        frameMs.push(now - last);
        last = now;
        maxListElements = Math.max(maxListElements, list.querySelectorAll("*").length);
        steps += 1;
      }
      return { steps, maxListElements, frameMs };
    });
    const longFrames = await takeLongFrames(page);
    heaps.push(await heapStage(session, page, `scrolled through all ${branch.length}, at the bottom`));
    deltaFrameMs.push({ loaded: branch.length, ...(await measureDeltas(view, live)) });
    const messagesJsonBytes = Buffer.byteLength(JSON.stringify(branch));
    await session.detach();
    await view.close();
    return {
      messages: branch.length,
      firstPaintMs,
      firstPaintNextFrameMs,
      fullSnapshotFirstPaintMs,
      homeToFirstMessageMs,
      pagesLoaded,
      heaps,
      scrollThrough: { ...scrollThrough, longFrames: longFrames.length, worstFrameMs: Math.max(0, ...scrollThrough.frameMs) },
      deltaFrameMs,
      messagesJsonBytes,
    };
  } finally {
    await harness.close();
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

export function formatWebviewBench(result: WebviewBenchResult): string {
  const p50 = (samples: number[]) => formatMs(percentile(samples, 0.5));
  const p95 = (samples: number[]) => formatMs(percentile(samples, 0.95));
  const lines = [
    "## Chat webview",
    "",
    `Headless Chromium, the real bundle and CSP, the webview tests' stub host serving pages of ${PAGE_SIZE} from inside the page (no Playwright round trip per page). A ${result.messages.toLocaleString("en-US")}-message branch of varied answers (short replies, paragraphs, lists, code); ${megabytes(result.messagesJsonBytes)} as JSON. Times are taken inside the page.`,
    "",
    "| measure | value |",
    "|---|---|",
    `| snapshot (newest page) → painted, p50 / p95 over ${result.firstPaintMs.length} fresh pages | ${p50(result.firstPaintMs)} / ${p95(result.firstPaintMs)} ms |`,
    `| the same, to the start of the next frame (upper bound), p50 | ${p50(result.firstPaintNextFrameMs)} ms |`,
    `| for scale: a snapshot carrying all ${result.messages.toLocaleString("en-US")} messages → painted, p50 | ${p50(result.fullSnapshotFirstPaintMs)} ms |`,
    `| Home → first message shown (${result.pagesLoaded} pages requested one after another) | ${result.homeToFirstMessageMs} ms |`,
    `| scrolling through all, a viewport per frame: steps, frame p50 / p95 / worst | ${result.scrollThrough.steps}, ${p50(result.scrollThrough.frameMs)} / ${p95(result.scrollThrough.frameMs)} / ${formatMs(result.scrollThrough.worstFrameMs)} ms |`,
    `| long animation frames (> 50 ms) while scrolling through | ${result.scrollThrough.longFrames} |`,
    `| most elements under the list while scrolling through | ${result.scrollThrough.maxListElements} |`,
    ...result.deltaFrameMs.flatMap((entry) => [
      `| stream delta, ${entry.loaded.toLocaleString("en-US")} messages loaded: work (handler + render + layout), p50 / p95 over ${entry.workMs.length} | ${p50(entry.workMs)} / ${p95(entry.workMs)} ms |`,
      `| stream delta, ${entry.loaded.toLocaleString("en-US")} messages loaded: posted → painted, p50 / p95 | ${p50(entry.paintedMs)} / ${p95(entry.paintedMs)} ms |`,
    ]),
    "",
    "| stage | JS heap (after GC) | DOM nodes (page) | elements under the list |",
    "|---|---|---|---|",
    ...result.heaps.map((heap) => `| ${heap.stage} | ${megabytes(heap.jsHeapBytes)} | ${heap.domNodes} | ${heap.listElements} |`),
  ];
  return lines.join("\n") + "\n";
}

if (require.main === module) {
  runWebviewBench((line) => process.stderr.write(`bench: ${line}\n`))
    .then((result) => process.stdout.write(formatWebviewBench(result)))
    .catch((error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
