import crypto from "node:crypto";
import { z } from "zod";
import { buildEchoText, type EchoInput } from "./echo-reply";
import { estimateTokenCount, limitChunksToTokens, splitIntoTokenChunks } from "./token-chunks";

/**
 * What a fake answers:
 * - `echo` (default): a text stating exactly what it received (see `echo-reply.ts`);
 * - `replay`: the real recorded stream of that provider (see `fixtures/SOURCES.md`);
 * - `{ text }`: this fixed text;
 * - `{ toolCall: { name, arguments, text? } }`: a call of the tool `name` (which the request must
 *   declare, as a real model only calls the tools it was given), after `text` when there is some,
 *   in the provider's own tool-call wire format.
 */
export const replyModeSchema = z.union([
  z.literal("echo"),
  z.literal("replay"),
  z.strictObject({ text: z.string() }),
  z.strictObject({
    toolCall: z.strictObject({ name: z.string().min(1), arguments: z.record(z.string(), z.unknown()), text: z.string().optional() }),
  }),
]);

export type ReplyMode = z.infer<typeof replyModeSchema>;

/** The modes that compute an answer (`replay` is handled by each fake). */
export type ComputedReplyMode = Exclude<ReplyMode, "replay">;

/** The answer text for the modes that compute one (a tool call's text is what comes before the call). */
export function replyTextFor(mode: ComputedReplyMode, echoInput: EchoInput): string {
  if (mode === "echo") return buildEchoText(echoInput);
  return "text" in mode ? mode.text : (mode.toolCall.text ?? "");
}

/** A tool call a fake answers with. */
export interface AnswerToolCall {
  /** In the provider's own style (`toolu_…`, `call_…`); Ollama sends none. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  /** The arguments as JSON text, split the way providers stream them. */
  argumentChunks: string[];
}

/** A computed answer, split into the deltas it is streamed in. */
export interface Answer {
  chunks: string[];
  text: string;
  /** Set when the answer ends with a tool call. */
  toolCall: AnswerToolCall | undefined;
  outputTokens: number;
  /** The output limit of the request (`max_tokens`, `num_predict`) cut it short. */
  isTruncated: boolean;
}

export function composeAnswer(
  mode: ComputedReplyMode,
  echoInput: EchoInput,
  maxTokens: number | undefined,
  toolCallIdPrefix = "call_",
): Answer {
  const { chunks, isTruncated } = limitChunksToTokens(splitIntoTokenChunks(replyTextFor(mode, echoInput)), maxTokens);
  const text = chunks.join("");
  const toolCall = typeof mode === "object" && "toolCall" in mode && !isTruncated ? toolCallOf(mode.toolCall, toolCallIdPrefix) : undefined;
  const argumentsText = toolCall === undefined ? "" : JSON.stringify(toolCall.arguments);
  return { chunks, text, toolCall, outputTokens: estimateTokenCount(text + argumentsText), isTruncated };
}

function toolCallOf(call: { name: string; arguments: Record<string, unknown> }, idPrefix: string): AnswerToolCall {
  const json = JSON.stringify(call.arguments);
  // providers stream tool arguments in short pieces that split keys and values anywhere
  const argumentChunks = json.match(/[\s\S]{1,7}/g) ?? [];
  return { id: `${idPrefix}${crypto.randomBytes(12).toString("base64url")}`, name: call.name, arguments: call.arguments, argumentChunks };
}
