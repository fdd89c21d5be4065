import { providerLabels, type ProviderKind } from "../../../protocol/http/providers";
import { ProviderError, type ProviderErrorCode } from "./chat-provider";
import { parseRetryAfterMs, readHeader, type HeaderSource } from "./retry-after";

/** What a failed call was about, for plain-words messages. */
export interface ProviderCallContext {
  kind: ProviderKind;
  baseUrl: string;
  /** The provider's own model name, when the call was about one. */
  model?: string;
  /** Values that must never appear in a message (the API key): replaced if a provider echoes them. */
  secrets?: readonly string[];
}

/**
 * A provider's HTTP error or in-stream error event, already pulled out of the SDK's error object.
 * `type`/`code` are the provider's own (Anthropic `error.type`, Groq `error.code`).
 */
export interface ProviderFailure {
  /** undefined for an error event inside a 200 stream. */
  status?: number;
  type?: string;
  code?: string;
  message?: string;
  headers?: HeaderSource;
}

const retryableCodes: ReadonlySet<ProviderErrorCode> = new Set([
  "provider_rate_limited",
  "provider_overloaded",
  "provider_error",
  "provider_unreachable",
  "provider_stream_broken",
  // headers, then silence: the next attempt may well go through
  "provider_stalled",
]);

export function isRetryableCode(code: ProviderErrorCode): boolean {
  return retryableCodes.has(code);
}

