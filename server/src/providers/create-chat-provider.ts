import type { ProviderKind } from "../../../protocol/http/providers";
import { AnthropicProvider } from "./anthropic-provider";
import type { ChatProvider } from "./chat-provider";
import { GroqProvider } from "./groq-provider";
import { OllamaProvider } from "./ollama-provider";
import type { ProviderConnection } from "./provider-connection";

/** The adapter for one provider kind. Anthropic and Groq need a key; the caller checked it is there. */
export function createChatProvider(kind: ProviderKind, connection: ProviderConnection): ChatProvider {
  switch (kind) {
    case "anthropic":
      return new AnthropicProvider({ ...connection, apiKey: requireKey(kind, connection.apiKey) });
    case "groq":
      return new GroqProvider({ ...connection, apiKey: requireKey(kind, connection.apiKey) });
    case "ollama":
      return new OllamaProvider(connection);
  }
}

function requireKey(kind: ProviderKind, apiKey: string | undefined): string {
  if (apiKey === undefined || apiKey === "") throw new Error(`The ${kind} adapter needs an API key`);
  return apiKey;
}
