import type { TeamSettings } from "../../../protocol/http/accounts";
import type { Model, ModelListResponse } from "../../../protocol/http/models";
import { chooseSummariserModel } from "./choose-summariser-model";

/** How long the team's summariser setting is trusted before it is read again (writes through this server forget it at once). */
const SETTING_MAX_AGE_MS = 30_000;

export interface SummariserChoiceDependencies {
  settings: { getTeamSettings(): Promise<TeamSettings> };
  catalog: { listVisibleModels(): Promise<ModelListResponse> };
  now: () => number;
}

/**
 * The summariser for the next send, decided before the send's transaction (which must not query):
 * the team's setting is kept in memory (read at most every 30 s, forgotten when an admin changes
 * it here) and the visible models come from the catalog's memory copy.
 */
export class SummariserChoice {
  private setting: { modelId: string | null; readAt: number } | undefined;
  private reading: Promise<string | null> | undefined;

  constructor(private readonly dependencies: SummariserChoiceDependencies) {}

  async resolve(): Promise<Model | null> {
    const [configuredModelId, visible] = await Promise.all([this.configuredModelId(), this.dependencies.catalog.listVisibleModels()]);
    return chooseSummariserModel(configuredModelId, visible.models);
  }

  /** After PATCH /admin/settings: the next send reads the setting again. */
  forget(): void {
    this.setting = undefined;
    this.reading = undefined;
  }

  private async configuredModelId(): Promise<string | null> {
    const now = this.dependencies.now();
    if (this.setting && now - this.setting.readAt < SETTING_MAX_AGE_MS) return this.setting.modelId;
    this.reading ??= this.dependencies.settings.getTeamSettings().then(
      (settings) => {
        this.setting = { modelId: settings.summariserModelId, readAt: this.dependencies.now() };
        this.reading = undefined;
        return settings.summariserModelId;
      },
      (error: unknown) => {
        this.reading = undefined;
        throw error;
      },
    );
    return this.reading;
  }
}
