import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-checkbox/index.js";
import "@vscode-elements/elements/dist/vscode-textfield/index.js";
import type { VscodeCheckbox } from "@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js";
import type { VscodeTextfield } from "@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js";
import type { AdminModel } from "../../../protocol/http/models";
import { type ProviderKind, providerKinds, providerLabels } from "../../../protocol/http/providers";
import { createIcon } from "../create-icon";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import { formatContextWindow } from "./display-formats";
import { StatusLine } from "./status-line";
import type { TeamSettingsBridge } from "./team-settings-bridge";

/** The server takes at most this many changes in one request. */
const MAX_CHANGES_PER_REQUEST = 1000;

/** Which models members may pick: one checkbox per model, grouped by provider, with a filter. */
export class ModelsSection {
  readonly element: HTMLElement;
  private readonly filterField: VscodeTextfield;
  private readonly groups: HTMLElement;
  private readonly status = new StatusLine();
  private models: AdminModel[] = [];

  constructor(
    private readonly bridge: TeamSettingsBridge,
    /** Called with every model after some were shown or hidden. */
    private readonly onVisibilityChanged: (models: readonly AdminModel[]) => void,
  ) {
    this.element = document.createElement("div");
    this.element.className = "models-section";
    this.filterField = document.createElement("vscode-textfield") as VscodeTextfield;
    this.filterField.className = "models-section__filter";
    this.filterField.placeholder = "Filter models";
    this.filterField.label = "Filter models";
    const searchIcon = createIcon("search");
    searchIcon.slot = "content-before";
    this.filterField.append(searchIcon);
    this.filterField.addEventListener("input", () => this.render());
    this.groups = document.createElement("div");
    this.groups.className = "model-groups";
    this.element.append(this.filterField, this.status.element, this.groups);
  }

  setModels(models: readonly AdminModel[]): void {
    this.models = [...models];
    this.render();
  }

  /** Replaces one provider's models (after "Refresh models"); returns every model now listed. */
  replaceProviderModels(kind: ProviderKind, models: readonly AdminModel[]): readonly AdminModel[] {
    this.models = [...this.models.filter((model) => model.provider !== kind), ...models];
    this.render();
    return this.models;
  }

  private render(): void {
    const filter = (this.filterField.value ?? "").trim().toLowerCase();
    const matches = (model: AdminModel) =>
      filter.length === 0 || [model.displayName, model.name, model.id].some((text) => text.toLowerCase().includes(filter));
    const groups: HTMLElement[] = [];
    for (const kind of providerKinds) {
      const all = this.models.filter((model) => model.provider === kind);
      if (all.length === 0) continue;
      const shown = all.filter(matches).sort((first, second) => first.displayName.localeCompare(second.displayName));
      groups.push(this.createGroup(kind, all, shown));
    }
    if (groups.length === 0) {
      const empty = document.createElement("p");
      empty.className = "section__empty";
      empty.textContent =
        this.models.length === 0 ? "No models yet. Activate a provider above and press Refresh models." : "No model matches the filter.";
      groups.push(empty);
    }
    this.groups.replaceChildren(...groups);
  }

  private createGroup(kind: ProviderKind, all: readonly AdminModel[], shown: readonly AdminModel[]): HTMLElement {
    const label = providerLabels[kind];
    const group = document.createElement("section");
    group.className = "model-group";
    group.dataset.provider = kind;
    group.setAttribute("aria-label", `${label} models`);

    const header = document.createElement("div");
    header.className = "model-group__header";
    const title = document.createElement("h3");
    title.textContent = label;
    const count = document.createElement("span");
    count.className = "model-group__count";
    count.textContent = `${all.filter((model) => model.isVisible).length} of ${all.length} visible`;
    const showAll = createSmallButton("Show all", `Show all listed ${label} models`, () => void this.setVisibility(shown, true));
    const hideAll = createSmallButton("Hide all", `Hide all listed ${label} models`, () => void this.setVisibility(shown, false));
    showAll.disabled = hideAll.disabled = shown.length === 0;
    header.append(title, count, showAll, hideAll);

    const list = document.createElement("ul");
    list.className = "model-list";
    for (const model of shown) list.append(this.createRow(model));
    if (shown.length === 0) {
      const none = document.createElement("li");
      none.className = "model-list__none";
      none.textContent = "No model of this provider matches the filter.";
      list.append(none);
    }
    group.append(header, list);
    return group;
  }

  private createRow(model: AdminModel): HTMLElement {
    const row = document.createElement("li");
    row.className = "model-row";
    row.dataset.modelId = model.id;
    const checkbox = document.createElement("vscode-checkbox") as VscodeCheckbox;
    checkbox.className = "model-row__checkbox";
    checkbox.checked = model.isVisible;
    checkbox.label = model.displayName;
    checkbox.addEventListener("change", () => void this.setVisibility([model], checkbox.checked, checkbox));
    const name = document.createElement("code");
    name.className = "model-row__name";
    name.textContent = model.name;
    const context = document.createElement("span");
    context.className = "model-row__context";
    context.textContent = formatContextWindow(model.contextWindow);
    // The badge cell is always there (empty when available) so the columns line up.
    const availability = document.createElement("span");
    availability.className = "model-row__availability";
    if (!model.isAvailable) {
      const badge = document.createElement("span");
      badge.className = "pill pill--warning";
      badge.textContent = "No longer offered";
      badge.title = "The provider did not list this model at the last refresh";
      availability.append(badge);
    }
    row.append(checkbox, name, context, availability);
    return row;
  }

  private async setVisibility(models: readonly AdminModel[], isVisible: boolean, checkbox?: VscodeCheckbox): Promise<void> {
    const changes = models.filter((model) => model.isVisible !== isVisible).map((model) => ({ id: model.id, isVisible }));
    if (changes.length === 0) return;
    this.status.show("progress", "Saving…");
    try {
      for (let start = 0; start < changes.length; start += MAX_CHANGES_PER_REQUEST) {
        const { models: updated } = await this.bridge.request("models/set-visibility", {
          changes: changes.slice(start, start + MAX_CHANGES_PER_REQUEST),
        });
        const updatedById = new Map(updated.map((model) => [model.id, model]));
        this.models = this.models.map((model) => updatedById.get(model.id) ?? model);
      }
      const what =
        changes.length === 1 ? (models.find((model) => model.id === changes[0]!.id)?.displayName ?? "1 model") : `${changes.length} models`;
      this.status.show("success", `${what} ${isVisible ? "now visible to members" : "hidden from members"}.`);
      this.onVisibilityChanged(this.models);
    } catch (error) {
      if (checkbox) checkbox.checked = !isVisible;
      this.status.show("error", `Not saved: ${describeRequestFailure(error)}`);
    }
    this.render();
  }
}

function createSmallButton(text: string, label: string, onClick: () => void): HTMLElement & { disabled: boolean } {
  const button = document.createElement("vscode-button") as HTMLElement & { disabled: boolean };
  button.setAttribute("secondary", "");
  button.className = "model-group__action";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}
