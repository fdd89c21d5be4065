import type { AttachmentInput } from "../../../protocol/http/attachments";
import type { Message } from "../../../protocol/http/conversations";
import {
  CHAT_VIEW_STATE_VERSION,
  type ChatModel,
  type ChatSnapshot,
  type ChatViewState,
  type ConnectionState,
  chatViewStateSchema,
} from "../../../protocol/webview/chat-protocol";
import { DebouncedStateWriter } from "../host-bridge/debounced-state-writer";
import { describeRequestFailure, HostRequestError } from "../host-bridge/host-request-error";
import type { CodeBlockAction, CodeBlockSource } from "../markdown/code-block-view";
import { describeForMember, modelLabelFromId } from "./answer-metadata";
import { BannerView } from "./banner-view";
import type { ChatBridge } from "./chat-bridge";
import { ChatHeaderView } from "./chat-header-view";
import { ComposerView } from "./composer-view";
import { FindBarView } from "./find-bar-view";
import { LiveRegionView } from "./live-region-view";
import type { BranchPage } from "./loaded-branch";
import { MessageListView, type ScrollPosition } from "./message-list-view";

/** Why the composer cannot send, per connection state (states not listed can send). */
const UNAVAILABLE_PLACEHOLDERS: Partial<Record<ConnectionState, string>> = {
  "signed-out": "Sign in to Juggler to start chatting",
  "needs-sign-in": "Sign in again to continue (your draft is kept)",
  "incompatible-server": "This team server does not work with this version of Juggler",
};

const COPIED_FEEDBACK_MS = 1500;

/** What a screen reader hears when an answer ends, by its final status. */
const ANSWER_END_WORDS: Record<string, string> = {
  complete: "finished",
  stopped: "stopped",
  error: "failed",
  interrupted: "was interrupted",
};

/**
 * The chat view: wires the header, banner, message list, composer and the live region to the host
 * bridge. Keys: Escape stops the answer being written (anywhere in the view); Up in an empty
 * composer brings back the last message.
 */
