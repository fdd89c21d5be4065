import type { User } from "../../../protocol/http/accounts";
import {
  COMPARE_MODELS_MAX,
  COMPARE_MODELS_MIN,
  type Conversation,
  type ConversationListQuery,
  type ConversationListResponse,
  type Message,
  type SendMessageResponse,
} from "../../../protocol/http/conversations";
import type { Model } from "../../../protocol/http/models";
import type { AttachmentInput } from "../../../protocol/http/attachments";
import { parseHttpUrl } from "../../../protocol/parse-http-url";
import type {
  Banner,
  ChatCommandParams,
  ChatModel,
  ChatNotificationName,
  ChatNotificationParams,
  ChatCompare,
  ChatSnapshot,
  ComposerAttachment,
  ConnectionState,
} from "../../../protocol/webview/chat-protocol";
import { EventEmitter, type Disposable, type Event } from "../server-client/event-emitter";
import type { StartedAnswerStream, TeamServerClient } from "../server-client/team-server-client";
import { isTeamServerError, TeamServerError } from "../server-client/team-server-error";
import { toErrorDetail } from "../webview-channel/webview-channel";
import { AnswerStreams, type AnswerStatus } from "./answer-streams";
import { ChatConnection, type ChatConnectionTiming } from "./chat-connection";
import { ChatViewChannel, DELTA_FLUSH_INTERVAL_MS, type ChatViewConnection, type ChatViewHandlers } from "./chat-view-channel";
import { formatSelectionMessage, type CodeSelection } from "./format-selection-message";
import { HeldBranch, NEWEST_PAGE_MESSAGES } from "./held-branch";
import { describeModel, toChatModel } from "./to-chat-model";
import { buildPath, messageAttachmentPath } from "../../../protocol/http/endpoints";

export type { AnswerStatus } from "./answer-streams";
export { HELD_MESSAGES_MAX, NEWEST_PAGE_MESSAGES } from "./held-branch";

export type CodeBlock = ChatCommandParams<"code/copy">;
export type HostCommand = ChatCommandParams<"host/run">["command"];

/** What only VS Code can do; surfaces/ implements it. Tests leave parts out. */
export interface ChatHostActions {
  copyCode(block: CodeBlock): void | Promise<void>;
  insertCode(block: CodeBlock): void | Promise<void>;
  openCode(block: CodeBlock): void | Promise<void>;
  /** Only ever called with an http or https URL. */
  openLink(url: string): void | Promise<void>;
  pickModel(): void | Promise<void>;
  /** The `@` picker's files: workspace files matching the query (fuzzy), files.exclude and .gitignore respected. */
  findWorkspaceFiles(query: string): Promise<Array<{ path: string }>>;
  /** Reads a workspace file as a context chip; rejects, in plain words, a binary or too large file. */
  readFileAttachment(path: string): Promise<ComposerAttachment>;
  /** Asks which 2–4 models to compare (a multi-select quick pick); undefined when cancelled. */
  chooseModels(options: { title: string; minimum: number; maximum: number }): Promise<string[] | undefined>;
  /** Asks which model (the quick pick), e.g. for "Rerun with…"; undefined when cancelled. */
  chooseModel(options: { title: string; placeholder: string; currentModelId: string | null }): Promise<string | undefined>;
  /** "Show Context" of an answer: what its request carried, in an editor tab. */
  showContext(messageId: string): void | Promise<void>;
  /** A file, selection or image sent with a question, opened read-only as the server stored it. */
  openAttachment(messageId: string, attachmentId: string, path: string): void | Promise<void>;
  /** signIn, openSettings and openTeamSettings; retryConnection the session handles itself. */
  runHostCommand(command: Exclude<HostCommand, "retryConnection">): void | Promise<void>;
}

export interface ChatSessionOptions {
  client: TeamServerClient;
  hostActions?: Partial<ChatHostActions>;
  deltaFlushIntervalMs?: number;
  /** Where problems that reach no user go (the output channel in VS Code). */
  log?: (message: string, error?: unknown) => void;
  /** The workspace folder a new conversation is started in (VS Code's first folder), if any. */
  workspaceHint?: () => string | undefined;
  /** How often the connection is checked while ready, and how it is retried while offline. */
  connectionTiming?: ChatConnectionTiming;
}

/** The handle a surface keeps for one attached webview. */
export interface ChatViewAttachment extends Disposable {
  /** Everything the webview posts; validated here. */
  handleMessage(message: unknown): Promise<void>;
  /** Call when the webview's visibility changed: a view that shows again gets a full snapshot. */
  visibilityChanged(): void;
}

