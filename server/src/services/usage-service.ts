import {
  USAGE_DEFAULT_RANGE_DAYS,
  USAGE_HOUR_RANGE_MAX_DAYS,
  USAGE_RANGE_MAX_DAYS,
  USAGE_ROWS_MAX,
  usageBuckets,
  type ConversationUsageResponse,
  type UsageBucket,
  type UsageDimension,
  type UsageFigures,
  type UsageQuery,
  type UsageResponse,
  type UsageRow,
} from "../../../protocol/http/usage";
import type { ProviderKind } from "../../../protocol/http/providers";
import { AppError } from "../domain/app-error";
import type { AuthenticatedUser } from "../domain/authenticated-user";
import { UsageRollupRepository, type UsageSumRow } from "../storage/usage-rollup-repository";
import { emptySums, sumColumns, UsageLedgerRepository, type HourlyRow, type ReportedSumsRow } from "../storage/usage-ledger-repository";
import type { ServiceContext } from "./service-context";
import { addDays, dayOf, dayStart, weekOf } from "./usage-calendar";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * Usage figures for the usage view and scripts (GET /usage) and a conversation's totals by model.
 * Days, weeks and months come from the daily rollups, hours from the raw ledger (a short range only).
 * Members see their own figures only; admins everyone's, or one member's.
 */
export class UsageService {
  private readonly daily: UsageRollupRepository;
  private readonly weekly: UsageRollupRepository;
  private readonly ledger: UsageLedgerRepository;

  constructor(
    private readonly context: ServiceContext,
    private readonly conversations: { requireConversation(userId: string, conversationId: string): Promise<unknown> },
  ) {
    this.daily = new UsageRollupRepository(context.database, "day");
    this.weekly = new UsageRollupRepository(context.database, "week");
    this.ledger = new UsageLedgerRepository(context.database);
  }

  async usage(user: AuthenticatedUser, query: UsageQuery): Promise<UsageResponse> {
    if (user.role !== "admin" && query.userId !== undefined && query.userId !== user.id) {
      throw new AppError(403, "forbidden", "Only an admin can see another member's usage");
    }
    const userId = user.role === "admin" ? query.userId : user.id;
    const to = query.to ?? dayOf(this.context.now());
    const from = query.from ?? addDays(to, -(USAGE_DEFAULT_RANGE_DAYS - 1));
    if (from > to) throw new AppError(400, "validation_failed", "from: must not be after to");
    const days = (dayStart(to) - dayStart(from)) / DAY_MS + 1;
    if (days > USAGE_RANGE_MAX_DAYS) {
      throw new AppError(400, "validation_failed", `from, to: at most ${USAGE_RANGE_MAX_DAYS} days at once`);
    }
    const groupBy = query.groupBy ?? [];
    const bucket = (groupBy.find((part) => (usageBuckets as readonly string[]).includes(part)) as UsageBucket | undefined) ?? null;
    const dimensions = groupBy.filter((part): part is UsageDimension => !(usageBuckets as readonly string[]).includes(part));

    let groups: Array<{ row: UsageRow; sums: ReportedSumsRow }>;
    if (bucket === "hour") {
      if (days > USAGE_HOUR_RANGE_MAX_DAYS) {
        throw new AppError(
          400,
          "validation_failed",
          `groupBy: hours cover at most ${USAGE_HOUR_RANGE_MAX_DAYS} days; group by day for longer`,
        );
      }
      const hourly = await this.ledger.sumByHour(dayStart(from), dayStart(to) + DAY_MS, userId);
      const names = dimensions.includes("user")
        ? await this.daily.userNames([...new Set(hourly.map((row) => row.user_id))])
        : new Map<string, string>();
      groups = foldHours(hourly, dimensions, names);
    } else {
      const sums = await this.sumRollups(from, to, userId, bucket === null ? dimensions : [bucket, ...dimensions]);
      const names = dimensions.includes("user")
        ? await this.daily.userNames([...new Set(sums.map((row) => row.user_id!))])
        : new Map<string, string>();
      groups = sums.map((row) => ({ row: toUsageRow(row, bucket, dimensions, names), sums: onlySums(row) }));
    }
    if (groups.length > USAGE_ROWS_MAX) {
      throw new AppError(400, "validation_failed", `groupBy: more than ${USAGE_ROWS_MAX} groups; narrow the range or group by less`);
    }
    return { from, to, bucket, groupBy: dimensions, rows: groups.map((group) => group.row), totals: totalOf(groups) };
  }