// Anthropic: "prompt is too long: 210000 tokens > 200000 maximum"; OpenAI-style:
// "context_length_exceeded", "maximum context length is …", "Please reduce the length of the messages".
const contextTooLongPattern =
  /prompt is too long|context[ _-]?length|context window|maximum context|too many (input )?tokens|input is too long|reduce the length|exceeds? the (model'?s? )?(context|maximum input)/i;
// Anthropic "model: sonnet4", Groq "The model `x` does not exist…", Ollama "model 'x' not found".
const modelNotFoundPattern = /\bmodel\b.*(not found|does not exist|not exist)|^model: |model_not_found/i;

/** Sorts a provider's error into our codes (docs/providers.md#from-provider-errors-to-jugglers-error-codes). */
export function classifyProviderFailure(failure: ProviderFailure): ProviderErrorCode {
  const { status } = failure;
  const type = failure.type ?? "";
  const code = failure.code ?? "";
  const message = failure.message ?? "";
  if (status === 401 || status === 403 || type === "authentication_error" || type === "permission_error" || code === "invalid_api_key") {
    return "provider_invalid_key";
  }
  if (status === 429 || type === "rate_limit_error" || code === "rate_limit_exceeded") return "provider_rate_limited";
  if (status === 529 || status === 503 || type === "overloaded_error") return "provider_overloaded";
  // an in-stream error event has no status: its words are all there is (Groq: "Service Unavailable")
  if (status === undefined && /overloaded|service unavailable|over capacity/i.test(message)) return "provider_overloaded";
  if (status === 413 || code === "context_length_exceeded" || contextTooLongPattern.test(message)) {
    // a 5xx mentioning "context" is still the provider's fault
    if (status === undefined || status < 500) return "provider_context_too_long";
  }
  if (code === "model_not_found" || type === "not_found_error" || status === 404) {
    return modelNotFoundPattern.test(message) || code === "model_not_found" ? "provider_model_not_found" : "provider_bad_request";
  }
  if (status !== undefined && status >= 500) return "provider_error";
  // a redirect is not followed: the base URL is not the API's own address
  if (isRedirect(status)) return "provider_bad_request";
  if (status === 408 || status === 409 || type === "timeout_error" || type === "api_error") return "provider_error";
  if (status !== undefined && status >= 400) return "provider_bad_request";
  if (type === "invalid_request_error") return "provider_bad_request";
  // an error event in a stream with no type we know: the provider broke off, worth a retry
  return "provider_error";
}

function isRedirect(status: number | undefined): boolean {
  return status !== undefined && status >= 300 && status < 400;
}

export function mapProviderFailure(context: ProviderCallContext, failure: ProviderFailure, cause?: unknown): ProviderError {
  const code = classifyProviderFailure(failure);
  const label = providerLabels[context.kind];
  // the provider's words may name internal addresses (a proxy's error page): members see them without
  const providerMessage = hideAddresses(scrubSecrets(failure.message?.trim() ?? "", context.secrets), context.baseUrl);
  const providerMessageForAdmins = scrubSecrets(failure.message?.trim() ?? "", context.secrets);
  let adminMessage: string | undefined;
  const retryAfterMs = parseRetryAfterMs(failure.headers);
  const statusText = failure.status === undefined ? "" : ` (HTTP ${failure.status})`;
  let message: string;
  switch (code) {
    case "provider_invalid_key":
      message =
        context.kind === "ollama"
          ? `Ollama refused access${statusText} — check the base URL and any proxy in front of it in Team Settings`
          : failure.status === 403 || failure.type === "permission_error"
            ? `${label} refused this API key access${statusText} — check the key and its permissions in Team Settings`
            : `${label} rejected the API key — check it in Team Settings`;
      break;
    case "provider_rate_limited":
      message = `${label} is rate-limiting requests — ${retryAfterMs === undefined ? "try again shortly" : `try again in ${formatSeconds(retryAfterMs)}`}`;
      break;
    case "provider_overloaded":
      message = `${label} is overloaded right now — try again shortly`;
      break;
    case "provider_context_too_long":
      message = `The conversation is too long for this model on ${label}${providerMessage ? `: ${providerMessage}` : ""}`;
      break;
    case "provider_model_not_found":
      message = `${label} does not offer the model ${context.model ? `"${context.model}"` : "asked for"} — it may have been removed; refresh the model list in Team Settings`;
      break;
    case "provider_bad_request":
      if (isRedirect(failure.status)) {
        const location = readHeader(failure.headers, "location");
        message = `${label} answered with a redirect${statusText} — an admin can check its base URL in Team Settings`;
        adminMessage = `${label} at ${displayUrl(context.baseUrl)} redirects${location ? ` to ${location}` : ""}${statusText} — set the base URL to the API's own address in Team Settings`;
      } else if (failure.status === 404) {
        message = `${label} answered 404 Not Found — an admin can check its base URL in Team Settings`;
        adminMessage = `${label} answered 404 Not Found at ${displayUrl(context.baseUrl)} — check the base URL in Team Settings`;
      } else {
        message = `${label} refused the request${statusText}${providerMessage ? `: ${providerMessage}` : ""}`;
      }
      break;
    default:
      message = `${label} had a problem answering${statusText}${providerMessage ? `: ${providerMessage}` : ""} — try again`;
  }
  if (adminMessage === undefined && providerMessage !== providerMessageForAdmins) {
    adminMessage = message.replace(providerMessage, providerMessageForAdmins);
  }
  return new ProviderError(code, message, isRetryableCode(code), {
    status: failure.status,
    retryAfterMs,
    providerMessage: providerMessageForAdmins || undefined,
    adminMessage,
    cause,
  });
}

interface NetworkCause {
  codes: string[];
  text: string;
  isTimeout: boolean;
}

/** Walks an error's `cause` chain (undici puts the socket error there) for codes and messages. */
function describeNetworkCause(error: unknown): NetworkCause {
  const codes: string[] = [];
  const texts: string[] = [];
  let isTimeout = false;
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === "object"; depth += 1) {
    const record = current as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    if (typeof record.code === "string") codes.push(record.code);
    if (typeof record.message === "string") texts.push(record.message);
    if (record.name === "TimeoutError" || record.name === "APIConnectionTimeoutError" || record.name === "ProviderTimeoutError") {
      isTimeout = true;
    }
    // AggregateError from happy-eyeballs connects (IPv4 + IPv6) carries the real codes inside
    if (Array.isArray(record.errors)) {
      for (const inner of record.errors) {
        const innerCode = (inner as { code?: unknown })?.code;
        if (typeof innerCode === "string") codes.push(innerCode);
      }
    }
    current = record.cause;
  }
  const text = texts.join(" ");
  if (codes.some((code) => ["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "ESOCKETTIMEDOUT"].includes(code))) {
    isTimeout = true;
  }
  if (/timed? ?out/i.test(text)) isTimeout = true;
  return { codes, text, isTimeout };
}

/**
 * A failure below HTTP: nothing answered (refused, unknown host, timeout) before the response began
 * → provider_unreachable; the connection broke after the answer began → provider_stream_broken.
 */
export function mapNetworkFailure(
  context: ProviderCallContext,
  error: unknown,
  phase: "request" | "stream",
  timeoutMs?: number,
): ProviderError {
  const label = providerLabels[context.kind];
  const cause = describeNetworkCause(error);
  if (phase === "stream") {
    return new ProviderError("provider_stream_broken", `${label}'s answer was cut off: the connection broke mid-answer — try again`, true, {
      providerMessage: scrubSecrets(cause.text, context.secrets) || undefined,
      cause: error,
    });
  }
  const where = displayUrl(context.baseUrl);
  let reason: string;
  if (cause.isTimeout) {
    reason = timeoutMs === undefined ? "it did not answer in time" : `it did not answer within ${formatSeconds(timeoutMs)}`;
  } else if (cause.codes.includes("ECONNREFUSED")) {
    reason = "the connection was refused (is it running?)";
  } else if (cause.codes.some((code) => code === "ENOTFOUND" || code === "EAI_AGAIN")) {
    reason = "the host name was not found";
  } else if (cause.codes.some((code) => code.startsWith("ERR_TLS") || code.includes("CERT"))) {
    reason = "the TLS certificate was not accepted";
  } else if (
    cause.codes.some((code) => ["ECONNRESET", "UND_ERR_SOCKET", "EPIPE"].includes(code)) ||
    /terminated|other side closed/i.test(cause.text)
  ) {
    reason = "the connection was closed before it answered";
  } else {
    reason = "the connection failed";
  }
  return new ProviderError(
    "provider_unreachable",
    `Could not reach ${label}: ${reason} — an admin can check its base URL in Team Settings`,
    true,
    {
      providerMessage: scrubSecrets(cause.text, context.secrets) || undefined,
      adminMessage: `Could not reach ${label} at ${where}: ${reason} — check the base URL in Team Settings`,
      cause: error,
    },
  );
}

/** A chunk that is not valid JSON, or a stream that ended before the provider said it was done. */
export function mapBrokenStream(context: ProviderCallContext, problem: "malformed" | "incomplete", cause?: unknown): ProviderError {
  const label = providerLabels[context.kind];
  const message =
    problem === "malformed"
      ? `${label} sent a malformed chunk mid-answer — try again`
      : `${label}'s answer ended before it was complete — try again`;
  return new ProviderError("provider_stream_broken", message, true, { cause });
}

/** The base URL without any user:password part, for messages. */
export function displayUrl(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    url.username = "";
    url.password = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return "the configured base URL";
  }
}

/**
 * Text for members, without the addresses a provider's words may carry (its base URL, an upstream a
 * proxy names): an internal URL tells an outsider where things are. Admins get the full text.
 */
export function hideAddresses(text: string, baseUrl: string): string {
  let result = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)\]]+/gi, "(address hidden)");
  let host: string | undefined;
  try {
    host = new URL(baseUrl).host;
  } catch {
    host = undefined;
  }
  if (host) result = result.split(host).join("(address hidden)");
  return result;
}

export function scrubSecrets(text: string, secrets: readonly string[] | undefined): string {
  let result = text;
  for (const secret of secrets ?? []) {
    if (secret.length >= 4) result = result.split(secret).join("••••");
  }
  return result;
}

function formatSeconds(milliseconds: number): string {
  const seconds = Math.max(1, Math.ceil(milliseconds / 1000));
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}
