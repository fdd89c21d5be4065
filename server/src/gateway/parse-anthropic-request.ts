import { z } from "zod";
import type { ChatContentPart, ChatToolChoice, ChatToolDefinition, ChatTurn } from "../providers/chat-provider";
import { textOfParts } from "../providers/chat-provider";
import type { GatewayChatRequest } from "./gateway-chat-request";
import { invalidRequest } from "./gateway-error";
import { firstIssue } from "./first-issue";

/**
 * The fields of an Anthropic Messages request the gateway reads (docs/gateway.md#anthropic-messages).
 * Unknown fields, `metadata`, `cache_control` on blocks and `thinking` are ignored (the answer then
 * comes without thinking blocks); earlier thinking blocks are dropped (only the model that wrote them
 * could read them back). Images, documents and server tools are refused with a 400.
 */
const blockSchema = z.looseObject({ type: z.string() });

const requestSchema = z.object({
  model: z.string().min(1).max(300),
  max_tokens: z.number().int().min(1),
  messages: z.array(z.object({ role: z.enum(["user", "assistant"]), content: z.union([z.string(), z.array(blockSchema)]) })).min(1),
  system: z.union([z.string(), z.array(blockSchema)]).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stop_sequences: z.array(z.string()).max(16).optional(),
  tools: z
    .array(blockSchema.extend({ type: z.string().optional() }))
    .max(512)
    .optional(),
  tool_choice: z
    .object({
      type: z.enum(["auto", "any", "tool", "none"]),
      name: z.string().optional(),
      disable_parallel_tool_use: z.boolean().optional(),
    })
    .optional(),
});

/** An Anthropic Messages request as the provider-neutral request (throws a GatewayError 400 on bad input). */
export function parseAnthropicMessagesRequest(body: unknown): GatewayChatRequest {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidRequest("The body must be a JSON object (send it as application/json)");
  }
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    throw invalidRequest(issue.message, issue.param);
  }
  const request = parsed.data;
  // tool_use id → tool name, so a tool result can name its tool (Ollama wants the name)
  const toolNames = new Map<string, string>();
  const turns = request.messages.map((message, index): ChatTurn => {
    if (typeof message.content === "string") return { role: message.role, content: message.content, messageIds: [] };
    const parts = message.content.flatMap((block, blockIndex) =>
      partsOf(block, `messages.${index}.content.${blockIndex}`, message.role, toolNames),
    );
    if (parts.every((part) => part.type === "text")) return { role: message.role, content: textOfParts(parts), messageIds: [] };
    return { role: message.role, content: textOfParts(parts), parts, messageIds: [] };
  });
  const choice = request.tool_choice;
  const sampling = {
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.top_p === undefined ? {} : { topP: request.top_p }),
    ...(request.stop_sequences === undefined || request.stop_sequences.length === 0 ? {} : { stopSequences: request.stop_sequences }),
  };
  return {
    modelId: request.model,
    system: systemOf(request.system),
    turns,
    maxOutputTokens: request.max_tokens,
    tools: toolsOf(request.tools),
    toolChoice: toolChoiceOf(choice, request.tools),
    allowParallelToolCalls: choice?.disable_parallel_tool_use === true ? false : undefined,
    sampling: Object.keys(sampling).length === 0 ? undefined : sampling,
    isStream: request.stream === true,
  };
}

