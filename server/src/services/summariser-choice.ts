import type { TeamSettings } from "../../../protocol/http/accounts";
import type { Model, ModelListResponse } from "../../../protocol/http/models";
import { chooseSummariserModel } from "./choose-summariser-model";

export interface SummariserChoiceDependencies {
  /** The team settings, from memory most of the time (see TeamSettingsCache). */
  settings: { get(): Promise<TeamSettings> };
  catalog: { listVisibleModels(): Promise<ModelListResponse> };
}

/**
 * The summariser for the next send, decided before the send's transaction (which must not query):
 * the team's setting comes from the settings cache and the visible models from the catalog's memory
 * copy, so a send normally reads nothing for it.
 */
export class SummariserChoice {
  constructor(private readonly dependencies: SummariserChoiceDependencies) {}

  async resolve(): Promise<Model | null> {
    const [settings, visible] = await Promise.all([this.dependencies.settings.get(), this.dependencies.catalog.listVisibleModels()]);
    return chooseSummariserModel(settings.summariserModelId, visible.models);
  }
}
