import { z } from "zod";
import { modelIdSchema } from "./models";
import { providerKindSchema } from "./providers";

/**
 * Prices per model (docs/gateway.md#prices), in US dollars per million tokens as providers publish
 * them. Costs are computed when an answer is recorded, at the price then in force, and never again.
 */
export const priceSchema = z.object({
  inputUsdPerMillionTokens: z.number(),
  outputUsdPerMillionTokens: z.number(),
  /** Input read from the provider's prompt cache. */
  cachedInputUsdPerMillionTokens: z.number(),
});
export type Price = z.infer<typeof priceSchema>;

/** admin: set by an admin; default: Juggler's table of well-known models, as published on `takenOn`. */
export const priceSourceSchema = z.enum(["admin", "default"]);

export const pricedSchema = priceSchema.extend({
  source: priceSourceSchema,
  /** From when an admin's price applies; null for a default. */
  effectiveFrom: z.string().nullable(),
  /** The day a default was taken from the provider's price list; null for an admin's price. */
  takenOn: z.string().nullable(),
  /** Where a default was taken from. */
  sourceUrl: z.string().nullable(),
});
export type Priced = z.infer<typeof pricedSchema>;

export const modelPriceSchema = z.object({
  modelId: z.string(),
  provider: providerKindSchema,
  displayName: z.string(),
  /** The price in force now; null: none known (answers get no cost until an admin sets one). */
  current: pricedSchema.nullable(),
  /** An admin's prices that begin later. */
  scheduled: z.array(pricedSchema),
});
export type ModelPrice = z.infer<typeof modelPriceSchema>;

export const priceListResponseSchema = z.object({ prices: z.array(modelPriceSchema) });
export type PriceListResponse = z.infer<typeof priceListResponseSchema>;

const usdPerMillionSchema = z.number().min(0).max(100_000);

export const setPriceRequestSchema = z.object({
  modelId: modelIdSchema,
  inputUsdPerMillionTokens: usdPerMillionSchema,
  outputUsdPerMillionTokens: usdPerMillionSchema,
  /** Default: the input price. */
  cachedInputUsdPerMillionTokens: usdPerMillionSchema.optional(),
  /** An ISO time from which it applies, now or later; default now. Answers already recorded keep their cost. */
  effectiveFrom: z.iso.datetime({ offset: true }).optional(),
});
export type SetPriceRequest = z.infer<typeof setPriceRequestSchema>;

export const priceHistoryQuerySchema = z.object({ modelId: modelIdSchema });

export const priceHistoryResponseSchema = z.object({
  modelId: z.string(),
  /** The default (if the model has one), then every admin price, in the order they take effect. */
  entries: z.array(pricedSchema),
});
export type PriceHistoryResponse = z.infer<typeof priceHistoryResponseSchema>;
