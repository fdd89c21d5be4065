import type { Model, ModelFallbackListResponse, UpdateModelFallbacksRequest } from "../../../protocol/http/models";
import type { ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import type { ChatProvider } from "../providers/chat-provider";
import { ModelFallbackRepository } from "../storage/model-fallback-repository";
import { CircuitBreaker } from "./circuit-breaker";
import type { ModelTarget } from "./fallback-chain";
import type { ServiceContext } from "./service-context";

export interface ModelFallbackDependencies {
  catalog: {
    getVisibleModel(modelId: string): Promise<Model>;
    listAllModels(): Promise<{ models: Array<{ id: string }> }>;
  };
  providers: {
    getChatProvider(kind: ProviderKind): Promise<ChatProvider>;
    connectionIdOf(kind: ProviderKind): Promise<string>;
  };
}

/**
 * The admin's fallbacks per model, and what a call needs of them: the models that may answer for a
 * model, in order, each with its adapter and its circuit (one breaker for every caller of this
 * process: the chat's answers and the gateway's calls learn of a failing model together). Read once
 * into memory; a send resolves its fallbacks without a query.
 */
export class ModelFallbackService {
  readonly breaker: CircuitBreaker;
  private fallbacks: Map<string, string[]> | undefined;
  private loading: Promise<Map<string, string[]>> | undefined;
  private readonly storedFallbacks: ModelFallbackRepository;

  constructor(
    private readonly context: ServiceContext,
    private readonly dependencies: ModelFallbackDependencies,
  ) {
    this.storedFallbacks = new ModelFallbackRepository(context.database);
    context.cluster.onChange((change) => {
      if (change.kind === "fallbacks" || change.kind === "everything") this.fallbacks = undefined;
    });
    this.breaker = new CircuitBreaker({
      failureThreshold: context.config.providerBreakerFailures,
      coolDownMs: context.config.providerBreakerCoolDownMs,
      now: context.now,
    });
  }

  async list(): Promise<ModelFallbackListResponse> {
    const fallbacks = await this.load();
    return {
      fallbacks: [...fallbacks.entries()]
        .sort(([left], [right]) => left.localeCompare(right, "en"))
        .map(([modelId, fallbackModelIds]) => ({ modelId, fallbackModelIds: [...fallbackModelIds] })),
    };
  }

  /** Replaces one model's fallbacks. Every id must be a model of the catalog (404 otherwise); visibility is checked when they are used. */
  async update(request: UpdateModelFallbacksRequest): Promise<ModelFallbackListResponse> {
    const known = new Set((await this.dependencies.catalog.listAllModels()).models.map((model) => model.id));
    const unknown = [request.modelId, ...request.fallbackModelIds].filter((id) => !known.has(id));
    if (unknown.length > 0) throw new AppError(404, "not_found", `Unknown model${unknown.length === 1 ? "" : "s"}: ${unknown.join(", ")}`);
    await this.context.database.transaction((transaction) =>
      new ModelFallbackRepository(transaction).replace(request.modelId, request.fallbackModelIds, this.context.now()),
    );
    this.fallbacks = await this.storedFallbacks.listAll();
    this.context.cluster.announce({ kind: "fallbacks" });
    this.context.logger.info("model fallbacks changed", { modelId: request.modelId, fallbackCount: request.fallbackModelIds.length });
    return this.list();
  }

  /**
   * `model` (with its adapter) and the fallbacks that can answer now, in the admin's order: a
   * fallback that is hidden, no longer offered, or whose provider is off or has no key is left out.
   */
  async resolveTargets(model: Model, provider: ChatProvider): Promise<ModelTarget[]> {
    const targets: ModelTarget[] = [{ model, provider, circuitKey: await this.circuitKeyOf(model) }];
    for (const fallbackId of (await this.load()).get(model.id) ?? []) {
      try {
        const fallback = await this.dependencies.catalog.getVisibleModel(fallbackId);
        const fallbackProvider = await this.dependencies.providers.getChatProvider(fallback.provider);
        targets.push({ model: fallback, provider: fallbackProvider, circuitKey: await this.circuitKeyOf(fallback) });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
      }
    }
    return targets;
  }

  /** One circuit per (provider, key, model): the provider's connection id changes with its key or address. */
  private async circuitKeyOf(model: Model): Promise<string> {
    return `${model.provider}\n${await this.dependencies.providers.connectionIdOf(model.provider)}\n${model.name}`;
  }

  private load(): Promise<Map<string, string[]>> {
    if (this.fallbacks) return Promise.resolve(this.fallbacks);
    this.loading ??= this.storedFallbacks
      .listAll()
      .then((fallbacks) => {
        this.fallbacks ??= fallbacks;
        return this.fallbacks;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
