import type { FinishReason } from "../../../protocol/http/conversations";
import type { ChatStreamEvent } from "../providers/chat-provider";

/** A piece of a finished answer, in order: text, or a tool call with its arguments as JSON text. */
export type AnswerBlock =
  { type: "text"; text: string } | { type: "tool-call"; toolCallId: string; toolName: string; argumentsText: string };

export interface AnswerFinish {
  finishReason: FinishReason;
  finishReasonRaw: string | undefined;
}

export interface CollectedAnswer {
  blocks: AnswerBlock[];
  finish: AnswerFinish | undefined;
}

/** A whole answer from its events, for clients that did not ask for a stream. */
export async function collectAnswer(events: AsyncIterable<ChatStreamEvent>): Promise<CollectedAnswer> {
  const blocks: AnswerBlock[] = [];
  const toolCalls = new Map<string, Extract<AnswerBlock, { type: "tool-call" }>>();
  let finish: AnswerFinish | undefined;
  for await (const event of events) {
    switch (event.type) {
      case "text-delta": {
        const last = blocks[blocks.length - 1];
        if (last?.type === "text") last.text += event.text;
        else blocks.push({ type: "text", text: event.text });
        break;
      }
      case "tool-call-start": {
        const block = { type: "tool-call" as const, toolCallId: event.toolCallId, toolName: event.toolName, argumentsText: "" };
        toolCalls.set(event.toolCallId, block);
        blocks.push(block);
        break;
      }
      case "tool-call-delta": {
        const block = toolCalls.get(event.toolCallId);
        if (block) block.argumentsText += event.argumentsDelta;
        break;
      }
      case "finish":
        finish = { finishReason: event.finishReason, finishReasonRaw: event.finishReasonRaw };
        break;
      case "usage":
        break;
    }
  }
  return { blocks, finish };
}

/** A tool call's arguments as an object (what Anthropic's `input` is); a model's malformed JSON becomes {}. */
export function argumentsObject(argumentsText: string): Record<string, unknown> {
  if (argumentsText.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(argumentsText);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