  /**
   * The rollups summed over [from, to]: by day or month from the daily rollups; otherwise the range's
   * whole weeks from the weekly rollups and its edge days from the daily ones, added up here — a
   * 30-day range is then at most 3 weeks and 9 days of groups instead of 30 days.
   */
  private async sumRollups(from: string, to: string, userId: string | undefined, dimensions: RollupDimension[]): Promise<UsageSumRow[]> {
    const limit = USAGE_ROWS_MAX + 1;
    if (dimensions.includes("day") || dimensions.includes("month"))
      return sortGroups(await this.daily.sum({ from, to, userId, dimensions, limit }), dimensions);
    const firstMonday = weekOf(dayStart(from)) === from ? from : addDays(weekOf(dayStart(from)), 7);
    const lastMonday = weekOf(dayStart(to)) === addDays(to, -6) ? addDays(to, -6) : addDays(weekOf(dayStart(to)), -7);
    if (firstMonday > lastMonday) return sortGroups(await this.daily.sum({ from, to, userId, dimensions, limit }), dimensions);
    const parts = [await this.weekly.sum({ from: firstMonday, to: lastMonday, userId, dimensions, limit })];
    if (from < firstMonday) parts.push(await this.daily.sum({ from, to: addDays(firstMonday, -1), userId, dimensions, limit }));
    if (addDays(lastMonday, 7) <= to) parts.push(await this.daily.sum({ from: addDays(lastMonday, 7), to, userId, dimensions, limit }));
    return sortGroups(mergeGroups(parts.flat(), dimensions), dimensions);
  }

  /** A conversation's answers per model (another user's conversation is a 404). */
  async conversationUsage(userId: string, conversationId: string): Promise<ConversationUsageResponse> {
    await this.conversations.requireConversation(userId, conversationId);
    const models = await this.ledger.totalsOfConversation(userId, conversationId);
    return {
      conversationId,
      models: models.map((row) => ({ provider: row.provider as ProviderKind, modelId: row.model_id, ...figuresOf(row) })),
      totals: totalOf(models.map((row) => ({ sums: onlySums(row) }))),
    };
  }
}

/** Sums as figures: a figure no answer reported is null, never 0. */
function figuresOf(row: ReportedSumsRow): UsageFigures {
  const reported = (sum: number, count: number) => (count > 0 ? sum : null);
  return {
    answers: row.answers,
    inputTokens: reported(row.input_tokens, row.answers_with_input_tokens),
    answersWithInputTokens: row.answers_with_input_tokens,
    outputTokens: reported(row.output_tokens, row.answers_with_output_tokens),
    answersWithOutputTokens: row.answers_with_output_tokens,
    cachedInputTokens: reported(row.cached_input_tokens, row.answers_with_cached_input_tokens),
    answersWithCachedInputTokens: row.answers_with_cached_input_tokens,
    costMicroUsd: reported(row.cost_micro_usd, row.answers_with_cost),
    answersWithCost: row.answers_with_cost,
    averageTimeToFirstTokenMs:
      row.answers_with_time_to_first_token > 0 ? row.time_to_first_token_ms / row.answers_with_time_to_first_token : null,
    averageDurationMs: row.answers_with_duration > 0 ? row.duration_ms / row.answers_with_duration : null,
  };
}

/** Adds `row`'s sums to `into` (only the sums: a group's other fields are its key). */
function addSums(into: ReportedSumsRow, row: ReportedSumsRow): void {
  for (const column of sumColumns) into[column] += row[column];
}

function totalOf(groups: ReadonlyArray<{ sums: ReportedSumsRow }>): UsageFigures {
  const total = emptySums();
  for (const group of groups) addSums(total, group.sums);
  return figuresOf(total);
}

/** The sums part of a row read from the database (its dimension columns left out). */
function onlySums(row: ReportedSumsRow): ReportedSumsRow {
  const sums = emptySums();
  addSums(sums, row);
  return sums;
}

/** A rollup dimension: a time bucket other than the hour, or a grouping. */
type RollupDimension = Exclude<UsageBucket, "hour"> | UsageDimension;

