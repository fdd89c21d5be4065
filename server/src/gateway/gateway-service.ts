import type { Model, ModelListResponse } from "../../../protocol/http/models";
import type { ProviderKind } from "../../../protocol/http/providers";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { ChatProvider, ChatStreamEvent } from "../providers/chat-provider";
import type { ApiKeyCaller } from "../services/api-key-service";
import { computeWindowBudget } from "../services/context-builder";
import type { AnswerUsage, RecordedUsage } from "../services/ledger-service";
import { callModel } from "./call-model";
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
  model: Model;
  /** The answer's events as they arrive. Ending the iteration early closes the provider request. */
  events: AsyncGenerator<ChatStreamEvent, void, undefined>;
  /** What the provider reported so far: complete once `events` is done. */
  readonly usage: ReportedUsage;
}

/**
 * The team gateway's use cases, apart from either wire format: who is calling (a personal key), which
 * models they may use, and one answer: model visible to them, budget checked before any provider call,
 * the conversation prepared for the target provider exactly as the chat's, the call through callModel
 * (retries; fallbacks later), and the answer recorded in the ledger when it ends, however it ends.
 */
export class GatewayService {
  constructor(private readonly dependencies: GatewayDependencies) {}

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
    const usage: ReportedUsage = { inputTokens: undefined, outputTokens: undefined, cachedInputTokens: undefined };
    const startedAt = dependencies.now();
    const events = this.run(caller, model, startedAt, usage, signal, () =>
      callModel({
        model,
        provider,
        conversation,
        // a client that names no limit gets the chat's: the model's own, at most a quarter of its window
        maxOutputTokens: request.maxOutputTokens ?? computeWindowBudget(model).reservedOutputTokens,
        ...(request.tools === undefined ? {} : { tools: request.tools }),
        ...(request.toolChoice === undefined ? {} : { toolChoice: request.toolChoice }),
        ...(request.allowParallelToolCalls === undefined ? {} : { allowParallelToolCalls: request.allowParallelToolCalls }),
        ...(request.sampling === undefined ? {} : { sampling: request.sampling }),
        signal,
        policy: {
          maxRetries: dependencies.config.providerMaxRetries,
          retryMaxDelayMs: dependencies.config.providerRetryMaxDelayMs,
          stallTimeoutMs: dependencies.config.providerStallTimeoutMs,
        },
        logger: dependencies.logger,
      }),
    );
    return { model, events, usage };
  }

  /** The call's events, passed on as they come, and the ledger row once it is over (complete, failed or stopped). */
  private async *run(
    caller: ApiKeyCaller,
    model: Model,
    startedAt: number,
    usage: ReportedUsage,
    signal: AbortSignal,
    call: () => AsyncGenerator<ChatStreamEvent, void, undefined>,
  ): AsyncGenerator<ChatStreamEvent, void, undefined> {
    let firstOutputAt: number | undefined;
    let status: AnswerUsage["status"] = "error";
    try {
      for await (const event of call()) {
        if (event.type === "usage") {
          usage.inputTokens = event.inputTokens ?? usage.inputTokens;
          usage.outputTokens = event.outputTokens ?? usage.outputTokens;
          usage.cachedInputTokens = event.cachedInputTokens ?? usage.cachedInputTokens;
        } else if (event.type !== "finish") {
          firstOutputAt ??= this.dependencies.now();
        }
        yield event;
      }
      status = "complete";
    } finally {
      if (status !== "complete" && signal.aborted) status = "stopped";
      // not awaited: the client's answer ends now; the row is written with the next batch (ledger-service.ts)
      void this.record(caller, model, startedAt, firstOutputAt, usage, status);
    }
  }

  private async record(
    caller: ApiKeyCaller,
    model: Model,
    startedAt: number,
    firstOutputAt: number | undefined,
    usage: ReportedUsage,
    status: AnswerUsage["status"],
  ): Promise<void> {
    const finishedAt = this.dependencies.now();
    try {
      const recorded = await this.dependencies.ledger.recordAnswer({
        userId: caller.user.id,
        client: { kind: "gateway", apiKeyId: caller.apiKey.id, apiKeyName: caller.apiKey.name },
        provider: model.provider,
        modelId: model.id,
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
      this.dependencies.logger.error("recording a gateway answer's usage failed", { userId: caller.user.id, modelId: model.id, error });
    }
  }
}