/**
 * The chat of one VS Code window: what the webviews (the sidebar view, an editor tab) can ask for,
 * and what they are told. It coordinates four collaborators, one job each: ChatConnection (the
 * connection and the account), HeldBranch (the open conversation's newest page), AnswerStreams (the
 * answers being generated) and one ChatViewChannel per attached view (validated messages, batched
 * text). Views attach and detach; streams go on while none is visible, and a view that shows again
 * gets a full snapshot. No vscode import: surfaces/ adapts it.
 */
export class ChatSession implements Disposable {
  readonly client: TeamServerClient;
  private readonly hostActions: Partial<ChatHostActions>;
  private readonly deltaFlushIntervalMs: number;
  private readonly log: (message: string, error?: unknown) => void;
  private readonly workspaceHint: () => string | undefined;

  private readonly connection: ChatConnection;
  private readonly held = new HeldBranch();
  private readonly streams: AnswerStreams;
  private readonly views = new Set<ChatViewChannel>();
  private models: Model[] = [];
  /** A model chosen while no conversation is open: the next new conversation uses it. */
  private preferredModelId: string | null = null;
  /** A conversation a reloaded webview asked to restore before the session was ready. */
  private conversationToRestore: string | null = null;
  private isReReadingNewestPage = false;
  /** The compare shown side by side (its answers are tracked like any other), until one is chosen or the conversation changes. */
  private compare: ChatCompare | null = null;
  /** "Focus Chat Input" ran while no view was ready to take the focus: the next view that is, takes it. */
  private isComposerFocusPending = false;

  private readonly conversationsChanged = new EventEmitter<void>();
  private readonly activeModelChanged = new EventEmitter<ChatModel | null>();
  private readonly stateChanged = new EventEmitter<void>();
  private readonly answerFinished = new EventEmitter<Message>();

  /** A conversation was created, renamed, deleted, switched model or got a message: the tree refreshes. */
  readonly onConversationsChanged: Event<void> = this.conversationsChanged.event;
  /** The status bar shows the active model. */
  readonly onActiveModelChanged: Event<ChatModel | null> = this.activeModelChanged.event;
  /** Connection state or user changed (e.g. the admin context key). */
  readonly onStateChanged: Event<void> = this.stateChanged.event;
  /** An answer reached its final state (complete, stopped, error, interrupted). */
  readonly onAnswerFinished: Event<Message> = this.answerFinished.event;

  constructor(options: ChatSessionOptions) {
    this.client = options.client;
    this.hostActions = options.hostActions ?? {};
    this.deltaFlushIntervalMs = options.deltaFlushIntervalMs ?? DELTA_FLUSH_INTERVAL_MS;
    this.log = options.log ?? (() => undefined);
    this.workspaceHint = options.workspaceHint ?? (() => undefined);
    this.streams = new AnswerStreams(
      this.client,
      {
        textAppended: (message, text) => {
          if (this.isInOpenConversation(message)) for (const view of this.views) view.queueDelta(message.id, text);
        },
        textReplaced: (message) => {
          if (this.isInOpenConversation(message)) for (const view of this.views) view.queueReplacement(message);
        },
        statusChanged: (message, status) => {
          if (this.isInOpenConversation(message)) this.broadcast("stream/status", { messageId: message.id, status: copyStatus(status) });
        },
        finished: (message) => this.handleAnswerFinished(message),
        lost: (message, error) => {
          if (!this.isInOpenConversation(message)) return;
          this.showBanner({
            kind: "warning",
            message: `${toErrorDetail(error).message} The answer keeps generating on the server.`,
            action: { label: "Reconnect", command: "retryConnection" },
          });
        },
      },
      this.log,
    );
    this.connection = new ChatConnection(
      this.client,
      {
        accountLoaded: (models, user) => this.adoptAccount(models, user),
        ready: () => this.reopenAfterConnecting(),
        accountChanged: () => this.forgetAccountState(),
        stateChanged: () => {
          this.broadcastSnapshot();
          this.stateChanged.fire();
        },
        userChanged: () => this.stateChanged.fire(),
        modelsLoaded: (models) => this.adoptModels(models),
      },
      this.log,
      options.connectionTiming,
    );
  }

  // ---- state ----

  get connectionState(): ConnectionState {
    return this.connection.state;
  }

  get user(): User | undefined {
    return this.client.user;
  }

  get isAdmin(): boolean {
    return this.connection.state === "ready" && this.client.user?.role === "admin";
  }

  get openConversationId(): string | null {
    return this.held.conversationId;
  }

  get visibleModels(): readonly Model[] {
    return this.models;
  }

  get activeModelId(): string | null {
    return this.held.conversation?.modelId ?? this.preferredModelId ?? this.client.user?.lastModelId ?? this.models[0]?.id ?? null;
  }

