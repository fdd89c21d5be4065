import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-checkbox/index.js";
import "@vscode-elements/elements/dist/vscode-textfield/index.js";
import type { VscodeButton } from "@vscode-elements/elements/dist/vscode-button/vscode-button.js";
import type { VscodeCheckbox } from "@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js";
import type { VscodeTextfield } from "@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js";
import type { AdminModel } from "../../../protocol/http/models";
import type { Provider } from "../../../protocol/http/providers";
import { isHttpUrl } from "../../../protocol/parse-http-url";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import { formatDuration } from "../chat/answer-metadata";
import { formatRelativeTime, maskedKeyForDisplay } from "./display-formats";
import { StatusLine } from "./status-line";
import type { TeamSettingsBridge } from "./team-settings-bridge";

export interface ProviderCardEvents {
  /** The provider's models changed (a refresh): the models section shows the new list. */
  onModelsRefreshed(provider: Provider["kind"], models: AdminModel[]): void;
  /** Something the providers list shows (counts, last refresh) may have changed: reload it. */
  onProviderChanged(): void;
}

let nextFieldId = 1;

/** One provider: active toggle, base URL, API key (masked; replace only), Save, Test connection, Refresh models. */
export class ProviderCard {
  readonly element: HTMLElement;
  private readonly activeToggle: VscodeCheckbox;
  private readonly baseUrlField: VscodeTextfield;
  /** The server's base URL as the field was last given it. */
  private shownBaseUrl: string | undefined;
  private readonly keyField: VscodeTextfield | undefined;
  private readonly currentKey: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly refreshInfo: HTMLElement;
  private readonly status = new StatusLine();
  private readonly buttons: VscodeButton[] = [];
  private isBusy = false;

  constructor(
    private provider: Provider,
    private readonly bridge: TeamSettingsBridge,
    private readonly events: ProviderCardEvents,
  ) {
    const id = `provider-${provider.kind}`;
    this.element = document.createElement("section");
    this.element.className = "card provider-card";
    this.element.dataset.provider = provider.kind;
    this.element.setAttribute("aria-labelledby", `${id}-title`);

    const header = document.createElement("div");
    header.className = "card__header";
    const title = document.createElement("h3");
    title.id = `${id}-title`;
    title.className = "card__title";
    title.textContent = provider.label;
    this.summary = document.createElement("span");
    this.summary.className = "card__summary";
    this.activeToggle = document.createElement("vscode-checkbox") as VscodeCheckbox;
    this.activeToggle.toggle = true;
    this.activeToggle.className = "provider-card__active";
    // Shown "Active"; heard "Anthropic Active": three identical names would be ambiguous to a screen reader.
    const hiddenName = document.createElement("span");
    hiddenName.className = "visually-hidden";
    hiddenName.textContent = `${provider.label} `;
    this.activeToggle.append(hiddenName, document.createTextNode("Active"));
    this.activeToggle.addEventListener("change", () => void this.saveActive());
    header.append(title, this.summary, this.activeToggle);

    this.baseUrlField = createTextField(`Base URL of ${provider.label}`, "url");
    this.baseUrlField.classList.add("provider-card__base-url");
    const baseUrlRow = createFieldRow(
      "Base URL",
      this.baseUrlField,
      "Where the team server reaches the provider (change it for a proxy or a self-hosted endpoint).",
    );

    this.currentKey = document.createElement("div");
    this.currentKey.className = "provider-card__current-key";
    const rows = [baseUrlRow];
    if (provider.needsKey) {
      this.keyField = createTextField(`New API key for ${provider.label}`, "password");
      this.keyField.classList.add("provider-card__key");
      this.keyField.placeholder = "Replace key";
      this.keyField.autocomplete = "off";
      const keyRow = createFieldRow(
        "API key",
        this.keyField,
        "Stored encrypted on the team server; only its last 4 characters are ever shown.",
      );
      keyRow.querySelector(".field__control")!.prepend(this.currentKey);
      rows.push(keyRow);
    }

    const actions = document.createElement("div");
    actions.className = "card__actions";
    actions.append(
      this.createButton("Save", `Save ${provider.label} settings`, () => this.save(), { icon: "save" }),
      this.createButton("Test connection", `Test the connection to ${provider.label}`, () => this.testConnection(), {
        icon: "plug",
        secondary: true,
      }),
      this.createButton("Refresh models", `Refresh the models of ${provider.label}`, () => this.refreshModels(), {
        icon: "refresh",
        secondary: true,
      }),
    );
    this.refreshInfo = document.createElement("div");
    this.refreshInfo.className = "provider-card__refresh-info";

    this.element.append(header, ...rows, actions, this.status.element, this.refreshInfo);
    this.render();
  }

