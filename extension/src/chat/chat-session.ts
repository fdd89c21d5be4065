import type { User } from "../../../protocol/http/accounts";
import {
  MESSAGE_PAGE_DEFAULT,
  type Conversation,
  type ConversationDetailResponse,
  type ConversationListResponse,
  type Message,
} from "../../../protocol/http/conversations";
import type { ErrorDetail } from "../../../protocol/http/error-codes";
import type { Model } from "../../../protocol/http/models";
import {
  chatCommands,
  chatRequests,
  webviewToHostSchema,
  type Banner,
  type ChatCommandName,
  type ChatCommandParams,
  type ChatModel,
  type ChatNotificationName,
  type ChatNotificationParams,
  type ChatRequestName,
  type ChatRequestParams,
  type ChatRequestResult,
  type ChatSnapshot,
  type ConnectionState,
} from "../../../protocol/webview/chat-protocol";
import { EventEmitter, type Disposable, type Event } from "../server-client/event-emitter";
import type { TeamServerClient } from "../server-client/team-server-client";
import { isTeamServerError, TeamServerError } from "../server-client/team-server-error";
import { ChatViewChannel, DELTA_FLUSH_INTERVAL_MS, type ChatViewConnection } from "./chat-view-channel";
import { formatSelectionMessage, type CodeSelection } from "./format-selection-message";
import { toChatModel } from "./to-chat-model";

export type CodeBlock = ChatCommandParams<"code/copy">;
/** What an answer waits for before its first text (older messages being summarised), as the webview shows it. */
export type AnswerStatus = NonNullable<ChatNotificationParams<"stream/status">["status"]>;

/** Messages of the open conversation's newest page asked for when opening it. */
export const NEWEST_PAGE_MESSAGES = MESSAGE_PAGE_DEFAULT;
/**
 * Past this many held messages (the newest page plus what was appended since) the session reads the
 * newest page again once no answer of the conversation streams, so a long session stays bounded.
 */
export const HELD_MESSAGES_MAX = 2 * MESSAGE_PAGE_DEFAULT;
export type HostCommand = ChatCommandParams<"host/run">["command"];

/** What only VS Code can do; surfaces/ implements it. Tests leave parts out. */
export interface ChatHostActions {
  copyCode(block: CodeBlock): void | Promise<void>;
  insertCode(block: CodeBlock): void | Promise<void>;
  openCode(block: CodeBlock): void | Promise<void>;
  /** Only ever called with an http or https URL. */
  openLink(url: string): void | Promise<void>;
  pickModel(): void | Promise<void>;
  /** "Show Context" of an answer: what its request carried, in an editor tab. */
  showContext(messageId: string): void | Promise<void>;
  /** signIn and openSettings; retryConnection the session handles itself. */
  runHostCommand(command: Exclude<HostCommand, "retryConnection">): void | Promise<void>;
}

export interface ChatSessionOptions {
  client: TeamServerClient;
  hostActions?: Partial<ChatHostActions>;
  deltaFlushIntervalMs?: number;
  /** Where problems that reach no user go (the output channel in VS Code). */
  log?: (message: string, error?: unknown) => void;
}

/** The handle a surface keeps for one attached webview. */
export interface ChatViewAttachment extends Disposable {
  /** Everything the webview posts; validated here. */
  handleMessage(message: unknown): Promise<void>;
  /** Call when the webview's visibility changed: a view that shows again gets a full snapshot. */
  visibilityChanged(): void;
}

interface TrackedAnswer {
  /** The same object the open conversation's message list holds, updated in place. */
  message: Message;
  /** Text received on this stream; after re-attaching from the start it catches up with the stored text first. */
  streamedText: string;
  /** Set while the answer waits for its context (summarising); cleared by the first text or the end. */
  status: AnswerStatus | null;
  controller: AbortController;
  finished: Promise<void>;
}

type RequestHandlers = {
  [Name in ChatRequestName]: (params: ChatRequestParams<Name>, view: ChatViewChannel) => Promise<ChatRequestResult<Name>>;
};
type CommandHandlers = {
  [Name in ChatCommandName]: (params: ChatCommandParams<Name>, view: ChatViewChannel) => void | Promise<void>;
};