  get activeModel(): ChatModel | null {
    const modelId = this.activeModelId;
    return modelId ? toChatModel(modelId, this.models) : null;
  }

  /** A model's label for the tree ("the model last used"); the id's name part when the catalog does not know it. */
  modelLabel(modelId: string | null): string | undefined {
    return modelId ? toChatModel(modelId, this.models).label : undefined;
  }

  /** The newest answer of the open conversation the session holds (Show Context of the last answer). */
  get lastAnswerId(): string | null {
    return this.held.lastAnswerId;
  }

  /** The open conversation's title, when `conversationId` is the open one. */
  conversationTitle(conversationId: string): string | undefined {
    return this.held.conversationId === conversationId ? this.held.conversation?.title : undefined;
  }

  /** Ids of answers whose stream this session is consuming. */
  get streamingMessageIds(): string[] {
    return this.streams.messageIds;
  }

  /** Everything the chat view shows. */
  snapshot(): ChatSnapshot {
    const conversation = this.held.conversation;
    return {
      connection: this.connection.state,
      userName: this.client.user?.name ?? null,
      conversation: conversation ? { id: conversation.id, title: conversation.title, modelId: conversation.modelId } : null,
      messages: this.held.messages.map((message) => ({ ...message })),
      olderCursor: this.held.olderCursor,
      branchMessageCount: this.held.branchMessageCount,
      activeModel: this.activeModel,
      banner: this.connection.banner,
      models: this.models.map(describeModel),
      isAdmin: this.isAdmin,
      compare: this.compare && this.compare.messages[0]?.conversationId === conversation?.id ? copyCompare(this.compare) : null,
    };
  }

  // ---- connection ----

  /** Restores a stored session and connects. No network before the first await, so activate() stays cheap. */
  start(): Promise<void> {
    return this.connection.start();
  }

  /** Checks the server's version, loads the models and the user's preferences. */
  connect(): Promise<void> {
    return this.connection.connect();
  }

  /** The window got the focus back: connect again if offline, else read the visible models now. */
  checkConnection(): Promise<void> {
    return this.connection.checkNow();
  }

  /** Models as the server lists them now (the quick pick reloads them, since an admin may have changed them). */
  async reloadModels(): Promise<readonly Model[]> {
    const modelList = await this.client.call("listModels");
    this.adoptModels(modelList.models);
    return this.models;
  }

  /**
   * The one place the visible models change while connected: the status bar (onActiveModelChanged)
   * and every chat view (`model/changed`, with the models' labels) hear it together, so they never
   * disagree about the model the next answer uses.
   */
  private adoptModels(models: Model[]): void {
    if (haveSameModels(this.models, models)) return;
    this.models = models;
    const activeModel = this.activeModel;
    this.broadcast("model/changed", { activeModel, models: models.map(describeModel) });
    this.activeModelChanged.fire(activeModel);
  }

  private adoptAccount(models: Model[], user: User): void {
    this.models = models;
    this.preferredModelId = this.preferredModelId ?? user.lastModelId;
  }

  private async reopenAfterConnecting(): Promise<void> {
    this.activeModelChanged.fire(this.activeModel);
    const toRestore = this.conversationToRestore;
    this.conversationToRestore = null;
    const openId = this.held.conversationId;
    if (toRestore && !openId)
      await this.openConversation(toRestore).catch((error) => this.log("Could not restore the conversation", error));
    else if (openId) await this.openConversation(openId).catch((error) => this.log("Could not reload the conversation", error));
  }

  private forgetAccountState(): void {
    this.streams.abort();
    this.held.clear();
    this.models = [];
    this.preferredModelId = null;
    this.conversationToRestore = null;
    this.broadcastSnapshot();
    this.activeModelChanged.fire(null);
    this.conversationsChanged.fire();
  }

  // ---- webviews ----

  attachView(connection: ChatViewConnection): ChatViewAttachment {
    const view: ChatViewChannel = new ChatViewChannel(
      connection,
      this.deltaFlushIntervalMs,
      this.handlersFor(() => view),
    );
    this.views.add(view);
    return {
      handleMessage: (message) => view.handleMessage(message),
      visibilityChanged: () => {
        if (!view.isVisible) return;
        this.sendSnapshot(view, this.snapshot());
        this.giveComposerFocusIfPending(view);
      },
      dispose: () => {
        this.views.delete(view);
        view.dispose();
      },
    };
  }

