import type { User } from "../../../protocol/http/accounts";
import type {
  BudgetLimitName,
  BudgetLimits,
  BudgetsResponse,
  UpdateTeamBudgetRequest,
  UpdateUserBudgetRequest,
} from "../../../protocol/http/budgets";
import type { UsageSummaryResponse } from "../../../protocol/http/usage";
import { AppError } from "../domain/app-error";
import { BudgetLimitRepository, TEAM_BUDGET_SUBJECT, type BudgetLimitKind } from "../storage/budget-limit-repository";
import { createRequestCounter, type RequestCounter } from "../storage/budget-request-count-repository";
import { UsageRollupRepository } from "../storage/usage-rollup-repository";
import { monthOf, nextMonthStart } from "./usage-calendar";
import type { ServiceContext } from "./service-context";

/** A refusal naming the limit, its value and when it resets; the gateway answers it in its API's shape. */
export class BudgetExceededError extends AppError {
  constructor(
    readonly limit: BudgetLimitName,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    // a monthly limit does not lift by retrying; a per-minute one does
    super(429, "budget_exceeded", message, limit === "requestsPerMinute", { "Retry-After": String(retryAfterSeconds) });
    this.name = "BudgetExceededError";
  }
}

const limitKinds: Record<BudgetLimitName, BudgetLimitKind> = {
  monthlyCostMicroUsd: "monthly_cost_micro_usd",
  monthlyTokens: "monthly_tokens",
  requestsPerMinute: "requests_per_minute",
};
const limitNames = Object.keys(limitKinds) as BudgetLimitName[];
const noLimits: BudgetLimits = { monthlyCostMicroUsd: null, monthlyTokens: null, requestsPerMinute: null };

/** How long limits and a user's month use are reused; a change or an answer through this server is seen at once. */
const LIMITS_MAX_AGE_MS = 10_000;
const MONTH_USE_MAX_AGE_MS = 10_000;
const REQUEST_WINDOW_SECONDS = 60;

interface MonthUse {
  month: string;
  tokens: number;
  costMicroUsd: number;
  readAt: number;
}

/**
 * Per-user budgets: the team's defaults and each user's overrides of monthly cost, monthly tokens and
 * requests per minute. `admit` runs before any provider call, in the chat's send path and at the
 * gateway: a user at or over a monthly limit, or over the per-minute rate, is refused with a message
 * that names the limit, its value and when it resets. Month use comes from the daily rollups,
 * remembered briefly and advanced by every answer this server records; limits are held in memory.
 */
export class BudgetService {
  private readonly limitRows: BudgetLimitRepository;
  private readonly dailyUsage: UsageRollupRepository;
  private limits: { bySubject: Map<string, Partial<BudgetLimits>>; readAt: number } | undefined;
  private limitsLoading: Promise<Map<string, Partial<BudgetLimits>>> | undefined;
  private limitsGeneration = 0;
  private readonly monthUses = new Map<string, MonthUse>();
  /** Bumped per user by every answer recorded, so a month read that an answer overtook is not kept. */
  private readonly useGenerations = new Map<string, number>();
  private readonly requestCounters = new Map<number, RequestCounter>();

  constructor(
    private readonly context: ServiceContext,
    private readonly accounts: { listUsers(): Promise<User[]>; getUser(userId: string): Promise<User> },
  ) {
    this.limitRows = new BudgetLimitRepository(context.database);
    this.dailyUsage = new UsageRollupRepository(context.database, "day");
  }

  /** What applies to `userId`: their overrides over the team's limits. */
  async effectiveLimits(userId: string): Promise<BudgetLimits> {
    const bySubject = await this.loadLimits();
    return { ...noLimits, ...bySubject.get(TEAM_BUDGET_SUBJECT), ...bySubject.get(userId) };
  }