/**
 * The chat of one VS Code window: sign-in state, the open conversation and its branch, the active
 * model and the answers streaming from the server. Webviews (the sidebar view, an editor tab) attach
 * and detach; the session keeps consuming streams while none is visible and gives each view a full
 * snapshot when it shows again. No vscode import: surfaces/ adapts it.
 */
export class ChatSession implements Disposable {
  readonly client: TeamServerClient;
  private readonly hostActions: Partial<ChatHostActions>;
  private readonly deltaFlushIntervalMs: number;
  private readonly log: (message: string, error?: unknown) => void;

  private connection: ConnectionState = "signed-out";
  private banner: Banner | null = null;
  private conversation: Conversation | undefined;
  /** The newest page of the open conversation's branch and what was appended since (older pages live in the webview). */
  private messages: Message[] = [];
  /** Cursor for the page before `messages` (null: they start at the root). */
  private olderCursor: string | null = null;
  /** Messages on the open conversation's branch in all. */
  private branchMessageCount = 0;
  /**
   * Whether the server answered the last read of the newest page with at most the messages asked for.
   * A server that returns the whole branch in one page gains nothing from being asked again.
   */
  private isServerPaging = false;
  private isReReadingNewestPage = false;
  private models: Model[] = [];
  /** A model chosen while no conversation is open: the next new conversation uses it. */
  private preferredModelId: string | null = null;
  private readonly answers = new Map<string, TrackedAnswer>();
  private readonly views = new Set<ChatViewChannel>();
  /** A conversation a reloaded webview asked to restore before the session was ready. */
  private conversationToRestore: string | null = null;
  private connecting: Promise<void> | undefined;
  /** The account whose chat is shown; another account signing in clears it. */
  private userId: string | null = null;
  /** Set between onSessionExpired and the onSessionChanged(undefined) that follows it. */
  private isExpiring = false;
  private isDisposed = false;
  private readonly subscriptions: Disposable[] = [];

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

  private readonly requestHandlers: RequestHandlers = {
    "message/send": ({ content }) => this.sendMessage(content),
    "message/retry": ({ messageId, modelId }) => this.retryAnswer(messageId, modelId),
    "messages/loadOlder": ({ conversationId, cursor }) => this.loadOlderMessages(conversationId, cursor),
    "conversation/open": ({ conversationId }) => this.openConversation(conversationId),
  };

  private readonly commandHandlers: CommandHandlers = {
    "webview/ready": ({ restoredConversationId }, view) => this.handleWebviewReady(restoredConversationId, view),
    "generation/stop": ({ messageId }) => this.stopGeneration(messageId),
    "conversation/new": () => this.newConversation(),
    "model/pick": () => this.hostActions.pickModel?.(),
    "context/show": ({ messageId }) => this.hostActions.showContext?.(messageId),
    "host/run": ({ command }) => (command === "retryConnection" ? this.retryConnection() : this.hostActions.runHostCommand?.(command)),
    "code/copy": (block) => this.hostActions.copyCode?.(block),
    "code/insert": (block) => this.hostActions.insertCode?.(block),
    "code/open": (block) => this.hostActions.openCode?.(block),
    "link/open": ({ href }) => {
      const url = toWebUrl(href);
      // Model output is untrusted: never hand a command:, file: or javascript: link to the host.
      if (url) return this.hostActions.openLink?.(url);
      this.log(`Ignored a link that is not http(s): ${href.slice(0, 100)}`);
    },
  };

  constructor(options: ChatSessionOptions) {
    this.client = options.client;
    this.hostActions = options.hostActions ?? {};
    this.deltaFlushIntervalMs = options.deltaFlushIntervalMs ?? DELTA_FLUSH_INTERVAL_MS;
    this.log = options.log ?? (() => undefined);
    this.subscriptions.push(
      this.client.onSessionExpired(() => this.handleSessionExpired()),
      this.client.onSessionChanged((session) => this.handleSessionChanged(session !== undefined)),
    );
  }

  // ---- state ----

  get connectionState(): ConnectionState {
    return this.connection;
  }

  get user(): User | undefined {
    return this.client.user;
  }

  get isAdmin(): boolean {
    return this.connection === "ready" && this.client.user?.role === "admin";
  }