  /** What each webview request and command does; `view` is the channel it came from. */
  private handlersFor(view: () => ChatViewChannel): ChatViewHandlers {
    return {
      requests: {
        "message/send": ({ content, attachments }) => this.sendMessage(content, attachments),
        "files/find": async ({ query }) => ({ files: (await this.hostActions.findWorkspaceFiles?.(query)) ?? [] }),
        "files/attach": ({ path }) => {
          if (!this.hostActions.readFileAttachment) throw new TeamServerError(0, "validation_failed", "Files cannot be attached here.");
          return this.hostActions.readFileAttachment(path);
        },
        "message/retry": ({ messageId, modelId }) => this.retryAnswer(messageId, modelId),
        "message/rerunWith": ({ messageId }) => this.rerunWith(messageId),
        "message/compare": ({ content, attachments }) => this.compareMessage(content, attachments),
        "compare/continue": ({ messageId }) => this.continueWith(messageId),
        "message/edit": ({ messageId, content }) => this.editMessage(messageId, content),
        "branch/switch": ({ messageId, direction }) => this.switchSibling(messageId, direction),
        "messages/loadOlder": ({ conversationId, cursor }) => this.loadOlderMessages(conversationId, cursor),
        "conversation/open": ({ conversationId }) => this.openConversation(conversationId),
        "find/inBranch": ({ conversationId, query }) =>
          this.client.call("findInConversation", { params: { conversationId }, query: { q: query } }),
      },
      commands: {
        "webview/ready": ({ restoredConversationId }) => this.handleWebviewReady(restoredConversationId, view()),
        "generation/stop": ({ messageId }) => this.stopGeneration(messageId),
        "conversation/new": () => this.newConversation(),
        "model/pick": () => this.hostActions.pickModel?.(),
        "context/show": ({ messageId }) => this.hostActions.showContext?.(messageId),
        "attachment/open": ({ messageId, attachmentId, path }) => this.hostActions.openAttachment?.(messageId, attachmentId, path),
        "host/run": ({ command }) =>
          command === "retryConnection"
            ? this.connection.retry(() => this.hostActions.runHostCommand?.("signIn"))
            : this.hostActions.runHostCommand?.(command),
        "code/copy": (block) => this.hostActions.copyCode?.(block),
        "code/insert": (block) => this.hostActions.insertCode?.(block),
        "code/open": (block) => this.hostActions.openCode?.(block),
        "link/open": ({ href }) => {
          const url = parseHttpUrl(href)?.toString();
          // Model output is untrusted: never hand a command:, file: or javascript: link to the host.
          if (url) return this.hostActions.openLink?.(url);
          this.log(`Ignored a link that is not http(s): ${href.slice(0, 100)}`);
        },
      },
      log: this.log,
      // Commands have no answer: show what went wrong where the user looks.
      onCommandFailed: (_name, error) => this.showBanner({ kind: "error", message: toErrorDetail(error).message }),
    };
  }

  private async handleWebviewReady(restoredConversationId: string | null, view: ChatViewChannel): Promise<void> {
    if (restoredConversationId && !this.held.conversationId) {
      if (this.connection.state === "ready") {
        try {
          await this.openConversation(restoredConversationId);
        } catch (error) {
          this.log("The restored conversation could not be opened", error);
        }
      } else {
        this.conversationToRestore = restoredConversationId;
      }
    }
    this.sendSnapshot(view, this.snapshot());
    this.giveComposerFocusIfPending(view);
  }

  /**
   * Puts the cursor in the composer of a visible view ("Juggler: Focus Chat Input"). A view that is
   * still loading (the command just revealed it) takes the focus once it is ready.
   */
  focusComposer(): void {
    const visible = [...this.views].filter((view) => view.isVisible);
    if (visible.length === 0) {
      this.isComposerFocusPending = true;
      return;
    }
    this.isComposerFocusPending = false;
    for (const view of visible) view.notify("composer/focus", {});
  }

  private giveComposerFocusIfPending(view: ChatViewChannel): void {
    if (!this.isComposerFocusPending || !view.isVisible) return;
    this.isComposerFocusPending = false;
    view.notify("composer/focus", {});
  }

  /** A snapshot, then the status of answers still waiting for their context (the snapshot has no place for it). */
  private sendSnapshot(view: ChatViewChannel, snapshot: ChatSnapshot): void {
    view.sendSnapshot(snapshot);
    for (const { message, status } of this.streams.waiting()) {
      if (this.isInOpenConversation(message)) view.notify("stream/status", { messageId: message.id, status: copyStatus(status) });
    }
  }

  private broadcast<Name extends ChatNotificationName>(method: Name, params: ChatNotificationParams<Name>): void {
    for (const view of this.views) view.notify(method, params);
  }

  private broadcastSnapshot(): void {
    if (this.views.size === 0) return;
    const snapshot = this.snapshot();
    for (const view of this.views) this.sendSnapshot(view, snapshot);
  }

  showBanner(banner: Banner | null): void {
    this.connection.banner = banner;
    this.broadcast("banner/show", { banner });
  }

  // ---- conversations ----

