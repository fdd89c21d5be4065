import type { Model } from "../../../protocol/http/models";
import { AppError } from "../domain/app-error";
import type { Logger } from "../logger";
import { isAbortError } from "../providers/abort-error";
import { ProviderError, type ChatProvider } from "../providers/chat-provider";
import type { ContextWalkRow, SummaryKey, WalkedSummary } from "../storage/conversation-repository";
import { callSummariser } from "./call-summariser";
import {
  buildContext,
  BUILT_IN_SETTINGS,
  computeWindowBudget,
  sentTextOf,
  type BranchMessage,
  type BuiltContext,
  type ContextSummary,
  type ConversationSettings,
} from "./context-builder";
import type { ConversationService } from "./conversation-service";
import { chooseSummaryMaxTokens, planContext, type ContextPlan } from "./plan-context";
import { buildSummariserTurns, estimateSummariserOverheadTokens, SUMMARISER_SYSTEM_PROMPT, SUMMARY_PROMPT_VERSION } from "./summary-prompt";
import { estimateMessageTokens } from "./token-estimate";

/** A summariser whose window leaves less than this for the conversation is not worth calling. */
const SUMMARISER_MIN_INPUT_TOKENS = 512;

export type SummarisePlan = Extract<ContextPlan, { kind: "summarise" }>;

/** What a send decided about its context: built (its record is stored with the answer), or a summary to make first. */
export type ContextPreparation =
  | { kind: "built"; context: BuiltContext }
  | {
      kind: "summarise";
      plan: SummarisePlan;
      conversationId: string;
      question: BranchMessage;
      summariser: Model;
      settings: ConversationSettings;
    };

/** How far up the branch a send's walk reads, and what the plan may spend. */
export interface ContextReach {
  /** Tokens for the messages and a summary: the window minus the reserved output and the system prompt. */
  budgetTokens: number;
  /** The walk's own budget: the above minus the question, which is not stored yet. */
  walkBudgetTokens: number;
  /** The summaries the walk looks for (those of the current summariser and prompt). */
  summaryKey: SummaryKey | null;
  /** What a summariser request can carry besides its instructions; null without a summariser. */
  summariserInputTokens: number | null;
}

export interface ContextServiceDependencies {
  conversations: ConversationService;
  providers: { getChatProvider(kind: Model["provider"]): ChatProvider | Promise<ChatProvider> };
  summariserChoice: { resolve(): Promise<Model | null> };
  logger: Logger;
  now: () => number;
}

/** Retries and stall timeout for a summariser call: the same as an answer's. */
export interface SummariserCallPolicy {
  maxRetries: number;
  retryMaxDelayMs: number;
  retryBaseDelayMs?: number;
  stallTimeoutMs: number;
}

/**
 * Prepares an answer's context from a bounded walk up its branch: the whole branch when it fits, a
 * stored summary and the messages after it, a new summary (made by the generation job, outside the
 * send's transaction), or, without a summariser, the newest messages alone. Nothing here reads more
 * of a branch than the target's window (or the summariser's) can take.
 */
export class ContextService {
  constructor(private readonly dependencies: ContextServiceDependencies) {}

  /** The team's summariser, or null (none visible, or the lookup failed: a send never fails for it). */
  async resolveSummariser(): Promise<Model | null> {
    try {
      return await this.dependencies.summariserChoice.resolve();
    } catch (error) {
      this.dependencies.logger.warn("choosing the summariser failed; sends leave old messages out instead", { error });
      return null;
    }
  }

  reachFor(
    model: Model,
    summariser: Model | null,
    questionTokens: number,
    settings: ConversationSettings = BUILT_IN_SETTINGS,
  ): ContextReach {
    const budgetTokens =
      computeWindowBudget(model, settings.maxOutputTokens).inputBudgetTokens - estimateMessageTokens(settings.systemPrompt.content);
    const summariserInputTokens = summariser === null ? null : summariserInputTokensOf(summariser, chooseSummaryMaxTokens(budgetTokens));
    const hasSummariser = summariserInputTokens !== null;
    return {
      budgetTokens,
      walkBudgetTokens: Math.max(0, budgetTokens - questionTokens),
      summaryKey: hasSummariser && summariser ? summaryKeyOf(summariser) : null,
      summariserInputTokens,
    };
  }

