/**
 * What the benchmark's timing probe (./timing-probe-extension.ts, inside the extension host) writes
 * and the benchmark (bench/extension-bench.ts, outside) reads. No `vscode` import: both sides load it.
 */

/** The environment variable naming the file the probe appends its records to. */
export const TIMING_PROBE_FILE_VARIABLE = "JUGGLER_TIMING_PROBE_FILE";

/** One line of the probe's file. */
export interface TimingProbeRecord {
  event: "probe-ready" | "send-start" | "send-accepted" | "first-delta" | "open-start" | "open-posted";
  /** Wall clock, milliseconds (performance.timeOrigin + performance.now() in the extension host). */
  atMs: number;
  content?: string;
  assistantMessageId?: string;
  messageId?: string;
  conversationId?: string;
  messageCount?: number;
}