  /** Opens a conversation in every attached view; re-attaches to answers still streaming on the server. */
  async openConversation(conversationId: string): Promise<ChatSnapshot> {
    this.connection.requireReady();
    const previousModelId = this.activeModelId;
    this.held.hold(await this.readNewestPage(conversationId), NEWEST_PAGE_MESSAGES, (message) => this.streams.track(message));
    this.broadcastSnapshot();
    if (this.activeModelId !== previousModelId) this.activeModelChanged.fire(this.activeModel);
    return this.snapshot();
  }

  /**
   * Opens a conversation on the branch of one of its messages (a search result) and has the views
   * scroll to that message and mark it: the server moves the conversation's leaf onto that branch
   * when it is not on it (PUT /conversations/:id/leaf), the views load older pages until it is there.
   */
  async openConversationAt(conversationId: string, messageId: string): Promise<void> {
    this.connection.requireReady();
    await this.client.call("setConversationLeaf", { params: { conversationId }, body: { messageId } });
    await this.openConversation(conversationId);
    this.broadcast("message/reveal", { conversationId, messageId });
  }

  /** Asks the views to open their find bar (the Find in Chat command; in the webview Ctrl/Cmd+F does it directly). */
  openFindBar(): void {
    this.broadcast("find/open", {});
  }

  private readNewestPage(conversationId: string) {
    return this.client.call("getConversation", { params: { conversationId }, query: { limit: NEWEST_PAGE_MESSAGES } });
  }

  /** One attachment of a question, as the server stored it (an image's bytes, a text's UTF-8); another user's is a 404 error. */
  async readAttachment(messageId: string, attachmentId: string): Promise<Uint8Array> {
    this.connection.requireReady();
    const response = await this.client.download(buildPath(messageAttachmentPath, { messageId, attachmentId }));
    return new Uint8Array(await response.arrayBuffer());
  }

  /** Shows an empty chat; the conversation is created with the first message. */
  newConversation(): void {
    const previousModelId = this.activeModelId;
    this.compare = null;
    if (this.held.conversation?.modelId) this.preferredModelId = this.held.conversation.modelId;
    this.held.clear();
    this.broadcastSnapshot();
    if (this.activeModelId !== previousModelId) this.activeModelChanged.fire(this.activeModel);
  }

  /**
   * A page of the open conversation's branch above the one the view holds. The session keeps none of
   * it: older pages live in the view that scrolled to them.
   */
  async loadOlderMessages(conversationId: string, cursor: string): Promise<{ messages: Message[]; olderCursor: string | null }> {
    this.connection.requireReady();
    if (conversationId !== this.held.conversationId) {
      // A view that still shows a conversation another view (or the tree) replaced: its cursor would
      // page through a branch nobody shows any more.
      throw new TeamServerError(
        409,
        "conflict",
        "Older messages can only be loaded for the open conversation, and another conversation is open now.",
      );
    }
    return this.client.call("listMessages", { params: { conversationId }, query: { cursor } });
  }

  /** One page of the user's conversations, most recent first (the tree loads more with the cursor), optionally filtered. */
  listConversations(options: Partial<ConversationListQuery> = {}): Promise<ConversationListResponse> {
    const { archived, pinned, ...rest } = options;
    const flag = (value: boolean | undefined) => (value === undefined ? undefined : value ? ("true" as const) : ("false" as const));
    return this.client.call("listConversations", {
      query: { ...rest, archived: flag(archived), pinned: flag(pinned), limit: options.limit ?? 50 },
    });
  }

  async renameConversation(conversationId: string, title: string): Promise<Conversation> {
    const { conversation } = await this.client.call("updateConversation", { params: { conversationId }, body: { title } });
    if (this.held.conversationId === conversationId) {
      this.held.updateConversation(conversation);
      this.broadcastSnapshot();
    }
    this.conversationsChanged.fire();
    return conversation;
  }

  async deleteConversation(conversationId: string): Promise<void> {
    await this.client.call("deleteConversation", { params: { conversationId } });
    this.streams.abort(conversationId);
    if (this.held.conversationId === conversationId) this.newConversation();
    this.conversationsChanged.fire();
  }

  // ---- messages ----

  /** Sends in the open conversation, creating one first when none is open. */
  async sendMessage(content: string, attachments?: AttachmentInput[]): Promise<{ conversationId: string; assistantMessageId: string }> {
    const { conversationId, assistantMessageIds } = await this.sendTo(content, undefined, attachments);
    return { conversationId, assistantMessageId: assistantMessageIds[0]! };
  }

