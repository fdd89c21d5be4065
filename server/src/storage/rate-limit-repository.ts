import type { IRateLimiterOptions, RateLimiterAbstract } from "rate-limiter-flexible";
// from their own files: the package's index loads every store it supports (see rate-limiter-flexible-modules.d.ts)
import RateLimiterMemory from "rate-limiter-flexible/lib/RateLimiterMemory";
import RateLimiterPostgres from "rate-limiter-flexible/lib/RateLimiterPostgres";
import { isPostgres, type Database } from "./database";

/** The `rate_limits` table (PostgreSQL only): rate-limiter-flexible's own layout, created by migration 0005. */
export const RATE_LIMITS_TABLE = "rate_limits";

/** One limiter's rules; `keyPrefix` keeps limiters that share the table apart. */
export type RateLimitRules = IRateLimiterOptions & { keyPrefix: string };

/**
 * A limiter whose counts live where the server's state does: in this process's memory on SQLite
 * (one server process), in the `rate_limits` table on PostgreSQL, so that every server instance on
 * the same database sees the same counts. rate-limiter-flexible writes the SQL of that table
 * (an upsert per count); this is the one place that points it there.
 */
export function createRateLimiter(rules: RateLimitRules, database: Database): RateLimiterAbstract {
  if (!isPostgres(database)) return new RateLimiterMemory(rules);
  return new RateLimiterPostgres({
    ...rules,
    storeClient: database,
    storeType: "knex",
    tableName: RATE_LIMITS_TABLE,
    // created by the migrations, like every table
    tableCreated: true,
    // if PostgreSQL fails for a moment, this process's own memory keeps limiting meanwhile
    insuranceLimiter: new RateLimiterMemory(rules),
  });
}

/** What a limiter rejects with when a key is over its limit (any other rejection is a store failure). */
export { default as RateLimiterRes } from "rate-limiter-flexible/lib/RateLimiterRes";
