import { z } from "zod";

export const faultNames = [
  "unauthorized",
  "rate-limited",
  "overloaded",
  "server-error",
  "overloaded-mid-stream",
  "reset-mid-stream",
  "stall",
  "malformed-chunk",
  "context-too-long",
  "model-not-found",
] as const;

export type FaultName = (typeof faultNames)[number];

/** Faults that happen after some deltas of a streamed answer (they need a valid request to start). */
const midStreamFaultNames: ReadonlySet<FaultName> = new Set(["overloaded-mid-stream", "reset-mid-stream", "stall", "malformed-chunk"]);

export function isMidStreamFault(name: FaultName): boolean {
  return midStreamFaultNames.has(name);
}

export const faultSpecSchema = z.strictObject({
  fault: z.enum(faultNames),
  /** How many matching requests get this fault before it clears. */
  times: z.number().int().positive().default(1),
  /** For mid-stream faults: how many text deltas are sent before the fault. */
  afterDeltas: z.number().int().nonnegative().default(2),
  /** For `rate-limited` (and `overloaded` where the provider sends it): value of `retry-after`, in seconds. */
  retryAfterSeconds: z.number().nonnegative().default(1),
  /** Only requests for this model (exactly as the client sends it) match; all models when absent. */
  model: z.string().optional(),
  /** Which kind of request matches: chat (default) or model listing. */
  endpoint: z.enum(["chat", "models"]).default("chat"),
});

/** What callers pass (defaults optional). */
export type FaultSpecInput = z.input<typeof faultSpecSchema>;
/** A fault with every default filled in. */
export type FaultSpec = z.output<typeof faultSpecSchema>;
export type FaultEndpoint = FaultSpec["endpoint"];

/** Accepts one fault, a list, or `{ faults: [...] }` (the shape `POST /__control/faults` takes). */
export const faultListSchema = z.union([
  faultSpecSchema.transform((fault) => [fault]),
  z.array(faultSpecSchema),
  z.strictObject({ faults: z.array(faultSpecSchema) }).transform((value) => value.faults),
]);

interface PendingFault {
  readonly spec: FaultSpec;
  remaining: number;
}

/**
 * The queue of injected faults of one fake. A request takes the first pending fault that matches it;
 * each fault applies `times` times and then clears itself.
 */
export class FaultPlan {
  private pending: PendingFault[] = [];

  set(faults: FaultSpecInput | FaultSpecInput[] | { faults: FaultSpecInput[] }): void {
    const specs = faultListSchema.parse(faults);
    this.pending = specs.map((spec) => ({ spec, remaining: spec.times }));
  }

  clear(): void {
    this.pending = [];
  }

  list(): FaultSpec[] {
    return this.pending.map(({ spec, remaining }) => ({ ...spec, times: remaining }));
  }

  /**
   * The fault the next matching request would get, without using it up. Callers `consume` it once
   * it actually applies, so a mid-stream fault is not wasted on a request rejected by validation.
   */
  peek(endpoint: FaultEndpoint, model: string | undefined): FaultSpec | undefined {
    return this.findPending(endpoint, model)?.spec;
  }

  consume(spec: FaultSpec): void {
    const index = this.pending.findIndex((entry) => entry.spec === spec);
    if (index === -1) return;
    const entry = this.pending[index];
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.pending.splice(index, 1);
  }

  private findPending(endpoint: FaultEndpoint, model: string | undefined): PendingFault | undefined {
    return this.pending.find(({ spec }) => spec.endpoint === endpoint && (spec.model === undefined || spec.model === model));
  }
}
