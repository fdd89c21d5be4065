import type {
  Conversation,
  CreateConversationResponse,
  FirstMessage,
  Message,
  RegenerateRequest,
  RegenerateResponse,
  SendMessageRequest,
  SendMessageResponse,
  UpdateConversationRequest,
} from "../../../protocol/http/conversations";
import type { ErrorDetail } from "../../../protocol/http/error-codes";
import { isTerminalGenerationEvent, type GenerationEvent } from "../../../protocol/http/generation-events";
import type { Model } from "../../../protocol/http/models";
import type { ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import type { Logger } from "../logger";
import type { ChatProvider } from "../providers/chat-provider";
import type { ContextPreparation, ContextReach, ContextService } from "./context-service";
import type { ConversationService, NewConversationRequest, SharedAnswerCap } from "./conversation-service";
import type { ModelTarget } from "./fallback-chain";
import type { ModelFallbackService } from "./model-fallback-service";
import { GenerationJob, SHUTDOWN_ERROR, type GenerationJobOptions } from "./generation-job";
import type { ServiceContext } from "./service-context";

/** What the generation service needs from its neighbours (the real services satisfy these). */
export interface GenerationDependencies {
  providers: { getChatProvider(kind: ProviderKind): ChatProvider | Promise<ChatProvider> };
  catalog: { getVisibleModel(modelId: string): Promise<Model> };
  conversations: ConversationService;
  contexts: ContextService;
  accounts: { rememberLastModel(userId: string, modelId: string): Promise<void> };
  fallbacks: Pick<ModelFallbackService, "resolveTargets" | "breaker">;
  /** Refuses a send over the user's budget before anything is written or any provider is called. */
  budgets: { admit(userId: string): Promise<void> };
  /** Where each answer's usage and cost are recorded when it ends. */
  ledger: GenerationJobOptions["ledger"];
}

/** Where a stream's events go: the SSE framing lives in http/, the service only calls these. */
export interface GenerationEventSink {
  send(event: GenerationEvent): void;
  /** No more events: the terminal one was sent, or the server is stopping. */
  end(): void;
}

/** An ownership-checked stream of one answer, ready to deliver events once a sink is attached. */
export interface GenerationStream {
  /** Sends the missed events (after the client's last sequence), then live ones, then ends. */
  attach(sink: GenerationEventSink): void;
  /** The client went away: stop delivering (the generation itself goes on). */
  detach(): void;
}

/** The model of a send, the adapter of its provider, and the models that may answer in its place. */
interface ResolvedModel {
  model: Model;
  provider: ChatProvider;
  /** `model` first, then its fallbacks that can answer now. */
  targets: ModelTarget[];
}

/** Finished jobs keep their event log this long, so a client re-attaching just after the end still gets exact events. */
const FINISHED_JOB_RETENTION_MS = 60_000;

/** A stop asked of another instance waits this long for its outcome, then answers with what is stored. */
const REMOTE_STOP_TIMEOUT_MS = 15_000;

const RESTART_MESSAGE = "The server restarted while this answer was being written; the partial answer was kept";

/**
 * Chat use cases that involve a model or a running answer: sending, regenerating, stopping,
 * streaming, switching model, deleting a conversation with an answer in flight, and the
 * start-up / shutdown handling of generation jobs. One job per answer, independent of HTTP.
 */
export class GenerationService {
  private readonly logger: Logger;
  /** Active and recently finished jobs, by answer id. */
  private readonly jobs = new Map<string, GenerationJob>();
  /** The active jobs of each conversation: one turn at a time per conversation (a compare's answers run together). */
  private readonly activeByConversation = new Map<string, Set<GenerationJob>>();
  /** Conversations between "may send" and "job registered" (the transaction is in between). */
  private readonly reservedConversations = new Set<string>();
  private readonly openSinks = new Set<GenerationEventSink>();
  /** Answers being written per user (jobs running), and sends between "may send" and "job registered". */
  private readonly runningByUser = new Map<string, number>();
  private readonly reservedByUser = new Map<string, number>();
  /**
   * Accounts an admin disabled (or set pending) while this process runs: their answers were stopped,
   * and a send that passed authentication just before the change is stopped as it starts.
   */
  private readonly blockedUsers = new Set<string>();
  private readonly retentionTimers = new Set<NodeJS.Timeout>();
  private isShuttingDown = false;

  constructor(
    private readonly context: ServiceContext,
    private readonly dependencies: GenerationDependencies,
  ) {
    this.logger = context.logger.child({ service: "generation" });
    // a stop asked on another instance: the job may be this one's
    context.cluster.onStopRequested((messageId) => {
      const job = this.jobs.get(messageId);
      if (job?.isActive) job.requestStop("stop");
    });
  }

  // ---- conversations (the parts that touch models or running answers) ----

  /**
   * A new conversation; with a first message, that message is sent in the same call (the response
   * is a send's). A first message refused (budget, answer limits, a model gone meanwhile) leaves no
   * empty conversation behind. A preset's settings are resolved by the caller.
   */
  async createConversation(
    userId: string,
    request: NewConversationRequest & { message?: FirstMessage },
  ): Promise<CreateConversationResponse> {
    if (request.modelId !== undefined) await this.dependencies.catalog.getVisibleModel(request.modelId);
    const { message, ...fields } = request;
    if (message === undefined) return { conversation: await this.dependencies.conversations.create(userId, fields) };
    if (request.modelId === undefined) {
      throw new AppError(400, "validation_failed", "modelId: a first message needs a model (the preset names none)");
    }
    this.assertAcceptingWork();
    // refused before anything is written, like a send
    await this.dependencies.budgets.admit(userId);
    const created = await this.dependencies.conversations.create(userId, fields);
    try {
      return await this.sendAdmitted(userId, created.id, { ...message, modelId: request.modelId });
    } catch (error) {
      await this.dependencies.conversations.delete(userId, created.id).catch((cleanup: unknown) => {
        this.logger.error("removing a conversation whose first message was refused failed", { conversationId: created.id, error: cleanup });
      });
      throw error;
    }
  }

  /** Rename and/or switch model. The model must be visible; the next send uses it with the whole branch. */
  async updateConversation(userId: string, conversationId: string, changes: UpdateConversationRequest): Promise<Conversation> {
    // ownership first: another user's id is a 404 whatever the body says
    await this.dependencies.conversations.requireConversation(userId, conversationId);
    if (changes.modelId !== undefined) await this.dependencies.catalog.getVisibleModel(changes.modelId);
    const conversation = await this.dependencies.conversations.update(userId, conversationId, changes);
    if (changes.modelId !== undefined) await this.rememberLastModel(userId, changes.modelId);
    return conversation;
  }

  /** A streaming answer in it is stopped first (its provider request closed), then everything is deleted. */
  async deleteConversation(userId: string, conversationId: string): Promise<void> {
    await this.dependencies.conversations.requireConversation(userId, conversationId);
    const active = [...(this.activeByConversation.get(conversationId) ?? [])];
    if (active.length > 0) {
      for (const job of active) job.requestStop("stop");
      await Promise.all(active.map((job) => job.done));
    } else if (this.context.cluster.isShared) {
      // written by another instance: it stops calling the provider (its writes then find the rows gone)
      for (const messageId of await this.dependencies.conversations.findStreamingAnswerIds(userId, conversationId)) {
        this.context.cluster.requestStop(messageId);
      }
    }
    await this.dependencies.conversations.delete(userId, conversationId);
    // openStream trusts a job in memory without reading the database: its answers are gone now
    for (const [messageId, finished] of this.jobs) {
      if (finished.conversationId === conversationId) this.jobs.delete(messageId);
    }
  }

  // ---- answers ----

  /**
   * Saves the user's message and a `streaming` answer (one transaction), starts the job and returns
   * at once (202). The model is checked before anything is written. One answer at a time per
   * conversation: a send while one is streaming is a 409 conflict (stop it first), because a second
   * question would not see the first answer.
   *
   * The model is resolved from memory before the transaction, but its verdict is given inside it,
   * after the ownership check: another user's conversation is a 404 whatever the model, and the
   * ownership check is the transaction's own read rather than one more query before it.
   */
  async sendMessage(userId: string, conversationId: string, request: SendMessageRequest): Promise<SendMessageResponse> {
    this.assertAcceptingWork();
    await this.dependencies.budgets.admit(userId);
    return this.sendAdmitted(userId, conversationId, request);
  }

  /** A send its budget has already admitted (counted once per request, whichever call it came with). */
  private async sendAdmitted(userId: string, conversationId: string, request: SendMessageRequest): Promise<SendMessageResponse> {
    // one model, or the 2–4 of a compare (the schema guarantees one of the two)
    const modelIds = request.modelIds ?? [request.modelId ?? ""];
    const [resolutions, summariser] = await Promise.all([
      Promise.all(
        modelIds.map((modelId) =>
          this.resolveModel(modelId).then(
            (resolved): { resolved: ResolvedModel } => ({ resolved }),
            (refusal: unknown): { refusal: unknown } => ({ refusal }),
          ),
        ),
      ),
      // from memory after the first send; the transaction must not query for it
      this.dependencies.contexts.resolveSummariser(),
    ]);
    const chosenAt = (index: number): ResolvedModel => {
      const resolution = resolutions[index]!;
      if ("refusal" in resolution) throw resolution.refusal;
      return resolution.resolved;
    };
    const chosen = (): ResolvedModel => chosenAt(0);
    let release: (() => void) | undefined;
    let reach: ContextReach | undefined;
    let preparation: ContextPreparation | undefined;
    try {
      const appended = await this.dependencies.conversations.appendExchange(
        userId,
        conversationId,
        { content: request.content, parentId: request.parentId, attachments: request.attachments },
        {
          chooseOrigin: () => {
            // every model's verdict before anything is written: one unknown model refuses the whole compare
            const models = modelIds.map((_, index) => chosenAt(index).model);
            release = this.reserveAnswer(userId, conversationId, models.length);
            return { provider: models[0]!.provider, modelId: models[0]!.id };
          },
          // a compare's other answers: siblings of the first, each preparing its own context in its job
          chooseCompareOrigins: () =>
            modelIds.slice(1).map((_, index) => {
              const { model } = chosenAt(index + 1);
              return { provider: model.provider, modelId: model.id };
            }),
          contextReach: (questionTokens, settings) => {
            reach = this.dependencies.contexts.reachFor(chosen().model, summariser, questionTokens, settings);
            return reach;
          },
          describeContext: (walk, question, settings) => {
            const { model, provider } = chosen();
            try {
              preparation = this.dependencies.contexts.prepare(
                conversationId,
                walk,
                question,
                model,
                provider,
                summariser,
                reach!,
                settings,
              );
              return preparation.kind === "built" ? preparation.context.record : null;
            } catch (error) {
              // the job prepares it again and ends the answer with a plain-words error; the send itself stands
              this.logger.error("building the context failed", { conversationId, error });
              preparation = undefined;
              return null;
            }
          },
        },
        this.sharedAnswerCap(),
      );
      const { model, provider, targets } = chosen();
      this.startJob(userId, appended.assistantMessage, appended.userMessage.id, { model, provider, targets }, preparation);
      // a compare asks each model itself: no fallbacks, so every answer is the model it names
      (appended.compareMessages ?? []).forEach((answer, index) => {
        const resolved = chosenAt(index + 1);
        this.startJob(userId, answer, appended.userMessage.id, { ...resolved, targets: resolved.targets.slice(0, 1) });
      });
      // the jobs count now; the reservation must not count them twice meanwhile
      release?.();
      await this.rememberLastModel(userId, model.id);
      const { compareMessages, ...response } = appended;
      return compareMessages === undefined ? response : { ...response, assistantMessages: [response.assistantMessage, ...compareMessages] };
    } finally {
      release?.();
    }
  }

  /**
   * A sibling answer under the same question, on the given model or the original one ("rerun on
   * model X": that model alone, without its fallbacks).
   */
  async regenerate(userId: string, messageId: string, request: RegenerateRequest): Promise<RegenerateResponse> {
    this.assertAcceptingWork();
    await this.dependencies.budgets.admit(userId);
    const original = await this.dependencies.conversations.getMessage(userId, messageId);
    if (original.role !== "assistant" || original.parentId === null) {
      throw new AppError(400, "validation_failed", "Only an answer can be regenerated");
    }
    const modelId = request.modelId ?? original.modelId;
    if (modelId === null) throw new AppError(400, "validation_failed", "modelId: give the model to answer with");
    const chain = await this.resolveModel(modelId);
    // "Rerun on model X" asks X itself (e.g. the model a fallback answered for): no fallback, and
    // X is tried even while its circuit is open. A plain regenerate keeps the fallbacks.
    const resolved = request.modelId === undefined ? chain : { ...chain, targets: chain.targets.slice(0, 1) };
    const { model } = resolved;
    const release = this.reserveAnswer(userId, original.conversationId);
    try {
      const appended = await this.dependencies.conversations.appendSiblingAnswer(
        userId,
        messageId,
        { provider: model.provider, modelId: model.id },
        this.sharedAnswerCap(),
      );
      this.startJob(userId, appended.assistantMessage, original.parentId, resolved);
      release();
      if (request.modelId !== undefined) await this.rememberLastModel(userId, model.id);
      return appended;
    } finally {
      release();
    }
  }

  /**
   * Aborts the provider request and answers with the stored `stopped` message (partial text kept).
   * Stopping an answer that is not generating is a 409 generation_not_active, so a client can tell
   * "stopped now" from "had already finished" (it then has the final message from GET).
   */
  async stop(userId: string, messageId: string): Promise<Message> {
    const message = await this.dependencies.conversations.getMessage(userId, messageId);
    const job = this.jobs.get(messageId);
    if (job?.isActive) {
      job.requestStop("stop");
      return job.done;
    }
    if (job === undefined && message.status === "streaming" && this.context.cluster.isShared) return this.stopElsewhere(userId, message);
    throw new AppError(409, "generation_not_active", `This answer is not being generated (it is ${message.status})`);
  }

  /**
   * An answer another instance writes: that instance is asked to stop it, and the stored outcome
   * comes back as its terminal event (stopped; or interrupted, if that instance died meanwhile and
   * this one's sweep ended the answer).
   */
  private stopElsewhere(userId: string, message: Message): Promise<Message> {
    const { cluster } = this.context;
    return new Promise<Message>((resolve, reject) => {
      let isSettled = false;
      const settle = (outcome: Message | undefined, error?: unknown) => {
        if (isSettled) return;
        isSettled = true;
        clearTimeout(timer);
        unfollow();
        if (outcome !== undefined) resolve(outcome);
        else reject(error);
      };
      const unfollow = cluster.followAnswer(
        message.id,
        0,
        (event) => {
          if (event.event === "generation-end" || event.event === "generation-error") settle(event.data.message);
        },
        (nextSequence) => this.terminalEventIfEnded(userId, message.id, nextSequence),
      );
      // the writer is gone and nobody ended it yet (the sweep does within seconds): what is stored now
      const timer = setTimeout(() => {
        this.dependencies.conversations.getMessage(userId, message.id).then(
          (stored) => settle(stored),
          (error: unknown) => settle(undefined, error),
        );
      }, REMOTE_STOP_TIMEOUT_MS);
      timer.unref();
      cluster.requestStop(message.id);
    });
  }

  /** A terminal event for an answer another instance wrote, once it is no longer `streaming` (see QuietCheck). */
  private async terminalEventIfEnded(userId: string, messageId: string, nextSequence: number): Promise<GenerationEvent | undefined> {
    const message = await this.dependencies.conversations.getMessage(userId, messageId);
    return message.status === "streaming" ? undefined : terminalEventFor(message, nextSequence);
  }

  /**
   * On several instances, the per-user cap and the one-send-at-a-time rule of a conversation are
   * checked in the database too (each instance knows only its own answers).
   */
  private sharedAnswerCap(): SharedAnswerCap | undefined {
    if (!this.context.cluster.isShared) return undefined;
    const limit = this.context.config.maxParallelAnswersPerUser;
    return { limit, refusal: () => tooManyAnswersError(limit), busy: conversationBusyError };
  }

  getMessage(userId: string, messageId: string): Promise<Message> {
    return this.dependencies.conversations.getMessage(userId, messageId);
  }

  /**
   * Checks ownership (before any SSE header is written, so a 404 is a normal JSON error) and
   * prepares the stream: the job's events after `afterSequence` then live, or, when the job is no
   * longer in memory, one terminal event carrying the stored message.
   */
  async openStream(userId: string, messageId: string, afterSequence: number): Promise<GenerationStream> {
    // An answer whose job is in memory needs no query: the job knows its owner, and the jobs of a
    // deleted conversation are dropped with it. This is the path of every stream opened right
    // after a send, so the first token does not wait for the database.
    let job = this.jobs.get(messageId);
    let message: Message | undefined;
    if (job === undefined || job.userId !== userId) {
      message = await this.dependencies.conversations.getMessage(userId, messageId);
      if (message.role !== "assistant") throw new AppError(400, "validation_failed", "Only an answer has a generation stream");
      job = this.jobs.get(messageId);
    }
    let detach: () => void = () => undefined;
    let activeSink: GenerationEventSink | undefined;
    const close = () => {
      detach();
      if (activeSink) this.openSinks.delete(activeSink);
      activeSink = undefined;
    };
    const { cluster } = this.context;
    if (!job && cluster.isShared && message !== undefined && message.status !== "streaming") {
      // ended on another instance within the last minute: its exact events, as that instance would replay them
      const stored = await cluster.storedEvents(messageId, afterSequence);
      if (stored.length > 0 && isTerminalGenerationEvent(stored.at(-1)!.event)) {
        return {
          attach: (sink) => {
            for (const event of stored) sink.send(event);
            sink.end();
          },
          detach: () => undefined,
        };
      }
    }
    if (!job && cluster.isShared && message?.status === "streaming") {
      // written by another instance: its events from the table, then as they are published
      return {
        attach: (sink) => {
          activeSink = sink;
          this.openSinks.add(sink);
          detach = cluster.followAnswer(
            messageId,
            afterSequence,
            (event) => {
              sink.send(event);
              if (isTerminalGenerationEvent(event.event)) {
                close();
                sink.end();
              }
            },
            (nextSequence) => this.terminalEventIfEnded(userId, messageId, nextSequence),
          );
        },
        detach: close,
      };
    }
    return {
      attach: (sink) => {
        if (!job) {
          sink.send(terminalEventFor(message as Message, afterSequence + 1));
          sink.end();
          return;
        }
        activeSink = sink;
        this.openSinks.add(sink);
        const subscription = job.subscribe(afterSequence, (event) => {
          // a client claiming to be ahead of the job gets nothing twice, but still the end
          if (event.sequence > afterSequence) sink.send(event);
          if (isTerminalGenerationEvent(event.event)) {
            close();
            sink.end();
          }
        });
        detach = subscription.unsubscribe;
        for (const event of subscription.missed) sink.send(event);
        if (!job.isActive) {
          close();
          sink.end();
        }
      },
      detach: close,
    };
  }

  /**
   * An admin changed an account's status: when it is no longer active, its answers being written
   * stop now (`interrupted`, partial text kept) rather than go on spending on its behalf.
   */
  applyAccountStatus(userId: string, status: "active" | "pending" | "disabled"): void {
    if (status === "active") {
      this.blockedUsers.delete(userId);
      return;
    }
    this.blockedUsers.add(userId);
    for (const job of this.jobs.values()) {
      if (job.userId === userId && job.isActive) job.requestStop("account-blocked");
    }
  }

  // ---- lifecycle ----

  /** At start: answers a crashed process left `streaming` become `interrupted`, partial text kept. */
  async recoverInterrupted(): Promise<void> {
    // Other instances may be writing answers right now: only the answers whose instance stopped
    // beating are interrupted (the cluster does it every few seconds too).
    if (this.context.cluster.isShared) return this.context.cluster.recoverOrphanedAnswers();
    const count = await this.dependencies.conversations.markStreamingAnswersInterrupted("server_shutting_down", RESTART_MESSAGE);
    if (count > 0) this.logger.warn("answers interrupted by a restart were marked", { count });
  }

  /**
   * Aborts every job (their answers become `interrupted` with partial text saved, and every
   * subscriber gets generation-error server_shutting_down), then ends any stream still open:
   * an open SSE response would otherwise keep server.close() waiting forever.
   */
  async shutdown(): Promise<void> {
    this.isShuttingDown = true;
    const active = [...this.jobs.values()].filter((job) => job.isActive);
    for (const job of active) job.requestStop("shutdown");
    await Promise.all(active.map((job) => job.done));
    for (const sink of [...this.openSinks]) sink.end();
    this.openSinks.clear();
    for (const timer of this.retentionTimers) clearTimeout(timer);
    this.retentionTimers.clear();
    this.jobs.clear();
    this.activeByConversation.clear();
  }

  // ---- internals ----

  private assertAcceptingWork(): void {
    if (this.isShuttingDown) {
      throw new AppError(503, "server_shutting_down", "The server is stopping; try again in a moment", true);
    }
  }

  private async resolveModel(modelId: string): Promise<ResolvedModel> {
    const model = await this.dependencies.catalog.getVisibleModel(modelId);
    const provider = await this.dependencies.providers.getChatProvider(model.provider);
    // from memory: the fallbacks and their adapters, so a failing model needs no lookup to fall back
    const targets = await this.dependencies.fallbacks.resolveTargets(model, provider);
    return { model, provider, targets };
  }

  /**
   * Synchronous check-and-set, so two sends racing cannot both pass: one answer at a time per
   * conversation (409), and at most MAX_PARALLEL_ANSWERS_PER_USER per user (429), counting the
   * answers being written and the sends about to start one.
   */
  private reserveAnswer(userId: string, conversationId: string, answerCount = 1): () => void {
    const active = this.activeByConversation.get(conversationId);
    if (this.reservedConversations.has(conversationId) || [...(active ?? [])].some((job) => job.isActive)) {
      throw conversationBusyError();
    }
    const limit = this.context.config.maxParallelAnswersPerUser;
    const inFlight = (this.runningByUser.get(userId) ?? 0) + (this.reservedByUser.get(userId) ?? 0);
    if (inFlight + answerCount > limit) throw tooManyAnswersError(limit);
    this.reservedConversations.add(conversationId);
    adjustCount(this.reservedByUser, userId, answerCount);
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      this.reservedConversations.delete(conversationId);
      adjustCount(this.reservedByUser, userId, -answerCount);
    };
  }

  private startJob(userId: string, answer: Message, questionId: string, resolved: ResolvedModel, preparation?: ContextPreparation): void {
    const job = new GenerationJob({
      userId,
      answer,
      questionId,
      preparation,
      model: resolved.model,
      provider: resolved.provider,
      targets: resolved.targets,
      breaker: this.dependencies.fallbacks.breaker,
      conversations: this.dependencies.conversations,
      contexts: this.dependencies.contexts,
      ledger: this.dependencies.ledger,
      logger: this.logger,
      now: this.context.now,
      maxRetries: this.context.config.providerMaxRetries,
      retryMaxDelayMs: this.context.config.providerRetryMaxDelayMs,
      stallTimeoutMs: this.context.config.providerStallTimeoutMs,
    });
    this.jobs.set(answer.id, job);
    const active = this.activeByConversation.get(answer.conversationId) ?? new Set<GenerationJob>();
    active.add(job);
    this.activeByConversation.set(answer.conversationId, active);
    adjustCount(this.runningByUser, userId, 1);
    // before start(): the other instances see every event from generation-start on
    this.context.cluster.ownAnswer(job);
    job.start();
    // authenticated just before an admin disabled the account: it does not get to run
    if (this.blockedUsers.has(userId)) job.requestStop("account-blocked");
    void job.done.then(() => {
      adjustCount(this.runningByUser, userId, -1);
      const running = this.activeByConversation.get(answer.conversationId);
      running?.delete(job);
      if (running?.size === 0) this.activeByConversation.delete(answer.conversationId);
      if (this.isShuttingDown) return;
      const timer = setTimeout(() => {
        this.retentionTimers.delete(timer);
        if (this.jobs.get(answer.id) === job) this.jobs.delete(answer.id);
      }, FINISHED_JOB_RETENTION_MS);
      timer.unref();
      this.retentionTimers.add(timer);
    });
  }

  private async rememberLastModel(userId: string, modelId: string): Promise<void> {
    try {
      await this.dependencies.accounts.rememberLastModel(userId, modelId);
    } catch (error) {
      // a preference; never worth failing a send for
      this.logger.warn("remembering the last model failed", { error });
    }
  }
}

function tooManyAnswersError(limit: number): AppError {
  return new AppError(
    429,
    "too_many_answers",
    `You already have ${limit === 1 ? "an answer" : `${limit} answers`} being written; wait for one to finish or stop one`,
    true,
  );
}

function conversationBusyError(): AppError {
  return new AppError(409, "conflict", "An answer in this conversation is still being generated; stop it or wait for it to finish");
}

/** Adds `delta` to a per-user count, forgetting users who reach 0 (so the map holds only who is busy). */
function adjustCount(counts: Map<string, number>, userId: string, delta: number): void {
  const next = (counts.get(userId) ?? 0) + delta;
  if (next <= 0) counts.delete(userId);
  else counts.set(userId, next);
}

/** For a job no longer in memory: one final event describing the stored answer. */
function terminalEventFor(message: Message, sequence: number): GenerationEvent {
  if (message.status === "complete" || message.status === "stopped") {
    return { sequence, event: "generation-end", data: { message } };
  }
  const error: ErrorDetail =
    message.error ??
    (message.status === "streaming"
      ? { code: SHUTDOWN_ERROR.code, message: "This answer is no longer being generated" }
      : { code: "internal_error", message: "The answer failed" });
  return { sequence, event: "generation-error", data: { error, message } };
}
