import type { ErrorCode } from "../../../protocol/http/error-codes";
import type { Message } from "../../../protocol/http/conversations";
import type { ChatNotificationParams } from "../../../protocol/webview/chat-protocol";

const numberFormat = new Intl.NumberFormat("en-US");

/** "anthropic:claude-sonnet-4-5" → "claude-sonnet-4-5": the provider's own model name is what people recognise. */
export function modelLabelFromId(modelId: string | null | undefined): string | undefined {
  if (!modelId) return undefined;
  const separator = modelId.indexOf(":");
  return separator >= 0 ? modelId.slice(separator + 1) : modelId;
}

export function formatTokenCounts(inputTokens: number | null, outputTokens: number | null): string | undefined {
  if (inputTokens !== null && outputTokens !== null) {
    return `${numberFormat.format(inputTokens)} → ${numberFormat.format(outputTokens)} tokens`;
  }
  if (inputTokens !== null) return `${numberFormat.format(inputTokens)} tokens in`;
  if (outputTokens !== null) return `${numberFormat.format(outputTokens)} tokens out`;
  return undefined;
}

export function formatDuration(milliseconds: number): string {
  if (milliseconds < 10_000) return `${numberFormat.format(Math.round(milliseconds))} ms`;
  return `${(milliseconds / 1000).toFixed(1)} s`;
}

/**
 * A cost in micro-dollars (1 USD = 1,000,000) as people read it: "$0.0123", "$1.24", "< $0.0001".
 * Small costs keep enough digits to tell answers apart; 0 (a local model) is "$0".
 */
export function formatCost(costMicroUsd: number): string {
  if (costMicroUsd === 0) return "$0";
  const usd = costMicroUsd / 1_000_000;
  if (usd >= 100) return `$${numberFormat.format(Math.round(usd))}`;
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  if (usd >= 0.01) return `$${usd.toFixed(3)}`;
  if (usd >= 0.0001) return `$${usd.toFixed(4)}`;
  return "< $0.0001";
}

/**
 * Output tokens per second while the answer was being written: from its first token to its end, so
 * the wait for the first token (shown on its own) does not count. Undefined when a figure is missing
 * or the answer came in one piece.
 */
export function tokensPerSecond(message: Pick<Message, "outputTokens" | "durationMs" | "timeToFirstTokenMs">): number | undefined {
  const { outputTokens, durationMs, timeToFirstTokenMs } = message;
  if (outputTokens === null || durationMs === null || timeToFirstTokenMs === null || outputTokens < 2) return undefined;
  const writingMs = durationMs - timeToFirstTokenMs;
  if (writingMs <= 0) return undefined;
  return outputTokens / (writingMs / 1000);
}

/**
 * The line under an answer: "Claude Sonnet 4.5 · 1,234 → 567 tokens · $0.0123 · 320 ms to first
 * token · 85 tokens/s", with the model's display name when the view knows it (`modelLabel`), else
 * the name part of its id. Parts the provider did not report (or a model without a price) are left
 * out rather than shown as 0.
 */
export function formatAnswerMetadata(
  message: Pick<Message, "modelId" | "inputTokens" | "outputTokens" | "timeToFirstTokenMs"> &
    Partial<Pick<Message, "durationMs" | "costMicroUsd">>,
  modelLabel: string | undefined = modelLabelFromId(message.modelId),
): string {
  const parts: string[] = [];
  const model = modelLabel;
  if (model) parts.push(model);
  const tokens = formatTokenCounts(message.inputTokens, message.outputTokens);
  if (tokens) parts.push(tokens);
  if (typeof message.costMicroUsd === "number") parts.push(formatCost(message.costMicroUsd));
  if (message.timeToFirstTokenMs !== null) parts.push(`${formatDuration(message.timeToFirstTokenMs)} to first token`);
  const speed = tokensPerSecond({ ...message, durationMs: message.durationMs ?? null });
  if (speed !== undefined) parts.push(`${numberFormat.format(Math.round(speed))} tokens/s`);
  return parts.join(" · ");
}

/** Said when the server gave no message of its own for the code. */
const PLAIN_WORDS_BY_CODE: Partial<Record<ErrorCode, string>> = {
  provider_invalid_key: "The provider rejected its API key. Ask your team admin to replace it.",
  provider_rate_limited: "The provider is limiting requests right now. Wait a moment and retry.",
  provider_overloaded: "The provider is overloaded right now. Wait a moment and retry.",
  provider_model_not_found: "The provider no longer offers this model. Pick another model.",
  provider_unreachable: "The team server could not reach the provider.",
  provider_context_too_long:
    "The conversation is too long for this model. Start a new conversation or pick a model with a larger context window.",
  provider_stream_broken: "The connection to the provider broke while the answer was streaming.",
  provider_not_configured: "This provider is not set up on the team server yet.",
  model_unavailable: "This model is not available any more. Pick another model.",
  server_shutting_down: "The team server was restarting.",
};

