import type {
  AdminModel,
  AdminModelListResponse,
  Model,
  ModelListResponse,
  UpdateModelVisibilityRequest,
} from "../../../protocol/http/models";
import { providerKinds, type ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import { isAbortError } from "../providers/abort-error";
import { callWithTimeout } from "../providers/call-with-timeout";
import { ProviderError, type DiscoveredModel } from "../providers/chat-provider";
import { ModelRepository } from "../storage/model-repository";
import { chooseDefaultVisibleModels } from "./choose-default-visible-models";
import type { ProviderService } from "./provider-service";
import type { ServiceContext } from "./service-context";

// A refresh may page through a long list or ask /api/show for each Ollama model.
const refreshMinimumTimeoutMs = 30_000;
// The first background refresh runs soon after start (picks up models of preset providers).
const firstBackgroundRefreshDelayMs = 5_000;
// models.name / models.id column sizes
const maximumModelNameLength = 255;

/**
 * The model catalog. Rows are loaded once into memory; members' reads (the model list, the model
 * of a send) never touch the database or a provider. Refreshes write the database, then reload
 * the memory copy. Model ids are `<provider>:<provider's model name>`.
 */
export class CatalogService {
  private models: Map<string, AdminModel> | undefined;
  private loading: Promise<Map<string, AdminModel>> | undefined;
  private visibleList: ModelListResponse | undefined;
  /** Bumped on every change, so a list built during a change is not cached stale. */
  private version = 0;
  private readonly refreshes = new Map<ProviderKind, Promise<void>>();
  private backgroundTimer: NodeJS.Timeout | undefined;
  private backgroundAbort: AbortController | undefined;
  private isBackgroundStopped = true;
  /** Outside any transaction. */
  private readonly storedModels: ModelRepository;

  constructor(
    private readonly context: ServiceContext,
    private readonly providers: ProviderService,
  ) {
    this.storedModels = new ModelRepository(context.database);
    // a provider turned on or off changes what members see
    providers.onChange(() => this.invalidateVisibleList());
    context.cluster.onChange((change) => {
      if (change.kind !== "catalog" && change.kind !== "everything") return;
      // another instance changed the models: read them again on next use
      this.models = undefined;
      this.loading = undefined;
      this.invalidateVisibleList();
    });
  }

  /** Visible, available models of active providers, from memory. */
  async listVisibleModels(): Promise<ModelListResponse> {
    if (this.visibleList) return this.visibleList;
    const version = this.version;
    const models = await this.loadModels();
    const states = await this.providers.providerStates();
    const activeKinds = new Set(states.filter((state) => state.isActive).map((state) => state.kind));
    const refreshTimes = states
      .filter((state) => state.isActive && state.lastRefreshedAt !== null)
      .map((state) => state.lastRefreshedAt as number);
    const list: ModelListResponse = {
      models: sortModels([...models.values()].filter((model) => isServed(model, activeKinds))).map(toMemberModel),
      refreshedAt: refreshTimes.length === 0 ? null : new Date(Math.max(...refreshTimes)).toISOString(),
    };
    if (version === this.version) this.visibleList = list;
    return list;
  }

  /** The model of a send: 400 model_unavailable when unknown, hidden, no longer offered, or its provider is off. */
  async getVisibleModel(modelId: string): Promise<Model> {
    const model = (await this.loadModels()).get(modelId);
    const states = await this.providers.providerStates();
    const activeKinds = new Set(states.filter((state) => state.isActive).map((state) => state.kind));
    if (!model || !isServed(model, activeKinds)) {
      throw new AppError(400, "model_unavailable", `The model "${modelId}" is not available — pick another model`);
    }
    return toMemberModel(model);
  }

  /** Every model any provider offered, visible or not (admin). */
  async listAllModels(provider?: ProviderKind): Promise<AdminModelListResponse> {
    const models = [...(await this.loadModels()).values()].filter((model) => provider === undefined || model.provider === provider);
    return { models: sortModels(models).map((model) => ({ ...model })) };
  }

  /** Shows or hides models; an unknown id is a 404 and nothing changes. */
  async updateVisibility(request: UpdateModelVisibilityRequest): Promise<AdminModelListResponse> {
    const models = await this.loadModels();
    const unknown = [...new Set(request.changes.map((change) => change.id).filter((id) => !models.has(id)))];
    if (unknown.length > 0) {
      throw new AppError(404, "not_found", `Unknown model${unknown.length === 1 ? "" : "s"}: ${unknown.slice(0, 5).join(", ")}`);
    }
    const now = this.context.now();
    await this.context.database.transaction(async (transaction) => {
      const storedModels = new ModelRepository(transaction);
      for (const change of request.changes) await storedModels.update(change.id, { isVisible: change.isVisible }, now);
    });
    this.context.logger.info("model visibility changed", {
      shown: request.changes.filter((change) => change.isVisible).length,
      hidden: request.changes.filter((change) => !change.isVisible).length,
    });
    await this.reloadModels();
    return this.listAllModels();
  }

  /**
   * Fetches a provider's model list and stores it. The provider's first refresh shows its well-known
   * chat models (choose-default-visible-models.ts) so a new team has models at once; afterwards new
   * models are hidden until an admin shows them, and what an admin hid stays hidden. Models no longer
   * listed are marked unavailable (kept, with their visibility, in case they return).
   * Works while the provider is off (it needs its key). A provider failure is recorded as the
   * provider's lastError and thrown as a 502 with the provider error's code.
   */
  async refreshProviderModels(kind: ProviderKind, signal?: AbortSignal): Promise<AdminModelListResponse> {
    let running = this.refreshes.get(kind);
    if (!running) {
      running = this.runRefresh(kind, signal).finally(() => this.refreshes.delete(kind));
      this.refreshes.set(kind, running);
    }
    await running;
    return this.listAllModels(kind);
  }

  /** Refreshes every active provider every `catalogRefreshMinutes` (0: off). Never overlapping; failures are logged. */
  startBackgroundRefresh(): void {
    const minutes = this.context.config.catalogRefreshMinutes;
    if (minutes <= 0 || !this.isBackgroundStopped) return;
    this.isBackgroundStopped = false;
    this.scheduleBackgroundRefresh(Math.min(firstBackgroundRefreshDelayMs, minutes * 60_000));
  }

  stopBackgroundRefresh(): void {
    this.isBackgroundStopped = true;
    if (this.backgroundTimer) clearTimeout(this.backgroundTimer);
    this.backgroundTimer = undefined;
    this.backgroundAbort?.abort();
  }

  private scheduleBackgroundRefresh(delayMs: number): void {
    if (this.isBackgroundStopped) return;
    this.backgroundTimer = setTimeout(() => void this.runBackgroundRefresh(), delayMs);
    // a pending refresh must not keep the process alive
    this.backgroundTimer.unref();
  }

  private async runBackgroundRefresh(): Promise<void> {
    this.backgroundTimer = undefined;
    const controller = new AbortController();
    this.backgroundAbort = controller;
    try {
      // one refresh per interval for the whole team, whichever instance comes first (a little early
      // is allowed, so that timers running slightly apart do not skip an interval)
      const intervalMs = this.context.config.catalogRefreshMinutes * 60_000;
      if (!(await this.context.cluster.claimTask("catalog-refresh", Math.max(intervalMs - 10_000, intervalMs / 2)))) return;
      const states = await this.providers.providerStates();
      for (const state of states) {
        if (!state.isActive || controller.signal.aborted) continue;
        try {
          await this.refreshProviderModels(state.kind, controller.signal);
        } catch (error) {
          if (controller.signal.aborted || isAbortError(error)) continue;
          const detail = error instanceof AppError ? { code: error.code, reason: error.message } : { error };
          this.context.logger.warn("background model refresh failed", { provider: state.kind, ...detail });
        }
      }
    } catch (error) {
      this.context.logger.error("background model refresh failed", { error });
    } finally {
      this.backgroundAbort = undefined;
      this.scheduleBackgroundRefresh(this.context.config.catalogRefreshMinutes * 60_000);
    }
  }

  private async runRefresh(kind: ProviderKind, signal: AbortSignal | undefined): Promise<void> {
    const adapter = await this.providers.getCatalogProvider(kind);
    const baseUrl = await this.providers.getBaseUrl(kind);
    const timeoutMs = Math.max(this.context.config.providerConnectTimeoutMs, refreshMinimumTimeoutMs);
    let discovered: DiscoveredModel[];
    try {
      discovered = await callWithTimeout({ kind, baseUrl }, timeoutMs, (callSignal) => adapter.listModels(callSignal), signal);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      // shown to admins only (Team Settings): the words with the address it tried
      const message = error.adminMessage;
      await this.providers.recordRefreshResult(kind, { error: { code: error.code, message, retryable: error.retryable } });
      this.context.logger.warn("model refresh failed", { provider: kind, code: error.code, reason: message });
      throw new AppError(502, error.code, message, error.retryable);
    }
    const summary = await this.storeDiscoveredModels(kind, discovered);
    await this.providers.recordRefreshResult(kind, { refreshedAt: this.context.now() });
    this.context.logger.info("models refreshed", { provider: kind, ...summary });
  }

  private async storeDiscoveredModels(
    kind: ProviderKind,
    discovered: DiscoveredModel[],
  ): Promise<{ listed: number; added: number; shown: number; gone: number }> {
    const byName = new Map<string, DiscoveredModel>();
    for (const model of discovered) {
      if (model.name === "" || model.name.length > maximumModelNameLength) continue;
      byName.set(model.name, model);
    }
    const now = this.context.now();
    let added = 0;
    let shown = 0;
    let gone = 0;
    await this.context.database.transaction(async (transaction) => {
      const storedModels = new ModelRepository(transaction);
      const existing = await storedModels.listByProvider(kind);
      const existingByName = new Map(existing.map((model) => [model.name, model]));
      // No model of this provider stored yet: its first refresh (refreshes of a provider are single-flight).
      const shownByDefault = existing.length === 0 ? chooseDefaultVisibleModels(kind, [...byName.keys()]) : new Set<string>();
      const inserts: AdminModel[] = [];
      for (const model of byName.values()) {
        const fields = {
          displayName: model.displayName.slice(0, maximumModelNameLength) || model.name,
          contextWindow: model.contextWindow,
          maxOutputTokens: model.maxOutputTokens,
          supportsVision: model.supportsVision,
        };
        const stored = existingByName.get(model.name);
        if (!stored) {
          // after the first refresh an admin decides what members see
          const isVisible = shownByDefault.has(model.name);
          inserts.push({ id: `${kind}:${model.name}`, provider: kind, name: model.name, ...fields, isVisible, isAvailable: true });
        } else if (
          // a periodic refresh usually changes nothing: write only what did
          stored.displayName !== fields.displayName ||
          stored.contextWindow !== fields.contextWindow ||
          stored.maxOutputTokens !== fields.maxOutputTokens ||
          stored.supportsVision !== fields.supportsVision ||
          !stored.isAvailable
        ) {
          await storedModels.update(stored.id, { ...fields, isAvailable: true }, now);
        }
      }
      added = inserts.length;
      shown = inserts.filter((model) => model.isVisible).length;
      await storedModels.insert(inserts, now);
      const goneIds = existing.filter((stored) => !byName.has(stored.name) && stored.isAvailable).map((stored) => stored.id);
      gone = goneIds.length;
      await storedModels.markUnavailable(goneIds, now);
    });
    await this.reloadModels();
    return { listed: byName.size, added, shown, gone };
  }

  private loadModels(): Promise<Map<string, AdminModel>> {
    if (this.models) return Promise.resolve(this.models);
    this.loading ??= this.readModels()
      .then((models) => {
        this.models ??= models;
        return this.models;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async reloadModels(): Promise<void> {
    this.models = await this.readModels();
    this.invalidateVisibleList();
    this.context.cluster.announce({ kind: "catalog" });
  }

  private invalidateVisibleList(): void {
    this.version += 1;
    this.visibleList = undefined;
  }

  private async readModels(): Promise<Map<string, AdminModel>> {
    return new Map((await this.storedModels.listAll()).map((model) => [model.id, model]));
  }
}

function isServed(model: AdminModel, activeKinds: ReadonlySet<ProviderKind>): boolean {
  return model.isVisible && model.isAvailable && activeKinds.has(model.provider);
}

function sortModels(models: AdminModel[]): AdminModel[] {
  const order = (kind: ProviderKind) => providerKinds.indexOf(kind);
  return [...models].sort(
    (left, right) =>
      order(left.provider) - order(right.provider) ||
      left.displayName.localeCompare(right.displayName, "en") ||
      left.id.localeCompare(right.id, "en"),
  );
}

function toMemberModel(model: AdminModel): Model {
  return {
    id: model.id,
    provider: model.provider,
    name: model.name,
    displayName: model.displayName,
    contextWindow: model.contextWindow,
    maxOutputTokens: model.maxOutputTokens,
    supportsVision: model.supportsVision,
  };
}