function partsOf(
  block: { type: string; [key: string]: unknown },
  param: string,
  role: "user" | "assistant",
  toolNames: Map<string, string>,
): ChatContentPart[] {
  switch (block.type) {
    case "text":
      if (typeof block.text !== "string") throw invalidRequest(`${param}.text: required`, `${param}.text`);
      return [{ type: "text", text: block.text }];
    case "tool_use": {
      if (role !== "assistant") throw invalidRequest(`${param}: tool_use blocks belong to assistant messages`, param);
      if (typeof block.id !== "string" || block.id === "" || typeof block.name !== "string" || block.name === "") {
        throw invalidRequest(`${param}: a tool_use block needs an id and a name`, param);
      }
      const input = block.input ?? {};
      if (typeof input !== "object" || input === null || Array.isArray(input))
        throw invalidRequest(`${param}.input: must be an object`, `${param}.input`);
      toolNames.set(block.id, block.name);
      return [{ type: "tool-call", toolCallId: block.id, toolName: block.name, input: input as Record<string, unknown> }];
    }
    case "tool_result": {
      if (role !== "user") throw invalidRequest(`${param}: tool_result blocks belong to user messages`, param);
      if (typeof block.tool_use_id !== "string" || block.tool_use_id === "")
        throw invalidRequest(`${param}.tool_use_id: required`, `${param}.tool_use_id`);
      return [
        {
          type: "tool-result",
          toolCallId: block.tool_use_id,
          toolName: toolNames.get(block.tool_use_id),
          output: toolResultText(block.content, `${param}.content`),
          isError: block.is_error === true,
        },
      ];
    }
    case "thinking":
    case "redacted_thinking":
      // only the model that wrote a thinking block can read it back; no other provider takes one
      return [];
    case "image":
    case "document":
      throw invalidRequest(`${param}: ${block.type} blocks are not supported by the gateway yet; send text`, param);
    default:
      throw invalidRequest(`${param}.type: "${block.type}" blocks are not supported by the gateway`, `${param}.type`);
  }
}

/** A tool result's content: a string, or text blocks (joined). */
function toolResultText(content: unknown, param: string): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw invalidRequest(`${param}: must be a string or a list of blocks`, param);
  return content
    .map((block: unknown, index) => {
      const entry = block as { type?: unknown; text?: unknown };
      if (entry?.type === "text" && typeof entry.text === "string") return entry.text;
      throw invalidRequest(`${param}.${index}: only text blocks are supported in a tool result`, `${param}.${index}`);
    })
    .join("\n");
}

function systemOf(system: string | Array<{ type: string; [key: string]: unknown }> | undefined): string | undefined {
  if (system === undefined) return undefined;
  if (typeof system === "string") return system;
  return system
    .map((block, index) => {
      if (block.type === "text" && typeof block.text === "string") return block.text;
      throw invalidRequest(`system.${index}: only text blocks are supported`, `system.${index}`);
    })
    .join("\n\n");
}

function toolsOf(tools: Array<{ type?: string; [key: string]: unknown }> | undefined): ChatToolDefinition[] | undefined {
  if (tools === undefined || tools.length === 0) return undefined;
  return tools.map((tool, index) => {
    // Anthropic's own server tools (web search, code execution, …) carry a versioned type; other providers have none
    if (tool.type !== undefined && tool.type !== "custom") {
      throw invalidRequest(
        `tools.${index}.type: "${tool.type}" tools run on Anthropic's side and are not supported by the gateway`,
        `tools.${index}.type`,
      );
    }
    if (typeof tool.name !== "string" || tool.name === "") throw invalidRequest(`tools.${index}.name: required`, `tools.${index}.name`);
    const schema = tool.input_schema;
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
      throw invalidRequest(`tools.${index}.input_schema: required`, `tools.${index}.input_schema`);
    }
    return {
      name: tool.name,
      description: typeof tool.description === "string" ? tool.description : undefined,
      inputSchema: schema as Record<string, unknown>,
    };
  });
}

function toolChoiceOf(
  choice: z.infer<typeof requestSchema>["tool_choice"],
  tools: Array<{ [key: string]: unknown }> | undefined,
): ChatToolChoice | undefined {
  if (choice === undefined) return undefined;
  switch (choice.type) {
    case "auto":
      return { type: "auto" };
    case "none":
      return { type: "none" };
    case "any":
      if (tools === undefined || tools.length === 0) throw invalidRequest('tool_choice: "any" needs tools', "tool_choice");
      return { type: "required" };
    case "tool":
      if (choice.name === undefined || !(tools ?? []).some((tool) => tool.name === choice.name)) {
        throw invalidRequest(`tool_choice.name: no tool named "${choice.name ?? ""}" among the tools`, "tool_choice.name");
      }
      return { type: "tool", toolName: choice.name };
  }
}
