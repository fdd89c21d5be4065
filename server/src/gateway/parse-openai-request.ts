import { z } from "zod";
import type { ChatContentPart, ChatToolChoice, ChatToolDefinition, ChatTurn } from "../providers/chat-provider";
import { textOfParts } from "../providers/chat-provider";
import type { GatewayChatRequest } from "./gateway-chat-request";
import { invalidRequest } from "./gateway-error";
import { firstIssue } from "./first-issue";

/**
 * The fields of an OpenAI chat completion request the gateway reads (docs/gateway.md#openai-chat-completions).
 * Unknown fields are ignored, as by OpenAI-compatible servers generally; fields that would change the
 * answer in a way we cannot honour (several choices, a response format, log probabilities, audio) are refused.
 */
const contentPartSchema = z.looseObject({ type: z.string() });
const contentSchema = z.union([z.string(), z.array(contentPartSchema)]);

const toolCallSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.literal("function").optional(),
  function: z.object({ name: z.string().min(1).max(200), arguments: z.string() }),
});

const messageSchema = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: contentSchema }),
  z.object({ role: z.literal("developer"), content: contentSchema }),
  z.object({ role: z.literal("user"), content: contentSchema }),
  z.object({
    role: z.literal("assistant"),
    content: contentSchema.nullable().optional(),
    tool_calls: z.array(toolCallSchema).optional(),
    function_call: z.unknown().optional(),
  }),
  z.object({ role: z.literal("tool"), tool_call_id: z.string().min(1).max(200), content: contentSchema }),
  z.object({ role: z.literal("function") }),
]);

const toolSchema = z.object({
  type: z.string(),
  function: z
    .object({
      name: z.string().min(1).max(200),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});

const requestSchema = z.object({
  model: z.string().min(1).max(300),
  messages: z.array(messageSchema).min(1),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(16)])
    .nullable()
    .optional(),
  n: z.number().int().nullable().optional(),
  tools: z.array(toolSchema).max(512).optional(),
  tool_choice: z
    .union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) })])
    .optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: z.object({ type: z.string() }).loose().nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  modalities: z.array(z.string()).nullable().optional(),
  functions: z.unknown().optional(),
  function_call: z.unknown().optional(),
});

export interface OpenAiChatRequest extends GatewayChatRequest {
  /** `stream_options.include_usage`: a last chunk with the usage (and `usage: null` on the others). */
  includeUsage: boolean;
}

/** An OpenAI chat completion request as the provider-neutral request (throws a GatewayError 400 on bad input). */
export function parseOpenAiChatRequest(body: unknown): OpenAiChatRequest {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidRequest("The body must be a JSON object (send it as application/json)");
  }
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    throw invalidRequest(issue.message, issue.param);
  }
  const request = parsed.data;
  refuseWhatCannotBeHonoured(request);

  const systemTexts: string[] = [];
  const turns: ChatTurn[] = [];
  // tool call id → tool name, so a tool message can name its tool (Ollama wants the name)
  const toolNames = new Map<string, string>();
  for (const [index, message] of request.messages.entries()) {
    const at = `messages[${index}]`;
    switch (message.role) {
      case "system":
      case "developer":
        // the neutral shape has one system prompt: every system message joins it, in order
        systemTexts.push(textOf(message.content, `${at}.content`));
        break;
      case "user":
        turns.push({ role: "user", content: textOf(message.content, `${at}.content`), messageIds: [] });
        break;
      case "assistant": {
        if (message.function_call !== undefined && message.function_call !== null) {
          throw invalidRequest(`${at}.function_call: the deprecated function_call is not supported; use tool_calls`, `${at}.function_call`);
        }
        const parts: ChatContentPart[] = [];
        const text = message.content === null || message.content === undefined ? "" : textOf(message.content, `${at}.content`, true);
        if (text !== "") parts.push({ type: "text", text });
        for (const [callIndex, call] of (message.tool_calls ?? []).entries()) {
          toolNames.set(call.id, call.function.name);
          parts.push({
            type: "tool-call",
            toolCallId: call.id,
            toolName: call.function.name,
            input: parseArguments(call.function.arguments, `${at}.tool_calls[${callIndex}].function.arguments`),
          });
        }
        turns.push(
          parts.every((part) => part.type === "text")
            ? { role: "assistant", content: text, messageIds: [] }
            : { role: "assistant", content: textOfParts(parts), parts, messageIds: [] },
        );
        break;
      }
      case "tool":
        turns.push({
          role: "user",
          content: "",
          parts: [
            {
              type: "tool-result",
              toolCallId: message.tool_call_id,
              toolName: toolNames.get(message.tool_call_id),
              output: textOf(message.content, `${at}.content`),
              isError: false,
            },
          ],
          messageIds: [],
        });
        break;
      case "function":
        throw invalidRequest(`${at}.role: the deprecated "function" role is not supported; use "tool"`, `${at}.role`);
    }
  }

  const stop =
    request.stop === null || request.stop === undefined ? undefined : typeof request.stop === "string" ? [request.stop] : request.stop;
  const sampling = {
    ...(request.temperature === null || request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.top_p === null || request.top_p === undefined ? {} : { topP: request.top_p }),
    ...(stop === undefined || stop.length === 0 ? {} : { stopSequences: stop }),
  };
  return {
    modelId: request.model,
    system: systemTexts.length === 0 ? undefined : systemTexts.join("\n\n"),
    turns,
    maxOutputTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    tools: toolsOf(request.tools),
    toolChoice: toolChoiceOf(request.tool_choice, request.tools),
    allowParallelToolCalls: request.parallel_tool_calls,
    sampling: Object.keys(sampling).length === 0 ? undefined : sampling,
    isStream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
  };
}

