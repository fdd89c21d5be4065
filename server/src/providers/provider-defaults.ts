import type { ProviderKind } from "../../../protocol/http/providers";

/** Where each provider lives before an admin says otherwise, in the form its SDK expects (docs/providers.md#base-urls-and-endpoints). */
export const defaultProviderBaseUrls: Record<ProviderKind, string> = {
  anthropic: "https://api.anthropic.com",
  groq: "https://api.groq.com",
  ollama: "http://localhost:11434",
};

/** Ollama needs no key locally; the hosted APIs cannot answer without one. */
export const providerNeedsKey: Record<ProviderKind, boolean> = {
  anthropic: true,
  groq: true,
  ollama: false,
};
