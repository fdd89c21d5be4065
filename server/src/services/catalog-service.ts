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
import type { ProviderService } from "./provider-service";
import type { ServiceContext } from "./service-context";

interface ModelRow {
  id: string;
  provider: string;
  name: string;
  display_name: string;
  context_window: number | string | null;
  max_output_tokens: number | string | null;
  supports_vision: boolean | number | null;
  is_visible: boolean | number;
  is_available: boolean | number;
}

// A refresh may page through a long list or ask /api/show for each Ollama model.
const refreshMinimumTimeoutMs = 30_000;
// The first background refresh runs soon after start (picks up models of preset providers).
const firstBackgroundRefreshDelayMs = 5_000;
// models.name / models.id column sizes
const maximumModelNameLength = 255;
// rows per INSERT: well under SQLite's 32,766 bound parameters (11 columns each)
const insertBatchSize = 200;

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

  constructor(
    private readonly context: ServiceContext,
    private readonly providers: ProviderService,
  ) {
    // a provider turned on or off changes what members see
    providers.onChange(() => this.invalidateVisibleList());
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
      for (const change of request.changes) {
        await transaction("models").where({ id: change.id }).update({ is_visible: change.isVisible, updated_at: now });
      }
    });
    this.context.logger.info("model visibility changed", {
      shown: request.changes.filter((change) => change.isVisible).length,
      hidden: request.changes.filter((change) => !change.isVisible).length,
    });
    await this.reloadModels();
    return this.listAllModels();
  }

  /**
   * Fetches a provider's model list and stores it: new models hidden until an admin shows them,
   * models no longer listed marked unavailable (kept, with their visibility, in case they return).
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
      await this.providers.recordRefreshResult(kind, { error: { code: error.code, message: error.message, retryable: error.retryable } });
      this.context.logger.warn("model refresh failed", { provider: kind, code: error.code, reason: error.message });
      throw new AppError(502, error.code, error.message, error.retryable);
    }
    const summary = await this.storeDiscoveredModels(kind, discovered);
    await this.providers.recordRefreshResult(kind, { refreshedAt: this.context.now() });
    this.context.logger.info("models refreshed", { provider: kind, ...summary });
  }

  private async storeDiscoveredModels(
    kind: ProviderKind,
    discovered: DiscoveredModel[],
  ): Promise<{ listed: number; added: number; gone: number }> {
    const byName = new Map<string, DiscoveredModel>();
    for (const model of discovered) {
      if (model.name === "" || model.name.length > maximumModelNameLength) continue;
      byName.set(model.name, model);
    }
    const now = this.context.now();
    let added = 0;
    let gone = 0;
    await this.context.database.transaction(async (transaction) => {
      const existing: ModelRow[] = await transaction("models")
        .where({ provider: kind })
        .select(
          "id",
          "provider",
          "name",
          "display_name",
          "context_window",
          "max_output_tokens",
          "supports_vision",
          "is_visible",
          "is_available",
        );
      const existingByName = new Map(existing.map((row) => [row.name, row]));
      const inserts: Array<Record<string, unknown>> = [];
      for (const model of byName.values()) {
        const fields = {
          display_name: model.displayName.slice(0, maximumModelNameLength) || model.name,
          context_window: model.contextWindow,
          max_output_tokens: model.maxOutputTokens,
          supports_vision: model.supportsVision,
        };
        const row = existingByName.get(model.name);
        if (!row) {
          // an admin decides what members see
          inserts.push({
            id: `${kind}:${model.name}`,
            provider: kind,
            name: model.name,
            ...fields,
            is_visible: false,
            is_available: true,
            created_at: now,
            updated_at: now,
          });
        } else if (
          // a periodic refresh usually changes nothing: write only what did
          row.display_name !== fields.display_name ||
          numberOrNull(row.context_window) !== fields.context_window ||
          numberOrNull(row.max_output_tokens) !== fields.max_output_tokens ||
          (row.supports_vision === null ? null : isTrue(row.supports_vision)) !== fields.supports_vision ||
          !isTrue(row.is_available)
        ) {
          await transaction("models")
            .where({ id: row.id })
            .update({ ...fields, is_available: true, updated_at: now });
        }
      }
      added = inserts.length;
      for (let index = 0; index < inserts.length; index += insertBatchSize) {
        await transaction("models").insert(inserts.slice(index, index + insertBatchSize));
      }
      const goneIds = existing.filter((row) => !byName.has(row.name) && isTrue(row.is_available)).map((row) => row.id);
      gone = goneIds.length;
      if (goneIds.length > 0) {
        await transaction("models").whereIn("id", goneIds).update({ is_available: false, updated_at: now });
      }
    });
    await this.reloadModels();
    return { listed: byName.size, added, gone };
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
  }

  private invalidateVisibleList(): void {
    this.version += 1;
    this.visibleList = undefined;
  }

  private async readModels(): Promise<Map<string, AdminModel>> {
    const rows: ModelRow[] = await this.context
      .database("models")
      .select(
        "id",
        "provider",
        "name",
        "display_name",
        "context_window",
        "max_output_tokens",
        "supports_vision",
        "is_visible",
        "is_available",
      );
    const models = new Map<string, AdminModel>();
    for (const row of rows) {
      if (!(providerKinds as readonly string[]).includes(row.provider)) continue;
      models.set(row.id, {
        id: row.id,
        provider: row.provider as ProviderKind,
        name: row.name,
        displayName: row.display_name,
        contextWindow: row.context_window === null ? null : Number(row.context_window),
        maxOutputTokens: row.max_output_tokens === null ? null : Number(row.max_output_tokens),
        supportsVision: row.supports_vision === null ? null : isTrue(row.supports_vision),
        isVisible: isTrue(row.is_visible),
        isAvailable: isTrue(row.is_available),
      });
    }
    return models;
  }
}

function numberOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

/** SQLite returns booleans as 0/1, PostgreSQL as true/false. */
function isTrue(value: boolean | number | null): boolean {
  return value === true || value === 1;
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
