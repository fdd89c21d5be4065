import { z } from "zod";

export const API_KEY_NAME_MAX_LENGTH = 64;

/**
 * A personal API key for the gateway (docs/gateway.md). The key itself is shown once, in the answer
 * that creates it; afterwards only its first characters (`prefix`) identify it.
 */
export const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The key's first characters, e.g. `jgl_3fQz`, to tell keys apart in a list. */
  prefix: z.string(),
  createdAt: z.string(),
  /** Last request made with it (recorded at most once a minute); null: never used. */
  lastUsedAt: z.string().nullable(),
  /** Revoked keys stay listed with the time; they are refused from that moment. */
  revokedAt: z.string().nullable(),
});
export type ApiKey = z.infer<typeof apiKeySchema>;

export const createApiKeyRequestSchema = z.object({
  /** What the key is for ("laptop", "Continue", "CI"); usage is grouped by it. */
  name: z
    .string()
    .trim()
    .min(1, "Name is required")
    .max(API_KEY_NAME_MAX_LENGTH, `Name must be at most ${API_KEY_NAME_MAX_LENGTH} characters`),
});
export type CreateApiKeyRequest = z.infer<typeof createApiKeyRequestSchema>;

export const createApiKeyResponseSchema = z.object({
  apiKey: apiKeySchema,
  /** The secret, `jgl_…`: shown only here, never again. Send it as `Authorization: Bearer` or `x-api-key`. */
  key: z.string(),
});
export type CreateApiKeyResponse = z.infer<typeof createApiKeyResponseSchema>;

export const apiKeyListResponseSchema = z.object({ apiKeys: z.array(apiKeySchema) });
export type ApiKeyListResponse = z.infer<typeof apiKeyListResponseSchema>;

/** The admin's view: every member's keys, with their owners. */
export const adminApiKeySchema = apiKeySchema.extend({ userId: z.string(), userName: z.string() });
export type AdminApiKey = z.infer<typeof adminApiKeySchema>;

export const adminApiKeyListResponseSchema = z.object({ apiKeys: z.array(adminApiKeySchema) });
export type AdminApiKeyListResponse = z.infer<typeof adminApiKeyListResponseSchema>;
