import type { Knex } from "knex";
import { RateLimiterMemory, RateLimiterPostgres, type RateLimiterRes } from "rate-limiter-flexible";
import { isPostgres } from "./database";

/** Counts a user's requests in a rolling window; rejects with the library's RateLimiterRes when over. */
export interface RequestCounter {
  consume(key: string): Promise<RateLimiterRes>;
}

/** The table 0007 creates for rate-limiter-flexible's PostgreSQL store, in the shape the library uses. */
const TABLE = "budget_request_counts";

/**
 * The store of the requests-per-minute budget (rate-limiter-flexible): on PostgreSQL the
 * `budget_request_counts` table, so several servers on one database count together; on SQLite, one
 * process, memory. One counter per limit value (the library sets its `points` per instance); the
 * key prefix names the value, so counters of different limits never share a row.
 */
export function createRequestCounter(database: Knex, requestsPerWindow: number, windowSeconds: number): RequestCounter {
  const keyPrefix = `budget-requests-${requestsPerWindow}-per-${windowSeconds}s`;
  if (!isPostgres(database)) return new RateLimiterMemory({ keyPrefix, points: requestsPerWindow, duration: windowSeconds });
  return new RateLimiterPostgres({
    storeClient: database,
    storeType: "knex",
    tableName: TABLE,
    // created by migration 0007, not by the library
    tableCreated: true,
    keyPrefix,
    points: requestsPerWindow,
    duration: windowSeconds,
  });
}
