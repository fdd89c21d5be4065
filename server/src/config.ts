import path from "node:path";
import { z } from "zod";
import { registrationPolicySchema } from "../../protocol/http/accounts";
import { isHttpUrl } from "../../protocol/parse-http-url";

/**
 * The only reader of process.env. Every variable is listed in README.md and .env.example.
 * A bad value stops start-up with a message naming the variable.
 */
const integer = (fallback: number, minimum: number, maximum: number) => z.coerce.number().int().min(minimum).max(maximum).default(fallback);

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === undefined || value === "" ? undefined : value));

const optionalUrl = optionalText.refine((value) => value === undefined || isHttpUrl(value), "must be an http(s) URL");

const booleanFlag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"])
    .optional()
    .transform((value) => (value === undefined ? fallback : ["true", "1", "yes"].includes(value)));

const environmentSchema = z
  .object({
    PORT: integer(8080, 0, 65535),
    HOST: z.string().trim().min(1).default("0.0.0.0"),
    DATA_DIR: z.string().trim().min(1).default("./data"),
    DATABASE_URL: optionalText.refine(
      (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
      "must start with postgres:// (leave unset for SQLite in DATA_DIR)",
    ),
    SECRET_KEY: optionalText.refine((value) => value === undefined || value.length >= 32, "must be at least 32 characters"),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    TRUST_PROXY: booleanFlag(false),
    TRUST_PROXY_HOPS: optionalText.pipe(z.coerce.number<string | undefined>().int().min(1).max(10).optional()),
    REQUEST_TIMEOUT_MS: integer(30_000, 1_000, 3_600_000),
    HEADERS_TIMEOUT_MS: integer(10_000, 1_000, 3_600_000),
    ACCESS_TOKEN_TTL_SECONDS: integer(900, 30, 86_400),
    REFRESH_TOKEN_TTL_DAYS: integer(30, 1, 365),
    REGISTRATION: registrationPolicySchema.optional(),
    MAX_BODY_BYTES: integer(1_048_576, 1024, 50 * 1_048_576),
    IMPORT_MAX_BYTES: integer(64 * 1_048_576, 1_048_576, 1024 * 1_048_576),
    AUTH_RATE_LIMIT_PER_MINUTE: integer(10, 1, 10_000),
    PROVIDER_MAX_RETRIES: integer(2, 0, 10),
    PROVIDER_RETRY_MAX_DELAY_MS: integer(20_000, 0, 600_000),
    PROVIDER_CONNECT_TIMEOUT_MS: integer(30_000, 100, 600_000),
    PROVIDER_STALL_TIMEOUT_MS: integer(60_000, 100, 3_600_000),
    CATALOG_REFRESH_MINUTES: integer(60, 0, 10_080),
    MAX_PARALLEL_ANSWERS_PER_USER: integer(4, 1, 100),
    PROVIDER_BREAKER_FAILURES: integer(3, 1, 100),
    PROVIDER_BREAKER_COOLDOWN_MS: integer(30_000, 100, 3_600_000),
    ANTHROPIC_API_KEY: optionalText,
    ANTHROPIC_BASE_URL: optionalUrl,
    GROQ_API_KEY: optionalText,
    GROQ_BASE_URL: optionalUrl,
    OLLAMA_BASE_URL: optionalUrl,
    OLLAMA_ENABLED: booleanFlag(false),
  })
  .refine((value) => value.TRUST_PROXY || value.TRUST_PROXY_HOPS === undefined, {
    path: ["TRUST_PROXY_HOPS"],
    message: "only means something with TRUST_PROXY=true",
  })
  .refine((value) => value.HEADERS_TIMEOUT_MS <= value.REQUEST_TIMEOUT_MS, {
    path: ["HEADERS_TIMEOUT_MS"],
    message: "must not be longer than REQUEST_TIMEOUT_MS",
  });

export type Environment = Record<string, string | undefined>;

export interface ProviderPreset {
  apiKey?: string;
  baseUrl?: string;
  /** Ollama has no key: presetting it means turning it on. */
  isActive?: boolean;
}

export interface Config {
  port: number;
  host: string;
  dataDirectory: string;
  /** postgres://… or undefined for SQLite at `<dataDirectory>/juggler.sqlite`. */
  databaseUrl: string | undefined;
  /** undefined: read or generate `<dataDirectory>/secret.key` on start. */
  secretKey: string | undefined;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  trustProxy: boolean;
  /**
   * Proxies in front of the server that append to X-Forwarded-For. The client's address is the entry
   * the outermost of them appended, counted from the right: entries further left are the client's own words.
   */
  trustProxyHops: number;
  /** Longest a client may take to send a whole request (headers and body); answers may stream for longer. */
  requestTimeoutMs: number;
  /** Longest a client may take to send its headers. */
  headersTimeoutMs: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  /** The registration policy a fresh install starts with; afterwards the admin's setting rules. */
  initialRegistration: "open" | "approval" | "closed" | undefined;
  maxBodyBytes: number;
  /** Largest file POST /import takes (an export of many conversations is far larger than a request). */
  importMaxBytes: number;
  authRateLimitPerMinute: number;
  providerMaxRetries: number;
  providerRetryMaxDelayMs: number;
  providerConnectTimeoutMs: number;
  /** After the response headers, the longest silence between two chunks before the request is cut (provider_stalled). */
  providerStallTimeoutMs: number;
  /** 0 turns the background catalog refresh off. */
  catalogRefreshMinutes: number;
  /** Answers one member may have being written at once (429 too_many_answers past it). */
  maxParallelAnswersPerUser: number;
  /** Retryable failures in a row that open a model's circuit (it is skipped for fallbacks meanwhile). */
  providerBreakerFailures: number;
  /** How long an open circuit skips its model. */
  providerBreakerCoolDownMs: number;
  providerPresets: { anthropic: ProviderPreset; groq: ProviderPreset; ollama: ProviderPreset };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function loadConfig(environment: Environment = process.env): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
  }
  const value = parsed.data;
  return {
    port: value.PORT,
    host: value.HOST,
    dataDirectory: path.resolve(value.DATA_DIR),
    databaseUrl: value.DATABASE_URL,
    secretKey: value.SECRET_KEY,
    logLevel: value.LOG_LEVEL,
    trustProxy: value.TRUST_PROXY,
    trustProxyHops: value.TRUST_PROXY_HOPS ?? 1,
    requestTimeoutMs: value.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: value.HEADERS_TIMEOUT_MS,
    accessTokenTtlSeconds: value.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlDays: value.REFRESH_TOKEN_TTL_DAYS,
    initialRegistration: value.REGISTRATION,
    maxBodyBytes: value.MAX_BODY_BYTES,
    importMaxBytes: value.IMPORT_MAX_BYTES,
    authRateLimitPerMinute: value.AUTH_RATE_LIMIT_PER_MINUTE,
    providerMaxRetries: value.PROVIDER_MAX_RETRIES,
    providerRetryMaxDelayMs: value.PROVIDER_RETRY_MAX_DELAY_MS,
    providerConnectTimeoutMs: value.PROVIDER_CONNECT_TIMEOUT_MS,
    providerStallTimeoutMs: value.PROVIDER_STALL_TIMEOUT_MS,
    catalogRefreshMinutes: value.CATALOG_REFRESH_MINUTES,
    maxParallelAnswersPerUser: value.MAX_PARALLEL_ANSWERS_PER_USER,
    providerBreakerFailures: value.PROVIDER_BREAKER_FAILURES,
    providerBreakerCoolDownMs: value.PROVIDER_BREAKER_COOLDOWN_MS,
    providerPresets: {
      anthropic: { apiKey: value.ANTHROPIC_API_KEY, baseUrl: value.ANTHROPIC_BASE_URL },
      groq: { apiKey: value.GROQ_API_KEY, baseUrl: value.GROQ_BASE_URL },
      ollama: {
        baseUrl: value.OLLAMA_BASE_URL,
        isActive: value.OLLAMA_ENABLED || value.OLLAMA_BASE_URL !== undefined ? true : undefined,
      },
    },
  };
}
