import { z } from "zod";
import { providerKindSchema } from "./providers";

/** Model ids are `<provider>:<provider's model name>`, e.g. `anthropic:claude-sonnet-4-5`. */
export const modelIdSchema = z
  .string()
  .min(3)
  .max(300)
  .regex(/^(anthropic|groq|ollama):.+$/, "Unknown model id");

export const modelSchema = z.object({
  id: z.string(),
  provider: providerKindSchema,
  name: z.string(),
  displayName: z.string(),
  /** Context window in tokens, when the provider tells it. */
  contextWindow: z.number().int().nullable(),
  maxOutputTokens: z.number().int().nullable(),
  /** null when the provider does not say. */
  supportsVision: z.boolean().nullable(),
});
export type Model = z.infer<typeof modelSchema>;

export const modelListResponseSchema = z.object({
  models: z.array(modelSchema),
  /** When the catalog was last refreshed from the providers (null: never). */
  refreshedAt: z.string().nullable(),
});
export type ModelListResponse = z.infer<typeof modelListResponseSchema>;

/** The admin's view: every model any provider offered, visible or not. */
export const adminModelSchema = modelSchema.extend({
  isVisible: z.boolean(),
  /** false when the provider no longer lists it. */
  isAvailable: z.boolean(),
});
export type AdminModel = z.infer<typeof adminModelSchema>;

export const adminModelListResponseSchema = z.object({ models: z.array(adminModelSchema) });
export type AdminModelListResponse = z.infer<typeof adminModelListResponseSchema>;

export const updateModelVisibilityRequestSchema = z.object({
  /** Model ids to show or hide. */
  changes: z
    .array(z.object({ id: modelIdSchema, isVisible: z.boolean() }))
    .min(1)
    .max(1000),
});
export type UpdateModelVisibilityRequest = z.infer<typeof updateModelVisibilityRequestSchema>;

// ---- fallbacks (admin) ----

/** Most fallbacks one model may have. */
export const MODEL_FALLBACKS_MAX = 5;

/**
 * The models that answer in a model's place, tried in order, when it cannot before its first token:
 * rate limited, overloaded, failing or unreachable after its retries, or (then only a fallback with a
 * larger window) when the conversation is too long for it.
 */
export const modelFallbacksSchema = z.object({
  modelId: z.string(),
  fallbackModelIds: z.array(z.string()),
});
export type ModelFallbacks = z.infer<typeof modelFallbacksSchema>;

/** Every model that has fallbacks. */
export const modelFallbackListResponseSchema = z.object({ fallbacks: z.array(modelFallbacksSchema) });
export type ModelFallbackListResponse = z.infer<typeof modelFallbackListResponseSchema>;

export const updateModelFallbacksRequestSchema = z
  .object({
    modelId: modelIdSchema,
    /** In the order they are tried; empty: no fallback. */
    fallbackModelIds: z.array(modelIdSchema).max(MODEL_FALLBACKS_MAX),
  })
  .refine((value) => new Set(value.fallbackModelIds).size === value.fallbackModelIds.length, {
    message: "fallbackModelIds: a model may be listed once",
    path: ["fallbackModelIds"],
  })
  .refine((value) => !value.fallbackModelIds.includes(value.modelId), {
    message: "fallbackModelIds: a model cannot fall back to itself",
    path: ["fallbackModelIds"],
  });
export type UpdateModelFallbacksRequest = z.infer<typeof updateModelFallbacksRequestSchema>;
