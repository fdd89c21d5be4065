import crypto from "node:crypto";
import type { Knex } from "knex";

/**
 * `system_prompts`: every system prompt text once, keyed by the SHA-256 of the text. Rows are never
 * changed or deleted, so a context record's `systemPromptId` always finds the exact text the answer
 * saw. Shared by everyone (the same text is one row); who may use which id is decided by the rows
 * that name it (a conversation, a user's default, a preset).
 */
export class SystemPromptRepository {
  constructor(private readonly database: Knex | Knex.Transaction) {}

  /** Stores the text unless it is there already; answers its id. */
  async store(content: string, tokenEstimate: number, now: number): Promise<string> {
    const id = systemPromptIdOf(content);
    await this.database("system_prompts").insert({ id, content, token_estimate: tokenEstimate, created_at: now }).onConflict("id").ignore();
    return id;
  }

  async findContent(id: string): Promise<string | undefined> {
    const row: { content: string } | undefined = await this.database("system_prompts").where({ id }).first("content");
    return row?.content;
  }

  /** Texts by id, for a page of presets. */
  async findContents(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows: Array<{ id: string; content: string }> = await this.database("system_prompts")
      .whereIn("id", [...new Set(ids)])
      .select("id", "content");
    return new Map(rows.map((row) => [row.id, row.content]));
  }
}

export function systemPromptIdOf(content: string): string {
  return crypto.createHash("sha256").update(content, "utf8").digest("hex");
}
