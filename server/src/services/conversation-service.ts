import crypto from "node:crypto";
import type { Knex } from "knex";
import type {
  ContextRecord,
  Conversation,
  ConversationDetailResponse,
  ConversationListQuery,
  ConversationListResponse,
  FinishReason,
  Message,
  MessagePageQuery,
  MessagePageResponse,
  MessageSiblingPosition,
  MessageStatus,
} from "../../../protocol/http/conversations";
import type { SetLeafResponse } from "../../../protocol/http/conversation-leaf";
import type { ErrorCode } from "../../../protocol/http/error-codes";
import type { ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import {
  answersLockKey,
  ConversationRepository,
  markStreamingMessagesInterrupted,
  toConversation,
  toMessage,
  type ContextWalkRow,
  type ConversationListPosition,
  type MessageChanges,
  type MessageRow,
  type StoredConversationSettings,
  type StoredSummary,
  type SummaryKey,
} from "../storage/conversation-repository";
import { isPostgres } from "../storage/database";
import { GroupedWrites } from "../storage/grouped-writes";
import { toAttachmentRows } from "./attachment-rows";
import { SummaryRepository, type NewSummary } from "../storage/summary-repository";
import { SystemPromptRepository } from "../storage/system-prompt-repository";
import { AttachmentRepository, toAttachment, toAttachmentContent, type AttachmentContent } from "../storage/attachment-repository";
import type { AttachmentInput } from "../../../protocol/http/attachments";
import { BUILT_IN_SETTINGS, estimateQuestionTokens, type BranchMessage, type ConversationSettings } from "./context-builder";
import type { ServiceContext } from "./service-context";
import { decodeImageAttachment } from "./decode-image-attachment";
import { estimateMessageTokens } from "./token-estimate";

export const DEFAULT_CONVERSATION_TITLE = "New conversation";
/** Titles taken from a first message are cut here (at a word boundary when there is one). */
export const DERIVED_TITLE_MAX_LENGTH = 60;

/** What PATCH /conversations/:id may change (validated by the protocol's schema). */
export interface ConversationChangesRequest {
  title?: string;
  modelId?: string;
  isPinned?: boolean;
  isArchived?: boolean;
  workspaceHint?: string | null;
  /** The conversation's own system prompt (stored once by its hash); null: the owner's default. */
  systemPrompt?: string | null;
  temperature?: number | null;
  maxOutputTokens?: number | null;
}

/** A new conversation: its title, model, folder, and what it starts with (from a preset, or given). */
export interface NewConversationRequest {
  title?: string;
  modelId?: string;
  workspaceHint?: string;
  /** A prompt text (stored here), or the id of one already stored (a preset's); the text wins. */
  systemPrompt?: string | null;
  systemPromptId?: string | null;
  temperature?: number | null;
  maxOutputTokens?: number | null;
}

/** What the generation service needs to open an answer: who answers. */
export interface AnswerOrigin {
  provider: ProviderKind;
  modelId: string;
}

export interface AppendExchangeRequest {
  content: string;
  /** undefined: under the conversation's leaf; null: a new root (editing the first message); else that message. */
  parentId: string | null | undefined;
  /** Files and selections stored with the question (their own table) and sent with it. */
  attachments?: readonly AttachmentInput[];
}

export interface AppendedExchange {
  conversation: Conversation;
  userMessage: Message;
  assistantMessage: Message;
  /** A compare's other answers (siblings of `assistantMessage`), in the order asked. */
  compareMessages?: Message[];
}

/** What the generation service decides inside a send's transaction (it must not query the database). */
export interface ExchangeDecisions {
  /**
   * Called once the conversation is known to be the user's, before anything is written: who
   * answers. What it throws (an unavailable model, a conflict) rolls the transaction back.
   */
  chooseOrigin(): AnswerOrigin;
  /** A compare's other models (called right after chooseOrigin): their answers are written beside the first, without a context yet. */
  chooseCompareOrigins?(): AnswerOrigin[];
  /**
   * How far up the branch above the new message the context walk reads (a token budget: the walk
   * stops once it is spent), and which stored summaries it looks for.
   */
  contextReach(questionTokens: number, settings: ConversationSettings): { walkBudgetTokens: number; summaryKey: SummaryKey | null };
  /**
   * Called with that walk (newest first, starting at the new message's parent) and the new message:
   * the context record stored with the answer row, or null to leave it to the generation job.
   */
  describeContext(walk: ContextWalkRow[], question: BranchMessage, settings: ConversationSettings): ContextRecord | null;
}

/**
 * Several instances on PostgreSQL: the cap on one user's answers being written, counted in the
 * database inside the send's transaction (each instance's memory knows only its own answers).
 */
export interface SharedAnswerCap {
  limit: number;
  refusal(): Error;
  /** The conversation already has an answer being written (409). */
  busy(): Error;
}

/**
 * Several instances: inside a send's transaction, after the lock on the user's answers (so this
 * user's sends on every instance count one after the other), the cap on the answers being written
 * and the rule of one send at a time per conversation. A compare's answers are written together.
 */
async function requireRoomForAnswers(
  repository: ConversationRepository,
  conversationId: string,
  answerCount: number,
  cap: SharedAnswerCap,
): Promise<void> {
  // callers have checked the conversation is the user's (in this transaction)
  const streaming = await repository.countStreamingAnswersLocked(conversationId);
  if (streaming.ofUser + answerCount > cap.limit) throw cap.refusal();
  if (streaming.isConversationBusy) throw cap.busy();
}

export interface AppendedAnswer {
  conversation: Conversation;
  assistantMessage: Message;
}

/** The final state of an answer, written once by its generation job. */
export interface AnswerResult {
  content: string;
  status: Exclude<MessageStatus, "streaming">;
  inputTokens: number | null;
  outputTokens: number | null;
  timeToFirstTokenMs: number | null;
  durationMs: number | null;
  finishReason: FinishReason | null;
  finishReasonRaw: string | null;
  error: { code: ErrorCode; message: string } | null;
  /** Epoch ms: the answer's updated_at, the same value the terminal event shows. */
  finishedAt: number;
  /** The model that answered: the one asked for, or the fallback that answered in its place. */
  answeredBy: AnswerOrigin;
  /** Its cost at the price in force (null: no price or no reported tokens); absent: not priced here. */
  costMicroUsd?: number | null;
}

/**
 * A member's conversations and the message tree inside them. Every read and write goes through
 * a ConversationRepository scoped to the user. Generation jobs write their answer through here too.
 */
export class ConversationService {
  /** Answers' progress flushes and final writes of one event-loop turn share a transaction. */
  private readonly groupedWrites: GroupedWrites;
  /**
   * The sends of a turn share one too: on SQLite the same as the answers' writes (one writer, one
   * commit for all). On PostgreSQL their own: a send may wait for its member's lock (decision 0033),
   * and an answer's last write, which its stream's end waits for, should not wait with it.
   */
  private readonly sendWrites: GroupedWrites;

  constructor(private readonly context: ServiceContext) {
    this.groupedWrites = new GroupedWrites(context.database);
    this.sendWrites = isPostgres(context.database) ? new GroupedWrites(context.database) : this.groupedWrites;
  }

  private repository(userId: string, database: Knex | Knex.Transaction = this.context.database): ConversationRepository {
    return new ConversationRepository(database, userId);
  }

  async list(userId: string, query: ConversationListQuery): Promise<ConversationListResponse> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    // one extra row tells whether another page exists without a count query
    const rows = await this.repository(userId).listConversations(query.limit + 1, after, {
      isArchived: query.archived ?? false,
      isPinned: query.pinned,
      workspaceHint: query.workspace,
      titleContains: query.titleContains,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor({ lastMessageAt: last.last_message_at, id: last.id }) : null;
    return { conversations: page.map(toConversation), nextCursor };
  }

  async create(userId: string, request: NewConversationRequest): Promise<Conversation> {
    const now = this.context.now();
    return this.context.database.transaction(async (transaction) => {
      const systemPromptId = request.systemPrompt
        ? await new SystemPromptRepository(transaction).store(request.systemPrompt, estimateMessageTokens(request.systemPrompt), now)
        : (request.systemPromptId ?? null);
      const row = await this.repository(userId, transaction).insertConversation({
        id: crypto.randomUUID(),
        title: request.title ?? DEFAULT_CONVERSATION_TITLE,
        model_id: request.modelId ?? null,
        leaf_message_id: null,
        workspace_hint: request.workspaceHint ?? null,
        system_prompt_id: systemPromptId,
        temperature: request.temperature ?? null,
        max_output_tokens: request.maxOutputTokens ?? null,
        created_at: now,
        updated_at: now,
        last_message_at: now,
      });
      const systemPrompt =
        systemPromptId === null
          ? null
          : (request.systemPrompt ?? (await new SystemPromptRepository(transaction).findContent(systemPromptId)) ?? null);
      return { ...toConversation(row), systemPrompt };
    });
  }

  /**
   * The system prompt and settings the next answer in this conversation uses: its own prompt, else
   * the owner's default, else the built-in one. Another user's conversation is a 404.
   */
  async resolveSettings(userId: string, conversationId: string): Promise<ConversationSettings> {
    const stored = await this.repository(userId).findSettings(conversationId);
    if (!stored) throw new AppError(404, "not_found", "Conversation not found");
    return toConversationSettings(stored);
  }

  /** Answers of the conversation being written, whichever instance writes them. */
  findStreamingAnswerIds(userId: string, conversationId: string): Promise<string[]> {
    return this.repository(userId).findStreamingAnswerIds(conversationId);
  }

  async requireConversation(userId: string, conversationId: string): Promise<Conversation> {
    return toConversation(await this.repository(userId).requireConversation(conversationId));
  }

  /**
   * The conversation and the newest page of its current branch (oldest first within the page): one
   * walk of at most `limit` messages up from the leaf, whatever the length of the branch. The leaf's
   * depth is the branch's length.
   */
  async get(userId: string, conversationId: string, limit: number): Promise<ConversationDetailResponse> {
    const repository = this.repository(userId);
    const row = await repository.requireConversation(conversationId);
    const page = row.leaf_message_id === null ? [] : await repository.loadBranchPage(conversationId, row.leaf_message_id, limit);
    const systemPrompt = row.system_prompt_id
      ? ((await new SystemPromptRepository(this.context.database).findContent(row.system_prompt_id)) ?? null)
      : null;
    return {
      conversation: { ...toConversation(row), systemPrompt },
      messages: await withSiblingPositions(repository, conversationId, page.map(toMessage)),
      branchMessageCount: page.at(-1)?.depth ?? 0,
      olderCursor: olderCursorOf(page),
    };
  }

  /**
   * A page of history: the messages just above the cursor's message (the oldest one the client
   * holds), oldest first; without a cursor, the newest page of the current branch. A cursor names a
   * message, so pages stay put while new messages arrive below: no gaps, no repeats.
   */
  async listMessages(userId: string, conversationId: string, query: MessagePageQuery): Promise<MessagePageResponse> {
    const repository = this.repository(userId);
    const row = await repository.requireConversation(conversationId);
    if (query.cursor === undefined) {
      const page = row.leaf_message_id === null ? [] : await repository.loadBranchPage(conversationId, row.leaf_message_id, query.limit);
      return { messages: await withSiblingPositions(repository, conversationId, page.map(toMessage)), olderCursor: olderCursorOf(page) };
    }
    const holdingId = decodeMessageCursor(query.cursor);
    // the cursor's message itself, then the page above it
    const walked = await repository.loadBranchPage(conversationId, holdingId, query.limit + 1);
    if (walked.at(-1)?.id !== holdingId) {
      throw new AppError(400, "validation_failed", "cursor: not a cursor of this conversation");
    }
    const page = walked.slice(0, -1);
    return { messages: await withSiblingPositions(repository, conversationId, page.map(toMessage)), olderCursor: olderCursorOf(page) };
  }

  /** Rename, switch model, pin, archive, move to a workspace folder. Pinning unarchives; archiving unpins. */
  async update(userId: string, conversationId: string, changes: ConversationChangesRequest): Promise<Conversation> {
    return this.context.database.transaction(async (transaction) => {
      const repository = this.repository(userId, transaction);
      const row = await repository.requireConversation(conversationId);
      const now = this.context.now();
      const prompts = new SystemPromptRepository(transaction);
      const systemPromptId =
        changes.systemPrompt === undefined
          ? undefined
          : changes.systemPrompt === null
            ? null
            : await prompts.store(changes.systemPrompt, estimateMessageTokens(changes.systemPrompt), now);
      const update = {
        ...(systemPromptId === undefined ? {} : { system_prompt_id: systemPromptId }),
        ...(changes.temperature === undefined ? {} : { temperature: changes.temperature }),
        ...(changes.maxOutputTokens === undefined ? {} : { max_output_tokens: changes.maxOutputTokens }),
        ...(changes.title === undefined ? {} : { title: changes.title }),
        ...(changes.modelId === undefined ? {} : { model_id: changes.modelId }),
        ...(changes.isPinned === undefined ? {} : { is_pinned: changes.isPinned }),
        ...(changes.isPinned === true ? { is_archived: false } : {}),
        ...(changes.isArchived === undefined ? {} : { is_archived: changes.isArchived }),
        ...(changes.isArchived === true ? { is_pinned: false } : {}),
        ...(changes.workspaceHint === undefined ? {} : { workspace_hint: changes.workspaceHint }),
        updated_at: now,
      };
      await repository.updateConversation(conversationId, update);
      const promptId = systemPromptId === undefined ? row.system_prompt_id : systemPromptId;
      const systemPrompt =
        systemPromptId !== undefined ? (changes.systemPrompt ?? null) : promptId ? ((await prompts.findContent(promptId)) ?? null) : null;
      return { ...toConversation({ ...row, ...update }), systemPrompt };
    });
  }

  /**
   * Makes the current branch pass through `messageId` (PUT /conversations/:id/leaf): kept when it
   * already does, else the leaf becomes the newest message below that one that has no reply. The
   * conversation's time of last interaction does not change.
   */
  async setLeaf(userId: string, conversationId: string, messageId: string): Promise<SetLeafResponse> {
    return this.context.database.transaction(async (transaction) => {
      const repository = this.repository(userId, transaction);
      const row = await repository.requireConversation(conversationId);
      const message = await repository.findMessage(messageId);
      if (!message) throw new AppError(404, "not_found", "Message not found");
      // the user's own message, but of another conversation: a mistake of the caller, not a secret
      if (message.conversation_id !== conversationId)
        throw new AppError(400, "validation_failed", "messageId: a message of another conversation");
      const below = await repository.findNewestLeafBelow(conversationId, messageId, row.leaf_message_id);
      if (!below) throw new AppError(404, "not_found", "Message not found in this conversation");
      let conversation = row;
      if (!below.containsLeaf) {
        // The conversation goes on with the model of the branch in view: the header, the tree and
        // the next send show and use the model that wrote the answer now at the end of the branch.
        const leaf = below.newestLeafId === messageId ? message : await repository.findMessage(below.newestLeafId);
        const changes = {
          leaf_message_id: below.newestLeafId,
          updated_at: this.context.now(),
          ...(leaf?.role === "assistant" && leaf.model_id !== null ? { model_id: leaf.model_id } : {}),
        };
        await repository.updateConversation(conversationId, changes);
        conversation = { ...row, ...changes };
      }
      const leafId = conversation.leaf_message_id ?? messageId;
      const depths = await repository.findDepths([leafId]);
      return {
        conversation: toConversation(conversation),
        messageDepth: message.depth,
        branchMessageCount: depths.get(leafId) ?? message.depth,
      };
    });
  }

  async delete(userId: string, conversationId: string): Promise<void> {
    const isDeleted = await this.context.database.transaction((transaction) =>
      this.repository(userId, transaction).deleteConversation(conversationId),
    );
    if (!isDeleted) throw new AppError(404, "not_found", "Conversation not found");
  }

  async getMessage(userId: string, messageId: string): Promise<Message> {
    return toMessage(await this.repository(userId).requireMessage(messageId));
  }

  /**
   * One attachment's content, served on demand (pages list attachments without it): an image's bytes
   * with its type, a file's or selection's text. Another user's ids, or an attachment of another
   * message, are a 404.
   */
  async readAttachment(userId: string, messageId: string, attachmentId: string): Promise<{ mediaType: string; body: Buffer }> {
    const row = await new AttachmentRepository(this.context.database, userId).findOne(messageId, attachmentId);
    if (row === undefined) throw new AppError(404, "not_found", "Attachment not found");
    if (row.kind === "image" && row.data && row.media_type !== null) return { mediaType: row.media_type, body: Buffer.from(row.data) };
    return { mediaType: "text/plain; charset=utf-8", body: Buffer.from(row.content, "utf8") };
  }

  /** The message and its siblings (same parent), oldest first, each with its position; another user's id is a 404. */
  async listSiblings(userId: string, messageId: string): Promise<Message[]> {
    const repository = this.repository(userId);
    const message = await repository.requireMessage(messageId);
    const rows = await repository.listSiblings(message);
    return rows.map((row, index) => ({ ...toMessage(row), siblings: { position: index + 1, count: rows.length } }));
  }

  /** The context walk outside a send's transaction (see ConversationRepository.walkForContext). */
  async walkForContext(
    userId: string,
    conversationId: string,
    messageId: string,
    budgetTokens: number,
    summaryKey: SummaryKey | null,
  ): Promise<ContextWalkRow[]> {
    const walk = await this.repository(userId).walkForContext(conversationId, messageId, budgetTokens, summaryKey);
    await loadWalkAttachments(new AttachmentRepository(this.context.database, userId), walk);
    return walk;
  }

  /** The walk for a summariser's input (see ConversationRepository.walkForSummary). */
  async walkForSummary(
    userId: string,
    conversationId: string,
    messageId: string,
    budgetTokens: number,
    summaryKey: SummaryKey,
  ): Promise<ContextWalkRow[]> {
    return this.repository(userId).walkForSummary(conversationId, messageId, budgetTokens, summaryKey);
  }

  /** Stores a summary the summariser walk found the messages of (so they are this user's). */
  async saveSummary(userId: string, summary: NewSummary): Promise<StoredSummary> {
    return new SummaryRepository(this.context.database, userId).insert(summary);
  }

  /**
   * A send: in ONE transaction, the user's message and an empty `streaming` answer under it; the
   * conversation's leaf moves to the answer and its model becomes the one chosen. The user's text
   * is stored before any provider is called. The transaction is the one the writes of this turn
   * share (GroupedWrites: one commit for every send and answer's write of the turn, each in its own
   * savepoint, so a refused send is rolled back alone). The context walk runs in the same transaction (bounded
   * by the model's window, not the branch; its first row also proves an explicit parent is this
   * conversation's), and the answer row is written with its context record, so the generation job
   * can call the provider at once, without another query. `decisions` run inside the transaction:
   * they must not query the database (on SQLite the transaction holds the only connection).
   */
  async appendExchange(
    userId: string,
    conversationId: string,
    request: AppendExchangeRequest,
    decisions: ExchangeDecisions,
    sharedCap?: SharedAnswerCap,
  ): Promise<AppendedExchange> {
    // on several instances the send takes its user's lock (requireRoomForAnswers): in key order
    const lockOrder = sharedCap ? { lockOrder: answersLockKey(userId) } : {};
    return this.sendWrites.run(async (transaction) => {
      const repository = this.repository(userId, transaction);
      const { conversation, settings: stored } = await repository.requireConversationWithSettings(conversationId);
      const origin = decisions.chooseOrigin();
      const compareOrigins = decisions.chooseCompareOrigins?.() ?? [];
      if (sharedCap) await requireRoomForAnswers(repository, conversationId, 1 + compareOrigins.length, sharedCap);
      const parentId = request.parentId === undefined ? conversation.leaf_message_id : request.parentId;
      const imageBytes = new Map<number, Buffer>();
      const attachments: AttachmentContent[] = (request.attachments ?? []).map((attachment, index) => {
        if (attachment.kind === "image") {
          const bytes = decodeImageAttachment(attachment.data, attachment.mediaType, index);
          imageBytes.set(index, bytes);
          return {
            kind: "image",
            path: attachment.path,
            language: null,
            startLine: null,
            endLine: null,
            content: "",
            image: { mediaType: attachment.mediaType, data: bytes.toString("base64"), byteSize: bytes.length },
          };
        }
        return {
          kind: attachment.kind,
          path: attachment.path,
          language: attachment.language ?? null,
          startLine: attachment.kind === "selection" ? attachment.startLine : null,
          endLine: attachment.kind === "selection" ? attachment.endLine : null,
          content: attachment.content,
        };
      });
      // the question's estimate counts its attachments: every later walk sees their size
      const questionTokens = estimateQuestionTokens(request.content, attachments);
      const settings = toConversationSettings(stored);
      const reach = decisions.contextReach(questionTokens, settings);
      // newest first; empty when the parent is not a message of this conversation; its first row is the parent itself
      const walk =
        parentId === null ? [] : await repository.walkForContext(conversationId, parentId, reach.walkBudgetTokens, reach.summaryKey);
      await loadWalkAttachments(new AttachmentRepository(transaction, userId), walk);
      const parent = walk[0];
      if (parentId !== null && parent === undefined) {
        throw new AppError(400, "validation_failed", "parentId: not a message of this conversation");
      }
      const now = this.context.now();
      const depth = (parent?.depth ?? 0) + 1;
      const userMessage = this.newMessageRow(conversationId, parentId, "user", now, {
        content: request.content,
        status: "complete",
        depth,
        token_estimate: questionTokens,
      });
      const attachmentRows = toAttachmentRows(attachments, imageBytes, userMessage.id, now);
      const question: Message = {
        ...toMessage(userMessage),
        ...(attachmentRows.length === 0 ? {} : { attachments: attachmentRows.map(toAttachment) }),
      };
      const record = decisions.describeContext(walk, { ...question, depth, attachments }, settings);
      const assistantMessage = this.newMessageRow(conversationId, userMessage.id, "assistant", now, {
        status: "streaming",
        provider: origin.provider,
        model_id: origin.modelId,
        depth: depth + 1,
        context_snapshot: record === null ? null : JSON.stringify(record),
      });
      // the compare's answers a moment "later" than the first, so siblings list in the order asked
      const compareAnswers = compareOrigins.map((compareOrigin, index) =>
        this.newMessageRow(conversationId, userMessage.id, "assistant", now + index + 1, {
          status: "streaming",
          provider: compareOrigin.provider,
          model_id: compareOrigin.modelId,
          depth: depth + 1,
        }),
      );
      await repository.insertMessages([userMessage, assistantMessage, ...compareAnswers]);
      await new AttachmentRepository(transaction, userId).insert(attachmentRows);
      const isFirstMessage = conversation.leaf_message_id === null;
      const changes = {
        leaf_message_id: assistantMessage.id,
        model_id: origin.modelId,
        last_message_at: now,
        updated_at: now,
        ...(isFirstMessage && conversation.title === DEFAULT_CONVERSATION_TITLE ? { title: deriveTitle(request.content) } : {}),
      };
      await repository.updateConversation(conversationId, changes);
      // an edit (an explicit parent) makes a sibling: the chat shows "‹ 2/2 ›" on it at once
      const positions =
        request.parentId === undefined
          ? new Map<string, MessageSiblingPosition>()
          : await repository.findSiblingPositions(conversationId, [{ id: userMessage.id, parentId }]);
      const questionPosition = positions.get(userMessage.id);
      return {
        conversation: toConversation({ ...conversation, ...changes }),
        userMessage: questionPosition === undefined ? question : { ...question, siblings: questionPosition },
        // the record as built, rather than parsed back from the JSON just written
        assistantMessage: {
          ...toMessage({ ...assistantMessage, context_snapshot: null }),
          context: record,
          ...(compareAnswers.length === 0 ? {} : { siblings: { position: 1, count: compareAnswers.length + 1 } }),
        },
        ...(compareAnswers.length === 0
          ? {}
          : {
              compareMessages: compareAnswers.map((row, index) => ({
                ...toMessage(row),
                siblings: { position: index + 2, count: compareAnswers.length + 1 },
              })),
            }),
      };
    }, lockOrder);
  }

  /** Regenerate / rerun on another model: a sibling answer under the same question; the leaf moves to it. */
  async appendSiblingAnswer(userId: string, answerId: string, origin: AnswerOrigin, sharedCap?: SharedAnswerCap): Promise<AppendedAnswer> {
    return this.context.database.transaction(async (transaction) => {
      const repository = this.repository(userId, transaction);
      const answer = await repository.requireMessage(answerId);
      if (answer.role !== "assistant" || answer.parent_id === null) {
        throw new AppError(400, "validation_failed", "Only an answer can be regenerated");
      }
      if (sharedCap) await requireRoomForAnswers(repository, answer.conversation_id, 1, sharedCap);
      const conversation = await repository.requireConversation(answer.conversation_id);
      const now = this.context.now();
      const sibling = this.newMessageRow(answer.conversation_id, answer.parent_id, "assistant", now, {
        status: "streaming",
        provider: origin.provider,
        model_id: origin.modelId,
        depth: answer.depth,
      });
      await repository.insertMessages([sibling]);
      const changes = { leaf_message_id: sibling.id, model_id: origin.modelId, last_message_at: now, updated_at: now };
      await repository.updateConversation(answer.conversation_id, changes);
      const positions = await repository.findSiblingPositions(answer.conversation_id, [{ id: sibling.id, parentId: answer.parent_id }]);
      const position = positions.get(sibling.id);
      return {
        conversation: toConversation({ ...conversation, ...changes }),
        assistantMessage: position === undefined ? toMessage(sibling) : { ...toMessage(sibling), siblings: position },
      };
    });
  }

  async saveContextRecord(userId: string, messageId: string, snapshot: ContextRecord): Promise<void> {
    await this.repository(userId).updateMessage(messageId, { context_snapshot: JSON.stringify(snapshot), updated_at: this.context.now() });
  }

  /**
   * The periodic flush of a streaming answer's partial text, with its estimate: after a crash the
   * answer becomes `interrupted` with this text, and later contexts count it by this estimate.
   */
  async saveAnswerProgress(userId: string, messageId: string, content: string): Promise<void> {
    const changes: MessageChanges = { content, token_estimate: estimateMessageTokens(content), updated_at: this.context.now() };
    await this.groupedWrites.run((transaction) =>
      this.repository(userId, transaction).updateMessage(messageId, changes, { onlyWhileStreaming: true }),
    );
  }

  /** false when the answer is gone (its conversation was deleted meanwhile). */
  async saveAnswerResult(userId: string, messageId: string, result: AnswerResult): Promise<boolean> {
    const changes: MessageChanges = {
      content: result.content,
      token_estimate: estimateMessageTokens(result.content),
      status: result.status,
      input_tokens: result.inputTokens,
      output_tokens: result.outputTokens,
      time_to_first_token_ms: result.timeToFirstTokenMs,
      duration_ms: result.durationMs,
      finish_reason: result.finishReason,
      finish_reason_raw: result.finishReasonRaw === null ? null : result.finishReasonRaw.slice(0, 64),
      error_code: result.error?.code ?? null,
      error_message: result.error?.message ?? null,
      provider: result.answeredBy.provider,
      model_id: result.answeredBy.modelId,
      ...(result.costMicroUsd === undefined ? {} : { cost_micro_usd: result.costMicroUsd }),
      updated_at: result.finishedAt,
    };
    return this.groupedWrites.run((transaction) =>
      this.repository(userId, transaction).updateMessage(messageId, changes, { onlyWhileStreaming: true }),
    );
  }

  /** Start-up crash recovery (every user): answers left `streaming` become `interrupted`. */
  async markStreamingAnswersInterrupted(errorCode: ErrorCode, errorMessage: string): Promise<number> {
    return markStreamingMessagesInterrupted(this.context.database, { errorCode, errorMessage, now: this.context.now() });
  }

  private newMessageRow(
    conversationId: string,
    parentId: string | null,
    role: "user" | "assistant",
    now: number,
    fields: Partial<MessageRow>,
  ): MessageRow {
    return {
      id: crypto.randomUUID(),
      conversation_id: conversationId,
      parent_id: parentId,
      role,
      content: "",
      status: "complete",
      provider: null,
      model_id: null,
      input_tokens: null,
      output_tokens: null,
      time_to_first_token_ms: null,
      duration_ms: null,
      finish_reason: null,
      finish_reason_raw: null,
      error_code: null,
      error_message: null,
      context_snapshot: null,
      depth: 1,
      token_estimate: estimateMessageTokens(fields.content ?? ""),
      created_at: now,
      updated_at: now,
      ...fields,
    };
  }
}

/** The first non-empty line of the first message, whitespace collapsed, cut at a word near 60 characters. */
function toConversationSettings(stored: StoredConversationSettings): ConversationSettings {
  return {
    systemPrompt: stored.systemPrompt ?? BUILT_IN_SETTINGS.systemPrompt,
    temperature: stored.temperature,
    maxOutputTokens: stored.maxOutputTokens,
  };
}

/**
 * Adds each message's place among its siblings and a question's attachments (their names and sizes,
 * not their text): one query each for the page.
 */
async function withSiblingPositions(repository: ConversationRepository, conversationId: string, messages: Message[]): Promise<Message[]> {
  const [positions, attachments] = await Promise.all([
    repository.findSiblingPositions(conversationId, messages),
    new AttachmentRepository(repository.database, repository.userId).findForMessages(
      messages.filter((message) => message.role === "user").map((message) => message.id),
      false,
    ),
  ]);
  return messages.map((message) => {
    const position = positions.get(message.id);
    const attached = attachments.get(message.id);
    return {
      ...message,
      ...(position === undefined ? {} : { siblings: position }),
      ...(attached === undefined ? {} : { attachments: attached.map(toAttachment) }),
    };
  });
}

/** Gives the questions of a context walk their files and selections (one query), so the context sends them. */
async function loadWalkAttachments(attachments: AttachmentRepository, walk: ContextWalkRow[]): Promise<void> {
  const found = await attachments.findForMessages(
    walk.filter((row) => row.role === "user").map((row) => row.id),
    true,
  );
  for (const row of walk) {
    const attached = found.get(row.id);
    if (attached) row.attachments = attached.map(toAttachmentContent);
  }
}

export function deriveTitle(content: string): string {
  const firstLine = content.split(/\r?\n/).find((line) => line.trim() !== "") ?? "";
  const line = firstLine.replace(/\s+/g, " ").trim();
  if (line === "") return DEFAULT_CONVERSATION_TITLE;
  if (line.length <= DERIVED_TITLE_MAX_LENGTH) return line;
  const cut = line.slice(0, DERIVED_TITLE_MAX_LENGTH);
  const lastSpace = cut.lastIndexOf(" ");
  return `${(lastSpace >= DERIVED_TITLE_MAX_LENGTH / 2 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}

/** The cursor for the page above `page` (oldest first): it names the page's oldest message; null at the root. */
function olderCursorOf(page: readonly MessageRow[]): string | null {
  const oldest = page[0];
  return oldest === undefined || oldest.parent_id === null ? null : encodeMessageCursor(oldest.id);
}

/** Message cursors are opaque to clients: base64url of ["m", id of the oldest message held]. */
function encodeMessageCursor(messageId: string): string {
  return Buffer.from(JSON.stringify(["m", messageId])).toString("base64url");
}

function decodeMessageCursor(cursor: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      value[0] === "m" &&
      typeof value[1] === "string" &&
      /^[0-9a-f-]{36}$/.test(value[1])
    ) {
      return value[1];
    }
  } catch {
    // fall through: any malformed cursor gets the same answer
  }
  throw new AppError(400, "validation_failed", "cursor: not a cursor from a previous page");
}

/** Cursors are opaque to clients: base64url of [last_message_at, id] of a page's last row. */
function encodeCursor(position: ConversationListPosition): string {
  return Buffer.from(JSON.stringify([position.lastMessageAt, position.id])).toString("base64url");
}

function decodeCursor(cursor: string): ConversationListPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === "string") {
      return { lastMessageAt: value[0] as number, id: value[1] };
    }
  } catch {
    // fall through: any malformed cursor gets the same answer
  }
  throw new AppError(400, "validation_failed", "cursor: not a cursor from a previous page");
}
