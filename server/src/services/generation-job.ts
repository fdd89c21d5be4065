import type { ContextRecord, FinishReason, Message } from "../../../protocol/http/conversations";
import type { ErrorDetail } from "../../../protocol/http/error-codes";
import type { GenerationEvent, GenerationEventData, GenerationEventName } from "../../../protocol/http/generation-events";
import type { Model } from "../../../protocol/http/models";
import type { Logger } from "../logger";
import { ProviderError, type ChatProvider } from "../providers/chat-provider";
import type { BuiltContext } from "./context-builder";
import type { ContextPreparation, ContextService } from "./context-service";
import type { AnswerResult, ConversationService } from "./conversation-service";
import type { AnswerUsage, RecordedUsage } from "./ledger-service";
import { DEFAULT_RETRY_BASE_DELAY_MS, retryDelayMs, shouldRetry, waitUnlessAborted } from "./retry-policy";
import { StallWatchdog } from "./stall-watchdog";

export type GenerationEventListener = (event: GenerationEvent) => void;

/** stop: the user asked (the answer is `stopped`); shutdown: the server is stopping (`interrupted`). */
export type StopReason = "stop" | "shutdown";

export interface GenerationJobOptions {
  userId: string;
  /** The `streaming` answer row as it was inserted. */
  answer: Message;
  /** The user message being answered: the context is the branch root→here. */
  questionId: string;
  /**
   * What the send decided in its transaction: the context built (its record already stored with the
   * answer row), or a summary to make first. Absent (a regenerate): the job walks the branch itself.
   */
  preparation?: ContextPreparation;
  model: Model;
  provider: ChatProvider;
  conversations: ConversationService;
  contexts: ContextService;
  /** Where the answer's usage and cost are recorded when it ends. */
  ledger: { recordAnswer(usage: AnswerUsage): Promise<RecordedUsage> };
  logger: Logger;
  now: () => number;
  maxRetries: number;
  retryMaxDelayMs: number;
  /** After the response headers, the longest silence between chunks before the request is cut. */
  stallTimeoutMs: number;
  /** How often partial text is written to the database (only when it changed). */
  flushIntervalMs?: number;
  /** First retry waits about this long, doubling each time (plus jitter) unless the provider says retry-after. */
  retryBaseDelayMs?: number;
}

export interface JobSubscription {
  /** Events after the requested sequence that were already emitted, in order. */
  missed: GenerationEvent[];
  unsubscribe(): void;
}

const DEFAULT_FLUSH_INTERVAL_MS = 1000;

export const SHUTDOWN_ERROR: ErrorDetail = {
  code: "server_shutting_down",
  message: "The server stopped while this answer was being written; the partial answer was kept",
  retryable: true,
};

/**
 * One answer being generated, independent of any HTTP request. It builds the context, calls the
 * provider with an AbortSignal, keeps every event in memory with sequence numbers 1, 2, 3 … so a
 * client that re-attaches gets exactly the ones it missed, flushes partial text about once a second,
 * retries retryable failures only before the first token, and stores the outcome once at the end.
 */
export class GenerationJob {
  readonly messageId: string;
  readonly conversationId: string;
  readonly userId: string;
  /** Resolves with the stored final message; never rejects. */
  readonly done: Promise<Message>;

  private readonly events: GenerationEvent[] = [];
  private readonly listeners = new Set<GenerationEventListener>();
  private readonly abortController = new AbortController();
  private stopReason: StopReason | undefined;
  private text = "";
  private flushedText = "";
  private writes: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
  /** The outcome is decided (no more text, no more stops); the terminal event may still be on its way. */
  private isSettled = false;
  /** The terminal event was emitted: the event log is complete. */
  private hasEnded = false;
  private startedAt = 0;
  private firstTokenAt: number | undefined;
  /** Of the input, what the provider read from its prompt cache, when it said (the ledger keeps it). */
  private cachedInputTokens: number | undefined;
  private record: ContextRecord | null = null;
  private resolveDone!: (message: Message) => void;

