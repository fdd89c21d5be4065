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
