import { z } from "zod";
import { IMPORT_CONVERSATIONS_MAX, IMPORT_MESSAGE_MAX_CHARACTERS } from "../../../protocol/http/export";
import { TITLE_MAX_LENGTH, type FinishReason } from "../../../protocol/http/conversations";
import { AppError } from "../domain/app-error";
import { SkippedParts, type ConversationToImport, type MessageToImport } from "./conversation-import";

/**
 * ChatGPT's `conversations.json` (Settings → Data controls → Export data): an array of conversations,
 * each a tree of nodes in `mapping` (node id → { id, message | null, parent, children }), with
 * `current_node` the leaf of the branch last shown. Editing a prompt or regenerating an answer makes
 * siblings, and the tree is kept as it is.
 *
 * Imported: the user's and the assistant's visible text (`text`, and the text parts of
 * `multimodal_text`). Left out, and counted: system and tool messages, hidden messages, the
 * assistant's calls to tools (a recipient other than "all"), other content types (reasoning, code
 * runs, browsing), and attachments (images, files). A node left out is skipped over: its children
 * hang from its nearest kept ancestor, so the branches stay what they were.
 *
 * Only the fields read here are checked; the rest of each object is ignored. Bounds keep a hostile
 * file from costing more than its size.
 */

const text = (maximum: number) => z.string().max(maximum);
const seconds = z.number().finite().min(0).max(1e11).nullable().optional();

