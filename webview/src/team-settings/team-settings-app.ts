import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import type { Provider } from "../../../protocol/http/providers";
import { createIcon } from "../create-icon";
import { HostRequestError, describeRequestFailure } from "../host-bridge/host-request-error";
import { BudgetsSection } from "./budgets-section";
import { FallbacksSection } from "./fallbacks-section";
import { PresetsSection } from "./presets-section";
import { ModelsSection } from "./models-section";
import { PricesSection } from "./prices-section";
import { ProviderCard } from "./provider-card";
import { RegistrationSection } from "./registration-section";
import type { TeamSettingsBridge } from "./team-settings-bridge";
import { UsersSection } from "./users-section";

interface SectionFrame {
  element: HTMLElement;
  body: HTMLElement;
  problem: HTMLElement;
}

/** The admin panel: providers and keys, model visibility, users, registration policy. Everything goes through the host. */
export class TeamSettingsApp {
  private readonly providerCards = new Map<Provider["kind"], ProviderCard>();
  private readonly providerList = document.createElement("div");
  private readonly models: ModelsSection;
  private readonly fallbacks: FallbacksSection;
  private readonly presets: PresetsSection;
  private readonly users: UsersSection;
  private readonly registration: RegistrationSection;
  private readonly prices: PricesSection;
  private readonly budgets: BudgetsSection;
  private readonly pageProblem = document.createElement("div");
  private readonly loading = document.createElement("div");
  private readonly sections: {
    providers: SectionFrame;
    models: SectionFrame;
    fallbacks: SectionFrame;
    presets: SectionFrame;
    users: SectionFrame;
    registration: SectionFrame;
    prices: SectionFrame;
    budgets: SectionFrame;
  };
  private isLoading = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly bridge: TeamSettingsBridge,
  ) {
    this.models = new ModelsSection(bridge, (models) => {
      this.fallbacks.setModels(models);
      void this.reloadProviders();
    });
    this.fallbacks = new FallbacksSection(bridge);
    this.presets = new PresetsSection(bridge);
    this.users = new UsersSection(bridge);
    this.registration = new RegistrationSection(bridge);
    this.prices = new PricesSection(bridge);
    this.budgets = new BudgetsSection(bridge);
    this.providerList.className = "provider-list";
    this.sections = {
      providers: createSection(
        "providers",
        "Providers",
        "Connect the team server to model providers. Keys stay on the server, encrypted.",
        this.providerList,
      ),
      models: createSection("models", "Models", "Choose which models members can pick in VS Code.", this.models.element),
      fallbacks: createSection(
        "fallbacks",
        "Fallbacks",
        "When a model cannot answer (rate-limited, overloaded, failing or unreachable after its retries, or the conversation is too long for it), the answer comes from its first fallback that can, and says so.",
        this.fallbacks.element,
      ),
      presets: createSection(
        "presets",
        "Presets",
        "Named starting points for a conversation (system prompt, model, temperature, output limit): members pick one with Juggler: New Conversation from Preset….",
        this.presets.element,
      ),
      users: createSection("users", "Users", "Approve new accounts and decide who administers the team.", this.users.element),
      registration: createSection(
        "registration",
        "Registration",
        "Who can create an account on this team server.",
        this.registration.element,
      ),
      prices: createSection(
        "prices",
        "Prices",
        "What each model costs, for the usage figures and the cost budgets. Juggler ships the providers' published prices.",
        this.prices.element,
      ),
      budgets: createSection(
        "budgets",
        "Budgets",
        "Limits on what each member may spend a month and how often they may ask, in Juggler's chat and through API keys.",
        this.budgets.element,
      ),
    };
  }

  start(): void {
    const page = document.createElement("div");
    page.className = "settings-page";
    const header = document.createElement("header");
    header.className = "settings-header";
    const titles = document.createElement("div");
    const title = document.createElement("h1");
    title.textContent = "Team Settings";
    const description = document.createElement("p");
    description.className = "settings-header__description";
    description.textContent = "Providers, models and accounts of your Juggler team server. Changes apply to everyone at once.";
    titles.append(title, description);
    const reload = document.createElement("vscode-button");
    reload.setAttribute("secondary", "");
    reload.setAttribute("icon", "refresh");
    reload.setAttribute("aria-label", "Reload all settings from the server");
    reload.textContent = "Reload";
    reload.addEventListener("click", () => void this.reloadAll());
    header.append(titles, reload);

    this.pageProblem.className = "page-problem";
    this.pageProblem.setAttribute("role", "alert");
    this.pageProblem.hidden = true;
    this.loading.className = "page-loading";
    const ring = document.createElement("vscode-progress-ring");
    ring.setAttribute("aria-label", "Loading team settings");
    this.loading.append(ring, document.createTextNode("Loading team settings…"));

    page.append(header, this.pageProblem, this.loading, ...Object.values(this.sections).map((section) => section.element));
    this.root.classList.add("team-settings-app");
    this.root.replaceChildren(page);

    this.bridge.onNotification("data/invalidated", () => void this.reloadAll());
    this.bridge.command("webview/ready", {});
    void this.reloadAll();
  }

  /** Loads the sections in parallel; each shows as soon as its own answer arrives. */
  private async reloadAll(): Promise<void> {
    if (this.isLoading) return;
    this.isLoading = true;
    this.loading.hidden = false;
    this.pageProblem.hidden = true;
    await Promise.all([
      this.load(this.sections.providers, this.bridge.request("providers/list", {}), ({ providers }) => this.showProviders(providers)),
      this.load(this.sections.models, this.bridge.request("models/list-all", {}), ({ models }) => {
        this.models.setModels(models);
        this.fallbacks.setModels(models);
        this.presets.setModels(models);
      }),
      this.load(this.sections.presets, this.bridge.request("presets/list", {}), ({ presets }) => this.presets.setPresets(presets)),
      this.load(this.sections.fallbacks, this.bridge.request("fallbacks/list", {}), ({ fallbacks }) =>
        this.fallbacks.setFallbacks(fallbacks),
      ),
      this.load(this.sections.users, this.bridge.request("users/list", {}), ({ users }) => this.users.setUsers(users)),
      this.load(this.sections.registration, this.bridge.request("settings/get", {}), ({ registration }) =>
        this.registration.setPolicy(registration),
      ),
      this.load(this.sections.prices, this.bridge.request("prices/list", {}), ({ prices }) => this.prices.setPrices(prices)),
      this.load(this.sections.budgets, this.bridge.request("budgets/get", {}), (budgets) => this.budgets.setBudgets(budgets)),
    ]);
    this.isLoading = false;
    this.loading.hidden = true;
  }

  private async load<Result>(section: SectionFrame, request: Promise<Result>, show: (value: Result) => void): Promise<void> {
    let result: Result;
    try {
      result = await request;
    } catch (error) {
      if (error instanceof HostRequestError && (error.code === "forbidden" || error.code === "unauthenticated")) {
        this.showPageProblem(
          error.code === "forbidden"
            ? "Team Settings are for team admins. Sign in with an admin account to change them."
            : "Sign in to the team server to see its settings.",
        );
        return;
      }
      if (!this.pageProblem.hidden) return;
      section.element.hidden = false;
      section.body.hidden = true;
      this.showSectionProblem(section, error);
      return;
    }
    if (!this.pageProblem.hidden) return;
    section.element.hidden = false;
    section.problem.hidden = true;
    section.body.hidden = false;
    show(result);
  }

  private async reloadProviders(): Promise<void> {
    try {
      const { providers } = await this.bridge.request("providers/list", {});
      this.showProviders(providers);
    } catch {
      // The cards keep what they show; their own action already reported its result.
    }
  }

  private showProviders(providers: readonly Provider[]): void {
    for (const provider of providers) {
      const card = this.providerCards.get(provider.kind);
      if (card) {
        card.setProvider(provider);
        continue;
      }
      const created = new ProviderCard(provider, this.bridge, {
        onModelsRefreshed: (kind, models) => this.fallbacks.setModels(this.models.replaceProviderModels(kind, models)),
        onProviderChanged: () => void this.reloadProviders(),
      });
      this.providerCards.set(provider.kind, created);
      this.providerList.append(created.element);
    }
  }

  private showSectionProblem(section: SectionFrame, error: unknown): void {
    section.problem.hidden = false;
    const text = document.createElement("span");
    text.textContent = `Could not load this section: ${describeRequestFailure(error)}`;
    const retry = document.createElement("vscode-button");
    retry.setAttribute("secondary", "");
    retry.setAttribute("aria-label", "Try loading the settings again");
    retry.textContent = "Try again";
    retry.addEventListener("click", () => void this.reloadAll());
    section.problem.replaceChildren(createIcon("error"), text, retry);
  }

  private showPageProblem(text: string): void {
    this.pageProblem.hidden = false;
    this.pageProblem.replaceChildren(createIcon("shield"), document.createTextNode(text));
    for (const section of Object.values(this.sections)) section.element.hidden = true;
  }
}

function createSection(id: string, title: string, description: string, body: HTMLElement): SectionFrame {
  const element = document.createElement("section");
  element.className = `settings-section settings-section--${id}`;
  element.setAttribute("aria-labelledby", `section-${id}`);
  element.hidden = true;
  const heading = document.createElement("h2");
  heading.id = `section-${id}`;
  heading.textContent = title;
  const text = document.createElement("p");
  text.className = "section__description";
  text.textContent = description;
  const problem = document.createElement("div");
  problem.className = "section__problem";
  problem.setAttribute("role", "alert");
  problem.hidden = true;
  element.append(heading, text, problem, body);
  return { element, body, problem };
}