  constructor(private readonly options: GenerationJobOptions) {
    this.messageId = options.answer.id;
    this.conversationId = options.answer.conversationId;
    this.userId = options.userId;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** Until the terminal event is out (a subscriber attaching now still receives it live). */
  get isActive(): boolean {
    return !this.hasEnded;
  }

  /** Emits generation-start at once (so sequence 1 exists before the 202 reply) and runs in the background. */
  start(): void {
    this.startedAt = this.options.now();
    this.emit("generation-start", {
      messageId: this.messageId,
      conversationId: this.conversationId,
      provider: this.options.model.provider,
      modelId: this.options.model.id,
    });
    void this.run().catch(async (error: unknown) => {
      // a bug must still end the answer (and every stream on it), never leave it streaming forever
      this.options.logger.error("generation job failed", { messageId: this.messageId, error });
      await this.finish(this.errorOutcome({ code: "internal_error", message: "The server failed while writing this answer" }));
    });
  }

  /**
   * Replays the events after `afterSequence` and registers `listener` for the live ones, in the
   * same synchronous step, so nothing is missed or sent twice between the two.
   */
  subscribe(afterSequence: number, listener: GenerationEventListener): JobSubscription {
    const missed = this.events.filter((event) => event.sequence > afterSequence);
    if (!this.hasEnded) this.listeners.add(listener);
    return { missed, unsubscribe: () => this.listeners.delete(listener) };
  }

  /** Aborts the provider request (the provider sees the connection close). Idempotent. */
  requestStop(reason: StopReason): void {
    if (this.isSettled || this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.abortController.abort();
  }

  private emit<Name extends GenerationEventName>(event: Name, data: GenerationEventData<Name>): void {
    const entry = { sequence: this.events.length + 1, event, data } as GenerationEvent;
    this.events.push(entry);
    for (const listener of [...this.listeners]) {
      try {
        listener(entry);
      } catch (error) {
        this.options.logger.warn("generation listener failed", { messageId: this.messageId, error });
      }
    }
  }

  private async run(): Promise<void> {
    const { options } = this;
    const signal = this.abortController.signal;
    let prepared: BuiltContext;
    try {
      prepared = await this.prepareContext(signal);
    } catch (error) {
      if (signal.aborted) return this.finish(this.stoppedOutcome({ inputTokens: undefined, outputTokens: undefined }));
      options.logger.error("building the context failed", { messageId: this.messageId, error });
      await this.finish(
        this.errorOutcome({ code: "internal_error", message: "The server could not prepare this conversation for the model" }),
      );
      return;
    }

    this.flushTimer = setInterval(() => this.flushPartialText(), options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);
    this.flushTimer.unref();

    let usage: { inputTokens: number | undefined; outputTokens: number | undefined } = { inputTokens: undefined, outputTokens: undefined };
    let finish: { finishReason: FinishReason; finishReasonRaw: string | undefined } | undefined;
    for (let attempt = 0; ; attempt += 1) {
      if (signal.aborted) return this.finish(this.stoppedOutcome(usage));
      usage = { inputTokens: undefined, outputTokens: undefined };
      this.cachedInputTokens = undefined;
      finish = undefined;
      const watchdog = new StallWatchdog(options.stallTimeoutMs, signal);
      try {
        const stream = options.provider.streamChat({
          model: options.model.name,
          conversation: prepared.conversation,
          maxOutputTokens: prepared.maxOutputTokens,
          signal: watchdog.signal,
          onActivity: () => watchdog.activity(),
        });
        for await (const event of stream) {
          if (signal.aborted) break;
          if (event.type === "text-delta") {
            if (event.text === "") continue;
            this.firstTokenAt ??= options.now();
            this.text += event.text;
            this.emit("text-delta", { text: event.text });
          } else if (event.type === "usage") {
            usage = {
              inputTokens: event.inputTokens ?? usage.inputTokens,
              outputTokens: event.outputTokens ?? usage.outputTokens,
            };
            this.cachedInputTokens = event.cachedInputTokens ?? this.cachedInputTokens;
          } else if (event.type === "finish") {
            finish = { finishReason: event.finishReason, finishReasonRaw: event.finishReasonRaw };
          }
        }
        if (signal.aborted) return this.finish(this.stoppedOutcome(usage));
        return this.finish(this.completeOutcome(usage, finish));
      } catch (caught) {
        if (signal.aborted) return this.finish(this.stoppedOutcome(usage));
        const error = watchdog.hasStalled ? this.stallError() : toProviderError(caught, options.model.provider);
        if (!(caught instanceof ProviderError) && !watchdog.hasStalled) {
          options.logger.error("provider adapter threw a non-provider error", { messageId: this.messageId, error: caught });
        }
        // after the first token a retry would repeat or contradict text the user already saw
        const canRetry = shouldRetry({
          isRetryable: error.retryable,
          hasFirstToken: this.firstTokenAt !== undefined,
          attempt,
          maxRetries: options.maxRetries,
        });
        if (!canRetry) {
          return this.finish(this.errorOutcome({ code: error.code, message: error.message, retryable: error.retryable }, usage));
        }
        const delayMs = retryDelayMs(
          attempt,
          error.options.retryAfterMs,
          options.retryMaxDelayMs,
          options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
        );
        options.logger.info("retrying provider request", {
          messageId: this.messageId,
          provider: options.model.provider,
          code: error.code,
          attempt: attempt + 1,
          delayMs,
        });
        await waitUnlessAborted(delayMs, signal);
      } finally {
        watchdog.stop();
      }
    }
  }

  /**
   * The context to send: built by the send's transaction, or made here. A summary to make comes
   * first, announced by a generation-status event; a stop meanwhile rejects (the caller ends the
   * answer as stopped). A record made here is stored before any partial text.
   */
  private async prepareContext(signal: AbortSignal): Promise<BuiltContext> {
    const { options } = this;
    const preparation =
      options.preparation ??
      (await options.contexts.prepareForQuestion(this.userId, this.conversationId, options.questionId, options.model, options.provider));
    let built: BuiltContext;
    if (preparation.kind === "built") {
      built = preparation.context;
    } else {
      built = await options.contexts.summariseAndBuild(this.userId, preparation, options.model, options.provider, {
        signal,
        onSummarising: (messageCount) => this.emit("generation-status", { phase: "summarising", messageCount }),
        policy: {
          maxRetries: options.maxRetries,
          retryMaxDelayMs: options.retryMaxDelayMs,
          retryBaseDelayMs: options.retryBaseDelayMs,
          stallTimeoutMs: options.stallTimeoutMs,
        },
      });
    }
    if (signal.aborted) throw new Error("stopped while the context was prepared");
    this.record = built.record;
    if (options.preparation?.kind !== "built") {
      // Not awaited: the provider call need not wait for this write. It is queued before any partial
      // text and the final result, so the stored answer always has its record; a failure is logged.
      void this.enqueueWrite(() => options.conversations.saveContextRecord(this.userId, this.messageId, built.record));
    }
    return built;
  }

  private stallError(): ProviderError {
    const seconds = Math.round(this.options.stallTimeoutMs / 100) / 10;
    return new ProviderError(
      "provider_stalled",
      `${providerLabel(this.options.model.provider)} stopped sending for ${seconds} s, so the request was cut off`,
      true,
    );
  }

  private completeOutcome(
    usage: { inputTokens: number | undefined; outputTokens: number | undefined },
    finish: { finishReason: FinishReason; finishReasonRaw: string | undefined } | undefined,
  ): Outcome {
    return {
      result: this.result("complete", usage, null, finish?.finishReason ?? null, finish?.finishReasonRaw ?? null),
      isUsageReported: true,
    };
  }

  private stoppedOutcome(usage: { inputTokens: number | undefined; outputTokens: number | undefined }): Outcome {
    if (this.stopReason === "shutdown") return this.errorOutcome(SHUTDOWN_ERROR, usage, "interrupted");
    return {
      result: this.result("stopped", usage, null, null, null),
      isUsageReported: usage.inputTokens !== undefined || usage.outputTokens !== undefined,
    };
  }

  private errorOutcome(
    error: ErrorDetail,
    usage: { inputTokens: number | undefined; outputTokens: number | undefined } = { inputTokens: undefined, outputTokens: undefined },
    status: "error" | "interrupted" = "error",
  ): Outcome {
    return {
      result: this.result(status, usage, error, status === "error" ? "error" : null, null),
      isUsageReported: usage.inputTokens !== undefined || usage.outputTokens !== undefined,
      error,
    };
  }

  private result(
    status: AnswerResult["status"],
    usage: { inputTokens: number | undefined; outputTokens: number | undefined },
    error: ErrorDetail | null,
    finishReason: FinishReason | null,
    finishReasonRaw: string | null,
  ): AnswerResult {
    const now = this.options.now();
    return {
      content: this.text,
      status,
      // as reported: a number the provider did not send stays null, never a made-up 0
      inputTokens: usage.inputTokens ?? null,
      outputTokens: usage.outputTokens ?? null,
      timeToFirstTokenMs: this.firstTokenAt === undefined ? null : this.firstTokenAt - this.startedAt,
      durationMs: now - this.startedAt,
      finishReason,
      finishReasonRaw,
      error: error === null ? null : { code: error.code, message: error.message },
      finishedAt: now,
    };
  }

  /**
   * Records the answer in the ledger (its cost at today's price) and returns its cost, or null when
   * unknown. The answer's end does not wait for the ledger's write; a failed write is logged.
   */
  private async recordUsage(result: AnswerResult): Promise<number | null> {
    try {
      const recorded = await this.options.ledger.recordAnswer({
        userId: this.userId,
        client: { kind: "chat" },
        provider: this.options.model.provider,
        modelId: this.options.model.id,
        conversationId: this.conversationId,
        messageId: this.messageId,
        status: result.status,
        inputTokens: result.inputTokens,
        outputTokens: result.outputTokens,
        cachedInputTokens: this.cachedInputTokens ?? null,
        timeToFirstTokenMs: result.timeToFirstTokenMs,
        durationMs: result.durationMs,
        finishedAt: result.finishedAt,
      });
      recorded.written.catch((error: unknown) => {
        this.options.logger.error("writing an answer's usage failed", { messageId: this.messageId, error });
      });
      return recorded.costMicroUsd;
    } catch (error) {
      this.options.logger.error("recording an answer's usage failed", { messageId: this.messageId, error });
      return null;
    }
  }

  private flushPartialText(): void {
    if (this.isSettled || this.text === this.flushedText) return;
    const text = this.text;
    this.flushedText = text;
    this.enqueueWrite(() => this.options.conversations.saveAnswerProgress(this.userId, this.messageId, text));
  }

  /** Database writes of one job run one after another, so a late flush never overwrites the final text. */
  private enqueueWrite(write: () => Promise<unknown>): Promise<void> {
    this.writes = this.writes
      .then(
        () => write().then(() => undefined),
        () => undefined,
      )
      .catch((error: unknown) => {
        this.options.logger.error("saving an answer failed", { messageId: this.messageId, error });
      });
    return this.writes;
  }

  private async finish(outcome: Outcome): Promise<void> {
    if (this.isSettled) return;
    this.isSettled = true;
    clearInterval(this.flushTimer);
    const { result } = outcome;
    await this.enqueueWrite(() => this.options.conversations.saveAnswerResult(this.userId, this.messageId, result));
    const costMicroUsd = await this.recordUsage(result);
    const message: Message = {
      ...this.options.answer,
      content: result.content,
      status: result.status,
      inputTokens: result.inputTokens,
      outputTokens: result.outputTokens,
      timeToFirstTokenMs: result.timeToFirstTokenMs,
      durationMs: result.durationMs,
      costMicroUsd,
      finishReason: result.finishReason,
      finishReasonRaw: result.finishReasonRaw,
      error: result.error,
      context: this.record,
      updatedAt: new Date(result.finishedAt).toISOString(),
    };
    this.options.logger.info("answer finished", {
      messageId: this.messageId,
      provider: this.options.model.provider,
      modelId: this.options.model.id,
      status: result.status,
      errorCode: result.error?.code,
      timeToFirstTokenMs: result.timeToFirstTokenMs,
      durationMs: result.durationMs,
    });
    if (outcome.isUsageReported) {
      this.emit("usage", {
        inputTokens: result.inputTokens,
        outputTokens: result.outputTokens,
        cachedInputTokens: this.cachedInputTokens ?? null,
        costMicroUsd,
      });
    }
    if (outcome.error) this.emit("generation-error", { error: outcome.error, message });
    else this.emit("generation-end", { message });
    this.hasEnded = true;
    this.listeners.clear();
    this.resolveDone(message);
  }
}

interface Outcome {
  result: AnswerResult;
  isUsageReported: boolean;
  error?: ErrorDetail;
}

function toProviderError(caught: unknown, provider: string): ProviderError {
  if (caught instanceof ProviderError) return caught;
  return new ProviderError("provider_error", `The ${provider} request failed unexpectedly`, false, { cause: caught });
}

function providerLabel(kind: Model["provider"]): string {
  return kind === "anthropic" ? "Anthropic" : kind === "groq" ? "Groq" : "Ollama";
}
