/** How an adapter reaches its provider: built from the providers row (key decrypted) and config. */
export interface ProviderConnection {
  /** In the form the SDK expects (see normalise-provider-base-url.ts). */
  baseUrl: string;
  /** Anthropic and Groq only; Ollama has none. */
  apiKey?: string;
  /** Longest wait for the provider's response headers (connect + first byte); the stream itself may run longer. */
  connectTimeoutMs: number;
}
