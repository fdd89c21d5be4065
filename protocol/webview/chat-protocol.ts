import { z } from "zod";
import { attachmentInputSchema, ATTACHMENTS_PER_MESSAGE_MAX } from "../http/attachments";
import { messageSchema } from "../http/conversations";
import { FIND_QUERY_MAX_CHARACTERS, findInConversationResponseSchema } from "../http/search";
import type { HostToWebviewEnvelope as Envelope } from "./envelope";

/**
 * Webview ⇄ extension host messages of the chat view, defined once and compiled into both sides.
 * - requests: the webview asks, the host answers (matched by id), e.g. sending a message;
 * - commands: the webview tells the host to do something, no answer;
 * - notifications: the host tells the webview something changed.
 * The host validates everything the webview sends. The webview never holds a token or touches the
 * network: every server call goes through the host. Messages to a hidden webview are dropped by
 * VS Code, so after the view becomes visible again the host sends a full `state/snapshot`.
 */

export const chatModelSchema = z.object({
  id: z.string(),
  label: z.string(),
  provider: z.string(),
  contextWindow: z.number().int().nullable(),
});
export type ChatModel = z.infer<typeof chatModelSchema>;

export const chatConversationSchema = z.object({
  id: z.string(),
  title: z.string(),
  modelId: z.string().nullable(),
});

export const connectionStateSchema = z.enum(["signed-out", "connecting", "ready", "needs-sign-in", "incompatible-server", "offline"]);
export type ConnectionState = z.infer<typeof connectionStateSchema>;

/** What a button in the chat can ask the host to do: sign in, reconnect, open the settings or (admins) Team Settings. */
export const hostCommandSchema = z.enum(["signIn", "retryConnection", "openSettings", "openTeamSettings"]);

export const bannerSchema = z.object({
  kind: z.enum(["error", "warning", "info"]),
  message: z.string(),
  /** A host command the banner's button runs, e.g. sign in again. */
  action: z.object({ label: z.string(), command: hostCommandSchema }).optional(),
});
export type Banner = z.infer<typeof bannerSchema>;

/**
 * A compare in progress or just finished: the question and its answers from 2–4 models, side by
 * side, until one is chosen ("Continue with this one") or the conversation changes.
 */
export const chatCompareSchema = z.object({
  questionId: z.string(),
  /** In the order the models were asked; the first is the branch in view until another is chosen. */
  messages: z.array(messageSchema),
});
export type ChatCompare = z.infer<typeof chatCompareSchema>;

/** Everything the view shows; sent on ready, when the view becomes visible again, and on conversation switches. */
export const chatSnapshotSchema = z.object({
  connection: connectionStateSchema,
  userName: z.string().nullable(),
  conversation: chatConversationSchema.nullable(),
  /** The newest page of the open conversation's current branch, oldest first; older pages via messages/loadOlder. */
  messages: z.array(messageSchema),
  /** Cursor for the page before `messages` (null: they start at the root). */
  olderCursor: z.string().nullable(),
  /** How many messages the current branch has in all (for the scrollbar and "N older messages"). */
  branchMessageCount: z.number().int().min(0),
  activeModel: chatModelSchema.nullable(),
  banner: bannerSchema.nullable(),
  /** The models the user can pick, so answers are labelled with the names the picker shows (absent: labels come from ids). */
  models: z.array(chatModelSchema).optional(),
  /** Whether the user is an admin: the view then offers Team Settings where members are told to ask their admin. */
  isAdmin: z.boolean().optional(),
  /** The compare shown side by side, if one is open. */
  compare: chatCompareSchema.nullable().optional(),
});
export type ChatSnapshot = z.infer<typeof chatSnapshotSchema>;

/** A context chip in the composer: a file or a selection, its text, and its size in tokens (as the server estimates). */
export const composerAttachmentSchema = z.object({
  attachment: attachmentInputSchema,
  tokenEstimate: z.number().int().min(0),
});
export type ComposerAttachment = z.infer<typeof composerAttachmentSchema>;

/** A workspace file the `@` picker offers. */
export const workspaceFileSchema = z.object({
  /** Relative to its workspace folder, as attachments name it. */
  path: z.string(),
});

export const codeBlockSchema = z.object({
  code: z.string().max(2_000_000),
  language: z.string().max(64).optional(),
});

