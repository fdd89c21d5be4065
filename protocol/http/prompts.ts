import { z } from "zod";
import { modelIdSchema } from "./models";

/**
 * System prompts and the team's presets. A conversation's system prompt (`systemPrompt` on the
 * conversation, PATCH /conversations/:id; null: the owner's default), the owner's default
 * (`/me/system-prompt`; null: Juggler's built-in prompt), and presets an admin keeps in Team
 * Settings (name, system prompt, model, temperature, output limit) that start a conversation.
 */
export const SYSTEM_PROMPT_MAX_CHARACTERS = 20_000;
export const PRESET_NAME_MAX_LENGTH = 100;
export const PRESETS_MAX = 100;

export const systemPromptTextSchema = z
  .string()
  .trim()
  .min(1, "A system prompt must not be empty (null goes back to the default)")
  .max(SYSTEM_PROMPT_MAX_CHARACTERS, `A system prompt must be at most ${SYSTEM_PROMPT_MAX_CHARACTERS} characters`);

/** Sampling temperature, in the range every provider here takes (Anthropic's is 0–1). */
export const temperatureSchema = z.number().min(0).max(1);
/** An output limit asked for (capped by the model's own maximum and its window). */
export const maxOutputTokensSchema = z.number().int().min(1).max(1_000_000);

export const defaultSystemPromptResponseSchema = z.object({
  /** The user's own default; null: the built-in one. */
  systemPrompt: z.string().nullable(),
  /** Juggler's built-in system prompt, for showing what "default" means. */
  builtInSystemPrompt: z.string(),
});
export type DefaultSystemPromptResponse = z.infer<typeof defaultSystemPromptResponseSchema>;

export const setDefaultSystemPromptRequestSchema = z.object({ systemPrompt: systemPromptTextSchema.nullable() });
export type SetDefaultSystemPromptRequest = z.infer<typeof setDefaultSystemPromptRequestSchema>;

export const presetSchema = z.object({
  id: z.string(),
  name: z.string(),
  systemPrompt: z.string().nullable(),
  modelId: z.string().nullable(),
  temperature: z.number().nullable(),
  maxOutputTokens: z.number().int().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Preset = z.infer<typeof presetSchema>;

export const presetListResponseSchema = z.object({ presets: z.array(presetSchema) });
export type PresetListResponse = z.infer<typeof presetListResponseSchema>;

export const presetResponseSchema = z.object({ preset: presetSchema });

const presetNameSchema = z.string().trim().min(1, "A preset needs a name").max(PRESET_NAME_MAX_LENGTH);

export const createPresetRequestSchema = z.object({
  name: presetNameSchema,
  systemPrompt: systemPromptTextSchema.nullable().optional(),
  modelId: modelIdSchema.nullable().optional(),
  temperature: temperatureSchema.nullable().optional(),
  maxOutputTokens: maxOutputTokensSchema.nullable().optional(),
});
export type CreatePresetRequest = z.infer<typeof createPresetRequestSchema>;

export const updatePresetRequestSchema = createPresetRequestSchema
  .partial()
  .refine((value) => Object.values(value).some((field) => field !== undefined), { message: "Nothing to change" });
export type UpdatePresetRequest = z.infer<typeof updatePresetRequestSchema>;
