import type { Model, ModelListResponse } from "../../../protocol/http/models";
import type { ProviderKind } from "../../../protocol/http/providers";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { ChatProvider, ChatStreamEvent } from "../providers/chat-provider";
import { callModelWithFallbacks, type ModelCallEvent } from "../services/call-model-with-fallbacks";
import type { ModelTarget } from "../services/fallback-chain";
import type { ModelFallbackService } from "../services/model-fallback-service";
import type { ApiKeyCaller } from "../services/api-key-service";
import { computeWindowBudget } from "../services/context-builder";
import type { AnswerUsage, RecordedUsage } from "../services/ledger-service";
import type { GatewayChatRequest } from "./gateway-chat-request";
import { invalidRequest } from "./gateway-error";

/** What the gateway needs from the services (the real ones satisfy these). */
export interface GatewayDependencies {
  config: Config;
  logger: Logger;
  now: () => number;
  apiKeys: { authenticate(presentedKey: string): Promise<ApiKeyCaller> };
  catalog: { getVisibleModel(modelId: string): Promise<Model>; listVisibleModels(): Promise<ModelListResponse> };
  providers: { getChatProvider(kind: ProviderKind): Promise<ChatProvider> };
  budgets: { admit(userId: string): Promise<void> };
  /** The chat's fallbacks and circuit breaker: a gateway call falls back exactly as a chat answer does. */
  fallbacks: Pick<ModelFallbackService, "resolveTargets" | "breaker">;
  /** Where each answer's usage goes; the gateway does not wait for the write. */
  ledger: { recordAnswer(usage: AnswerUsage): Promise<RecordedUsage> };
}

/** Usage as the provider reported it so far (a later report fills what an earlier one lacked). */
export interface ReportedUsage {
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  cachedInputTokens: number | undefined;
}

/** An answer admitted and ready: its model, and its events (iterating them calls the provider). */
export interface GatewayAnswer {
  /** The model asked for (what the response names, as OpenAI and Anthropic clients expect). */
  model: Model;
  /** The model answering: the one asked for, or a fallback once it failed before its first output. */
  readonly answeredBy: Model;
  /** The answer's events as they arrive. Ending the iteration early closes the provider request. */
  events: AsyncGenerator<ChatStreamEvent, void, undefined>;
  /** What the provider reported so far: complete once `events` is done. */
  readonly usage: ReportedUsage;
}

/**
 * The team gateway's use cases, apart from either wire format: who is calling (a personal key), which
 * models they may use, and one answer: model visible to them, budget checked before any provider call,
 * the conversation prepared for each target provider exactly as the chat's, the call through the
 * chat's callModelWithFallbacks (the same retries, fallbacks and circuit breaker), and the answer
 * recorded in the ledger, at the price of the model that answered, when it ends, however it ends.
 */
export class GatewayService {
  /** The calls being answered, by user: a disabled account's are closed at once, like its chat answers. */
  private readonly running = new Map<string, Set<AbortController>>();

  constructor(private readonly dependencies: GatewayDependencies) {}

  /** An account no longer active: its answers in progress end now (their provider requests closed). */
  applyAccountStatus(userId: string, status: "active" | "pending" | "disabled"): void {
    if (status === "active") return;
    for (const controller of this.running.get(userId) ?? []) controller.abort();
  }

  authenticate(presentedKey: string): Promise<ApiKeyCaller> {
    return this.dependencies.apiKeys.authenticate(presentedKey);
  }

  /** The models the caller may use: the team's visible ones (the same for every member). */
  async listModels(): Promise<ModelListResponse> {
    return this.dependencies.catalog.listVisibleModels();
  }

  async getModel(modelId: string): Promise<Model> {
    return this.dependencies.catalog.getVisibleModel(modelId);
  }

