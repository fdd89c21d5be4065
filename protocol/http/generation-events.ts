import { z } from "zod";
import { errorDetailSchema } from "./error-codes";
import { messageSchema } from "./conversations";
import { providerKindSchema } from "./providers";

/**
 * Server-sent events of one answer's generation, at GET /api/v1/messages/:id/stream.
 * Events: generation-start, optionally generation-status, text-delta…, usage, then generation-end or
 * generation-error. Each event has `id: <sequence>` (1, 2, 3 …); a client that reconnects sends `Last-Event-ID`
 * and receives only the events after it, then the rest live. A stream always ends with
 * `generation-end` or `generation-error` (also when the server shuts down).
 */
/**
 * A request that starts one answer — a send, a new conversation with its first message, a
 * regenerate — may ask for this same stream instead of JSON, with `Accept: text/event-stream`
 * preferred to `application/json`. Its first event is then `reply`, without an `id:`: what the JSON
 * form would have answered, in the same shape and with the same status. The answer's events follow,
 * from sequence 1, exactly as GET /messages/:id/stream gives them; after a dropped connection the
 * client resumes there with Last-Event-ID (a POST is never sent again). A compare starts several
 * answers and always answers JSON; so does a request that fails (its error, with its status).
 */
export const REPLY_EVENT = "reply";

export const generationStartEventSchema = z.object({
  messageId: z.string(),
  conversationId: z.string(),
  provider: providerKindSchema,
  modelId: z.string(),
});
export const textDeltaEventSchema = z.object({ text: z.string() });
export const usageEventSchema = z.object({
  inputTokens: z.number().int().nullable(),
  outputTokens: z.number().int().nullable(),
  /** Of the input, what the provider read from its prompt cache; null or absent when not reported. */
  cachedInputTokens: z.number().int().nullable().optional(),
  /** The answer's cost in micro-dollars, as the ledger recorded it; null when not known. */
  costMicroUsd: z.number().int().nullable().optional(),
});
/**
 * The context is being prepared and it takes a moment: older messages are being summarised
 * because the branch does not fit the model's window. Sent before the first text-delta, if at all.
 */
export const generationStatusEventSchema = z.object({
  phase: z.literal("summarising"),
  /** How many older messages the summary will stand for. */
  messageCount: z.number().int(),
});
/** The final stored message (status complete or stopped). */
export const generationEndEventSchema = z.object({ message: messageSchema });
/** The final stored message (status error or interrupted) and the error in plain words. */
export const generationErrorEventSchema = z.object({ error: errorDetailSchema, message: messageSchema });

export const generationEventSchemas = {
  "generation-start": generationStartEventSchema,
  "generation-status": generationStatusEventSchema,
  "text-delta": textDeltaEventSchema,
  usage: usageEventSchema,
  "generation-end": generationEndEventSchema,
  "generation-error": generationErrorEventSchema,
} as const;

export type GenerationEventName = keyof typeof generationEventSchemas;
export type GenerationEventData<Name extends GenerationEventName> = z.infer<(typeof generationEventSchemas)[Name]>;

export type GenerationEvent = {
  [Name in GenerationEventName]: { sequence: number; event: Name; data: GenerationEventData<Name> };
}[GenerationEventName];

export function isTerminalGenerationEvent(name: GenerationEventName): boolean {
  return name === "generation-end" || name === "generation-error";
}