function refuseWhatCannotBeHonoured(request: z.infer<typeof requestSchema>): void {
  if (request.n !== null && request.n !== undefined && request.n !== 1)
    throw invalidRequest("n: only one choice (n = 1) is supported", "n");
  if (request.response_format && request.response_format.type !== "text") {
    throw invalidRequest(
      `response_format: "${request.response_format.type}" is not supported by the gateway; ask for JSON in the prompt instead`,
      "response_format",
    );
  }
  if (request.logprobs === true) throw invalidRequest("logprobs: log probabilities are not supported by the gateway", "logprobs");
  if (request.modalities && request.modalities.some((modality) => modality !== "text")) {
    throw invalidRequest("modalities: only text is supported", "modalities");
  }
  if (request.functions !== undefined || request.function_call !== undefined) {
    throw invalidRequest("functions: the deprecated functions / function_call are not supported; use tools and tool_choice", "functions");
  }
}

/**
 * A message's text: a string, or its text parts joined. Other parts are refused with a 400 that says
 * so (images come later); an assistant's `refusal` part is text it wrote.
 */
function textOf(content: string | Array<{ type: string; [key: string]: unknown }>, param: string, isAssistant = false): string {
  if (typeof content === "string") return content;
  const texts: string[] = [];
  for (const [index, part] of content.entries()) {
    if (part.type === "text" && typeof part.text === "string") texts.push(part.text);
    else if (isAssistant && part.type === "refusal" && typeof part.refusal === "string") texts.push(part.refusal);
    else if (part.type === "image_url" || part.type === "input_audio" || part.type === "file") {
      throw invalidRequest(`${param}[${index}]: ${part.type} content is not supported by the gateway yet; send text`, `${param}[${index}]`);
    } else {
      throw invalidRequest(`${param}[${index}]: a content part of type "${part.type}" needs a string "text"`, `${param}[${index}]`);
    }
  }
  return texts.join("\n");
}

/** Tool arguments are a JSON object written as a string; anything else cannot be sent on to other providers. */
function parseArguments(text: string, param: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidRequest(`${param}: not valid JSON`, param);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidRequest(`${param}: must be a JSON object`, param);
  return value as Record<string, unknown>;
}

function toolsOf(tools: z.infer<typeof toolSchema>[] | undefined): ChatToolDefinition[] | undefined {
  if (tools === undefined || tools.length === 0) return undefined;
  return tools.map((tool, index) => {
    if (tool.type !== "function" || tool.function === undefined) {
      throw invalidRequest(`tools[${index}].type: only "function" tools are supported`, `tools[${index}].type`);
    }
    return {
      name: tool.function.name,
      description: tool.function.description,
      inputSchema: tool.function.parameters ?? { type: "object", properties: {} },
    };
  });
}

function toolChoiceOf(
  choice: z.infer<typeof requestSchema>["tool_choice"],
  tools: z.infer<typeof toolSchema>[] | undefined,
): ChatToolChoice | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === "string") {
    if (choice !== "none" && (tools === undefined || tools.length === 0)) {
      throw invalidRequest(`tool_choice: "${choice}" needs tools`, "tool_choice");
    }
    return { type: choice };
  }
  if (!(tools ?? []).some((tool) => tool.function?.name === choice.function.name)) {
    throw invalidRequest(`tool_choice: no tool named "${choice.function.name}" among the tools`, "tool_choice");
  }
  return { type: "tool", toolName: choice.function.name };
}