  /** New data from the server (after a reload of the list). */
  setProvider(provider: Provider): void {
    this.provider = provider;
    this.render();
  }

  private render(): void {
    const provider = this.provider;
    this.activeToggle.checked = provider.isActive;
    // A reload (after another card's action, or another admin's change) must not wipe an address the
    // admin is typing: the field follows the server only while it still shows what was last shown.
    if (this.shownBaseUrl === undefined || this.baseUrlField.value === this.shownBaseUrl) this.baseUrlField.value = provider.baseUrl;
    this.shownBaseUrl = provider.baseUrl;
    this.summary.textContent = provider.isActive
      ? `${provider.visibleModelCount} of ${provider.modelCount} models visible`
      : "Inactive: members cannot use its models";
    const masked = maskedKeyForDisplay(provider.keyMasked);
    this.currentKey.replaceChildren();
    if (provider.needsKey) {
      if (provider.hasKey && masked) {
        const label = document.createElement("span");
        label.textContent = "Current key ";
        const code = document.createElement("code");
        code.className = "masked-key";
        code.textContent = masked;
        this.currentKey.append(label, code);
      } else {
        this.currentKey.textContent = "No key set: members cannot use this provider until one is added.";
        this.currentKey.classList.add("provider-card__current-key--missing");
      }
      this.currentKey.classList.toggle("provider-card__current-key--missing", !(provider.hasKey && masked));
    }
    const refreshed = provider.lastRefreshedAt
      ? `Models refreshed ${formatRelativeTime(provider.lastRefreshedAt)}.`
      : "Models never refreshed.";
    this.refreshInfo.replaceChildren(document.createTextNode(refreshed));
    if (provider.lastError) {
      const error = document.createElement("span");
      error.className = "provider-card__last-error";
      error.textContent = ` Last error: ${provider.lastError.message}`;
      this.refreshInfo.append(error);
    }
  }

  private async saveActive(): Promise<void> {
    const isActive = this.activeToggle.checked;
    await this.run(isActive ? "Activating…" : "Deactivating…", async () => {
      try {
        const { provider } = await this.bridge.request("provider/update", { kind: this.provider.kind, isActive });
        this.provider = provider;
        this.render();
        this.status.show(
          "success",
          isActive ? `${provider.label} is active.` : `${provider.label} is inactive: members cannot use its models.`,
        );
        this.events.onProviderChanged();
      } catch (error) {
        this.activeToggle.checked = this.provider.isActive;
        this.status.show("error", `Could not change it: ${describeRequestFailure(error)}`);
      }
    });
  }

  private async save(): Promise<void> {
    const changes: { baseUrl?: string; apiKey?: string } = {};
    const baseUrl = (this.baseUrlField.value ?? "").trim();
    if (baseUrl !== this.provider.baseUrl) {
      if (!isHttpUrl(baseUrl)) {
        this.status.show("error", "The base URL must be a full http:// or https:// address.");
        this.baseUrlField.invalid = true;
        return;
      }
      changes.baseUrl = baseUrl;
    }
    this.baseUrlField.invalid = false;
    const apiKey = (this.keyField?.value ?? "").trim();
    if (apiKey.length > 0) changes.apiKey = apiKey;
    if (this.keyField && changes.baseUrl !== undefined && this.provider.hasKey && changes.apiKey === undefined) {
      // the server refuses it too: a stored key is only sent to the address it was saved with
      this.status.show(
        "error",
        "Enter the API key again to change the base URL: the stored key is only sent to the address it was saved with.",
      );
      this.keyField.invalid = true;
      this.keyField.focus();
      return;
    }
    if (this.keyField) this.keyField.invalid = false;
    if (Object.keys(changes).length === 0) {
      this.status.show("info", "Nothing to save: change the base URL or enter a new key first.");
      return;
    }
    await this.run("Saving…", async () => {
      try {
        const { provider } = await this.bridge.request("provider/update", { kind: this.provider.kind, ...changes });
        // The key is never kept in the page once the host has it.
        if (this.keyField) this.keyField.value = "";
        this.provider = provider;
        // What was saved is now the server's: shown as the server normalised it.
        this.shownBaseUrl = undefined;
        this.render();
        this.status.show("success", changes.apiKey ? "Saved. The new key is stored." : "Saved.");
        this.events.onProviderChanged();
      } catch (error) {
        this.status.show("error", `Not saved: ${describeRequestFailure(error)}`);
      }
    });
  }