  /**
   * Lets a request through, or refuses it (BudgetExceededError, 429) before any provider is called.
   * A request counts against the per-minute limit only once the monthly limits let it through.
   */
  async admit(userId: string): Promise<void> {
    const limits = await this.effectiveLimits(userId);
    const now = this.context.now();
    if (limits.monthlyCostMicroUsd !== null || limits.monthlyTokens !== null) {
      const use = await this.monthUse(userId, now);
      const resetsAt = nextMonthStart(now);
      const retryAfterSeconds = Math.max(1, Math.ceil((resetsAt - now) / 1000));
      const resets = `it resets on ${new Date(resetsAt).toISOString().slice(0, 16).replace("T", " ")} UTC`;
      if (limits.monthlyCostMicroUsd !== null && use.costMicroUsd >= limits.monthlyCostMicroUsd) {
        throw new BudgetExceededError(
          "monthlyCostMicroUsd",
          `Your monthly cost limit of ${formatUsd(limits.monthlyCostMicroUsd)} is reached (${formatUsd(use.costMicroUsd)} used this month); ${resets}`,
          retryAfterSeconds,
        );
      }
      if (limits.monthlyTokens !== null && use.tokens >= limits.monthlyTokens) {
        throw new BudgetExceededError(
          "monthlyTokens",
          `Your monthly token limit of ${countOf(limits.monthlyTokens, "token")} is reached (${formatCount(use.tokens)} used this month); ${resets}`,
          retryAfterSeconds,
        );
      }
    }
    if (limits.requestsPerMinute !== null) await this.countRequest(userId, limits.requestsPerMinute);
  }

  /** An answer was recorded: its user's month use moves on without a query. */
  noteRecorded(userId: string, finishedAt: number, tokens: number, costMicroUsd: number): void {
    this.useGenerations.set(userId, (this.useGenerations.get(userId) ?? 0) + 1);
    const use = this.monthUses.get(userId);
    if (use !== undefined && use.month === monthOf(finishedAt)) {
      use.tokens += tokens;
      use.costMicroUsd += costMicroUsd;
    }
  }

  /** This month's use against the limits (the status bar), read afresh. */
  async usageSummary(userId: string): Promise<UsageSummaryResponse> {
    const now = this.context.now();
    const month = monthOf(now);
    const [use, limits] = await Promise.all([this.dailyUsage.monthUse(userId, month), this.effectiveLimits(userId)]);
    return {
      month,
      periodStart: `${month}-01T00:00:00.000Z`,
      resetsAt: new Date(nextMonthStart(now)).toISOString(),
      used: {
        answers: use.answers,
        inputTokens: use.input_tokens,
        outputTokens: use.output_tokens,
        tokens: use.input_tokens + use.output_tokens,
        costMicroUsd: use.cost_micro_usd,
      },
      limits,
    };
  }

  async getBudgets(): Promise<BudgetsResponse> {
    const [bySubject, users] = await Promise.all([this.loadLimits(), this.accounts.listUsers()]);
    const team = { ...noLimits, ...bySubject.get(TEAM_BUDGET_SUBJECT) };
    return {
      team,
      users: users.map((user) => {
        const overrides = bySubject.get(user.id) ?? {};
        return { userId: user.id, userName: user.name, overrides, effective: { ...team, ...overrides } };
      }),
    };
  }

  async updateTeam(adminId: string, request: UpdateTeamBudgetRequest): Promise<BudgetsResponse> {
    await this.applyChanges(adminId, TEAM_BUDGET_SUBJECT, request);
    return this.getBudgets();
  }

  /** An unknown user is a 404. */
  async updateUser(adminId: string, userId: string, request: UpdateUserBudgetRequest): Promise<BudgetsResponse> {
    await this.accounts.getUser(userId);
    await this.applyChanges(adminId, userId, request);
    return this.getBudgets();
  }

