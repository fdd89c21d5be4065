import { AccountService } from "./account-service";
import { AnswerContextService } from "./answer-context-service";
import { ApiKeyService } from "./api-key-service";
import { BudgetService } from "./budget-service";
import { CatalogService } from "./catalog-service";
import type { Cluster } from "./cluster";
import { ContextService } from "./context-service";
import { ConversationService } from "./conversation-service";
import { ExportService } from "./export-service";
import { GenerationService } from "./generation-service";
import { ImportService } from "./import-service";
import { LedgerService } from "./ledger-service";
import { ModelFallbackService } from "./model-fallback-service";
import { PriceService } from "./price-service";
import { ProviderService } from "./provider-service";
import { SearchService } from "./search-service";
import type { ServiceContext } from "./service-context";
import { SummariserChoice } from "./summariser-choice";
import { TeamSettingsCache } from "./team-settings-cache";
import { UsageService } from "./usage-service";
import { PromptService } from "./prompt-service";

export interface Services {
  accounts: AccountService;
  providers: ProviderService;
  catalog: CatalogService;
  conversations: ConversationService;
  generation: GenerationService;
  /** Team settings for requests that only show or use them; forget() after an admin changes them. */
  teamSettings: TeamSettingsCache;
  /** Show Context: what an answer's request carried. */
  answerContexts: AnswerContextService;
  /** Fallbacks per model and the circuit breaker: what any caller of a model needs to call it with fallbacks. */
  fallbacks: ModelFallbackService;
  /** Personal API keys for the gateway. */
  apiKeys: ApiKeyService;
  prices: PriceService;
  budgets: BudgetService;
  /** Every answer's usage and cost, written at its end. */
  ledger: LedgerService;
  usage: UsageService;
  /** The library: search and find in a conversation. */
  search: SearchService;
  exports: ExportService;
  imports: ImportService;
  /** System prompts (the user's default) and the team's presets. */
  prompts: PromptService;
}

/** Builds the services in dependency order. Start-up work (crash recovery, presets) runs in startServices. */
export function createServices(context: ServiceContext): Services {
  const accounts = new AccountService(context);
  const providers = new ProviderService(context);
  const catalog = new CatalogService(context, providers);
  const conversations = new ConversationService(context);
  const teamSettings = new TeamSettingsCache(accounts, context.now, () => context.cluster.announce({ kind: "team-settings" }));
  const summariserChoice = new SummariserChoice({ settings: teamSettings, catalog });
  const contexts = new ContextService({
    conversations,
    providers,
    summariserChoice,
    logger: context.logger.child({ service: "context" }),
    now: context.now,
  });
  const fallbacks = new ModelFallbackService(context, { catalog, providers });
  const apiKeys = new ApiKeyService(context, accounts);
  const prices = new PriceService(context, catalog);
  const budgets = new BudgetService(context, accounts);
  const ledger = new LedgerService(context, prices, budgets);
  const usage = new UsageService(context, conversations);
  const generation = new GenerationService(context, { providers, catalog, conversations, contexts, accounts, fallbacks, budgets, ledger });
  // a disabled account's answers stop at once, not when they finish, on whichever instance writes them
  accounts.onAccountStatusChanged((userId, status) => {
    generation.applyAccountStatus(userId, status);
    context.cluster.announce({ kind: "account-status", userId, status });
  });
  context.cluster.onChange((change) => {
    if (change.kind === "account-status") generation.applyAccountStatus(change.userId, change.status);
    if (change.kind === "team-settings" || change.kind === "everything") teamSettings.forgetHere();
  });
  const answerContexts = new AnswerContextService(context);
  const search = new SearchService(context);
  const exports = new ExportService(context, accounts);
  const imports = new ImportService(context);
  const prompts = new PromptService(context, catalog);
  return {
    accounts,
    providers,
    catalog,
    conversations,
    generation,
    teamSettings,
    answerContexts,
    fallbacks,
    apiKeys,
    prices,
    budgets,
    ledger,
    usage,
    search,
    exports,
    imports,
    prompts,
  };
}

/** What start-up has to tell the operator. */
export interface StartedServices {
  /** The one-time admin token, while the team has no admin (printed on the console, never logged). */
  adminToken: string | undefined;
}

export async function startServices(services: Services, cluster: Cluster): Promise<StartedServices> {
  await cluster.start();
  const { adminToken } = await services.accounts.start();
  await services.providers.applyPresets();
  // answers left `streaming` by a crash become `interrupted` with their partial text
  await services.generation.recoverInterrupted();
  services.catalog.startBackgroundRefresh();
  return { adminToken };
}

/** Ends open streams (each gets a final event), aborts provider calls, stops timers. */
export async function stopServices(services: Services, cluster: Cluster): Promise<void> {
  services.catalog.stopBackgroundRefresh();
  await services.generation.shutdown();
  // the answers that just ended (the chat's interrupted ones among them) are written before the database closes
  await services.ledger.flush();
  // after the jobs: their last events reach the other instances
  await cluster.stop();
}
