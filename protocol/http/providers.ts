import { z } from "zod";
import { isHttpUrl } from "../parse-http-url";
import { errorDetailSchema } from "./error-codes";

export const providerKinds = ["anthropic", "groq", "ollama"] as const;
export const providerKindSchema = z.enum(providerKinds);
export type ProviderKind = z.infer<typeof providerKindSchema>;

export const providerLabels: Record<ProviderKind, string> = {
  anthropic: "Anthropic",
  groq: "Groq",
  ollama: "Ollama",
};

/** What an admin sees of a provider. The key itself never leaves the server: only its last 4 characters. */
export const providerSchema = z.object({
  kind: providerKindSchema,
  label: z.string(),
  isActive: z.boolean(),
  baseUrl: z.string(),
  needsKey: z.boolean(),
  hasKey: z.boolean(),
  keyMasked: z.string().nullable(),
  modelCount: z.number().int(),
  visibleModelCount: z.number().int(),
  lastRefreshedAt: z.string().nullable(),
  lastError: errorDetailSchema.nullable(),
});
export type Provider = z.infer<typeof providerSchema>;

export const providerListResponseSchema = z.object({ providers: z.array(providerSchema) });
export type ProviderListResponse = z.infer<typeof providerListResponseSchema>;

const httpUrlSchema = z.string().trim().max(2048).refine(isHttpUrl, "Base URL must be an http or https URL");

export const updateProviderRequestSchema = z
  .object({
    isActive: z.boolean().optional(),
    baseUrl: httpUrlSchema.optional(),
    /** A new key; null removes the stored key. */
    apiKey: z.string().trim().min(1).max(512).nullable().optional(),
  })
  .refine((value) => Object.keys(value).length > 0, { message: "Nothing to change" });
export type UpdateProviderRequest = z.infer<typeof updateProviderRequestSchema>;

export const providerResponseSchema = z.object({ provider: providerSchema });

export const testConnectionResponseSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), modelCount: z.number().int(), latencyMs: z.number() }),
  z.object({ ok: z.literal(false), error: errorDetailSchema }),
]);
export type TestConnectionResponse = z.infer<typeof testConnectionResponseSchema>;
