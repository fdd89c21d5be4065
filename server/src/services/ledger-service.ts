import crypto from "node:crypto";
import type { ProviderKind } from "../../../protocol/http/providers";
import { UsageRollupRepository, type DailyGroupAddition } from "../storage/usage-rollup-repository";
import { emptySums, UsageLedgerRepository, type LedgerRow } from "../storage/usage-ledger-repository";
import { costOf, type PriceInForce } from "./price-service";
import type { ServiceContext } from "./service-context";
import { dayOf, monthOf, weekOf } from "./usage-calendar";

/** Who asked: the chat, or the gateway through one of the user's keys (its name is the usage's client). */
export type UsageClient = { kind: "chat" } | { kind: "gateway"; apiKeyId: string; apiKeyName: string };

/** One answer's usage as its end knows it. Tokens exactly as the provider reported them: null = not reported. */
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
  /** Known at once: the price is in memory. */
  costMicroUsd: number | null;
  /** Settles when the row is written (it rejects if the write failed). */
  written: Promise<void>;
}

interface PendingAnswer {
  row: LedgerRow;
  tokens: number;
  written: { resolve: () => void; reject: (error: unknown) => void };
}

/** Most answers written in one transaction. */
const MAX_BATCH = 1000;

/**
 * The ledger: every answer of the chat and the gateway, written once at its end. Its cost is computed
 * then, at the price in force, and stored (a later price change rewrites nothing).
 *
 * Answers that end together are written together: each waits for the next turn of the event loop,
 * and all those waiting then go in one transaction — their ledger rows, their days' and weeks'
 * rollups (summed per group first) and, for the chat, the cost on their messages. One answer alone is written at once,
 * as before; under load the transactions get fewer, not slower
 * (docs/decisions/0021-usage-ledger-and-daily-rollups.md).
 */
export class LedgerService {
  private pending: PendingAnswer[] = [];
  private draining: Promise<void> | undefined;
  /** Answers between their end and their write (for flush). */
  private readonly unwritten = new Set<Promise<unknown>>();

  constructor(
    private readonly context: ServiceContext,
    private readonly prices: { priceAt(modelId: string, at: number): Promise<PriceInForce | undefined> },
    private readonly budgets: { noteRecorded(userId: string, finishedAt: number, tokens: number, costMicroUsd: number): void },
  ) {}

  /**
   * Records one answer: resolves with its cost as soon as it is priced and queued, so an answer's end
   * does not wait for the database; `written` settles when the row is in.
   */
  async recordAnswer(usage: AnswerUsage): Promise<RecordedUsage> {
    const pricing = this.price(usage);
    // tracked from the start, so flush() also waits for an answer still being priced
    const written = pricing.then(({ row, tokens }) => this.enqueue(row, tokens));
    this.unwritten.add(written);
    const forget = () => this.unwritten.delete(written);
    written.then(forget, forget);
    const { row } = await pricing;
    return { costMicroUsd: row.cost_micro_usd, written };
  }

  /** Waits until every answer recorded so far is written (before the database closes). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.unwritten]);
  }

  private async price(usage: AnswerUsage): Promise<{ row: LedgerRow; tokens: number }> {
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
    return { row, tokens: (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0) };
  }

  private enqueue(row: LedgerRow, tokens: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ row, tokens, written: { resolve, reject } });
      this.draining ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    // the answers that end in this same turn join the batch
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const inserted = await this.write(batch);
        for (const entry of batch) {
          if (inserted.has(entry.row.id)) {
            this.budgets.noteRecorded(entry.row.user_id, entry.row.finished_at, entry.tokens, entry.row.cost_micro_usd ?? 0);
          }
          entry.written.resolve();
        }
      } catch (error) {
        for (const entry of batch) entry.written.reject(error);
      }
    }
    this.draining = undefined;
  }

  /** One transaction: the rows and their groups' daily and weekly rollups. Returns the ids inserted. */
  private write(batch: readonly PendingAnswer[]): Promise<Set<string>> {
    return this.context.database.transaction(async (transaction) => {
      // an answer is recorded once; a second try (it cannot happen twice today) changes nothing
      const inserted = await new UsageLedgerRepository(transaction).insert(batch.map((entry) => entry.row));
      const rows = batch.map((entry) => entry.row).filter((row) => inserted.has(row.id));
      const groups = groupsOf(rows);
      await new UsageRollupRepository(transaction, "day").add(groups);
      await new UsageRollupRepository(transaction, "week").add(groups);
      // a chat answer's own row already carries its cost: the generation job writes it with the answer
      return inserted;
    });
  }
}

/** Answers summed per rollup group (day × user × client × provider × model). */
function groupsOf(rows: readonly LedgerRow[]): DailyGroupAddition[] {
  const groups = new Map<string, DailyGroupAddition>();
  const reported = (value: number | null) => (value === null ? 0 : 1);
  for (const row of rows) {
    const key = JSON.stringify([row.day, row.user_id, row.client_kind, row.client_name, row.provider, row.model_id]);
    let group = groups.get(key);
    if (group === undefined) {
      group = {
        day: row.day,
        week: weekOf(row.finished_at),
        month: monthOf(row.finished_at),
        user_id: row.user_id,
        client_kind: row.client_kind,
        client_name: row.client_name,
        provider: row.provider,
        model_id: row.model_id,
        ...emptySums(),
      };
      groups.set(key, group);
    }
    group.answers += 1;
    group.input_tokens += row.input_tokens ?? 0;
    group.answers_with_input_tokens += reported(row.input_tokens);
    group.output_tokens += row.output_tokens ?? 0;
    group.answers_with_output_tokens += reported(row.output_tokens);
    group.cached_input_tokens += row.cached_input_tokens ?? 0;
    group.answers_with_cached_input_tokens += reported(row.cached_input_tokens);
    group.cost_micro_usd += row.cost_micro_usd ?? 0;
    group.answers_with_cost += reported(row.cost_micro_usd);
    group.time_to_first_token_ms += row.time_to_first_token_ms ?? 0;
    group.answers_with_time_to_first_token += reported(row.time_to_first_token_ms);
    group.duration_ms += row.duration_ms ?? 0;
    group.answers_with_duration += reported(row.duration_ms);
  }
  return [...groups.values()];
}