  /**
   * Compare…: the host's pick of 2–4 models, then the text to all of them at once; their answers
   * stream side by side in the views until one is chosen. null when the pick was cancelled.
   */
  async compareMessage(
    content: string,
    attachments?: AttachmentInput[],
  ): Promise<{ conversationId: string; assistantMessageIds: string[] } | null> {
    this.connection.requireReady();
    const modelIds = await this.hostActions.chooseModels?.({
      title: "Compare Models",
      minimum: COMPARE_MODELS_MIN,
      maximum: COMPARE_MODELS_MAX,
    });
    if (modelIds === undefined) return null;
    if (modelIds.length < COMPARE_MODELS_MIN || modelIds.length > COMPARE_MODELS_MAX) {
      throw new TeamServerError(400, "validation_failed", `Pick ${COMPARE_MODELS_MIN} to ${COMPARE_MODELS_MAX} models to compare.`);
    }
    return this.sendTo(content, modelIds, attachments);
  }

  /** "Continue with this one": the answer becomes the branch in view (and its model the conversation's); the compare closes. */
  async continueWith(messageId: string): Promise<Record<string, never>> {
    this.connection.requireReady();
    const compare = this.compare;
    const answer = compare?.messages.find((message) => message.id === messageId);
    const conversationId = answer?.conversationId ?? this.held.conversationId;
    if (!conversationId) throw new TeamServerError(409, "conflict", "No conversation is open.");
    await this.client.call("setConversationLeaf", { params: { conversationId }, body: { messageId } });
    this.compare = null;
    this.broadcast("compare/shown", { compare: null });
    if (this.held.conversationId === conversationId) await this.openConversation(conversationId);
    this.conversationsChanged.fire();
    return {};
  }

  /**
   * A context chip for the composer of every view (Add File to Chat, a selection to ask about): the
   * next message carries it. The view that shows takes the focus.
   */
  attachToComposer(attachment: ComposerAttachment): void {
    this.broadcast("composer/attach", attachment);
    this.focusComposer();
  }

  private async sendTo(
    content: string,
    compareModelIds: string[] | undefined,
    attachments?: AttachmentInput[],
  ): Promise<{ conversationId: string; assistantMessageIds: string[] }> {
    this.connection.requireReady();
    const modelId = compareModelIds?.[0] ?? this.activeModelId;
    if (!modelId) {
      throw new TeamServerError(
        0,
        "model_unavailable",
        this.isAdmin
          ? "No model is visible yet. Add a provider key and choose models in Juggler: Team Settings."
          : "No model is available yet. Ask your Juggler admin to add a provider and choose models.",
      );
    }
    const open = this.held.conversation;
    let isNewConversation = false;
    let response: SendMessageResponse;
    // the answer's stream, when the request that started it replied with it (not for a compare)
    let opened: StartedAnswerStream | undefined;
    const withAttachments = attachments === undefined || attachments.length === 0 ? {} : { attachments };
    const workspaceHint = this.workspaceHint();
    const where = workspaceHint ? { workspaceHint } : {};
    // Another send or open may have happened meanwhile; only take over an empty view.
    const takeOver = (conversation: Conversation) => {
      if (this.held.conversation) return;
      this.held.startNew(conversation);
      isNewConversation = true;
    };
    if (!open && compareModelIds === undefined) {
      // the conversation and its first message in one call: one round trip before the answer streams
      const { reply: created, answer } = await this.client.startAnswer("createConversation", {
        body: { modelId, message: { content, ...withAttachments }, ...where },
      });
      opened = answer;
      if (!created.userMessage || !created.assistantMessage) {
        opened?.close();
        throw new Error("The server did not send the first message");
      }
      response = { conversation: created.conversation, userMessage: created.userMessage, assistantMessage: created.assistantMessage };
      takeOver(created.conversation);
    } else {
      let conversationId = open?.id;
      if (conversationId === undefined) {
        // a compare into an empty chat: the conversation first, then the question to every model
        const created = await this.client.call("createConversation", { body: { modelId, ...where } });
        takeOver(created.conversation);
        conversationId = created.conversation.id;
      }
      ({ reply: response, answer: opened } = await this.client.startAnswer("sendMessage", {
        params: { conversationId },
        body: { content, ...(compareModelIds === undefined ? { modelId } : { modelIds: compareModelIds }), ...withAttachments },
      }));
    }
    const conversation = response.conversation;
    const assistantMessage = this.streams.track(response.assistantMessage, opened);
    const compared = (response.assistantMessages ?? []).map((message) =>
      message.id === assistantMessage.id ? assistantMessage : this.streams.track(message),
    );
    if (this.held.conversationId === conversation.id) {
      const isTitleChanged = this.held.conversation?.title !== response.conversation.title;
      const previousModelId = this.activeModelId;
      this.held.updateConversation(response.conversation);
      this.held.append([response.userMessage, assistantMessage]);
      this.broadcast("messages/appended", {
        conversationId: conversation.id,
        messages: [{ ...response.userMessage }, { ...assistantMessage }],
      });
      if (compared.length > 0) {
        this.compare = { questionId: response.userMessage.id, messages: compared };
        this.broadcast("compare/shown", { compare: copyCompare(this.compare) });
      }
      // The protocol has no "conversation changed" notification: a new conversation, title or model travels in a snapshot.
      const isModelChanged = this.activeModelId !== previousModelId;
      if (isNewConversation || isTitleChanged || isModelChanged) this.broadcastSnapshot();
      // a compare goes on with its first model: the status bar says so
      if (isModelChanged) this.activeModelChanged.fire(this.activeModel);
    }
    this.conversationsChanged.fire();
    return {
      conversationId: conversation.id,
      assistantMessageIds: compared.length > 0 ? compared.map((message) => message.id) : [assistantMessage.id],
    };
  }

