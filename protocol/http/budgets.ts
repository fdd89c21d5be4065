import { z } from "zod";

/**
 * Per-user budgets (docs/gateway.md#budgets): the team's defaults and each user's overrides. A request
 * that would go over a limit is refused before any provider is called (`budget_exceeded`, 429).
 * Monthly limits count the current UTC month; tokens are input + output as reported.
 */
export const budgetLimitsSchema = z.object({
  /** null: no limit. */
  monthlyCostMicroUsd: z.number().int().nullable(),
  monthlyTokens: z.number().int().nullable(),
  requestsPerMinute: z.number().int().nullable(),
});
export type BudgetLimits = z.infer<typeof budgetLimitsSchema>;

export const budgetLimitNames = ["monthlyCostMicroUsd", "monthlyTokens", "requestsPerMinute"] as const;
export type BudgetLimitName = (typeof budgetLimitNames)[number];

export const userBudgetSchema = z.object({
  userId: z.string(),
  userName: z.string(),
  /** The limits this user has of their own (absent: the team's applies; null: none for them). */
  overrides: budgetLimitsSchema.partial(),
  /** What applies to them. */
  effective: budgetLimitsSchema,
});
export type UserBudget = z.infer<typeof userBudgetSchema>;

export const budgetsResponseSchema = z.object({
  team: budgetLimitsSchema,
  /** Every account, with its overrides and what applies. */
  users: z.array(userBudgetSchema),
});
export type BudgetsResponse = z.infer<typeof budgetsResponseSchema>;

const limitValues = {
  monthlyCostMicroUsd: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  monthlyTokens: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  requestsPerMinute: z.number().int().min(1).max(1_000_000),
};

/** Each limit given changes (null removes it); absent ones stay. */
export const updateTeamBudgetRequestSchema = z
  .object({
    monthlyCostMicroUsd: limitValues.monthlyCostMicroUsd.nullable().optional(),
    monthlyTokens: limitValues.monthlyTokens.nullable().optional(),
    requestsPerMinute: limitValues.requestsPerMinute.nullable().optional(),
  })
  .strict()
  .refine((value) => Object.values(value).some((limit) => limit !== undefined), { message: "Nothing to change" });
export type UpdateTeamBudgetRequest = z.infer<typeof updateTeamBudgetRequestSchema>;

/** Each limit given: a value, null (no limit for this user), or "inherit" (the team's again). */
export const updateUserBudgetRequestSchema = z
  .object({
    monthlyCostMicroUsd: z.union([limitValues.monthlyCostMicroUsd, z.null(), z.literal("inherit")]).optional(),
    monthlyTokens: z.union([limitValues.monthlyTokens, z.null(), z.literal("inherit")]).optional(),
    requestsPerMinute: z.union([limitValues.requestsPerMinute, z.null(), z.literal("inherit")]).optional(),
  })
  .strict()
  .refine((value) => Object.values(value).some((limit) => limit !== undefined), { message: "Nothing to change" });
export type UpdateUserBudgetRequest = z.infer<typeof updateUserBudgetRequestSchema>;
