/**
 * A small structured logger: one line per event, JSON fields after the message.
 * Fields whose names look like secrets are replaced before anything is written, so a
 * provider key or a token cannot reach a log line through a careless `logger.info(..., { apiKey })`.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const secretFieldPattern = /(key|token|password|secret|authorization|cookie)/i;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    result[name] = secretFieldPattern.test(name) && field !== null && field !== undefined ? "[redacted]" : redact(field, depth + 1);
  }
  return result;
}

export function createLogger(level: LogLevel, sink: LogSink = (line) => process.stdout.write(`${line}\n`), base: LogFields = {}): Logger {
  const write = (messageLevel: Exclude<LogLevel, "silent">, message: string, fields?: LogFields) => {
    if (levelOrder[messageLevel] < levelOrder[level]) return;
    const merged = { ...base, ...fields };
    const details = Object.keys(merged).length > 0 ? ` ${JSON.stringify(redact(merged))}` : "";
    sink(`${new Date().toISOString()} ${messageLevel.toUpperCase().padEnd(5)} ${message}${details}`);
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
    child: (fields) => createLogger(level, sink, { ...base, ...fields }),
  };
}