  /** Sends an editor selection (with its path, lines and language) into the open conversation or a new one. */
  sendSelection(selection: CodeSelection, defaultInstruction?: string): Promise<{ conversationId: string; assistantMessageId: string }> {
    return this.sendMessage(formatSelectionMessage(selection, defaultInstruction));
  }

  /** Runs an answer again as a sibling, optionally on another model; the view switches to the new branch. */
  async retryAnswer(messageId: string, modelId?: string): Promise<{ assistantMessageId: string }> {
    this.connection.requireReady();
    const { reply: response, answer } = await this.client.startAnswer("regenerate", {
      params: { messageId },
      body: modelId ? { modelId } : {},
    });
    const assistantMessage = this.streams.track(response.assistantMessage, answer);
    if (this.held.conversationId === response.conversation.id) {
      const previousModelId = this.activeModelId;
      this.held.updateConversation(response.conversation);
      if (!this.held.replaceAnswer(messageId, assistantMessage)) {
        const detail = await this.readNewestPage(response.conversation.id);
        this.held.hold(detail, NEWEST_PAGE_MESSAGES, (message) => this.streams.track(message));
      }
      this.broadcastSnapshot();
      // a rerun on another model moves the conversation to it: the status bar follows the chat's header
      if (this.activeModelId !== previousModelId) this.activeModelChanged.fire(this.activeModel);
    }
    this.conversationsChanged.fire();
    return { assistantMessageId: assistantMessage.id };
  }

  /** "Rerun with…": which model (the host's quick pick), then the answer again with it, beside the old one. */
  async rerunWith(messageId: string): Promise<{ assistantMessageId: string | null }> {
    this.connection.requireReady();
    const answer = this.held.messages.find((message) => message.id === messageId);
    const modelId = await this.hostActions.chooseModel?.({
      title: "Rerun with…",
      placeholder: "Answer this question again with another model (the new answer goes beside this one)",
      currentModelId: answer?.modelId ?? null,
    });
    if (modelId === undefined) return { assistantMessageId: null };
    return this.retryAnswer(messageId, modelId);
  }

  /**
   * Edit: the changed question goes out as a sibling of the original (under the same parent), with a
   * fresh answer from the conversation's model; the views show the new branch.
   */
  async editMessage(messageId: string, content: string): Promise<{ conversationId: string; assistantMessageId: string }> {
    this.connection.requireReady();
    const { message } = await this.client.call("getMessage", { params: { messageId } });
    this.compare = null;
    if (message.role !== "user") throw new TeamServerError(400, "validation_failed", "Only your own messages can be edited.");
    const modelId = this.activeModelId;
    if (!modelId) throw new TeamServerError(0, "model_unavailable", "No model is available to answer.");
    const { reply: response, answer } = await this.client.startAnswer("sendMessage", {
      params: { conversationId: message.conversationId },
      body: { content, modelId, parentId: message.parentId },
    });
    const assistantMessage = this.streams.track(response.assistantMessage, answer);
    if (this.held.conversationId === message.conversationId) {
      // the branch changed above the newest page: only the server knows its length and cursor
      this.held.hold(await this.readNewestPage(message.conversationId), NEWEST_PAGE_MESSAGES, (held) => this.streams.track(held));
      this.broadcastSnapshot();
    }
    this.conversationsChanged.fire();
    return { conversationId: message.conversationId, assistantMessageId: assistantMessage.id };
  }

