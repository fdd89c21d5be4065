import {
  closeCheckingHealth,
  type HarnessPage,
  type OpenViewOptions,
  WebviewHarness,
} from "../../../tools/webview-harness/webview-harness";

export interface WebviewHarnessSession {
  /** Opens a view in Chromium; every view a test opens is closed after it. */
  open(options: OpenViewOptions): Promise<HarnessPage>;
}

/**
 * The Chromium webview harness for the `describe` block that calls this:
 * - started once before the block's tests (bundles built, Chromium launched);
 * - closed after them;
 * - the views a test opened are closed after that test. When the test passed, each must have
 *   stayed healthy: no page error, no Content Security Policy violation.
 *
 * Pass `{ checksHealth: false }` for tests whose pages are meant to misbehave (hostile content).
 */
export function useWebviewHarness(options: { checksHealth?: boolean } = {}): WebviewHarnessSession {
  const checksHealth = options.checksHealth ?? true;
  let harness: WebviewHarness | undefined;
  let openViews: HarnessPage[] = [];

  before(async function () {
    // building the bundles and launching Chromium take longer than a test
    this.timeout(120_000);
    harness = await WebviewHarness.start();
  });

  after(async () => {
    await harness?.close();
  });

  afterEach(async function () {
    const views = openViews;
    openViews = [];
    const hasPassed = checksHealth && this.currentTest?.state === "passed";
    // a test may have closed (and checked) a view itself
    for (const view of views.filter((candidate) => !candidate.page.isClosed())) await closeCheckingHealth(view, hasPassed);
  });

  return {
    async open(openOptions) {
      if (!harness) throw new Error("useWebviewHarness: open() runs in a test, after the harness has started");
      const view = await harness.open(openOptions);
      openViews.push(view);
      return view;
    },
  };
}
