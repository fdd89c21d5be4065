import crypto from "node:crypto";
import type { ProviderKind } from "../../../protocol/http/providers";
import { ConversationRepository } from "../storage/conversation-repository";
import { UsageDailyRepository } from "../storage/usage-daily-repository";
import { UsageLedgerRepository, type LedgerRow } from "../storage/usage-ledger-repository";
import { costOf, type PriceInForce } from "./price-service";
import type { ServiceContext } from "./service-context";
import { dayOf, monthOf, weekOf } from "./usage-calendar";

/** Who asked: the chat, or the gateway through one of the user's keys (its name is the usage's client). */
export type UsageClient = { kind: "chat" } | { kind: "gateway"; apiKeyId: string; apiKeyName: string };

/** One answer's usage as its end knows it. Tokens exactly as the provider reported them: undefined/null = not reported. */
export interface AnswerUsage {
  userId: string;
  client: UsageClient;
  provider: ProviderKind;
  modelId: string;
  /** The chat's conversation and answer message; absent for the gateway. */
  conversationId?: string;
  messageId?: string;
  status: "complete" | "stopped" | "error" | "interrupted";
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  timeToFirstTokenMs: number | null;
  durationMs: number | null;
  finishedAt: number;
}

export interface RecordedUsage {
  costMicroUsd: number | null;
}

/**
 * The ledger: every answer of the chat and the gateway, written once at its end. Its cost is computed
 * then, at the price in force, and stored (a later price change rewrites nothing). The answer's row,
 * its day's rollup and (for the chat) the cost on its message are one transaction
 * (docs/decisions/XXXX-usage-ledger-and-daily-rollups.md).
 */
export class LedgerService {
  constructor(
    private readonly context: ServiceContext,
    private readonly prices: { priceAt(modelId: string, at: number): Promise<PriceInForce | undefined> },
    private readonly budgets: { noteRecorded(userId: string, finishedAt: number, tokens: number, costMicroUsd: number): void },
  ) {}

  async recordAnswer(usage: AnswerUsage): Promise<RecordedUsage> {
    const price = await this.prices.priceAt(usage.modelId, usage.finishedAt);
    const costMicroUsd = costOf(price, usage);
    const row: LedgerRow = {
      id: crypto.randomUUID(),
      user_id: usage.userId,
      client_kind: usage.client.kind,
      client_name: usage.client.kind === "chat" ? "chat" : usage.client.apiKeyName,
      api_key_id: usage.client.kind === "chat" ? null : usage.client.apiKeyId,
      provider: usage.provider,
      model_id: usage.modelId,
      conversation_id: usage.conversationId ?? null,
      message_id: usage.messageId ?? null,
      status: usage.status,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      cached_input_tokens: usage.cachedInputTokens,
      cost_micro_usd: costMicroUsd,
      time_to_first_token_ms: usage.timeToFirstTokenMs,
      duration_ms: usage.durationMs,
      finished_at: usage.finishedAt,
      day: dayOf(usage.finishedAt),
    };
    const isRecorded = await this.context.database.transaction(async (transaction) => {
      // an answer is recorded once; a second try (it cannot happen twice today) changes nothing
      if (!(await new UsageLedgerRepository(transaction).insert(row))) return false;
      await new UsageDailyRepository(transaction).add(row, weekOf(usage.finishedAt), monthOf(usage.finishedAt));
      if (usage.messageId !== undefined) {
        await new ConversationRepository(transaction, usage.userId).updateMessage(usage.messageId, { cost_micro_usd: costMicroUsd });
      }
      return true;
    });
    if (isRecorded) {
      this.budgets.noteRecorded(usage.userId, usage.finishedAt, (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0), costMicroUsd ?? 0);
    }
    return { costMicroUsd };
  }
}