export const chatRequests = {
  /** Sends the composer's text in the open conversation (creating one if none is open). */
  "message/send": {
    params: z.object({
      content: z.string().min(1).max(200_000),
      /** The composer's context chips: stored with the message and sent with it. */
      attachments: z.array(attachmentInputSchema).max(ATTACHMENTS_PER_MESSAGE_MAX).optional(),
    }),
    result: z.object({ conversationId: z.string(), assistantMessageId: z.string() }),
  },
  /** Re-runs a failed or finished answer (optionally on another model). */
  "message/retry": {
    params: z.object({ messageId: z.string().max(100), modelId: z.string().max(300).optional() }),
    result: z.object({ assistantMessageId: z.string() }),
  },
  /** Compare…: the host asks which 2–4 models (a quick pick), then sends the composer's text to all of them; null when cancelled. */
  "message/compare": {
    params: z.object({
      content: z.string().min(1).max(200_000),
      attachments: z.array(attachmentInputSchema).max(ATTACHMENTS_PER_MESSAGE_MAX).optional(),
    }),
    result: z.object({ conversationId: z.string(), assistantMessageIds: z.array(z.string()) }).nullable(),
  },
  /** "Continue with this one" in a compare: that answer becomes the branch in view (a snapshot follows). */
  "compare/continue": {
    params: z.object({ messageId: z.string().max(100) }),
    result: z.object({}),
  },
  /** The `@` picker: workspace files whose path matches the query (fuzzy), respecting files.exclude and .gitignore. */
  "files/find": {
    params: z.object({ query: z.string().max(300) }),
    result: z.object({ files: z.array(workspaceFileSchema) }),
  },
  /** A file picked with `@`: the host reads it (text only, within the size limit) and answers its chip. */
  "files/attach": {
    params: z.object({ path: z.string().min(1).max(1000) }),
    result: composerAttachmentSchema,
  },
  /** "Rerun with…" on an answer: the host asks which model (a quick pick), then reruns it; null when the pick was cancelled. */
  "message/rerunWith": {
    params: z.object({ messageId: z.string().max(100) }),
    result: z.object({ assistantMessageId: z.string().nullable() }),
  },
  /** Edit on a question: the changed text is sent as a sibling of it (a new branch), with a fresh answer. */
  "message/edit": {
    params: z.object({ messageId: z.string().max(100), content: z.string().min(1).max(200_000) }),
    result: z.object({ conversationId: z.string(), assistantMessageId: z.string() }),
  },
  /** The sibling navigator (‹ 2/3 ›): the branch of the previous or next sibling comes into view (a snapshot follows). */
  "branch/switch": {
    params: z.object({ messageId: z.string().max(100), direction: z.enum(["previous", "next"]) }),
    result: z.object({ messageId: z.string().nullable() }),
  },
  /** The page of the open conversation's branch before the one the view holds (scrolling up). */
  "messages/loadOlder": {
    params: z.object({ conversationId: z.string().max(100), cursor: z.string().max(200) }),
    result: z.object({ messages: z.array(messageSchema), olderCursor: z.string().nullable() }),
  },
  /** Opens a conversation in this view (also used to restore the last one after a reload). */
  "conversation/open": {
    params: z.object({ conversationId: z.string().max(100) }),
    result: chatSnapshotSchema,
  },
  /** The find bar: where a text occurs on the open conversation's current branch, also in pages not loaded. */
  "find/inBranch": {
    params: z.object({ conversationId: z.string().max(100), query: z.string().min(1).max(FIND_QUERY_MAX_CHARACTERS) }),
    result: findInConversationResponseSchema,
  },
} as const;

export const chatCommands = {
  /** The webview's script is running and listening: the host answers with a snapshot. */
  "webview/ready": z.object({ restoredConversationId: z.string().max(100).nullable() }),
  "generation/stop": z.object({ messageId: z.string().max(100) }),
  "conversation/new": z.object({}),
  "model/pick": z.object({}),
  "host/run": z.object({ command: hostCommandSchema }),
  "code/copy": codeBlockSchema,
  "code/insert": codeBlockSchema,
  "code/open": codeBlockSchema,
  /** "Show Context" on an answer: the host opens what that answer's request carried in an editor tab. */
  "context/show": z.object({ messageId: z.string().max(100) }),
  /** A file, selection or image sent with a question: the host opens it, as stored, in a read-only editor tab. */
  "attachment/open": z.object({ messageId: z.string().max(100), attachmentId: z.string().max(100), path: z.string().max(1000) }),
  /** A link in an answer: the host opens it (http/https only) after VS Code's own confirmation. */
  "link/open": z.object({ href: z.string().max(4096) }),
} as const;

