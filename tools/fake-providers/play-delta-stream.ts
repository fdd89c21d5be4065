import type { FaultSpec } from "./fault-plan";
import type { FakeExchange } from "./start-fake-server";

/** One piece of a streamed response, already framed for the wire (SSE event, SSE data line, NDJSON line). */
export interface StreamFrame {
  wire: string;
  /** Carries answer text: paced by `tokenDelayMs` and counted by `afterDeltas`. */
  isDelta: boolean;
}

/** How a provider spells the two mid-stream faults that write something. */
export interface MidStreamFaultWires {
  /** The provider's in-stream error (status stays 200 because headers are already out). */
  midStreamError: string;
  /** A frame whose JSON is cut off. */
  malformedChunk: string;
}

export type StreamOutcome = "completed" | "interrupted";

/**
 * Writes `frames` on an already started stream, pausing before each delta, and ends the response.
 * A mid-stream `fault` strikes right after its `afterDeltas`-th delta (before the first delta when
 * 0, after the last one when the answer is shorter). Stops quietly if the client goes away.
 */
export async function playDeltaStream(options: {
  exchange: FakeExchange;
  frames: readonly StreamFrame[];
  tokenDelayMs: number;
  fault: FaultSpec | undefined;
  faultWires: MidStreamFaultWires;
}): Promise<StreamOutcome> {
  const { exchange, frames, tokenDelayMs, fault } = options;
  const faultIndex = fault === undefined ? -1 : findFaultIndex(frames, fault.afterDeltas);
  for (let index = 0; index <= frames.length; index += 1) {
    if (index === faultIndex && fault !== undefined) {
      exchange.record.fault = fault.fault;
      await strikeMidStream(exchange, fault, options.faultWires);
      return "interrupted";
    }
    const frame = frames[index];
    if (frame === undefined) break;
    if (frame.isDelta && tokenDelayMs > 0) await exchange.sleep(tokenDelayMs);
    if (!(await exchange.write(frame.wire))) return "interrupted";
  }
  exchange.end();
  return "completed";
}

async function strikeMidStream(exchange: FakeExchange, fault: FaultSpec, wires: MidStreamFaultWires): Promise<void> {
  switch (fault.fault) {
    case "overloaded-mid-stream":
      // Real providers close right after the error event: no terminal event, no [DONE].
      await exchange.write(wires.midStreamError);
      exchange.end();
      return;
    case "malformed-chunk":
      await exchange.write(wires.malformedChunk);
      exchange.end();
      return;
    case "reset-mid-stream":
      await exchange.resetConnection();
      return;
    case "stall":
      // Headers and some deltas are out; nothing more until the client gives up.
      await exchange.waitUntilClosed();
      return;
    default:
      throw new Error(`Fault ${fault.fault} cannot happen mid-stream`);
  }
}

/** Index of the frame before which the fault strikes. */
function findFaultIndex(frames: readonly StreamFrame[], afterDeltas: number): number {
  let deltasSeen = 0;
  let lastDeltaIndex = -1;
  for (let index = 0; index < frames.length; index += 1) {
    if (!frames[index].isDelta) continue;
    if (deltasSeen === afterDeltas) return index;
    deltasSeen += 1;
    lastDeltaIndex = index;
  }
  // Fewer deltas than asked: strike after the last one; with no deltas at all, before the last frame.
  return lastDeltaIndex >= 0 ? lastDeltaIndex + 1 : Math.max(frames.length - 1, 0);
}