/** The values a group is keyed by, in the dimensions' order. */
function groupKeyOf(row: UsageSumRow, dimensions: readonly RollupDimension[]): string[] {
  return dimensions.flatMap((dimension) => {
    switch (dimension) {
      case "day":
        return [row.day ?? ""];
      case "week":
        return [row.week ?? ""];
      case "month":
        return [row.month ?? ""];
      case "provider":
        return [row.provider ?? ""];
      case "model":
        return [row.provider ?? "", row.model_id ?? ""];
      case "client":
        return [row.client_kind ?? "", row.client_name ?? ""];
      case "user":
        return [row.user_id ?? ""];
    }
  });
}

/** Groups read from several parts of a range, added up. */
function mergeGroups(rows: readonly UsageSumRow[], dimensions: readonly RollupDimension[]): UsageSumRow[] {
  const merged = new Map<string, UsageSumRow>();
  for (const row of rows) {
    const key = JSON.stringify(groupKeyOf(row, dimensions));
    const existing = merged.get(key);
    if (existing === undefined) merged.set(key, { ...row });
    else addSums(existing, row);
  }
  return [...merged.values()];
}

/** Ordered by the dimensions, by code point (the same on SQLite and PostgreSQL, whatever their collations). */
function sortGroups(rows: UsageSumRow[], dimensions: readonly RollupDimension[]): UsageSumRow[] {
  const keyed = rows.map((row) => ({ row, key: groupKeyOf(row, dimensions) }));
  keyed.sort((left, right) => {
    for (let index = 0; index < left.key.length; index += 1) {
      const [a, b] = [left.key[index]!, right.key[index]!];
      if (a !== b) return a < b ? -1 : 1;
    }
    return 0;
  });
  return keyed.map((entry) => entry.row);
}

function toUsageRow(
  row: UsageSumRow,
  bucket: UsageBucket | null,
  dimensions: readonly UsageDimension[],
  names: ReadonlyMap<string, string>,
): UsageRow {
  const period = bucket === "day" ? row.day : bucket === "week" ? row.week : bucket === "month" ? row.month : undefined;
  return {
    ...(period === undefined ? {} : { period }),
    ...dimensionValues(row, dimensions, names),
    ...figuresOf(row),
  };
}

function dimensionValues(
  row: Partial<UsageSumRow>,
  dimensions: readonly UsageDimension[],
  names?: ReadonlyMap<string, string>,
): Partial<UsageRow> {
  const values: Partial<UsageRow> = {};
  if (dimensions.includes("provider") || dimensions.includes("model")) values.provider = row.provider as ProviderKind;
  if (dimensions.includes("model")) values.modelId = row.model_id;
  if (dimensions.includes("client")) {
    values.clientKind = row.client_kind as "chat" | "gateway";
    values.clientName = row.client_name;
  }
  if (dimensions.includes("user")) {
    values.userId = row.user_id;
    values.userName = (row.user_id === undefined ? undefined : names?.get(row.user_id)) ?? null;
  }
  return values;
}

/** Hour rows come grouped by everything; fold them into the groups asked for. */
function foldHours(
  hourly: readonly HourlyRow[],
  dimensions: readonly UsageDimension[],
  names: ReadonlyMap<string, string>,
): Array<{ row: UsageRow; sums: ReportedSumsRow }> {
  const groups = new Map<string, { row: Partial<UsageSumRow> & { hour: number }; sums: ReportedSumsRow }>();
  for (const entry of hourly) {
    const values = dimensionValues(entry, dimensions);
    const key = JSON.stringify([entry.hour, values]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { row: { ...entry }, sums: emptySums() };
      groups.set(key, group);
    }
    addSums(group.sums, entry);
  }
  return [...groups.values()]
    .sort((left, right) => left.row.hour - right.row.hour || compareGroups(left.row, right.row, dimensions))
    .map(({ row, sums }) => ({
      row: { period: new Date(row.hour * HOUR_MS).toISOString(), ...dimensionValues(row, dimensions, names), ...figuresOf(sums) },
      sums,
    }));
}

function compareGroups(left: Partial<UsageSumRow>, right: Partial<UsageSumRow>, dimensions: readonly UsageDimension[]): number {
  const key = (row: Partial<UsageSumRow>) => JSON.stringify(dimensionValues(row, dimensions));
  return key(left).localeCompare(key(right));
}
