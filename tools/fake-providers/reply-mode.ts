import { z } from "zod";
import { buildEchoText, type EchoInput } from "./echo-reply";
import { estimateTokenCount, limitChunksToTokens, splitIntoTokenChunks } from "./token-chunks";

/**
 * What a fake answers:
 * - `echo` (default): a text stating exactly what it received (see `echo-reply.ts`);
 * - `replay`: the real recorded stream of that provider (see `fixtures/SOURCES.md`);
 * - `{ text }`: this fixed text.
 */
export const replyModeSchema = z.union([z.literal("echo"), z.literal("replay"), z.strictObject({ text: z.string() })]);

export type ReplyMode = z.infer<typeof replyModeSchema>;

/** The answer text for the modes that compute one (`replay` is handled by each fake). */
export function replyTextFor(mode: Exclude<ReplyMode, "replay">, echoInput: EchoInput): string {
  return mode === "echo" ? buildEchoText(echoInput) : mode.text;
}

/** A computed answer, split into the deltas it is streamed in. */
export interface Answer {
  chunks: string[];
  text: string;
  outputTokens: number;
  /** The output limit of the request (`max_tokens`, `num_predict`) cut it short. */
  isTruncated: boolean;
}

export function composeAnswer(mode: Exclude<ReplyMode, "replay">, echoInput: EchoInput, maxTokens: number | undefined): Answer {
  const { chunks, isTruncated } = limitChunksToTokens(splitIntoTokenChunks(replyTextFor(mode, echoInput)), maxTokens);
  const text = chunks.join("");
  return { chunks, text, outputTokens: estimateTokenCount(text), isTruncated };
}