export class ChatApp {
  private readonly header: ChatHeaderView;
  private readonly banner: BannerView;
  private readonly list: MessageListView;
  private readonly composer: ComposerView;
  private readonly findBar: FindBarView;
  private readonly liveRegion = new LiveRegionView();
  private readonly stateWriter: DebouncedStateWriter<ChatViewState>;
  private conversationId: string | null = null;
  /** Display names of the models the user can pick, by id (the snapshot's and model/changed's `models`). */
  private readonly modelLabels = new Map<string, string>();
  private isAdmin = false;
  private connection: ConnectionState = "signed-out";
  /** A search result being revealed (see revealMessage), and the latest reveal's number. */
  private pendingReveal: { conversationId: string; messageId: string } | undefined;
  private revealToken = 0;
  /** The saved scroll position, applied to the first snapshot of the same conversation. */
  private scrollToRestore: ChatViewState | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly bridge: ChatBridge,
  ) {
    this.header = new ChatHeaderView({
      onPickModel: () => bridge.command("model/pick", {}),
      onNewConversation: () => bridge.command("conversation/new", {}),
    });
    this.banner = new BannerView((command) => bridge.command("host/run", { command }));
    this.list = new MessageListView({
      retry: (messageId, modelId) => void this.retry(messageId, modelId),
      rerunWith: (messageId) => void this.rerunWith(messageId),
      submitEdit: (messageId, content) => this.submitEdit(messageId, content),
      switchSibling: (messageId, direction) => void this.switchSibling(messageId, direction),
      compareFor: (entry) => this.list.compareFor(entry),
      continueWith: (messageId) => void this.continueWith(messageId),
      showContext: (messageId) => bridge.command("context/show", { messageId }),
      openAttachment: (messageId, attachmentId, path) => bridge.command("attachment/open", { messageId, attachmentId, path }),
      loadOlder: (cursor) => this.loadOlder(cursor),
      onLinkOpen: (href) => bridge.command("link/open", { href }),
      onCodeAction: (action, source, button) => this.runCodeAction(action, source, button),
      onScroll: () => this.stateWriter.schedule(),
      onRendered: () => this.findBar.listRendered(),
      modelLabel: (modelId) => (modelId ? (this.modelLabels.get(modelId) ?? modelLabelFromId(modelId)) : undefined),
      isAdmin: () => this.isAdmin,
    });
    this.findBar = new FindBarView({
      conversationId: () => this.conversationId,
      loadedMessages: () => this.list.loadedMessages(),
      unloadedCount: () => this.list.unloadedCount,
      findInBranch: (conversationId, query) => bridge.request("find/inBranch", { conversationId, query }),
      revealMessage: (messageId) => this.list.revealMessage(messageId),
      renderedBody: (messageId) => this.list.renderedBody(messageId),
      scroller: () => this.list.element,
      focusList: () => this.list.element.focus(),
    });
    this.composer = new ComposerView({
      onSend: (text, attachments) => this.send(text, attachments),
      onCompare: (text, attachments) => this.compare(text, attachments),
      findFiles: async (query) => (await bridge.request("files/find", { query })).files,
      attachFile: (path) => bridge.request("files/attach", { path }),
      announce: (sentence) => this.liveRegion.announce(sentence),
      onStop: (messageId) => bridge.command("generation/stop", { messageId }),
      // Saved on every change: VS Code may discard a hidden view's page at once, and a pending
      // write went with it (a draft typed just before hiding the view was lost).
      onDraftChanged: () => this.stateWriter.writeNow(),
      recallLastMessage: () => this.list.lastUserMessage()?.content,
    });
    this.stateWriter = new DebouncedStateWriter(
      () => this.readViewState(),
      (state) => bridge.setState(state),
    );
  }

  start(): void {
    this.root.classList.add("chat-app");
    this.root.replaceChildren(
      this.header.element,
      this.banner.element,
      this.findBar.element,
      this.list.element,
      this.composer.element,
      this.liveRegion.element,
    );

    const saved = this.bridge.getState(chatViewStateSchema);
    if (saved) {
      this.composer.setDraft(saved.draft);
      this.conversationId = saved.conversationId;
      this.scrollToRestore = saved;
    }

    this.bridge.onNotification("state/snapshot", (snapshot) => this.applySnapshot(snapshot));
    this.bridge.onNotification("messages/appended", ({ conversationId, messages }) => this.appendMessages(conversationId, messages));
    this.bridge.onNotification("stream/delta", ({ messageId, text }) => {
      this.list.appendDelta(messageId, text);
    });
    this.bridge.onNotification("stream/status", ({ messageId, status }) => {
      this.list.setStreamStatus(messageId, status);
    });
    this.bridge.onNotification("message/updated", ({ message }) => this.updateMessage(message));
    this.bridge.onNotification("composer/attach", (chip) => this.composer.addAttachment(chip));
    this.bridge.onNotification("compare/shown", ({ compare }) => {
      this.list.setCompare(compare);
      if (compare) this.liveRegion.announce(`Comparing ${compare.messages.length} answers side by side`);
    });
    this.bridge.onNotification("model/changed", ({ activeModel, models }) => {
      if (models) this.adoptModels(models);
      this.showModel(activeModel?.label ?? null);
    });
    this.bridge.onNotification("banner/show", ({ banner }) => this.banner.show(banner));
    this.bridge.onNotification("composer/focus", ({ appendText }) => {
      if (appendText) this.composer.appendToDraft(appendText);
      this.composer.focus();
    });
    this.bridge.onNotification("find/open", () => this.findBar.open());
    this.bridge.onNotification("message/reveal", ({ conversationId, messageId }) => void this.revealMessage(conversationId, messageId));
    // Ctrl/Cmd+F in the chat opens its find bar (VS Code's keybinding does too, when the chat has focus).
    document.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "f") {
        event.preventDefault();
        this.findBar.open();
      }
    });

    document.addEventListener("keydown", (event) => this.onKeyDown(event));

    // VS Code may throw a hidden view's page away right after hiding it: save what is pending now.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.stateWriter.flush();
    });
    window.addEventListener("pagehide", () => this.stateWriter.flush());

    this.bridge.command("webview/ready", { restoredConversationId: saved?.conversationId ?? null });
  }

  private applySnapshot(snapshot: ChatSnapshot): void {
    const previousConversationId = this.conversationId;
    const hadMessages = this.list.messageCount > 0;
    const keptPosition = this.list.getScrollPosition();
    const isSameConversation = hadMessages && previousConversationId === (snapshot.conversation?.id ?? null);
    this.conversationId = snapshot.conversation?.id ?? null;
    this.connection = snapshot.connection;
    const isAdminChanged = this.isAdmin !== (snapshot.isAdmin ?? false);
    this.isAdmin = snapshot.isAdmin ?? false;
    if (snapshot.models) this.adoptModels(snapshot.models);
    else if (isAdminChanged) this.list.refreshMessageStatus();
    this.header.setTitle(snapshot.conversation?.title ?? null);
    this.showModel(snapshot.activeModel?.label ?? modelLabelFromId(snapshot.conversation?.modelId) ?? null);
    this.banner.show(snapshot.banner);
    const unavailablePlaceholder = UNAVAILABLE_PLACEHOLDERS[snapshot.connection];
    this.composer.setAvailability(unavailablePlaceholder === undefined, unavailablePlaceholder);
    const restore = this.scrollToRestore;
    this.scrollToRestore = undefined;
    let position: ScrollPosition;
    if (restore && restore.conversationId === this.conversationId) {
      position = { scrollTop: restore.scrollTop, isPinnedToBottom: restore.isPinnedToBottom, anchor: restore.scrollAnchor ?? null };
    } else if (isSameConversation) {
      // The same conversation again (the view became visible): stay where the reader was.
      position = keptPosition;
    } else {
      position = { scrollTop: 0, isPinnedToBottom: true, anchor: null };
    }
    // before the messages, so the compare's first answer renders as the compare at once
    this.list.setCompare(snapshot.compare ?? null);
    this.list.setMessages(
      { messages: snapshot.messages, olderCursor: snapshot.olderCursor, branchMessageCount: snapshot.branchMessageCount },
      { keepOlder: isSameConversation, scrollPosition: position },
    );
    this.syncStreamingState();
    const pendingReveal = this.pendingReveal;
    this.pendingReveal = undefined;
    if (pendingReveal?.conversationId === this.conversationId)
      void this.revealMessage(pendingReveal.conversationId, pendingReveal.messageId);
    else if (pendingReveal) this.revealToken += 1;
    if (this.conversationId !== previousConversationId) this.findBar.conversationChanged();
    else this.findBar.messagesChanged();
    // The open conversation is what a reloaded window re-attaches to (an answer may be streaming):
    // save a change of it at once, not after the scrolling of the stream has settled.
    if (this.conversationId !== previousConversationId) this.stateWriter.writeNow();
    else this.stateWriter.schedule();
  }

  private appendMessages(conversationId: string, messages: readonly Message[]): void {
    if (this.conversationId === null) {
      // The first message of a new conversation: the host created it.
      this.conversationId = conversationId;
      this.stateWriter.writeNow();
    } else if (conversationId !== this.conversationId) {
      return;
    }
    this.list.upsertMessages(messages);
    this.findBar.messagesChanged();
    // Someone who just sent a message wants to see it and its answer.
    if (messages.some((message) => message.role === "user")) {
      this.list.restoreScrollPosition({ scrollTop: 0, isPinnedToBottom: true, anchor: null });
    }
    this.syncStreamingState();
  }

  private updateMessage(message: Message): void {
    if (message.conversationId !== this.conversationId) return;
    const wasStreaming = this.list.isStreaming(message.id);
    this.list.updateMessage(message);
    this.syncStreamingState();
    this.findBar.messagesChanged();
    // Once per answer, when it ends while this view shows it: never per token, never for a snapshot.
    const endWords = ANSWER_END_WORDS[message.status];
    if (wasStreaming && endWords && message.role === "assistant") {
      const model = (message.modelId && this.modelLabels.get(message.modelId)) ?? modelLabelFromId(message.modelId) ?? "the model";
      this.liveRegion.announceAnswerEnd(message.id, `Answer from ${model} ${endWords}`, message.content);
    }
  }

  /**
   * A search result was opened: its message is scrolled to (older pages load until it is there), marked
   * and focused. A snapshot of the same conversation arriving meanwhile (the view was shown as the
   * conversation opened) starts the reveal again on the new messages instead of ending it.
   */
  private async revealMessage(conversationId: string, messageId: string): Promise<void> {
    if (conversationId !== this.conversationId) return;
    const token = ++this.revealToken;
    this.pendingReveal = { conversationId, messageId };
    const element = await this.list.revealMessage(messageId);
    // a later reveal, or this one started again after a snapshot, carries on from here
    if (token !== this.revealToken) return;
    this.pendingReveal = undefined;
    if (!element) return;
    element.classList.add("message--revealed");
    element.addEventListener("animationend", () => element.classList.remove("message--revealed"), { once: true });
    element.tabIndex = -1;
    element.focus({ preventScroll: true });
  }

  private adoptModels(models: readonly ChatModel[]): void {
    this.modelLabels.clear();
    for (const model of models) this.modelLabels.set(model.id, model.label);
    this.list.refreshMessageStatus();
  }

  private showModel(label: string | null): void {
    const hasNoModel = label === null && this.connection === "ready" && this.modelLabels.size === 0;
    this.header.setModel(label, hasNoModel);
    if (label) {
      this.list.setEmptyState(
        `Ask ${label}`,
        "Answers stream here. Switch models at any time: the next model sees the whole conversation.",
      );
    } else if (hasNoModel && this.isAdmin) {
      this.list.setEmptyState("No model yet", "Add a provider key and choose the models your team sees in Team Settings.", {
        label: "Open Team Settings",
        run: () => this.bridge.command("host/run", { command: "openTeamSettings" }),
      });
    } else if (hasNoModel) {
      this.list.setEmptyState("No model yet", "Ask your Juggler admin to add a provider and choose models.");
    } else {
      this.list.setEmptyState("Start a conversation", "Choose a model, then ask anything.");
    }
  }

  private onKeyDown(event: KeyboardEvent): void {
    if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return;
    const streamingMessageId = this.list.streamingMessageId();
    if (!streamingMessageId) return;
    event.preventDefault();
    this.bridge.command("generation/stop", { messageId: streamingMessageId });
  }

  private syncStreamingState(): void {
    this.composer.setStreamingMessage(this.list.streamingMessageId());
  }

  private async send(text: string, attachments: AttachmentInput[] = []): Promise<boolean> {
    try {
      await this.bridge.request("message/send", attachments.length === 0 ? { content: text } : { content: text, attachments });
      return true;
    } catch (error) {
      this.composer.showError(this.describeFailure(error));
      return false;
    }
  }

  /** A send's or retry's failure in plain words; a member is told to ask their admin, never to open Team Settings. */
  private describeFailure(error: unknown): string {
    if (!this.isAdmin && error instanceof HostRequestError && error.code !== "timeout" && error.code !== "invalid_response") {
      const forMember = describeForMember(error.code);
      if (forMember) return forMember;
    }
    return describeRequestFailure(error);
  }

  private async retry(messageId: string, modelId?: string): Promise<void> {
    this.list.setRetryState(messageId, { isPending: true });
    try {
      await this.bridge.request("message/retry", modelId === undefined ? { messageId } : { messageId, modelId });
      this.list.setRetryState(messageId, undefined);
    } catch (error) {
      this.list.setRetryState(messageId, { isPending: false, error: this.describeFailure(error) });
    }
  }

  private async rerunWith(messageId: string): Promise<void> {
    this.list.setRetryState(messageId, { isPending: true });
    try {
      await this.bridge.request("message/rerunWith", { messageId });
      this.list.setRetryState(messageId, undefined);
    } catch (error) {
      this.list.setRetryState(messageId, { isPending: false, error: describeRequestFailure(error) });
    }
  }

  /** The edited question goes out as a sibling; on failure the editor stays open with the reason. */
  private async submitEdit(messageId: string, content: string): Promise<boolean> {
    try {
      await this.bridge.request("message/edit", { messageId, content });
      this.liveRegion.announce("Edited message sent");
      return true;
    } catch (error) {
      this.list.setEditError(messageId, describeRequestFailure(error));
      return false;
    }
  }

  /** Compare…: the composer's text to 2–4 models the host asks for; the draft is cleared once it is sent. */
  private async compare(text: string, attachments: AttachmentInput[]): Promise<boolean> {
    try {
      const result = await this.bridge.request(
        "message/compare",
        attachments.length === 0 ? { content: text } : { content: text, attachments },
      );
      return result !== null;
    } catch (error) {
      this.composer.showError(describeRequestFailure(error));
      return false;
    }
  }

  private async continueWith(messageId: string): Promise<void> {
    try {
      await this.bridge.request("compare/continue", { messageId });
      this.liveRegion.announce("Continuing with the chosen answer");
    } catch (error) {
      this.banner.show({ kind: "error", message: describeRequestFailure(error) });
    }
  }

  private async switchSibling(messageId: string, direction: "previous" | "next"): Promise<void> {
    try {
      const { messageId: shown } = await this.bridge.request("branch/switch", { messageId, direction });
      const siblings =
        shown === null ? undefined : this.list.loadedMessages().find((loaded) => loaded.message.id === shown)?.message.siblings;
      if (siblings) this.liveRegion.announce(`Showing ${siblings.position} of ${siblings.count}`);
    } catch (error) {
      this.banner.show({ kind: "error", message: describeRequestFailure(error) });
    }
  }

  /** The page above `cursor` in the open conversation; a failure in plain words. */
  private async loadOlder(cursor: string): Promise<BranchPage> {
    const conversationId = this.conversationId;
    if (conversationId === null) throw new Error("No conversation is open.");
    try {
      return await this.bridge.request("messages/loadOlder", { conversationId, cursor });
    } catch (error) {
      throw new Error(describeRequestFailure(error), { cause: error });
    }
  }

  private runCodeAction(action: CodeBlockAction, source: CodeBlockSource, button: HTMLElement): void {
    const params = source.language === undefined ? { code: source.code } : { code: source.code, language: source.language };
    if (action === "copy") {
      this.bridge.command("code/copy", params);
      showCopiedFeedback(button);
    } else if (action === "insert") {
      this.bridge.command("code/insert", params);
    } else {
      this.bridge.command("code/open", params);
    }
  }

  private readViewState(): ChatViewState {
    const position = this.list.getScrollPosition();
    return {
      version: CHAT_VIEW_STATE_VERSION,
      draft: this.composer.draft,
      scrollTop: position.scrollTop,
      isPinnedToBottom: position.isPinnedToBottom,
      conversationId: this.conversationId,
      scrollAnchor: position.anchor,
    };
  }
}

/** The copy icon turns into a check for a moment, so the click visibly did something. */
function showCopiedFeedback(button: HTMLElement): void {
  const icon = button.querySelector(".codicon");
  if (!icon) return;
  icon.classList.replace("codicon-copy", "codicon-check");
  button.title = "Copied";
  setTimeout(() => {
    icon.classList.replace("codicon-check", "codicon-copy");
    button.title = "Copy";
  }, COPIED_FEEDBACK_MS);
}