  /**
   * From the walk (newest first, starting at the question's parent): the context built now, or the
   * plan of a summary to make first. Pure apart from logging: it runs inside the send's transaction.
   */
  prepare(
    conversationId: string,
    walk: readonly ContextWalkRow[],
    question: BranchMessage,
    model: Model,
    provider: Pick<ChatProvider, "prepareConversation">,
    summariser: Model | null,
    reach: ContextReach,
    settings: ConversationSettings = BUILT_IN_SETTINGS,
  ): ContextPreparation {
    const plan = planContext({
      walk,
      questionTokens: estimateMessageTokens(question.content),
      budgetTokens: reach.budgetTokens,
      summariserInputTokens: reach.summariserInputTokens,
    });
    switch (plan.kind) {
      case "whole":
        return {
          kind: "built",
          context: buildContext({ messages: [...plan.messages, question], summary: null, settings }, model, provider),
        };
      case "reuse-summary":
        if (summariser === null) throw new Error("A summary was found without a summariser");
        return {
          kind: "built",
          context: buildContext(
            { messages: [...plan.messages, question], summary: toContextSummary(plan.summary, summariser), settings },
            model,
            provider,
          ),
        };
      case "drop": {
        const notes =
          reach.summariserInputTokens === null ? ["No model is available to summarise older messages, so they were left out"] : [];
        return {
          kind: "built",
          context: buildContext({ messages: [...plan.messages, question], summary: null, notes, settings }, model, provider),
        };
      }
      case "summarise":
        if (summariser === null) throw new Error("A summary was planned without a summariser");
        return { kind: "summarise", plan, conversationId, question, summariser, settings };
    }
  }

  /** For an answer whose send did not prepare its context (a regenerate): the same walk and plan, outside a transaction. */
  async prepareForQuestion(
    userId: string,
    conversationId: string,
    questionId: string,
    model: Model,
    provider: ChatProvider,
  ): Promise<ContextPreparation> {
    const [summariser, settings] = await Promise.all([
      this.resolveSummariser(),
      this.dependencies.conversations.resolveSettings(userId, conversationId),
    ]);
    const reach = this.reachFor(model, summariser, 0, settings);
    // walked from the question itself (it is stored): its own cost is the first running total
    const rows = await this.dependencies.conversations.walkForContext(
      userId,
      conversationId,
      questionId,
      reach.budgetTokens,
      reach.summaryKey,
    );
    const question = rows[0];
    if (question === undefined) throw new AppError(404, "not_found", "Message not found");
    const above = rows.slice(1).map((row) => ({ ...row, totalTokens: row.totalTokens - question.totalTokens }));
    return this.prepare(conversationId, above, question, model, provider, summariser, reach, settings);
  }