  /**
   * The sibling navigator: the previous or next sibling's branch comes into view (the server
   * remembers it as the conversation's leaf, so a reload opens it again, and the conversation goes on
   * with that branch's model). Answers the id of the sibling now shown; null when there is none that way.
   */
  async switchSibling(messageId: string, direction: "previous" | "next"): Promise<{ messageId: string | null }> {
    this.connection.requireReady();
    const { messages } = await this.client.call("listMessageSiblings", { params: { messageId } });
    const index = messages.findIndex((message) => message.id === messageId);
    const target = index === -1 ? undefined : messages[direction === "previous" ? index - 1 : index + 1];
    if (!target) return { messageId: null };
    this.compare = null;
    await this.client.call("setConversationLeaf", { params: { conversationId: target.conversationId }, body: { messageId: target.id } });
    if (this.held.conversationId === target.conversationId) {
      await this.openConversation(target.conversationId);
      this.broadcast("message/reveal", { conversationId: target.conversationId, messageId: target.id });
    }
    this.conversationsChanged.fire();
    return { messageId: target.id };
  }

  /** Stops one answer, or every answer of the open conversation that is still streaming. */
  async stopGeneration(messageId?: string): Promise<void> {
    const messageIds = messageId
      ? [messageId]
      : this.held.messages.filter((message) => message.status === "streaming").map((message) => message.id);
    await Promise.all(
      messageIds.map(async (id) => {
        try {
          const { message } = await this.client.call("stopGeneration", { params: { messageId: id } });
          if (message.status !== "streaming") this.streams.finish(message);
        } catch (error) {
          // Already finished: the stream delivers (or delivered) its final state.
          if (!isTeamServerError(error, "generation_not_active")) throw error;
        }
      }),
    );
  }

  /** Switches the active conversation's model (the next answer sees the whole branch) and remembers it as the user's choice. */
  async switchModel(modelId: string): Promise<void> {
    this.connection.requireReady();
    const open = this.held.conversation;
    if (open) {
      const { conversation } = await this.client.call("updateConversation", { params: { conversationId: open.id }, body: { modelId } });
      this.held.updateConversation(conversation);
    }
    this.preferredModelId = modelId;
    const activeModel = this.activeModel;
    this.broadcast("model/changed", { activeModel });
    this.activeModelChanged.fire(activeModel);
    this.conversationsChanged.fire();
    // Switching a conversation's model also makes it the user's choice on the server (one call);
    // with none open, the choice is saved on its own.
    if (open) return;
    try {
      await this.client.call("updatePreferences", { body: { lastModelId: modelId } });
    } catch (error) {
      // The switch itself worked; only the default for new conversations on other machines is not saved.
      this.log("Could not save the model preference", error);
    }
  }

  /** Waits until every answer this session is streaming has finished (tests and shutdown). */
  whenAnswersFinished(): Promise<void> {
    return this.streams.whenAllFinished();
  }

  // ---- answers ----

  private handleAnswerFinished(message: Message): void {
    if (this.isInOpenConversation(message)) this.broadcast("message/updated", { message: { ...message } });
    this.conversationsChanged.fire();
    this.answerFinished.fire({ ...message });
    if (this.isInOpenConversation(message)) void this.trimHeldMessages();
  }

  /**
   * Once the held messages pass HELD_MESSAGES_MAX and no answer of the open conversation streams, the
   * newest page is read again: the views keep what they show (they hold their own older pages), the
   * next snapshot carries the shorter page and its cursor.
   */
  private async trimHeldMessages(): Promise<void> {
    const conversationId = this.held.conversationId;
    if (!conversationId || this.isReReadingNewestPage || !this.held.needsTrimming || this.streams.isStreamingIn(conversationId)) return;
    this.isReReadingNewestPage = true;
    try {
      const detail = await this.readNewestPage(conversationId);
      this.held.adoptNewerRead(detail, NEWEST_PAGE_MESSAGES, (message) => this.streams.track(message));
    } catch (error) {
      this.log("Could not read the newest page of the conversation again", error);
    } finally {
      this.isReReadingNewestPage = false;
    }
  }

  private isInOpenConversation(message: Message): boolean {
    return this.held.conversationId === message.conversationId;
  }

  dispose(): void {
    this.streams.dispose();
    for (const view of this.views) view.dispose();
    this.views.clear();
    this.connection.dispose();
    this.conversationsChanged.dispose();
    this.activeModelChanged.dispose();
    this.stateChanged.dispose();
    this.answerFinished.dispose();
  }
}

/** Same ids, names and windows in the same order: nothing any view shows would change. */
function haveSameModels(left: readonly Model[], right: readonly Model[]): boolean {
  return (
    left.length === right.length &&
    left.every((model, index) => {
      const other = right[index]!;
      return model.id === other.id && model.displayName === other.displayName && model.contextWindow === other.contextWindow;
    })
  );
}

function copyCompare(compare: ChatCompare): ChatCompare {
  return { questionId: compare.questionId, messages: compare.messages.map((message) => ({ ...message })) };
}

function copyStatus(status: AnswerStatus | null): AnswerStatus | null {
  return status ? { ...status } : null;
}
