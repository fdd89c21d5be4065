import type { Message } from "../../../protocol/http/conversations";
import type { ChatNotificationParams } from "../../../protocol/webview/chat-protocol";
import type { StartedAnswerStream, TeamServerClient } from "../server-client/team-server-client";

/** What an answer waits for before its first text (older messages being summarised), as the webview shows it. */
export type AnswerStatus = NonNullable<ChatNotificationParams<"stream/status">["status"]>;

/** What happens to the answers being streamed; the session turns it into what the views see. */
export interface AnswerStreamListener {
  /** New text at the end of the answer (`message.content` already includes it). */
  textAppended(message: Message, text: string): void;
  /**
   * The text shown so far must be replaced by `message.content`: the stream of an answer that had
   * text when it was tracked (read from the database after a reload) replays from its first event.
   */
  textReplaced(message: Message): void;
  /** The answer waits for its context (a status), or no longer does (null). */
  statusChanged(message: Message, status: AnswerStatus | null): void;
  /** The answer reached its final state (complete, stopped, error, interrupted). */
  finished(message: Message): void;
  /** The stream broke and could not be resumed while the answer still runs on the server. */
  lost(message: Message, error: unknown): void;
}

interface TrackedAnswer {
  /** The object every holder of the message shares, updated in place. */
  message: Message;
  /** Set when the message had text before its stream started: the first text replaces it. */
  isReplayingShownText: boolean;
  status: AnswerStatus | null;
  controller: AbortController;
  finished: Promise<void>;
}

/**
 * The answers being generated on the server that this window follows, one SSE stream each, resumed
 * by sequence: the client reconnects with Last-Event-ID after a dropped connection, and an answer
 * tracked anew (after a window reload) is read from its first event, so its text is always the
 * stream's own — never pieced together from the database's copy. Streams go on while no view is
 * visible; a stream that cannot be resumed falls back to the stored message.
 */
export class AnswerStreams {
  private readonly answers = new Map<string, TrackedAnswer>();
  private isDisposed = false;

  constructor(
    private readonly client: TeamServerClient,
    private readonly listener: AnswerStreamListener,
    private readonly log: (message: string, error?: unknown) => void = () => undefined,
  ) {}

  /** Ids of the answers being streamed. */
  get messageIds(): string[] {
    return [...this.answers.keys()];
  }

  /** The shared object of an answer being streamed. */
  get(messageId: string): Message | undefined {
    return this.answers.get(messageId)?.message;
  }

  isStreamingIn(conversationId: string): boolean {
    return [...this.answers.values()].some((answer) => answer.message.conversationId === conversationId);
  }

  /** Answers waiting for their context, with what they wait for (a view shown again is told). */
  waiting(): Array<{ message: Message; status: AnswerStatus }> {
    return [...this.answers.values()].flatMap((answer) => (answer.status ? [{ message: answer.message, status: answer.status }] : []));
  }

  /**
   * The object to hold for `message`: the one already tracked, or a copy that — when the message is
   * still streaming — starts being followed now: through `opened`, the stream the request that
   * started the answer replied with, when there is one (closed if it is not needed after all).
   */
  track(message: Message, opened?: StartedAnswerStream): Message {
    const existing = this.answers.get(message.id);
    if (existing) {
      opened?.close();
      // a page read since knows the answer's place among its siblings; a send's reply did not say
      if (message.siblings !== undefined) existing.message.siblings = message.siblings;
      return existing.message;
    }
    const tracked: TrackedAnswer = {
      message: { ...message },
      isReplayingShownText: message.content.length > 0,
      status: null,
      controller: new AbortController(),
      finished: Promise.resolve(),
    };
    if (message.status !== "streaming" || this.isDisposed || (opened !== undefined && opened.messageId !== message.id)) {
      opened?.close();
      return tracked.message;
    }
    this.answers.set(message.id, tracked);
    tracked.finished = this.follow(tracked, opened);
    return tracked.message;
  }

  /** The final state arrived another way (the answer to a stop request) before the stream's own final event. */
  finish(finalMessage: Message): void {
    const answer = this.answers.get(finalMessage.id);
    if (answer) this.finishAnswer(answer, finalMessage);
  }

  /** Stops following the answers of one conversation (it was deleted), or all of them. */
  abort(conversationId?: string): void {
    for (const [messageId, answer] of this.answers) {
      if (conversationId !== undefined && answer.message.conversationId !== conversationId) continue;
      answer.controller.abort();
      this.answers.delete(messageId);
    }
  }

  /** Resolves once every answer being followed has finished (tests and shutdown). */
  async whenAllFinished(): Promise<void> {
    while (this.answers.size > 0) await Promise.all([...this.answers.values()].map((answer) => answer.finished));
  }

  dispose(): void {
    this.isDisposed = true;
    this.abort();
  }

  private async follow(answer: TrackedAnswer, opened: StartedAnswerStream | undefined): Promise<void> {
    const messageId = answer.message.id;
    const { signal } = answer.controller;
    let streamedText = "";
    try {
      // From the first event: the text is rebuilt from the stream, whatever the message showed.
      const events = opened ? opened.events(signal) : this.client.streamGeneration(messageId, { signal });
      for await (const event of events) {
        switch (event.event) {
          case "generation-start":
            answer.message.provider = event.data.provider;
            answer.message.modelId = event.data.modelId;
            break;
          case "generation-status":
            this.setStatus(answer, { phase: event.data.phase, messageCount: event.data.messageCount });
            break;
          case "text-delta":
            this.setStatus(answer, null);
            if (event.data.text.length === 0) break;
            streamedText += event.data.text;
            answer.message.content = streamedText;
            if (answer.isReplayingShownText) {
              answer.isReplayingShownText = false;
              this.listener.textReplaced(answer.message);
            } else {
              this.listener.textAppended(answer.message, event.data.text);
            }
            break;
          case "usage":
            answer.message.inputTokens = event.data.inputTokens;
            answer.message.outputTokens = event.data.outputTokens;
            if (event.data.costMicroUsd !== undefined) answer.message.costMicroUsd = event.data.costMicroUsd;
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
      this.setStatus(answer, null);
      if (this.answers.get(messageId) === answer) this.answers.delete(messageId);
    }
  }

  private setStatus(answer: TrackedAnswer, status: AnswerStatus | null): void {
    if (answer.status === null && status === null) return;
    answer.status = status;
    if (!this.isDisposed) this.listener.statusChanged(answer.message, status);
  }

  private finishAnswer(answer: TrackedAnswer, finalMessage: Message): void {
    const wasStreaming = answer.message.status === "streaming";
    const { siblings } = answer.message;
    Object.assign(answer.message, finalMessage);
    // the stream's final message does not carry the sibling position; the one known stays
    if (answer.message.siblings === undefined && siblings !== undefined) answer.message.siblings = siblings;
    if (this.answers.get(finalMessage.id) === answer) this.answers.delete(finalMessage.id);
    if (!wasStreaming) return; // a stop answered before the stream's own final event
    answer.controller.abort();
    this.setStatus(answer, null);
    this.listener.finished(answer.message);
  }

  /** The stream could not be resumed: take the stored state, or say that the answer continues on the server. */
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
    this.listener.lost(answer.message, error);
  }
}
