import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { AppError } from "../domain/app-error";
import type { Database } from "../storage/database";
import { createRateLimiter, RateLimiterRes, type RateLimitRules } from "../storage/rate-limit-repository";

/** How long the failures on one account name are counted to tell that it is under attack. */
const NAME_FAILURE_WINDOW_SECONDS = 15 * 60;
/** The first wait of an address that fails on an account under attack; doubled by every further failure on it. */
const FAILING_ADDRESS_FIRST_BLOCK_SECONDS = 60;
const FAILING_ADDRESS_LONGEST_BLOCK_SECONDS = 60 * 60;

export interface AuthenticationRateLimitsOptions {
  /** AUTH_RATE_LIMIT_PER_MINUTE: failed password checks per address per minute, registrations per address per minute. */
  attemptsPerMinute: number;
  database: Database;
}

/** The outcome of one password check, told to the limits once it is known. */
export interface PasswordCheck {
  /** The password was right: the attempt no longer counts, and the address's block on the name (if any) is lifted. */
  succeeded(): Promise<void>;
  /** The password was wrong (or the name unknown): the attempt counts against the address and the name. */
  failed(): Promise<void>;
}

/**
 * Limits on password guessing and sign-ups, by rate-limiter-flexible: in memory on SQLite (one
 * process), in PostgreSQL when the server runs on it, so that the limits hold across every server
 * instance sharing the database (see docs/decisions "Sign-in limits that slow the guesser, not the account").
 *
 * The rules slow down the source that fails, never the account:
 * - per address: at most `attemptsPerMinute` failed password checks a minute, whatever the names.
 *   Each check is counted before the password is verified and given back when it was right, so
 *   parallel guesses count too, and a correct password never uses the allowance up;
 * - per account name: failures from every address are counted (15 minutes). Past
 *   `attemptsPerMinute` of them the name is under attack, and each address that fails on it is
 *   blocked for that name, 1 minute doubling with every further failure up to an hour. An address
 *   that has not failed on the name is not blocked: its owner, signing in from their own machine,
 *   still gets in however hard the name is hammered elsewhere;
 * - registrations: at most `attemptsPerMinute` a minute per address.
 */
export class AuthenticationRateLimits {
  private readonly failuresByAddress: RateLimiterAbstract;
  private readonly failuresByName: RateLimiterAbstract;
  private readonly blockedNameAddresses: RateLimiterAbstract;
  private readonly registrationsByAddress: RateLimiterAbstract;
  private readonly nameThreshold: number;

  constructor(options: AuthenticationRateLimitsOptions) {
    const perMinute = options.attemptsPerMinute;
    this.nameThreshold = perMinute;
    const create = (rules: RateLimitRules) => createRateLimiter(rules, options.database);
    this.failuresByAddress = create({ keyPrefix: "sign-in-failures-address", points: perMinute, duration: 60 });
    // a counter: penalty() never refuses, the threshold is applied here
    this.failuresByName = create({
      keyPrefix: "sign-in-failures-name",
      points: Number.MAX_SAFE_INTEGER,
      duration: NAME_FAILURE_WINDOW_SECONDS,
    });
    // a key here is blocked (block()) or absent; one point would be refused at once
    this.blockedNameAddresses = create({ keyPrefix: "sign-in-blocked", points: 0, duration: FAILING_ADDRESS_LONGEST_BLOCK_SECONDS });
    this.registrationsByAddress = create({ keyPrefix: "registrations-address", points: perMinute, duration: 60 });
  }

  /**
   * Before a password is verified for `nameKey` from `address`: 429 rate_limited (with Retry-After)
   * when that address must wait, for every name or for this one. Else the attempt counts as a
   * failure until the returned check says otherwise.
   */
  async beginPasswordCheck(nameKey: string, address: string): Promise<PasswordCheck> {
    const pairKey = `${nameKey}@${address}`;
    const blocked = await this.blockedNameAddresses.get(pairKey);
    if (blocked !== null && blocked.consumedPoints > 0) throw rateLimited(blocked.msBeforeNext);
    await consumeOrRefuse(this.failuresByAddress, address);
    return {
      succeeded: async () => {
        await this.failuresByAddress.reward(address, 1);
        if (blocked !== null) await this.blockedNameAddresses.delete(pairKey);
      },
      failed: async () => {
        const failures = await this.failuresByName.penalty(nameKey, 1);
        const excess = failures.consumedPoints - this.nameThreshold;
        if (excess <= 0) return;
        const seconds = Math.min(
          FAILING_ADDRESS_LONGEST_BLOCK_SECONDS,
          FAILING_ADDRESS_FIRST_BLOCK_SECONDS * 2 ** Math.min(excess - 1, 16),
        );
        await this.blockedNameAddresses.block(pairKey, seconds);
      },
    };
  }

  /** One registration from `address`: 429 rate_limited past the allowance. */
  async consumeRegistration(address: string): Promise<void> {
    await consumeOrRefuse(this.registrationsByAddress, address);
  }
}

async function consumeOrRefuse(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key, 1);
  } catch (refusal) {
    if (refusal instanceof RateLimiterRes) throw rateLimited(refusal.msBeforeNext);
    throw refusal;
  }
}

function rateLimited(msBeforeNext: number): AppError {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError(429, "rate_limited", `Too many attempts; try again in ${seconds} second${seconds === 1 ? "" : "s"}`, true, {
    "Retry-After": String(seconds),
  });
}
