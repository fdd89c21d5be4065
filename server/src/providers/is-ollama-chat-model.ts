/**
 * What makes an Ollama model a chat model, the one definition that both "Refresh models" and
 * "Test connection" count by (they disagreed: the test counted every installed model, embedding
 * models included). `POST /api/show` lists a model's `capabilities`; one without `completion` (an
 * embedding model) cannot chat. A server too old to report capabilities lists none: its models are
 * taken as chat models, as Ollama itself did then (docs/providers.md#ollama-model-list-and-details).
 */
export function isOllamaChatModel(capabilities: readonly string[] | undefined): boolean {
  return capabilities === undefined || capabilities.includes("completion");
}