  /**
   * Makes the planned summary and builds the context with it. The summariser sees, within its own
   * window, the previous summary on the branch (when its walk reaches one) and the messages after
   * it, up to the cut; what is above that and not summarised before is counted as left out.
   * `onSummarising` is called just before the summariser is, with how many messages the summary
   * will stand for. Any failure but a stop falls back to leaving the oldest messages out, and the
   * record says why; a stop (the answer's signal) is thrown as an AbortError.
   */
  async summariseAndBuild(
    userId: string,
    preparation: Extract<ContextPreparation, { kind: "summarise" }>,
    model: Model,
    provider: ChatProvider,
    options: { signal: AbortSignal; onSummarising: (messageCount: number) => void; policy: SummariserCallPolicy },
  ): Promise<BuiltContext> {
    const { plan, question, summariser, settings } = preparation;
    const verbatim = [...plan.verbatim, question];
    try {
      const key = summaryKeyOf(summariser);
      const inputTokens = summariserInputTokensOf(summariser, plan.summaryMaxTokens) ?? SUMMARISER_MIN_INPUT_TOKENS;
      const walked = await this.dependencies.conversations.walkForSummary(
        userId,
        preparation.conversationId,
        plan.coverThrough.id,
        inputTokens,
        key,
      );
      const oldest = walked.at(-1);
      if (oldest === undefined) throw new Error("The messages to summarise are gone");
      // the walk stops at the first message already summarised under this key: that summary rolls in
      const previous = oldest.summary;
      if (previous !== null && oldest.id === plan.coverThrough.id) {
        return buildContext({ messages: verbatim, summary: toContextSummary(previous, summariser), settings }, model, provider);
      }
      const transcript = (previous === null ? walked : walked.slice(0, -1)).reverse();
      // the walk's budget is an estimate; leave out the oldest messages until the request really fits
      let requestTokens =
        estimateSummariserOverheadTokens(previous) +
        transcript.reduce((total, message) => total + estimateMessageTokens(sentTextOf(message)), 0);
      while (transcript.length > 1 && requestTokens > inputTokens) {
        requestTokens -= estimateMessageTokens(sentTextOf(transcript.shift()!));
      }
      const firstDepth = transcript[0]!.depth;
      const gapCount = previous === null ? firstDepth - 1 : firstDepth - oldest.depth - 1;
      const leftOutCount = (previous?.leftOutCount ?? 0) + gapCount;
      const messageCount = plan.coverThrough.depth - leftOutCount;

      const summariserProvider = await this.dependencies.providers.getChatProvider(summariser.provider);
      options.onSummarising(messageCount);
      const maxOutputTokens = Math.min(plan.summaryMaxTokens, computeWindowBudget(summariser).reservedOutputTokens);
      const conversation = summariserProvider.prepareConversation(
        SUMMARISER_SYSTEM_PROMPT,
        buildSummariserTurns({
          previous: previous === null ? null : { content: previous.content, messageCount: previous.messageCount },
          leftOutCount: gapCount,
          messages: transcript,
          maxOutputTokens,
        }),
      );
      const content = await callSummariser({
        provider: summariserProvider,
        model: summariser,
        conversation,
        maxOutputTokens,
        signal: options.signal,
        ...options.policy,
        logger: this.dependencies.logger,
      });
      const stored = await this.dependencies.conversations.saveSummary(userId, {
        ...key,
        coversThroughMessageId: plan.coverThrough.id,
        content,
        tokenEstimate: estimateMessageTokens(content),
        messageCount,
        leftOutCount,
        createdAt: this.dependencies.now(),
      });
      this.dependencies.logger.info("summary made", { summaryId: stored.id, summariserModelId: summariser.id, messageCount, leftOutCount });
      return buildContext({ messages: verbatim, summary: toContextSummary(stored, summariser), settings }, model, provider);
    } catch (error) {
      if (options.signal.aborted || isAbortError(error)) throw error;
      this.dependencies.logger.warn("summarising failed; the oldest messages are left out instead", {
        summariserModelId: summariser.id,
        error,
      });
      const notes = [`Could not summarise the older messages (${reasonOf(error)}), so they were left out instead`];
      return buildContext({ messages: [...plan.walked, question], summary: null, notes, settings }, model, provider);
    }
  }
}

export function summaryKeyOf(summariser: Model): SummaryKey {
  return { summariserModelId: summariser.id, promptVersion: SUMMARY_PROMPT_VERSION };
}

/** What a summariser request can carry besides its instructions and a previous summary; null when too little. */
function summariserInputTokensOf(summariser: Model, summaryMaxTokens: number): number | null {
  const window = computeWindowBudget(summariser);
  const outputTokens = Math.min(summaryMaxTokens, window.reservedOutputTokens);
  const inputTokens = window.inputBudgetTokens + window.reservedOutputTokens - outputTokens - estimateSummariserOverheadTokens(null);
  return inputTokens >= SUMMARISER_MIN_INPUT_TOKENS ? inputTokens : null;
}

/** A summary found under the summariser's key, as a context sends it (the key says who wrote it). */
function toContextSummary(summary: WalkedSummary, summariser: Model): ContextSummary {
  return { id: summary.id, content: summary.content, messageCount: summary.messageCount, modelId: summariser.id };
}

function reasonOf(error: unknown): string {
  // provider and app errors are plain words meant for people; anything else stays in the log
  const text = error instanceof ProviderError || error instanceof AppError ? error.message : "an unexpected error";
  return text.length > 150 ? `${text.slice(0, 149)}…` : text;
}
