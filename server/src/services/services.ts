import { AccountService } from "./account-service";
import { AnswerContextService } from "./answer-context-service";
import { CatalogService } from "./catalog-service";
import { ContextService } from "./context-service";
import { ConversationService } from "./conversation-service";
import { ExportService } from "./export-service";
import { GenerationService } from "./generation-service";
import { ImportService } from "./import-service";
import { ProviderService } from "./provider-service";
import { SearchService } from "./search-service";
import type { ServiceContext } from "./service-context";
import { SummariserChoice } from "./summariser-choice";
import { TeamSettingsCache } from "./team-settings-cache";

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
  /** The library: search and find in a conversation. */
  search: SearchService;
  exports: ExportService;
  imports: ImportService;
}

/** Builds the services in dependency order. Start-up work (crash recovery, presets) runs in startServices. */
export function createServices(context: ServiceContext): Services {
  const accounts = new AccountService(context);
  const providers = new ProviderService(context);
  const catalog = new CatalogService(context, providers);
  const conversations = new ConversationService(context);
  const teamSettings = new TeamSettingsCache(accounts, context.now);
  const summariserChoice = new SummariserChoice({ settings: teamSettings, catalog });
  const contexts = new ContextService({
    conversations,
    providers,
    summariserChoice,
    logger: context.logger.child({ service: "context" }),
    now: context.now,
  });
  const generation = new GenerationService(context, { providers, catalog, conversations, contexts, accounts });
  const answerContexts = new AnswerContextService(context);
  const search = new SearchService(context);
  const exports = new ExportService(context, accounts);
  const imports = new ImportService(context);
  return { accounts, providers, catalog, conversations, generation, teamSettings, answerContexts, search, exports, imports };
}

export async function startServices(services: Services): Promise<void> {
  await services.accounts.applyInitialSettings();
  await services.providers.applyPresets();
  // answers left `streaming` by a crash become `interrupted` with their partial text
  await services.generation.recoverInterrupted();
  services.catalog.startBackgroundRefresh();
}

/** Ends open streams (each gets a final event), aborts provider calls, stops timers. */
export async function stopServices(services: Services): Promise<void> {
  services.catalog.stopBackgroundRefresh();
  await services.generation.shutdown();
}
