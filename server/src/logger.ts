import pino from "pino";

/**
 * The server's structured log: pino, one JSON object per line
 * (`{"level":"info","time":"…","msg":"answer finished","messageId":"…",…}`), written to standard
 * output, or to a function (the test harness keeps the lines). Call sites pass the message first and
 * the fields second, the way they read; this wrapper hands them to pino the other way round.
 *
 * Secrets are removed by path before a line is written (docs/decisions/0009-pino-for-server-logs.md):
 * a field named like a key, password or token prints as "[redacted]", and so do the credential
 * headers of a `headers` object. Names are matched exactly, so timings such as `timeToFirstTokenMs`
 * stay readable. The paths are explicit, never wildcards (`*.apiKey` costs pino ≈ 7 µs per line
 * each): pass a secret-bearing value as a top-level field named below, or add its path here.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFields = Record<string, unknown>;
/** Receives each line without its newline. */
export type LogSink = (line: string) => void;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Field names whose values are secrets wherever the server logs them (request bodies, presets, sessions, provider settings). */
export const secretFieldNames = [
  "apiKey",
  "api_key",
  "encryptedKey",
  "encrypted_key",
  "secretKey",
  "secret",
  "password",
  "currentPassword",
  "newPassword",
  "passwordHash",
  "password_hash",
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "authorization",
  "cookie",
] as const;

/** Headers that carry credentials (names as Node and fetch give them: lower case). */
const secretHeaderNames = ["authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"] as const;

/** Objects that may hold secrets one level down: a request body, and headers on their own or of a request or response. */
const secretContainers = {
  body: secretFieldNames,
  headers: secretHeaderNames,
  "request.headers": secretHeaderNames,
  "response.headers": secretHeaderNames,
} as const;

/** The pino paths redacted on every line. */
export const redactedPaths: string[] = [
  ...secretFieldNames,
  ...Object.entries(secretContainers).flatMap(([container, names]) => names.map((name) => `${container}["${name}"]`)),
];

/**
 * An Error's name, message and stack only. Not its other properties or its cause: an SDK error can
 * carry the request it failed on, and only our own messages are scrubbed of keys (map-provider-error.ts).
 */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return { name: value.name, message: value.message, stack: value.stack };
}

export function createLogger(level: LogLevel, sink?: LogSink): Logger {
  const destination = sink
    ? // pino writes each line as one string ending in a newline, synchronously
      { write: (line: string) => sink(line.endsWith("\n") ? line.slice(0, -1) : line) }
    : // synchronous, like process.stdout on Linux: a few lines per request, each out before the next
      // statement (nothing left in a buffer when the process exits); measured cheaper per line too
      pino.destination({ dest: 1, sync: true });
  const instance = pino(
    {
      level,
      // one process per server: pid and hostname would repeat on every line
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactedPaths, censor: "[redacted]" },
      serializers: { error: serializeError, err: serializeError },
    },
    destination,
  );
  return wrap(instance);
}

function wrap(instance: pino.Logger): Logger {
  return {
    debug: (message, fields) => (fields === undefined ? instance.debug(message) : instance.debug(fields, message)),
    info: (message, fields) => (fields === undefined ? instance.info(message) : instance.info(fields, message)),
    warn: (message, fields) => (fields === undefined ? instance.warn(message) : instance.warn(fields, message)),
    error: (message, fields) => (fields === undefined ? instance.error(message) : instance.error(fields, message)),
    child: (fields) => wrap(instance.child(fields)),
  };
}
