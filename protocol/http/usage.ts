import { z } from "zod";
import { providerKindSchema } from "./providers";

/**
 * Usage from the ledger (docs/gateway.md#usage): every answer of the chat and the gateway, with tokens
 * as the providers reported them and its cost at the price in force when it was written. Costs are
 * integers in micro-dollars (1 USD = 1,000,000). Days, weeks (starting Monday) and months are UTC.
 */

/** How figures may be grouped, besides time. */
export const usageDimensions = ["provider", "model", "client", "user"] as const;
export const usageDimensionSchema = z.enum(usageDimensions);
export type UsageDimension = z.infer<typeof usageDimensionSchema>;

/** Time buckets. `hour` is answered from single answers and covers at most USAGE_HOUR_RANGE_MAX_DAYS. */
export const usageBuckets = ["hour", "day", "week", "month"] as const;
export const usageBucketSchema = z.enum(usageBuckets);
export type UsageBucket = z.infer<typeof usageBucketSchema>;

export const USAGE_RANGE_MAX_DAYS = 400;
export const USAGE_HOUR_RANGE_MAX_DAYS = 2;
/** A query returning more groups than this is refused (narrow the range or group by less). */
export const USAGE_ROWS_MAX = 10_000;
/** The range when none is given: the last 30 days, today included. */
export const USAGE_DEFAULT_RANGE_DAYS = 30;

const isoDateSchema = z.iso.date("must be a date YYYY-MM-DD");

/** `groupBy=day,model` → ["day", "model"]: at most one time bucket, each dimension once. */
const groupBySchema = z
  .string()
  .max(100)
  .transform((value) => (value.trim() === "" ? [] : value.split(",").map((part) => part.trim())))
  .pipe(z.array(z.union([usageBucketSchema, usageDimensionSchema])).max(5))
  .refine((parts) => new Set(parts).size === parts.length, { message: "names a grouping twice" })
  .refine((parts) => parts.filter((part) => (usageBuckets as readonly string[]).includes(part)).length <= 1, {
    message: "may hold one time bucket (hour, day, week or month) at most",
  });

export const usageQuerySchema = z
  .object({
    /** First day, included (UTC). Default: 29 days before `to`. */
    from: isoDateSchema.optional(),
    /** Last day, included (UTC). Default: today. */
    to: isoDateSchema.optional(),
    /** Comma-separated: one of hour, day, week, month, and any of provider, model, client, user. Default: none (one total). */
    groupBy: groupBySchema.optional(),
    /** Admins: one member's figures only. Members may give only their own id. */
    userId: z.string().min(1).max(36).optional(),
  })
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, {
    message: "from must not be after to",
    path: ["from"],
  });
export type UsageQuery = z.infer<typeof usageQuerySchema>;

/**
 * Sums over a set of answers. A figure no answer of the set reported is null (never a made-up 0);
 * `answersWith…` says how many of `answers` reported it, so a partial figure shows as partial.
 */
export const usageFiguresSchema = z.object({
  answers: z.number().int(),
  inputTokens: z.number().int().nullable(),
  answersWithInputTokens: z.number().int(),
  outputTokens: z.number().int().nullable(),
  answersWithOutputTokens: z.number().int(),
  /** Of the input, what the provider read from its prompt cache (Anthropic, Groq where reported). */
  cachedInputTokens: z.number().int().nullable(),
  answersWithCachedInputTokens: z.number().int(),
  /** Micro-dollars. Answers without a price, or without both token counts, have no cost and are not in it. */
  costMicroUsd: z.number().int().nullable(),
  answersWithCost: z.number().int(),
  averageTimeToFirstTokenMs: z.number().nullable(),
  averageDurationMs: z.number().nullable(),
});
export type UsageFigures = z.infer<typeof usageFiguresSchema>;

export const usageClientKindSchema = z.enum(["chat", "gateway"]);

/** One group: the values of what was grouped by, then its figures. */
export const usageRowSchema = usageFiguresSchema.extend({
  /** hour: `2026-11-03T14:00:00.000Z`; day: `2026-11-03`; week: its Monday, `2026-11-02`; month: `2026-11`. */
  period: z.string().optional(),
  provider: providerKindSchema.optional(),
  modelId: z.string().optional(),
  /** chat, or gateway with the name of the key used. */
  clientKind: usageClientKindSchema.optional(),
  clientName: z.string().optional(),
  userId: z.string().optional(),
  /** null when the account no longer exists. */
  userName: z.string().nullable().optional(),
});
export type UsageRow = z.infer<typeof usageRowSchema>;

export const usageResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  bucket: usageBucketSchema.nullable(),
  groupBy: z.array(usageDimensionSchema),
  /** Ordered by period, then the dimensions in the order given. */
  rows: z.array(usageRowSchema),
  totals: usageFiguresSchema,
});
export type UsageResponse = z.infer<typeof usageResponseSchema>;

/** This month's use against the budget (the status bar). */
export const usageSummaryResponseSchema = z.object({
  /** The current UTC month, `2026-11`. */
  month: z.string(),
  periodStart: z.string(),
  /** When monthly limits start again (the next month's first instant, UTC). */
  resetsAt: z.string(),
  used: z.object({
    answers: z.number().int(),
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    /** What the monthly token limit counts: input + output. */
    tokens: z.number().int(),
    costMicroUsd: z.number().int(),
  }),
  limits: z.object({
    monthlyCostMicroUsd: z.number().int().nullable(),
    monthlyTokens: z.number().int().nullable(),
    requestsPerMinute: z.number().int().nullable(),
  }),
});
export type UsageSummaryResponse = z.infer<typeof usageSummaryResponseSchema>;

/** A conversation's answers summed per model, and over all. */
export const conversationUsageResponseSchema = z.object({
  conversationId: z.string(),
  models: z.array(usageFiguresSchema.extend({ provider: providerKindSchema, modelId: z.string() })),
  totals: usageFiguresSchema,
});
export type ConversationUsageResponse = z.infer<typeof conversationUsageResponseSchema>;
