import type { ProviderKind } from "../../../protocol/http/providers";

/**
 * The SDKs append their own API paths (`/v1/messages`, `/openai/v1/chat/completions`, `/api/chat`),
 * so a base URL pasted with that prefix (as many docs show it) would double it. Stored base URLs
 * are the bare origin-and-path form each SDK expects: https://api.anthropic.com,
 * https://api.groq.com, http://localhost:11434.
 */
const apiPathSuffixes: Record<ProviderKind, RegExp> = {
  anthropic: /\/v1$/,
  groq: /\/openai(\/v1)?$/,
  ollama: /\/(api|v1)$/,
};

export function normaliseProviderBaseUrl(kind: ProviderKind, baseUrl: string): string {
  let result = baseUrl.trim().replace(/\/+$/, "");
  result = result.replace(apiPathSuffixes[kind], "");
  return result.replace(/\/+$/, "");
}