  /**
   * Admits one answer: refused (thrown, before anything is written or sent) when the model is not
   * visible, the budget is spent, or nothing is left to send. The provider is called only once the
   * returned events are iterated; `signal` closes it when the client goes away.
   */
  async open(caller: ApiKeyCaller, request: GatewayChatRequest, signal: AbortSignal): Promise<GatewayAnswer> {
    const { dependencies } = this;
    const model = await dependencies.catalog.getVisibleModel(request.modelId);
    const provider = await dependencies.providers.getChatProvider(model.provider);
    await dependencies.budgets.admit(caller.user.id);
    const conversation = provider.prepareConversation(request.system, request.turns);
    if (conversation.turns.length === 0) throw invalidRequest("messages: there is nothing to answer (every message is empty)", "messages");
    const targets = await dependencies.fallbacks.resolveTargets(model, provider);
    // the client going away, or the account being disabled, closes the provider request
    const ended = new AbortController();
    const callSignal = AbortSignal.any([signal, ended.signal]);
    const tracking: AnswerTracking = {
      answeredBy: model,
      usage: { inputTokens: undefined, outputTokens: undefined, cachedInputTokens: undefined },
      startedAt: dependencies.now(),
      firstOutputAt: undefined,
    };
    const prepare = async (target: ModelTarget) => ({
      conversation: target === targets[0] ? conversation : target.provider.prepareConversation(request.system, request.turns),
      // a client that names no limit gets the chat's: the model's own, at most a quarter of its window
      maxOutputTokens: request.maxOutputTokens ?? computeWindowBudget(target.model).reservedOutputTokens,
      ...(request.tools === undefined ? {} : { tools: request.tools }),
      ...(request.toolChoice === undefined ? {} : { toolChoice: request.toolChoice }),
      ...(request.allowParallelToolCalls === undefined ? {} : { allowParallelToolCalls: request.allowParallelToolCalls }),
      ...(request.sampling === undefined ? {} : { sampling: request.sampling }),
    });
    const events = this.run(caller, tracking, callSignal, ended, () =>
      callModelWithFallbacks({
        targets,
        prepare,
        signal: callSignal,
        policy: {
          maxRetries: dependencies.config.providerMaxRetries,
          retryMaxDelayMs: dependencies.config.providerRetryMaxDelayMs,
          stallTimeoutMs: dependencies.config.providerStallTimeoutMs,
        },
        breaker: dependencies.fallbacks.breaker,
        logger: dependencies.logger,
      }),
    );
    return {
      model,
      get answeredBy() {
        return tracking.answeredBy;
      },
      events,
      usage: tracking.usage,
    };
  }

  /** The call's events, passed on as they come, and the ledger row once it is over (complete, failed or stopped). */
  private async *run(
    caller: ApiKeyCaller,
    tracking: AnswerTracking,
    signal: AbortSignal,
    ended: AbortController,
    call: () => AsyncGenerator<ModelCallEvent, void, undefined>,
  ): AsyncGenerator<ChatStreamEvent, void, undefined> {
    const { usage } = tracking;
    let status: AnswerUsage["status"] = "error";
    const userId = caller.user.id;
    let calls = this.running.get(userId);
    if (!calls) this.running.set(userId, (calls = new Set()));
    calls.add(ended);
    try {
      for await (const event of call()) {
        if (event.type === "attempt") {
          // what a failed attempt reported is not this answer's; nothing of it reached the client
          usage.inputTokens = undefined;
          usage.outputTokens = undefined;
          usage.cachedInputTokens = undefined;
          tracking.answeredBy = event.target.model;
          continue;
        }
        if (event.type === "usage") {
          usage.inputTokens = event.inputTokens ?? usage.inputTokens;
          usage.outputTokens = event.outputTokens ?? usage.outputTokens;
          usage.cachedInputTokens = event.cachedInputTokens ?? usage.cachedInputTokens;
        } else if (event.type !== "finish") {
          tracking.firstOutputAt ??= this.dependencies.now();
        }
        yield event;
      }
      // aborted between attempts, the call ends quietly: the client went away
      status = signal.aborted ? "stopped" : "complete";
    } finally {
      calls.delete(ended);
      if (calls.size === 0) this.running.delete(userId);
      if (status !== "complete" && signal.aborted) status = "stopped";
      // not awaited: the client's answer ends now; the row is written with the next batch (ledger-service.ts)
      void this.record(caller, tracking, status);
    }
  }

  private async record(caller: ApiKeyCaller, tracking: AnswerTracking, status: AnswerUsage["status"]): Promise<void> {
    const { answeredBy, usage, startedAt, firstOutputAt } = tracking;
    const finishedAt = this.dependencies.now();
    try {
      const recorded = await this.dependencies.ledger.recordAnswer({
        userId: caller.user.id,
        client: { kind: "gateway", apiKeyId: caller.apiKey.id, apiKeyName: caller.apiKey.name },
        // the model that answered: a fallback's tokens are priced at the fallback's price
        provider: answeredBy.provider,
        modelId: answeredBy.id,
        status,
        inputTokens: usage.inputTokens ?? null,
        outputTokens: usage.outputTokens ?? null,
        cachedInputTokens: usage.cachedInputTokens ?? null,
        timeToFirstTokenMs: firstOutputAt === undefined ? null : firstOutputAt - startedAt,
        durationMs: finishedAt - startedAt,
        finishedAt,
      });
      await recorded.written;
    } catch (error) {
      // the client has its answer; a lost ledger row is logged, never turned into a failed answer
      this.dependencies.logger.error("recording a gateway answer's usage failed", {
        userId: caller.user.id,
        modelId: answeredBy.id,
        error,
      });
    }
  }
}

/** One answer as it goes: which model is answering, what it reported, and when its output began. */
interface AnswerTracking {
  answeredBy: Model;
  readonly usage: ReportedUsage;
  readonly startedAt: number;
  firstOutputAt: number | undefined;
}