const chatGptMessageSchema = z.object({
  author: z.object({ role: text(64) }),
  create_time: seconds,
  update_time: seconds,
  content: z
    .object({
      content_type: text(64),
      parts: z.array(z.unknown()).max(10_000).nullable().optional(),
    })
    .nullable()
    .optional(),
  status: text(64).nullable().optional(),
  recipient: text(200).nullable().optional(),
  metadata: z
    .object({
      model_slug: text(200).nullable().optional(),
      is_visually_hidden_from_conversation: z.boolean().nullable().optional(),
      finish_details: z
        .object({ type: text(64).nullable().optional() })
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
});

const chatGptNodeSchema = z.object({
  message: chatGptMessageSchema.nullable().optional(),
  parent: text(200).nullable().optional(),
});

const chatGptConversationSchema = z.object({
  title: text(10_000).nullable().optional(),
  create_time: seconds,
  update_time: seconds,
  current_node: text(200).nullable().optional(),
  is_archived: z.boolean().nullable().optional(),
  mapping: z.record(text(200), chatGptNodeSchema),
});

export const chatGptExportSchema = z.array(chatGptConversationSchema).max(IMPORT_CONVERSATIONS_MAX);
export type ChatGptExport = z.infer<typeof chatGptExportSchema>;
type ChatGptConversation = z.infer<typeof chatGptConversationSchema>;
type ChatGptMessage = z.infer<typeof chatGptMessageSchema>;

/** The title a conversation without one gets. */
const UNTITLED = "Imported from ChatGPT";

export function readChatGptExport(file: ChatGptExport, now: number): { conversations: ConversationToImport[]; skipped: SkippedParts } {
  const skipped = new SkippedParts();
  const conversations: ConversationToImport[] = [];
  file.forEach((conversation, index) => {
    const read = readConversation(conversation, `conversations[${index}]`, now, skipped);
    if (read.messages.length === 0) skipped.add("conversations without any visible message");
    else conversations.push(read);
  });
  return { conversations, skipped };
}

function readConversation(conversation: ChatGptConversation, path: string, now: number, skipped: SkippedParts): ConversationToImport {
  const nodes = new Map(Object.entries(conversation.mapping));
  const createdAt = toMilliseconds(conversation.create_time) ?? now;
  const kept = new Map<string, MessageToImport>();
  const textOf = new Map<string, string>();
  for (const [key, node] of nodes) {
    const message = node.message;
    if (!message) continue; // the tree's empty root
    const content = visibleText(message, skipped);
    if (content !== undefined) textOf.set(key, content);
  }
  // Each kept node hangs from its nearest kept ancestor; a loop in the parent links is a broken file.
  // Remembered per node, so a long chain of skipped nodes is walked once (linear, whatever the file).
  const ancestors = new Map<string, string | null>();
  const keptAncestorOf = (key: string): string | null => {
    const walked: string[] = [];
    const onThisWalk = new Set<string>();
    let current = nodes.get(key)?.parent ?? null;
    let found: string | null = null;
    while (current !== null) {
      if (textOf.has(current)) {
        found = current;
        break;
      }
      const known = ancestors.get(current);
      if (known !== undefined) {
        found = known;
        break;
      }
      if (onThisWalk.has(current) || current === key)
        throw new AppError(400, "validation_failed", `${path}.mapping: the parent links form a loop`);
      onThisWalk.add(current);
      walked.push(current);
      current = nodes.get(current)?.parent ?? null;
    }
    for (const skippedNode of walked) ancestors.set(skippedNode, found);
    return found;
  };
  for (const [key, content] of textOf) {
    const message = nodes.get(key)!.message!;
    const isAnswer = message.author.role === "assistant";
    const time = toMilliseconds(message.create_time) ?? createdAt;
    const finishRaw = message.metadata?.finish_details?.type ?? null;
    const isInterrupted = finishRaw === "interrupted" || message.status === "in_progress";
    kept.set(key, {
      key,
      parentKey: keptAncestorOf(key),
      role: isAnswer ? "assistant" : "user",
      content,
      status: isAnswer && isInterrupted ? "stopped" : "complete",
      provider: null,
      modelId: isAnswer && message.metadata?.model_slug ? `chatgpt:${message.metadata.model_slug}` : null,
      inputTokens: null,
      outputTokens: null,
      timeToFirstTokenMs: null,
      durationMs: null,
      finishReason: isAnswer ? finishReasonOf(finishRaw) : null,
      finishReasonRaw: isAnswer && finishRaw !== null ? finishRaw.slice(0, 64) : null,
      error: null,
      context: null,
      costMicroUsd: null,
      attachments: [],
      createdAt: time,
      updatedAt: toMilliseconds(message.update_time) ?? time,
    });
  }
  const messages = [...kept.values()];
  const lastMessageAt = messages.reduce((latest, message) => Math.max(latest, message.createdAt), createdAt);
  const current = conversation.current_node ?? null;
  const leafKey = current === null ? null : textOf.has(current) ? current : nodes.has(current) ? keptAncestorOf(current) : null;
  const title = (conversation.title ?? "").replace(/\s+/g, " ").trim().slice(0, TITLE_MAX_LENGTH).trim() || UNTITLED;
  return {
    title,
    modelId: null,
    isPinned: false,
    isArchived: conversation.is_archived === true,
    workspaceHint: null,
    createdAt,
    updatedAt: toMilliseconds(conversation.update_time) ?? lastMessageAt,
    lastMessageAt,
    leafKey,
    systemPrompt: null,
    temperature: null,
    maxOutputTokens: null,
    messages,
    summaries: [],
    path,
  };
}

/** The text of a message a person saw, or undefined (counted in `skipped`) when it is not imported. */
function visibleText(message: ChatGptMessage, skipped: SkippedParts): string | undefined {
  const role = message.author.role;
  if (role === "system") return skip(skipped, "system messages (ChatGPT's instructions and context)");
  if (role === "tool") return skip(skipped, "tool messages (ChatGPT's browsing, code runs and plugins)");
  if (role !== "user" && role !== "assistant") return skip(skipped, `messages from "${role.slice(0, 40)}"`);
  if (message.metadata?.is_visually_hidden_from_conversation) return skip(skipped, "hidden messages");
  if (role === "assistant" && message.recipient && message.recipient !== "all") return skip(skipped, "the assistant's calls to tools");
  const type = message.content?.content_type ?? "none";
  if (type !== "text" && type !== "multimodal_text") return skip(skipped, `"${type.slice(0, 40)}" content (not plain text)`);
  const parts = message.content?.parts ?? [];
  const texts = parts.filter((part): part is string => typeof part === "string");
  skipped.add("attachments (images, files, audio)", parts.length - texts.length);
  const joined = texts.join("\n\n").trim();
  if (joined === "") return skip(skipped, "messages without text");
  if (joined.length > IMPORT_MESSAGE_MAX_CHARACTERS) {
    throw new AppError(
      413,
      "payload_too_large",
      `A message is longer than ${IMPORT_MESSAGE_MAX_CHARACTERS.toLocaleString("en")} characters`,
    );
  }
  return joined;
}

function skip(skipped: SkippedParts, reason: string): undefined {
  skipped.add(reason);
  return undefined;
}

function finishReasonOf(type: string | null): FinishReason | null {
  if (type === null) return null;
  if (type === "stop") return "stop";
  if (type === "max_tokens") return "length";
  return "other";
}

function toMilliseconds(value: number | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Math.round(value * 1000);
}