/**
 * Problems only an admin can fix. The server words them for the admin ("check the key in Team
 * Settings"); a member cannot open Team Settings and is told to ask their admin instead.
 */
const FOR_MEMBERS_BY_CODE: Partial<Record<ErrorCode, string>> = {
  provider_invalid_key: "The provider rejected the team's API key. Ask your Juggler admin to replace it.",
  provider_not_configured: "This provider is not set up on the team server. Ask your Juggler admin to set it up.",
  provider_unreachable: "The team server could not reach the provider. If it keeps happening, ask your Juggler admin to check its address.",
  provider_model_not_found:
    "The provider no longer offers this model. Pick another model, or ask your Juggler admin to refresh the models.",
};

/** A failure told to a member in words that do not send them to Team Settings, which they cannot open; undefined when there are none. */
export function describeForMember(code: ErrorCode): string | undefined {
  return FOR_MEMBERS_BY_CODE[code];
}

/** What went wrong with an answer, in plain words (worded for a member unless `isAdmin`); undefined when nothing did. */
export function describeAnswerProblem(message: Pick<Message, "status" | "error">, isAdmin = true): string | undefined {
  if (message.status === "error") {
    const forMember = !isAdmin && message.error ? FOR_MEMBERS_BY_CODE[message.error.code] : undefined;
    const detail = forMember ?? (message.error?.message?.trim() || (message.error ? PLAIN_WORDS_BY_CODE[message.error.code] : undefined));
    return detail ? `The answer failed: ${detail}` : "The answer failed.";
  }
  if (message.status === "interrupted") {
    const detail = message.error?.message?.trim();
    return detail
      ? `The answer was interrupted: ${detail}`
      : "The answer was interrupted before it finished: the team server stopped while it was being written.";
  }
  return undefined;
}

/** "1,240 earlier messages summarised" / "2 earlier messages left out", when the answer did not see them verbatim. */
export function describeContextFit(message: Pick<Message, "context">): string | undefined {
  const brief = describeContextFitBriefly(message);
  return brief === undefined ? undefined : `${brief} to fit the model's context window`;
}

/** The same without the reason, for the note under an answer (the full sentence is its tooltip). */
export function describeContextFitBriefly(message: Pick<Message, "context">): string | undefined {
  const context = message.context;
  if (!context) return undefined;
  const parts: string[] = [];
  const summarised = context.summary?.messageCount ?? 0;
  if (summarised > 0) parts.push(`${countMessages(summarised)} summarised`);
  if (context.leftOutMessageCount > 0) parts.push(`${countMessages(context.leftOutMessageCount)} left out`);
  return parts.length === 0 ? undefined : parts.join(", ");
}

/** The status line of an answer that waits before its first token: "Summarising 1,240 earlier messages…". */
export function describeStreamStatus(status: NonNullable<ChatNotificationParams<"stream/status">["status"]>): string {
  return `Summarising ${countMessages(status.messageCount)}…`;
}

function countMessages(count: number): string {
  return `${numberFormat.format(count)} earlier message${count === 1 ? "" : "s"}`;
}

/** How a model's failure reads after "because …": the reason an answer moved to a fallback. */
const FALLBACK_REASONS: Partial<Record<ErrorCode, string>> = {
  provider_overloaded: "was overloaded",
  provider_rate_limited: "was rate-limited",
  provider_unreachable: "could not be reached",
  provider_stalled: "stopped responding",
  provider_stream_broken: "broke off",
  provider_error: "failed",
  provider_context_too_long: "could not fit the conversation",
};

/**
 * "Answered by claude-sonnet-4-5 because llama-3.3-70b was overloaded", when a fallback model
 * answered in place of the one asked for; with the model asked for, to rerun on it.
 */
export function describeFallback(
  message: Pick<Message, "context" | "modelId" | "status">,
): { text: string; requestedModelId: string } | undefined {
  const fallback = message.context?.fallback;
  if (!fallback) return undefined;
  const answered = modelLabelFromId(message.modelId) ?? "another model";
  const requested = modelLabelFromId(fallback.requestedModelId) ?? fallback.requestedModelId;
  const reason = FALLBACK_REASONS[fallback.reason.code] ?? "could not answer";
  const verb = message.status === "complete" || message.status === "stopped" ? "Answered by" : "Passed to";
  return { text: `${verb} ${answered} because ${requested} ${reason}`, requestedModelId: fallback.requestedModelId };
}
