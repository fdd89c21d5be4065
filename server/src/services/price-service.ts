import crypto from "node:crypto";
import type { AdminModelListResponse } from "../../../protocol/http/models";
import type { ModelPrice, Priced, PriceHistoryResponse, SetPriceRequest } from "../../../protocol/http/prices";
import { providerKindSchema, type ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import { PriceRepository, type PriceRow } from "../storage/price-repository";
import { findDefaultPrice, type DefaultPrice } from "./price-defaults";
import type { ServiceContext } from "./service-context";

/** A price as costs are computed: micro-dollars per million tokens (so per token it is micro-micro-dollars). */
export interface PriceInForce {
  inputMicroUsdPerMillion: number;
  outputMicroUsdPerMillion: number;
  cachedInputMicroUsdPerMillion: number;
  source: "admin" | "default";
}

/** Tokens as reported; missing stays missing. */
export interface ReportedTokens {
  inputTokens: number | null;
  outputTokens: number | null;
  /** Part of inputTokens. */
  cachedInputTokens: number | null;
}

/**
 * How long the admin's prices held in memory are trusted. A change through this server is seen at
 * once; this bounds how long another server on the same database prices with what it read before.
 */
const PRICES_MAX_AGE_MS = 60_000;
/** An admin's price may start this much in the past (a request's own clock, a little behind). */
const PAST_TOLERANCE_MS = 60_000;
const MICRO = 1_000_000;

/**
 * The cost of an answer in micro-dollars, or null when it cannot be known: no price, or input or
 * output not reported (a count the provider did not give is not taken as 0). Cached input is priced
 * as such; the rest of the input at the input price. Rounded once, on the whole answer.
 */
export function costOf(price: PriceInForce | undefined, tokens: ReportedTokens): number | null {
  if (price === undefined || tokens.inputTokens === null || tokens.outputTokens === null) return null;
  const cached = Math.min(Math.max(tokens.cachedInputTokens ?? 0, 0), tokens.inputTokens);
  const total =
    (tokens.inputTokens - cached) * price.inputMicroUsdPerMillion +
    cached * price.cachedInputMicroUsdPerMillion +
    tokens.outputTokens * price.outputMicroUsdPerMillion;
  return Math.round(total / MICRO);
}

/**
 * Prices per model: an admin's (rows effective from a time, never changed afterwards) over Juggler's
 * defaults for well-known models. The admin rows are few and held in memory, so pricing an answer
 * costs no query. The price of a moment is the latest admin row that had begun then, else the default.
 */
export class PriceService {
  private readonly prices: PriceRepository;
  private rowsByModel: Map<string, PriceRow[]> | undefined;
  private loadedAt = 0;
  /** Bumped by every change, so a read that started before it is not kept. */
  private generation = 0;
  private loading: Promise<Map<string, PriceRow[]>> | undefined;
  private readonly defaultsByModel = new Map<string, DefaultPrice | undefined>();

  constructor(
    private readonly context: ServiceContext,
    private readonly catalog: { listAllModels(): Promise<AdminModelListResponse> },
  ) {
    this.prices = new PriceRepository(context.database);
  }

  /** The price of `modelId` (`provider:name`) at `at` (epoch ms), or undefined when none is known. */
  async priceAt(modelId: string, at: number): Promise<PriceInForce | undefined> {
    const rows = (await this.loadRows()).get(modelId) ?? [];
    const admin = latestBegun(rows, at);
    if (admin !== undefined) {
      return {
        inputMicroUsdPerMillion: admin.input_micro_usd_per_million,
        outputMicroUsdPerMillion: admin.output_micro_usd_per_million,
        cachedInputMicroUsdPerMillion: admin.cached_input_micro_usd_per_million ?? admin.input_micro_usd_per_million,
        source: "admin",
      };
    }
    const fallback = this.defaultOf(modelId);
    return fallback === undefined
      ? undefined
      : {
          inputMicroUsdPerMillion: toMicro(fallback.inputUsdPerMillionTokens),
          outputMicroUsdPerMillion: toMicro(fallback.outputUsdPerMillionTokens),
          cachedInputMicroUsdPerMillion: toMicro(fallback.cachedInputUsdPerMillionTokens),
          source: "default",
        };
  }

  /** Every model of the catalog with its price now and the admin's prices still to begin. */
  async listPrices(): Promise<ModelPrice[]> {
    const { models } = await this.catalog.listAllModels();
    const rowsByModel = await this.loadRows();
    const now = this.context.now();
    return models.map((model) => this.toModelPrice(model, rowsByModel.get(model.id) ?? [], now));
  }

  /** A new price for a model, from now or a later time; answers already recorded keep their cost. */
  async setPrice(adminId: string, request: SetPriceRequest): Promise<ModelPrice> {
    const { models } = await this.catalog.listAllModels();
    const model = models.find((candidate) => candidate.id === request.modelId);
    if (model === undefined) throw new AppError(404, "not_found", `No model "${request.modelId}" in the catalog`);
    const now = this.context.now();
    const effectiveFrom = request.effectiveFrom === undefined ? now : Date.parse(request.effectiveFrom);
    if (effectiveFrom < now - PAST_TOLERANCE_MS) {
      throw new AppError(400, "validation_failed", "effectiveFrom: a price cannot start in the past (recorded costs are never rewritten)");
    }
    await this.prices.insert({
      id: crypto.randomUUID(),
      model_id: model.id,
      input_micro_usd_per_million: toMicro(request.inputUsdPerMillionTokens),
      output_micro_usd_per_million: toMicro(request.outputUsdPerMillionTokens),
      cached_input_micro_usd_per_million:
        request.cachedInputUsdPerMillionTokens === undefined ? null : toMicro(request.cachedInputUsdPerMillionTokens),
      effective_from: Math.max(effectiveFrom, now),
      created_by: adminId,
      created_at: now,
    });
    this.forget();
    this.context.logger.info("price set", {
      modelId: model.id,
      adminId,
      effectiveFrom: new Date(Math.max(effectiveFrom, now)).toISOString(),
    });
    return this.toModelPrice(model, (await this.loadRows()).get(model.id) ?? [], this.context.now());
  }

  async history(modelId: string): Promise<PriceHistoryResponse> {
    const fallback = this.defaultOf(modelId);
    const rows = (await this.loadRows()).get(modelId) ?? [];
    return {
      modelId,
      entries: [...(fallback === undefined ? [] : [defaultPriced(fallback)]), ...rows.map(adminPriced)],
    };
  }

  private toModelPrice(model: { id: string; provider: ProviderKind; displayName: string }, rows: PriceRow[], now: number): ModelPrice {
    const admin = latestBegun(rows, now);
    const fallback = this.defaultOf(model.id);
    return {
      modelId: model.id,
      provider: model.provider,
      displayName: model.displayName,
      current: admin !== undefined ? adminPriced(admin) : fallback !== undefined ? defaultPriced(fallback) : null,
      scheduled: rows.filter((row) => row.effective_from > now).map(adminPriced),
    };
  }

  private defaultOf(modelId: string): DefaultPrice | undefined {
    if (this.defaultsByModel.has(modelId)) return this.defaultsByModel.get(modelId);
    const separator = modelId.indexOf(":");
    const provider = providerKindSchema.safeParse(modelId.slice(0, separator));
    const found = separator === -1 || !provider.success ? undefined : findDefaultPrice(provider.data, modelId.slice(separator + 1));
    if (this.defaultsByModel.size > 10_000) this.defaultsByModel.clear();
    this.defaultsByModel.set(modelId, found);
    return found;
  }

  private loadRows(): Promise<Map<string, PriceRow[]>> {
    if (this.rowsByModel && performance.now() - this.loadedAt < PRICES_MAX_AGE_MS) return Promise.resolve(this.rowsByModel);
    if (this.loading) return this.loading;
    const generation = this.generation;
    const loading = this.prices.listAll().then((rows) => {
      const byModel = new Map<string, PriceRow[]>();
      for (const row of rows) byModel.set(row.model_id, [...(byModel.get(row.model_id) ?? []), row]);
      // a read that a change overtook is used once, not kept
      if (generation === this.generation) {
        this.rowsByModel = byModel;
        this.loadedAt = performance.now();
      }
      return byModel;
    });
    this.loading = loading;
    const settle = () => {
      if (this.loading === loading) this.loading = undefined;
    };
    loading.then(settle, settle);
    return loading;
  }

  private forget(): void {
    this.generation += 1;
    this.rowsByModel = undefined;
    this.loading = undefined;
  }
}

/** Rows are ordered by effective time (then creation): the last begun one rules; of two at one time, the later set. */
function latestBegun(rows: readonly PriceRow[], at: number): PriceRow | undefined {
  let found: PriceRow | undefined;
  for (const row of rows) if (row.effective_from <= at) found = row;
  return found;
}

function toMicro(usd: number): number {
  return Math.round(usd * MICRO);
}

const fromMicro = (micro: number) => micro / MICRO;

function adminPriced(row: PriceRow): Priced {
  return {
    inputUsdPerMillionTokens: fromMicro(row.input_micro_usd_per_million),
    outputUsdPerMillionTokens: fromMicro(row.output_micro_usd_per_million),
    cachedInputUsdPerMillionTokens: fromMicro(row.cached_input_micro_usd_per_million ?? row.input_micro_usd_per_million),
    source: "admin",
    effectiveFrom: new Date(row.effective_from).toISOString(),
    takenOn: null,
    sourceUrl: null,
  };
}

function defaultPriced(price: DefaultPrice): Priced {
  return {
    inputUsdPerMillionTokens: price.inputUsdPerMillionTokens,
    outputUsdPerMillionTokens: price.outputUsdPerMillionTokens,
    cachedInputUsdPerMillionTokens: price.cachedInputUsdPerMillionTokens,
    source: "default",
    effectiveFrom: null,
    takenOn: price.takenOn,
    sourceUrl: price.sourceUrl,
  };
}