  private async testConnection(): Promise<void> {
    await this.run(`Testing the connection to ${this.provider.label}…`, async () => {
      try {
        const result = await this.bridge.request("provider/test", { kind: this.provider.kind }, { timeoutMs: 90_000 });
        if (result.ok) {
          const models = result.modelCount === 1 ? "1 model" : `${result.modelCount} models`;
          this.status.show(
            "success",
            `Connected: ${this.provider.label} offers ${models} (answered in ${formatDuration(result.latencyMs)}).`,
          );
        } else {
          this.status.show("error", `Connection failed: ${result.error.message}`);
        }
      } catch (error) {
        this.status.show("error", `Could not test the connection: ${describeRequestFailure(error)}`);
      }
    });
  }

  private async refreshModels(): Promise<void> {
    await this.run(`Asking ${this.provider.label} for its models…`, async () => {
      try {
        const { models } = await this.bridge.request("provider/refresh-models", { kind: this.provider.kind }, { timeoutMs: 90_000 });
        const own = models.filter((model) => model.provider === this.provider.kind);
        this.status.show("success", `Found ${own.length === 1 ? "1 model" : `${own.length} models`}.`);
        this.events.onModelsRefreshed(this.provider.kind, own);
        this.events.onProviderChanged();
      } catch (error) {
        this.status.show("error", `Could not refresh the models: ${describeRequestFailure(error)}`);
        this.events.onProviderChanged();
      }
    });
  }

  /** One action at a time per provider: the buttons are disabled while it runs. */
  private async run(progress: string, action: () => Promise<void>): Promise<void> {
    if (this.isBusy) return;
    this.isBusy = true;
    this.status.show("progress", progress);
    for (const button of this.buttons) button.disabled = true;
    this.activeToggle.disabled = true;
    try {
      await action();
    } finally {
      this.isBusy = false;
      for (const button of this.buttons) button.disabled = false;
      this.activeToggle.disabled = false;
    }
  }

  private createButton(
    text: string,
    label: string,
    onClick: () => Promise<void>,
    options: { icon: string; secondary?: boolean },
  ): VscodeButton {
    const button = document.createElement("vscode-button") as VscodeButton;
    button.textContent = text;
    button.setAttribute("aria-label", label);
    button.setAttribute("icon", options.icon);
    if (options.secondary) button.setAttribute("secondary", "");
    button.addEventListener("click", () => void onClick());
    this.buttons.push(button);
    return button;
  }
}

function createTextField(label: string, type: "url" | "password" | "text"): VscodeTextfield {
  const field = document.createElement("vscode-textfield") as VscodeTextfield;
  field.type = type;
  field.label = label;
  field.id = `field-${nextFieldId++}`;
  return field;
}

function createFieldRow(labelText: string, control: HTMLElement, help: string): HTMLElement {
  const row = document.createElement("div");
  row.className = "field";
  const label = document.createElement("div");
  label.className = "field__label";
  label.textContent = labelText;
  const controlBox = document.createElement("div");
  controlBox.className = "field__control";
  const helpText = document.createElement("div");
  helpText.className = "field__help";
  helpText.textContent = help;
  controlBox.append(control, helpText);
  row.append(label, controlBox);
  return row;
}