  get openConversationId(): string | null {
    return this.conversation?.id ?? null;
  }

  get visibleModels(): readonly Model[] {
    return this.models;
  }

  get activeModelId(): string | null {
    return this.conversation?.modelId ?? this.preferredModelId ?? this.client.user?.lastModelId ?? this.models[0]?.id ?? null;
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
    return this.messages.findLast((message) => message.role === "assistant")?.id ?? null;
  }

  /** The open conversation's title, when `conversationId` is the open one. */
  conversationTitle(conversationId: string): string | undefined {
    return this.conversation?.id === conversationId ? this.conversation.title : undefined;
  }

  /** Ids of answers whose stream this session is consuming. */
  get streamingMessageIds(): string[] {
    return [...this.answers.keys()];
  }

  /** Everything the chat view shows. */
  snapshot(): ChatSnapshot {
    return {
      connection: this.connection,
      userName: this.client.user?.name ?? null,
      conversation: this.conversation
        ? { id: this.conversation.id, title: this.conversation.title, modelId: this.conversation.modelId }
        : null,
      messages: this.messages.map((message) => ({ ...message })),
      olderCursor: this.olderCursor,
      branchMessageCount: this.branchMessageCount,
      activeModel: this.activeModel,
      banner: this.banner,
    };
  }

  // ---- connection ----

  /** Restores a stored session and connects. No network before the first await, so activate() stays cheap. */
  async start(): Promise<void> {
    const session = await this.client.restoreSession();
    if (!session) {
      this.setConnection("signed-out", null);
      return;
    }
    await this.connect();
  }

