import type { Model } from "../../../protocol/http/models";
import { providerKindSchema, providerLabels } from "../../../protocol/http/providers";
import type { ChatModel } from "../../../protocol/webview/chat-protocol";

/** The webview's view of a model. A model the catalog no longer shows still gets a label from its id. */
export function toChatModel(modelId: string, models: readonly Model[]): ChatModel {
  const model = models.find((candidate) => candidate.id === modelId);
  if (model) return describeModel(model);
  const separator = modelId.indexOf(":");
  const providerKind = providerKindSchema.safeParse(modelId.slice(0, separator));
  return {
    id: modelId,
    label: separator === -1 ? modelId : modelId.slice(separator + 1),
    provider: providerKind.success ? providerLabels[providerKind.data] : "",
    contextWindow: null,
  };
}

/** A model of the catalog as the webview shows it: its display name, as the picker and the status bar do. */
export function describeModel(model: Model): ChatModel {
  return { id: model.id, label: model.displayName, provider: providerLabels[model.provider], contextWindow: model.contextWindow };
}