  private async applyChanges(
    adminId: string,
    subject: string,
    changes: Partial<Record<BudgetLimitName, number | null | "inherit">>,
  ): Promise<void> {
    const now = this.context.now();
    try {
      await this.context.database.transaction(async (transaction) => {
        const rows = new BudgetLimitRepository(transaction);
        for (const name of limitNames) {
          const value = changes[name];
          if (value === undefined) continue;
          // the team's "no limit" is simply no row; a user's null is a row that lifts the team's limit
          if (value === "inherit" || (value === null && subject === TEAM_BUDGET_SUBJECT)) await rows.remove(subject, limitKinds[name]);
          else await rows.set({ subject, limit_kind: limitKinds[name], value, updated_by: adminId, updated_at: now });
        }
      });
    } finally {
      this.limitsGeneration += 1;
      this.limits = undefined;
      this.limitsLoading = undefined;
    }
    this.context.logger.info("budget changed", { subject, adminId, changed: Object.keys(changes) });
  }

  private async monthUse(userId: string, now: number): Promise<MonthUse> {
    const month = monthOf(now);
    const cached = this.monthUses.get(userId);
    if (cached && cached.month === month && performance.now() - cached.readAt < MONTH_USE_MAX_AGE_MS) return cached;
    const generation = this.useGenerations.get(userId) ?? 0;
    const row = await this.dailyUsage.monthUse(userId, month);
    const use: MonthUse = {
      month,
      tokens: row.input_tokens + row.output_tokens,
      costMicroUsd: row.cost_micro_usd,
      readAt: performance.now(),
    };
    if ((this.useGenerations.get(userId) ?? 0) === generation) {
      if (this.monthUses.size >= 10_000) this.monthUses.clear();
      this.monthUses.set(userId, use);
    }
    return use;
  }

  private async countRequest(userId: string, requestsPerMinute: number): Promise<void> {
    let counter = this.requestCounters.get(requestsPerMinute);
    if (counter === undefined) {
      counter = createRequestCounter(this.context.database, requestsPerMinute, REQUEST_WINDOW_SECONDS);
      this.requestCounters.set(requestsPerMinute, counter);
    }
    try {
      await counter.consume(userId);
    } catch (rejection) {
      const waitMs = (rejection as { msBeforeNext?: unknown }).msBeforeNext;
      if (typeof waitMs !== "number") {
        // the store failed (not a refusal): a budget check must not stop the team's work
        this.context.logger.warn("counting a request against its budget failed", { userId, error: rejection });
        return;
      }
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new BudgetExceededError(
        "requestsPerMinute",
        `Your limit of ${countOf(requestsPerMinute, "request")} per minute is reached; it resets in ${seconds} s`,
        seconds,
      );
    }
  }

  private loadLimits(): Promise<Map<string, Partial<BudgetLimits>>> {
    if (this.limits && performance.now() - this.limits.readAt < LIMITS_MAX_AGE_MS) return Promise.resolve(this.limits.bySubject);
    if (this.limitsLoading) return this.limitsLoading;
    const generation = this.limitsGeneration;
    const loading = this.limitRows.listAll().then((rows) => {
      const bySubject = new Map<string, Partial<BudgetLimits>>();
      for (const row of rows) {
        const name = limitNames.find((candidate) => limitKinds[candidate] === row.limit_kind);
        if (name === undefined) continue;
        bySubject.set(row.subject, { ...bySubject.get(row.subject), [name]: row.value });
      }
      if (generation === this.limitsGeneration) this.limits = { bySubject, readAt: performance.now() };
      return bySubject;
    });
    this.limitsLoading = loading;
    const settle = () => {
      if (this.limitsLoading === loading) this.limitsLoading = undefined;
    };
    loading.then(settle, settle);
    return loading;
  }
}

/** Micro-dollars as dollars: cents, or a tenth of a cent's precision below a cent. */
export function formatUsd(microUsd: number): string {
  const usd = microUsd / 1_000_000;
  return `$${usd.toFixed(Math.abs(usd) >= 0.01 || usd === 0 ? 2 : 4)}`;
}

function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

/** "1 token", "2,000 tokens". */
function countOf(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? "" : "s"}`;
}
