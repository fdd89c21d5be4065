import crypto from "node:crypto";
import type { CreatePresetRequest, DefaultSystemPromptResponse, Preset, UpdatePresetRequest } from "../../../protocol/http/prompts";
import { PRESETS_MAX } from "../../../protocol/http/prompts";
import { AppError } from "../domain/app-error";
import { PresetRepository, type PresetChanges, type PresetRow } from "../storage/preset-repository";
import { SystemPromptRepository } from "../storage/system-prompt-repository";
import { UserRepository } from "../storage/user-repository";
import { SYSTEM_PROMPT } from "./context-builder";
import type { ServiceContext } from "./service-context";
import { estimateMessageTokens } from "./token-estimate";

/** What a new conversation takes from a preset. */
export interface PresetSettings {
  systemPromptId: string | null;
  modelId: string | null;
  temperature: number | null;
  maxOutputTokens: number | null;
}

/**
 * System prompts and presets: the user's default prompt, the team's presets (admins write them,
 * members read them and start conversations from them), and storing a prompt text once by its hash.
 */
export class PromptService {
  constructor(
    private readonly context: ServiceContext,
    private readonly catalog: { getVisibleModel(modelId: string): Promise<unknown> },
  ) {}

  /** Stores a system prompt text (once) and answers the id a conversation, a user or a preset names it by. */
  storePrompt(content: string): Promise<string> {
    return new SystemPromptRepository(this.context.database).store(content, estimateMessageTokens(content), this.context.now());
  }

  async promptText(id: string | null | undefined): Promise<string | null> {
    if (id === null || id === undefined) return null;
    return (await new SystemPromptRepository(this.context.database).findContent(id)) ?? null;
  }

  async getDefault(userId: string): Promise<DefaultSystemPromptResponse> {
    const id = await new UserRepository(this.context.database).findDefaultSystemPromptId(userId);
    return { systemPrompt: await this.promptText(id), builtInSystemPrompt: SYSTEM_PROMPT };
  }

  /** null: back to the built-in prompt. Conversations without their own prompt use it from their next answer. */
  async setDefault(userId: string, systemPrompt: string | null): Promise<DefaultSystemPromptResponse> {
    const id = systemPrompt === null ? null : await this.storePrompt(systemPrompt);
    await new UserRepository(this.context.database).setDefaultSystemPromptId(userId, id, this.context.now());
    return { systemPrompt, builtInSystemPrompt: SYSTEM_PROMPT };
  }

  async listPresets(): Promise<Preset[]> {
    const rows = await new PresetRepository(this.context.database).list(PRESETS_MAX);
    return this.toPresets(rows);
  }

  /** The settings a conversation starts with; 404 for a preset that does not exist (any more). */
  async presetSettings(presetId: string): Promise<PresetSettings> {
    const row = await new PresetRepository(this.context.database).findById(presetId);
    if (!row) throw new AppError(404, "not_found", "Preset not found");
    return {
      systemPromptId: row.system_prompt_id,
      modelId: row.model_id,
      temperature: row.temperature,
      maxOutputTokens: row.max_output_tokens,
    };
  }

  async createPreset(request: CreatePresetRequest): Promise<Preset> {
    if (request.modelId) await this.catalog.getVisibleModel(request.modelId);
    const systemPromptId = request.systemPrompt ? await this.storePrompt(request.systemPrompt) : null;
    const now = this.context.now();
    const row: PresetRow = {
      id: crypto.randomUUID(),
      name: request.name,
      name_lower: request.name.toLowerCase(),
      system_prompt_id: systemPromptId,
      model_id: request.modelId ?? null,
      temperature: request.temperature ?? null,
      max_output_tokens: request.maxOutputTokens ?? null,
      created_at: now,
      updated_at: now,
    };
    await this.context.database.transaction(async (transaction) => {
      const presets = new PresetRepository(transaction);
      if ((await presets.count()) >= PRESETS_MAX) {
        throw new AppError(409, "conflict", `A team has at most ${PRESETS_MAX} presets; delete one first`);
      }
      if (await presets.findByNameLower(row.name_lower))
        throw new AppError(409, "conflict", `A preset named "${request.name}" exists already`);
      await presets.insert(row);
    });
    return (await this.toPresets([row]))[0]!;
  }

  async updatePreset(presetId: string, request: UpdatePresetRequest): Promise<Preset> {
    if (request.modelId) await this.catalog.getVisibleModel(request.modelId);
    const systemPromptId =
      request.systemPrompt === undefined ? undefined : request.systemPrompt === null ? null : await this.storePrompt(request.systemPrompt);
    const changes: PresetChanges = {
      ...(request.name === undefined ? {} : { name: request.name, name_lower: request.name.toLowerCase() }),
      ...(systemPromptId === undefined ? {} : { system_prompt_id: systemPromptId }),
      ...(request.modelId === undefined ? {} : { model_id: request.modelId }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.maxOutputTokens === undefined ? {} : { max_output_tokens: request.maxOutputTokens }),
      updated_at: this.context.now(),
    };
    const updated = await this.context.database.transaction(async (transaction) => {
      const presets = new PresetRepository(transaction);
      const existing = await presets.findById(presetId);
      if (!existing) throw new AppError(404, "not_found", "Preset not found");
      if (
        changes.name_lower !== undefined &&
        changes.name_lower !== existing.name_lower &&
        (await presets.findByNameLower(changes.name_lower))
      ) {
        throw new AppError(409, "conflict", `A preset named "${request.name}" exists already`);
      }
      await presets.update(presetId, changes);
      return { ...existing, ...changes };
    });
    return (await this.toPresets([updated]))[0]!;
  }

  async deletePreset(presetId: string): Promise<void> {
    if (!(await new PresetRepository(this.context.database).delete(presetId))) throw new AppError(404, "not_found", "Preset not found");
  }

  private async toPresets(rows: PresetRow[]): Promise<Preset[]> {
    const texts = await new SystemPromptRepository(this.context.database).findContents(
      rows.flatMap((row) => (row.system_prompt_id === null ? [] : [row.system_prompt_id])),
    );
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      systemPrompt: row.system_prompt_id === null ? null : (texts.get(row.system_prompt_id) ?? null),
      modelId: row.model_id,
      temperature: row.temperature,
      maxOutputTokens: row.max_output_tokens,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
    }));
  }
}