  /** Checks the server's version, loads the models and the user's preferences. */
  connect(): Promise<void> {
    this.connecting ??= this.performConnect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async performConnect(): Promise<void> {
    this.setConnection("connecting", null);
    try {
      await this.client.connect();
      const [modelList, me] = await Promise.all([this.client.call("listModels"), this.client.call("getMe")]);
      this.models = modelList.models;
      this.userId = me.user.id;
      this.preferredModelId = this.preferredModelId ?? me.user.lastModelId;
      this.setConnection("ready", null);
      this.activeModelChanged.fire(this.activeModel);
      const toRestore = this.conversationToRestore;
      this.conversationToRestore = null;
      if (toRestore && !this.conversation)
        await this.openConversation(toRestore).catch((error) => this.log("Could not restore the conversation", error));
      else if (this.conversation)
        await this.openConversation(this.conversation.id).catch((error) => this.log("Could not reload the conversation", error));
    } catch (error) {
      this.handleConnectionError(error);
    }
  }

  /** Models as the server lists them now (the quick pick reloads them, since an admin may have changed them). */
  async reloadModels(): Promise<readonly Model[]> {
    const modelList = await this.client.call("listModels");
    this.models = modelList.models;
    this.activeModelChanged.fire(this.activeModel);
    return this.models;
  }

  private async retryConnection(): Promise<void> {
    if (!this.client.isSignedIn) {
      await this.hostActions.runHostCommand?.("signIn");
      return;
    }
    await this.connect();
  }

  private handleConnectionError(error: unknown): void {
    if (!this.client.isSignedIn) {
      // The session ended while connecting (refused refresh, disabled account): the expiry already set the state.
      if (this.connection !== "needs-sign-in") this.setConnection("signed-out", null);
      return;
    }
    if (isTeamServerError(error, "incompatible_server")) {
      this.setConnection("incompatible-server", {
        kind: "error",
        message: error.message,
        action: { label: "Open Settings", command: "openSettings" },
      });
    } else if (isTeamServerError(error, "offline")) {
      this.setConnection("offline", { kind: "warning", message: error.message, action: { label: "Retry", command: "retryConnection" } });
    } else {
      this.log("Connecting to the Juggler server failed", error);
      const message = error instanceof Error ? error.message : String(error);
      this.setConnection("offline", {
        kind: "error",
        message: `Could not connect to the Juggler server: ${message}`,
        action: { label: "Retry", command: "retryConnection" },
      });
    }
  }

  private handleSessionExpired(): void {
    this.isExpiring = true;
    this.setConnection("needs-sign-in", {
      kind: "warning",
      message: "Your Juggler session ended. Sign in again to continue — your draft is kept.",
      action: { label: "Sign In", command: "signIn" },
    });
  }

  private handleSessionChanged(isSignedIn: boolean): void {
    if (this.isDisposed) return;
    if (isSignedIn) {
      this.isExpiring = false;
      const userId = this.client.user?.id ?? null;
      // Someone else signed in (after an expiry, or in another window): the previous account's chat must go.
      if (this.userId !== null && userId !== this.userId) this.forgetAccountState();
      this.userId = userId;
      // A refresh while ready only may change the user (their role): tell the surfaces.
      if (this.connection === "ready" || this.connection === "connecting") this.stateChanged.fire();
      else void this.connect();
      return;
    }
    if (this.isExpiring) {
      // Expired: keep the conversation on screen behind the "sign in again" banner.
      this.isExpiring = false;
      return;
    }
    this.forgetAccountState();
    this.userId = null;
    this.setConnection("signed-out", null);
  }

  private forgetAccountState(): void {
    this.abortAllAnswers();
    this.conversation = undefined;
    this.messages = [];
    this.olderCursor = null;
    this.branchMessageCount = 0;
    this.models = [];
    this.preferredModelId = null;
    this.conversationToRestore = null;
    this.broadcastSnapshot();
    this.activeModelChanged.fire(null);
    this.conversationsChanged.fire();
  }

  private setConnection(connection: ConnectionState, banner: Banner | null): void {
    this.connection = connection;
    this.banner = banner;
    this.broadcastSnapshot();
    this.stateChanged.fire();
  }

  // ---- webviews ----

  attachView(connection: ChatViewConnection): ChatViewAttachment {
    const view = new ChatViewChannel(connection, this.deltaFlushIntervalMs);
    this.views.add(view);
    return {
      handleMessage: (message) => this.handleMessage(view, message),
      visibilityChanged: () => {
        if (view.isVisible) this.sendSnapshot(view, this.snapshot());
      },
      dispose: () => {
        this.views.delete(view);
        view.dispose();
      },
    };
  }

  private async handleMessage(view: ChatViewChannel, message: unknown): Promise<void> {
    const envelope = webviewToHostSchema.safeParse(message);
    if (!envelope.success) {
      this.log("Ignored a malformed message from the chat webview");
      return;
    }
    const { method, params } = envelope.data;
    if (envelope.data.kind === "request") {
      const id = envelope.data.id;
      if (!Object.hasOwn(chatRequests, method)) {
        view.respond(id, { ok: false, error: { code: "not_found", message: `Unknown request ${method}` } });
        return;
      }
      const name = method as ChatRequestName;
      const parsed = chatRequests[name].params.safeParse(params);
      if (!parsed.success) {
        view.respond(id, { ok: false, error: { code: "validation_failed", message: describeValidationError(parsed.error) } });
        return;
      }
      try {
        const handler = this.requestHandlers[name] as (params: unknown, view: ChatViewChannel) => Promise<unknown>;
        view.respond(id, { ok: true, result: await handler(parsed.data, view) });
      } catch (error) {
        view.respond(id, { ok: false, error: toErrorDetail(error) });
      }
      return;
    }
    if (!Object.hasOwn(chatCommands, method)) {
      this.log(`Ignored an unknown command from the chat webview: ${method}`);
      return;
    }
    const name = method as ChatCommandName;
    const parsed = chatCommands[name].safeParse(params);
    if (!parsed.success) {
      this.log(`Ignored an invalid ${name} command: ${describeValidationError(parsed.error)}`);
      return;
    }
    try {
      const handler = this.commandHandlers[name] as (params: unknown, view: ChatViewChannel) => void | Promise<void>;
      await handler(parsed.data, view);
    } catch (error) {
      // Commands have no answer: show what went wrong where the user looks.
      this.showBanner({ kind: "error", message: toErrorDetail(error).message });
      this.log(`The ${name} command failed`, error);
    }
  }

  private async handleWebviewReady(restoredConversationId: string | null, view: ChatViewChannel): Promise<void> {
    if (restoredConversationId && !this.conversation) {
      if (this.connection === "ready") {
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
  }

  /** A snapshot, then the status of answers still waiting for their context (the snapshot has no place for it). */
  private sendSnapshot(view: ChatViewChannel, snapshot: ChatSnapshot): void {
    view.sendSnapshot(snapshot);
    for (const answer of this.answers.values()) {
      if (answer.status && this.isInOpenConversation(answer.message)) {
        view.notify("stream/status", { messageId: answer.message.id, status: { ...answer.status } });
      }
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
    this.banner = banner;
    this.broadcast("banner/show", { banner });
  }

  // ---- conversations ----

  /** Opens a conversation in every attached view; re-attaches to answers still streaming on the server. */
  async openConversation(conversationId: string): Promise<ChatSnapshot> {
    this.requireReady();
    const previousModelId = this.activeModelId;
    const detail = await this.readNewestPage(conversationId);
    this.holdNewestPage(detail);
    this.broadcastSnapshot();
    if (this.activeModelId !== previousModelId) this.activeModelChanged.fire(this.activeModel);
    return this.snapshot();
  }

  private readNewestPage(conversationId: string): Promise<ConversationDetailResponse> {
    return this.client.call("getConversation", { params: { conversationId }, query: { limit: NEWEST_PAGE_MESSAGES } });
  }

  /** Takes the server's newest page as what the session holds; answers still streaming keep their tracked object. */
  private holdNewestPage(detail: ConversationDetailResponse): void {
    this.conversation = detail.conversation;
    this.messages = detail.messages.map((message) => this.answers.get(message.id)?.message ?? this.trackAnswer(message));
    this.olderCursor = detail.olderCursor;
    this.branchMessageCount = detail.branchMessageCount;
    this.isServerPaging = detail.messages.length <= NEWEST_PAGE_MESSAGES;
  }

  /**
   * Once the held messages pass HELD_MESSAGES_MAX and no answer of the open conversation streams, the
   * newest page is read again: the views keep what they show (they hold their own older pages), the
   * next snapshot carries the shorter page and its cursor.
   */
  private async trimHeldMessages(): Promise<void> {
    const conversationId = this.conversation?.id;
    if (!conversationId || this.isReReadingNewestPage || !this.isServerPaging || this.messages.length <= HELD_MESSAGES_MAX) return;
    if ([...this.answers.values()].some((answer) => answer.message.conversationId === conversationId)) return;
    this.isReReadingNewestPage = true;
    try {
      const detail = await this.readNewestPage(conversationId);
      // Sends made meanwhile appended after the page's last message: keep them. Anything else that
      // changed the held messages (a retry, another conversation) leaves that message out: drop the page.
      const pageLeafId = detail.messages.at(-1)?.id;
      const leafIndex = this.messages.findIndex((message) => message.id === pageLeafId);
      if (this.conversation?.id !== conversationId || leafIndex === -1) return;
      const appendedSince = this.messages.slice(leafIndex + 1);
      const branchMessageCount = this.branchMessageCount;
      this.holdNewestPage(detail);
      this.messages.push(...appendedSince);
      this.branchMessageCount = branchMessageCount;
    } catch (error) {
      this.log("Could not read the newest page of the conversation again", error);
    } finally {
      this.isReReadingNewestPage = false;
    }
  }

  /** Shows an empty chat; the conversation is created with the first message. */
  newConversation(): void {
    const previousModelId = this.activeModelId;
    if (this.conversation?.modelId) this.preferredModelId = this.conversation.modelId;
    this.conversation = undefined;
    this.messages = [];
    this.olderCursor = null;
    this.branchMessageCount = 0;
    this.broadcastSnapshot();
    if (this.activeModelId !== previousModelId) this.activeModelChanged.fire(this.activeModel);
  }

  /**
   * A page of the open conversation's branch above the one the view holds. The session keeps none of
   * it: older pages live in the view that scrolled to them.
   */
  async loadOlderMessages(conversationId: string, cursor: string): Promise<{ messages: Message[]; olderCursor: string | null }> {
    this.requireReady();
    if (conversationId !== this.conversation?.id) {
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

  /** One page of the user's conversations, most recent first (the tree loads more with the cursor). */
  listConversations(options: { cursor?: string; limit?: number } = {}): Promise<ConversationListResponse> {
    return this.client.call("listConversations", { query: { limit: options.limit ?? 50, cursor: options.cursor } });
  }

  async renameConversation(conversationId: string, title: string): Promise<Conversation> {
    const { conversation } = await this.client.call("updateConversation", { params: { conversationId }, body: { title } });
    if (this.conversation?.id === conversationId) {
      this.conversation = conversation;
      this.broadcastSnapshot();
    }
    this.conversationsChanged.fire();
    return conversation;
  }

  async deleteConversation(conversationId: string): Promise<void> {
    await this.client.call("deleteConversation", { params: { conversationId } });
    for (const [messageId, answer] of this.answers) {
      if (answer.message.conversationId === conversationId) {
        answer.controller.abort();
        this.answers.delete(messageId);
      }
    }
    if (this.conversation?.id === conversationId) this.newConversation();
    this.conversationsChanged.fire();
  }

  // ---- messages ----

  /** Sends in the open conversation, creating one first when none is open. */
  async sendMessage(content: string): Promise<{ conversationId: string; assistantMessageId: string }> {
    this.requireReady();
    const modelId = this.activeModelId;
    if (!modelId) {
      throw new TeamServerError(
        0,
        "model_unavailable",
        "No model is available yet. An admin must add a provider and choose visible models in Juggler: Team Settings.",
      );
    }
    let conversation = this.conversation;
    let isNewConversation = false;
    if (!conversation) {
      conversation = (await this.client.call("createConversation", { body: { modelId } })).conversation;
      // Another send or open may have happened meanwhile; only take over an empty view.
      if (!this.conversation) {
        this.conversation = conversation;
        this.messages = [];
        this.olderCursor = null;
        this.branchMessageCount = 0;
        this.isServerPaging = true;
        isNewConversation = true;
      }
    }
    const response = await this.client.call("sendMessage", { params: { conversationId: conversation.id }, body: { content, modelId } });
    const assistantMessage = this.trackAnswer(response.assistantMessage);
    if (this.conversation?.id === conversation.id) {
      const isTitleChanged = this.conversation.title !== response.conversation.title;
      this.conversation = response.conversation;
      this.messages.push(response.userMessage, assistantMessage);
      this.branchMessageCount += 2;
      this.broadcast("messages/appended", {
        conversationId: conversation.id,
        messages: [{ ...response.userMessage }, { ...assistantMessage }],
      });
      // The protocol has no "conversation changed" notification: a new conversation or title travels in a snapshot.
      if (isNewConversation || isTitleChanged) this.broadcastSnapshot();
    }
    this.conversationsChanged.fire();
    return { conversationId: conversation.id, assistantMessageId: assistantMessage.id };
  }

  /** Sends an editor selection (with its path, lines and language) into the open conversation or a new one. */
  sendSelection(selection: CodeSelection, defaultInstruction?: string): Promise<{ conversationId: string; assistantMessageId: string }> {
    return this.sendMessage(formatSelectionMessage(selection, defaultInstruction));
  }

  /** Runs an answer again as a sibling, optionally on another model; the view switches to the new branch. */
  async retryAnswer(messageId: string, modelId?: string): Promise<{ assistantMessageId: string }> {
    this.requireReady();
    const response = await this.client.call("regenerate", { params: { messageId }, body: modelId ? { modelId } : {} });
    const assistantMessage = this.trackAnswer(response.assistantMessage);
    if (this.conversation?.id === response.conversation.id) {
      const index = this.messages.findIndex((message) => message.id === messageId);
      if (index > 0) {
        // The new answer replaces the retried one and everything after it; its question is held too.
        this.conversation = response.conversation;
        this.branchMessageCount -= this.messages.length - index - 1;
        this.messages.splice(index, this.messages.length - index, assistantMessage);
      } else {
        // The retried answer is in an older page (or opens the held one): how many messages the new
        // branch has, and the cursor above it, only the server knows.
        this.holdNewestPage(await this.readNewestPage(response.conversation.id));
      }
      this.broadcastSnapshot();
    }
    this.conversationsChanged.fire();
    return { assistantMessageId: assistantMessage.id };
  }

  /** Stops one answer, or every answer of the open conversation that is still streaming. */
  async stopGeneration(messageId?: string): Promise<void> {
    const messageIds = messageId
      ? [messageId]
      : this.messages.filter((message) => message.status === "streaming").map((message) => message.id);
    await Promise.all(
      messageIds.map(async (id) => {
        try {
          const { message } = await this.client.call("stopGeneration", { params: { messageId: id } });
          const answer = this.answers.get(id);
          if (answer && message.status !== "streaming") this.finishAnswer(answer, message);
        } catch (error) {
          // Already finished: the stream delivers (or delivered) its final state.
          if (!isTeamServerError(error, "generation_not_active")) throw error;
        }
      }),
    );
  }

  /** Switches the active conversation's model (the next answer sees the whole branch) and remembers it as the user's choice. */
  async switchModel(modelId: string): Promise<void> {
    this.requireReady();
    if (this.conversation) {
      const { conversation } = await this.client.call("updateConversation", {
        params: { conversationId: this.conversation.id },
        body: { modelId },
      });
      if (this.conversation?.id === conversation.id) this.conversation = conversation;
    }
    this.preferredModelId = modelId;
    const activeModel = this.activeModel;
    this.broadcast("model/changed", { activeModel });
    this.activeModelChanged.fire(activeModel);
    this.conversationsChanged.fire();
    try {
      await this.client.call("updatePreferences", { body: { lastModelId: modelId } });
    } catch (error) {
      // The switch itself worked; only the default for new conversations on other machines is not saved.
      this.log("Could not save the model preference", error);
    }
  }

  /** Waits until every answer this session is streaming has finished (tests and shutdown). */
  async whenAnswersFinished(): Promise<void> {
    while (this.answers.size > 0) await Promise.all([...this.answers.values()].map((answer) => answer.finished));
  }

  private requireReady(): void {
    if (this.connection === "ready") return;
    if (this.connection === "needs-sign-in")
      throw new TeamServerError(401, "not_signed_in", "Your Juggler session ended. Sign in again to continue.");
    if (this.connection === "signed-out" || !this.client.isSignedIn)
      throw new TeamServerError(401, "not_signed_in", "Sign in to Juggler first.");
    if (this.connection === "incompatible-server")
      throw new TeamServerError(
        0,
        "incompatible_server",
        this.banner?.message ?? "The Juggler server is not compatible with this extension.",
      );
    if (this.connection === "connecting")
      throw new TeamServerError(0, "offline", "Still connecting to the Juggler server; try again in a moment.", true);
    throw new TeamServerError(0, "offline", this.banner?.message ?? "Not connected to the Juggler server.", true);
  }

  // ---- answers ----

  /** Starts consuming the stream of an answer that is still streaming; returns the message object views show. */
  private trackAnswer(message: Message): Message {
    const existing = this.answers.get(message.id);
    if (existing) return existing.message;
    const tracked: TrackedAnswer = {
      message: { ...message },
      streamedText: "",
      status: null,
      controller: new AbortController(),
      finished: Promise.resolve(),
    };
    if (message.status !== "streaming" || this.isDisposed) return tracked.message;
    this.answers.set(message.id, tracked);
    tracked.finished = this.consumeAnswerStream(tracked);
    return tracked.message;
  }

  private async consumeAnswerStream(answer: TrackedAnswer): Promise<void> {
    const messageId = answer.message.id;
    try {
      // No Last-Event-ID: the stream starts at the first event, and text the view already has is skipped below.
      for await (const event of this.client.streamGeneration(messageId, { signal: answer.controller.signal })) {
        switch (event.event) {
          case "generation-start":
            answer.message.provider = event.data.provider;
            answer.message.modelId = event.data.modelId;
            break;
          case "generation-status":
            this.setAnswerStatus(answer, { phase: event.data.phase, messageCount: event.data.messageCount });
            break;
          case "text-delta":
            this.setAnswerStatus(answer, null);
            this.appendStreamedText(answer, event.data.text);
            break;
          case "usage":
            answer.message.inputTokens = event.data.inputTokens;
            answer.message.outputTokens = event.data.outputTokens;
            break;
          case "generation-end":
          case "generation-error":
            this.finishAnswer(answer, event.data.message);
            return;
        }
      }
    } catch (error) {
      if (answer.controller.signal.aborted || this.isDisposed) return;
      this.log(`The stream of answer ${messageId} failed`, error);
      await this.recoverLostStream(answer, error);
    } finally {
      // However the stream ended, nothing is being prepared for it any more.
      this.setAnswerStatus(answer, null);
      if (this.answers.get(messageId) === answer) this.answers.delete(messageId);
    }
  }

  /** Tells the views what the answer waits for (or that it no longer waits), once per change. */
  private setAnswerStatus(answer: TrackedAnswer, status: AnswerStatus | null): void {
    if (answer.status === null && status === null) return;
    answer.status = status;
    if (this.isDisposed || !this.isInOpenConversation(answer.message)) return;
    this.broadcast("stream/status", { messageId: answer.message.id, status: status ? { ...status } : null });
  }

  /**
   * A stream that re-attached from the start first replays text the view already shows (read from
   * the database); only what goes beyond it is new. If the texts disagree, the view gets the whole message.
   */
  private appendStreamedText(answer: TrackedAnswer, text: string): void {
    answer.streamedText += text;
    const shown = answer.message.content;
    if (answer.streamedText.length <= shown.length) return;
    if (answer.streamedText.startsWith(shown)) {
      answer.message.content = answer.streamedText;
      if (this.isInOpenConversation(answer.message)) {
        const delta = answer.streamedText.slice(shown.length);
        for (const view of this.views) view.queueDelta(answer.message.id, delta);
      }
    } else {
      answer.message.content = answer.streamedText;
      if (this.isInOpenConversation(answer.message)) this.broadcast("message/updated", { message: { ...answer.message } });
    }
  }

  private finishAnswer(answer: TrackedAnswer, finalMessage: Message): void {
    const wasStreaming = answer.message.status === "streaming";
    Object.assign(answer.message, finalMessage);
    if (this.answers.get(finalMessage.id) === answer) this.answers.delete(finalMessage.id);
    if (!wasStreaming) return; // a stop answered before the stream's own final event
    answer.controller.abort();
    this.setAnswerStatus(answer, null);
    if (this.isInOpenConversation(answer.message)) this.broadcast("message/updated", { message: { ...answer.message } });
    this.conversationsChanged.fire();
    this.answerFinished.fire({ ...answer.message });
    if (this.isInOpenConversation(answer.message)) void this.trimHeldMessages();
  }

  /** The stream could not be resumed: take the stored state, or say plainly that the answer continues on the server. */
  private async recoverLostStream(answer: TrackedAnswer, error: unknown): Promise<void> {
    try {
      const { message } = await this.client.call("getMessage", { params: { messageId: answer.message.id } });
      if (message.status !== "streaming") {
        this.finishAnswer(answer, message);
        return;
      }
    } catch (lookupError) {
      this.log("Could not read the answer after its stream was lost", lookupError);
    }
    if (this.isInOpenConversation(answer.message)) {
      const detail = toErrorDetail(error);
      this.showBanner({
        kind: "warning",
        message: `${detail.message} The answer keeps generating on the server.`,
        action: { label: "Reconnect", command: "retryConnection" },
      });
    }
  }

  private isInOpenConversation(message: Message): boolean {
    return this.conversation?.id === message.conversationId;
  }

  private abortAllAnswers(): void {
    for (const answer of this.answers.values()) answer.controller.abort();
    this.answers.clear();
  }

  dispose(): void {
    this.isDisposed = true;
    this.abortAllAnswers();
    for (const view of this.views) view.dispose();
    this.views.clear();
    for (const subscription of this.subscriptions) subscription.dispose();
    this.conversationsChanged.dispose();
    this.activeModelChanged.dispose();
    this.stateChanged.dispose();
    this.answerFinished.dispose();
  }
}

/** The protocol's error shape for anything thrown while handling a webview request. */
export function toErrorDetail(error: unknown): ErrorDetail {
  if (error instanceof TeamServerError) return error.toDetail();
  return { code: "internal_error", message: error instanceof Error ? error.message : String(error) };
}

function describeValidationError(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}

function toWebUrl(href: string): string | undefined {
  try {
    const url = new URL(href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}
