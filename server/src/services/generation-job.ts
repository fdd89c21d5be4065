import type { ContextRecord, FinishReason, Message } from "../../../protocol/http/conversations";
import type { ErrorDetail } from "../../../protocol/http/error-codes";
import type { GenerationEvent, GenerationEventData, GenerationEventName } from "../../../protocol/http/generation-events";
import type { Model } from "../../../protocol/http/models";
import type { Logger } from "../logger";
import { ProviderError, type ChatProvider } from "../providers/chat-provider";
import { callModelWithFallbacks } from "./call-model-with-fallbacks";
import type { CircuitBreaker } from "./circuit-breaker";
import type { BuiltContext } from "./context-builder";
import { limitContextRecordSize } from "./context-record-size";
import type { ContextPreparation, ContextService } from "./context-service";
import type { AnswerResult, ConversationService } from "./conversation-service";
import type { FallbackStep, ModelTarget } from "./fallback-chain";
import type { AnswerUsage, RecordedUsage } from "./ledger-service";

export type GenerationEventListener = (event: GenerationEvent) => void;

/**
 * stop: the user asked (the answer is `stopped`); shutdown: the server is stopping (`interrupted`);
 * account-blocked: an admin disabled the account (`interrupted`: it must not go on spending).
 */
export type StopReason = "stop" | "shutdown" | "account-blocked";

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
  /** The models that may answer, `model` first, then its fallbacks in the admin's order. */
  targets: readonly ModelTarget[];
  breaker: CircuitBreaker;
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

const ACCOUNT_BLOCKED_ERROR: ErrorDetail = {
  code: "account_disabled",
  message: "The account was disabled while this answer was being written; the partial answer was kept",
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
  /** The model answering now: the one asked for, or a fallback. */
  private answering: Model;
  private resolveDone!: (message: Message) => void;

  constructor(private readonly options: GenerationJobOptions) {
    this.messageId = options.answer.id;
    this.conversationId = options.answer.conversationId;
    this.userId = options.userId;
    this.answering = options.model;
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
    setImmediate(
      () =>
        void this.run().catch(async (error: unknown) => {
          // a bug must still end the answer (and every stream on it), never leave it streaming forever
          this.options.logger.error("generation job failed", { messageId: this.messageId, error });
          await this.finish(this.errorOutcome({ code: "internal_error", message: "The server failed while writing this answer" }));
        }),
    );
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
    const targets = options.targets.length > 0 ? options.targets : [{ model: options.model, provider: options.provider, circuitKey: "" }];
    try {
      const events = callModelWithFallbacks({
        targets,
        prepare: async (target, fallback) => {
          const built = fallback === null ? prepared : await this.prepareFallbackContext(target, fallback, signal);
          return {
            conversation: built.conversation,
            maxOutputTokens: built.maxOutputTokens,
            ...(built.temperature === null ? {} : { sampling: { temperature: built.temperature } }),
          };
        },
        signal,
        policy: {
          maxRetries: options.maxRetries,
          retryMaxDelayMs: options.retryMaxDelayMs,
          retryBaseDelayMs: options.retryBaseDelayMs,
          stallTimeoutMs: options.stallTimeoutMs,
        },
        breaker: options.breaker,
        logger: options.logger.child({ messageId: this.messageId }),
      });
      for await (const event of events) {
        if (signal.aborted) break;
        if (event.type === "attempt") {
          // what a failed attempt reported is not this answer's
          usage = { inputTokens: undefined, outputTokens: undefined };
          this.cachedInputTokens = undefined;
          finish = undefined;
          this.answering = event.target.model;
        } else if (event.type === "text-delta") {
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
      const error =
        caught instanceof ProviderError
          ? caught
          : new ProviderError("provider_error", `The ${this.answering.provider} request failed unexpectedly`, false, { cause: caught });
      if (!(caught instanceof ProviderError)) {
        options.logger.error("calling the model failed unexpectedly", { messageId: this.messageId, error: caught });
      }
      return this.finish(this.errorOutcome({ code: error.code, message: error.message, retryable: error.retryable }, usage));
    }
  }

  /**
   * The context for a fallback model: the same walk and plan as for the model asked for, made for
   * this model's window and converted for its provider (a summary first, when it needs one). Its
   * record replaces the first one and says which model was asked for and why it did not answer.
   */
  private async prepareFallbackContext(target: ModelTarget, fallback: FallbackStep, signal: AbortSignal): Promise<BuiltContext> {
    const { options } = this;
    const preparation = await options.contexts.prepareForQuestion(
      this.userId,
      this.conversationId,
      options.questionId,
      target.model,
      target.provider,
    );
    const built = await this.buildFromPreparation(preparation, target.model, target.provider, signal);
    const record = limitContextRecordSize({
      ...built.record,
      fallback: {
        requestedModelId: options.model.id,
        reason: { code: fallback.error.code, message: fallback.error.message.slice(0, 300) },
      },
    });
    this.record = record;
    void this.enqueueWrite(() => options.conversations.saveContextRecord(this.userId, this.messageId, record));
    return { ...built, record };
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
    const built = await this.buildFromPreparation(preparation, options.model, options.provider, signal);
    this.record = built.record;
    if (options.preparation?.kind !== "built") {
      // Not awaited: the provider call need not wait for this write. It is queued before any partial
      // text and the final result, so the stored answer always has its record; a failure is logged.
      void this.enqueueWrite(() => options.conversations.saveContextRecord(this.userId, this.messageId, built.record));
    }
    return built;
  }

  /** A prepared context, built (after making its summary, when the plan needs one). */
  private async buildFromPreparation(
    preparation: ContextPreparation,
    model: Model,
    provider: ChatProvider,
    signal: AbortSignal,
  ): Promise<BuiltContext> {
    const { options } = this;
    let built: BuiltContext;
    if (preparation.kind === "built") {
      built = preparation.context;
    } else {
      built = await options.contexts.summariseAndBuild(this.userId, preparation, model, provider, {
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
    return built;
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
    if (this.stopReason === "account-blocked") return this.errorOutcome(ACCOUNT_BLOCKED_ERROR, usage, "interrupted");
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
      answeredBy: { provider: this.answering.provider, modelId: this.answering.id },
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
        // the model that answered (a fallback's tokens are priced at the fallback's price)
        provider: result.answeredBy.provider,
        modelId: result.answeredBy.modelId,
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
    // priced first, so the stored answer is whole (its cost included) when its end event goes out: a
    // stream on another instance, or a reload, reads the same message the event carried
    const costMicroUsd = await this.recordUsage(result);
    await this.enqueueWrite(() => this.options.conversations.saveAnswerResult(this.userId, this.messageId, { ...result, costMicroUsd }));
    const message: Message = {
      ...this.options.answer,
      provider: result.answeredBy.provider,
      modelId: result.answeredBy.modelId,
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
      provider: this.answering.provider,
      modelId: this.answering.id,
      requestedModelId: this.answering.id === this.options.model.id ? undefined : this.options.model.id,
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