export const chatNotifications = {
  "state/snapshot": chatSnapshotSchema,
  /** New messages of the open conversation (the user's and the answer being generated). */
  "messages/appended": z.object({ conversationId: z.string(), messages: z.array(messageSchema) }),
  /** Text that arrived for a streaming answer since the last delta, batched (~every 40 ms). */
  "stream/delta": z.object({ messageId: z.string(), text: z.string() }),
  /** An answer is waiting for its context to be prepared (older messages being summarised); null when that is over. */
  "stream/status": z.object({
    messageId: z.string(),
    status: z.object({ phase: z.literal("summarising"), messageCount: z.number().int() }).nullable(),
  }),
  /** A message's final (or updated) state: complete, stopped, error, interrupted. */
  "message/updated": z.object({ message: messageSchema }),
  /** The model of the next answer, and (when it changed) the models the user can pick. */
  "model/changed": z.object({ activeModel: chatModelSchema.nullable(), models: z.array(chatModelSchema).optional() }),
  "banner/show": z.object({ banner: bannerSchema.nullable() }),
  /** Put text into the composer (e.g. a selection sent with "Send Selection to Model" and no instruction). */
  "composer/focus": z.object({ appendText: z.string().optional() }),
  /** Scroll to a message of the open conversation and mark it (a search result was opened). */
  "message/reveal": z.object({ conversationId: z.string(), messageId: z.string() }),
  /** A context chip for the composer ("Add File to Chat", a selection sent without sending). */
  "composer/attach": composerAttachmentSchema,
  /** A compare opened (its answers start streaming) or closed (null). */
  "compare/shown": z.object({ compare: chatCompareSchema.nullable() }),
  /** Open the find bar (the Find in Chat command). */
  "find/open": z.object({}),
} as const;

export type ChatRequestName = keyof typeof chatRequests;
export type ChatRequestParams<Name extends ChatRequestName> = z.infer<(typeof chatRequests)[Name]["params"]>;
export type ChatRequestResult<Name extends ChatRequestName> = z.infer<(typeof chatRequests)[Name]["result"]>;
export type ChatCommandName = keyof typeof chatCommands;
export type ChatCommandParams<Name extends ChatCommandName> = z.infer<(typeof chatCommands)[Name]>;
export type ChatNotificationName = keyof typeof chatNotifications;
export type ChatNotificationParams<Name extends ChatNotificationName> = z.infer<(typeof chatNotifications)[Name]>;

/** The envelopes on the wire (postMessage): one definition for every view, in envelope.ts. */
export { hostToWebviewSchema, webviewToHostSchema, type WebviewToHostEnvelope } from "./envelope";
export type HostToWebviewEnvelope = Envelope<ChatNotificationName>;

/** Saved with getState/setState; versioned so an older saved shape is dropped, not misread. */
export const CHAT_VIEW_STATE_VERSION = 1;
export const chatViewStateSchema = z.object({
  version: z.literal(CHAT_VIEW_STATE_VERSION),
  draft: z.string(),
  scrollTop: z.number(),
  /** Whether the list was scrolled to the bottom (then it follows new text). */
  isPinnedToBottom: z.boolean(),
  conversationId: z.string().nullable(),
  /**
   * The message at the top of the viewport and how far it was scrolled past. The list is virtualised:
   * messages not rendered yet count with estimated heights, and older pages load on demand, so a raw
   * scrollTop lands elsewhere after a reload; the anchor puts the same message back at the same place
   * (the view loads older pages until it has that message).
   */
  scrollAnchor: z
    .object({ messageId: z.string().max(100), offsetPx: z.number() })
    .nullable()
    .optional(),
});
export type ChatViewState = z.infer<typeof chatViewStateSchema>;

/** Parses one incoming envelope's params against the named schema; returns undefined for unknown names. */
export function parseCommand(method: string, params: unknown): { method: ChatCommandName; params: unknown } | undefined {
  if (!Object.hasOwn(chatCommands, method)) return undefined;
  const name = method as ChatCommandName;
  return { method: name, params: chatCommands[name].parse(params) };
}
