import "@vscode-elements/elements/dist/vscode-button/index.js";
import { MODEL_FALLBACKS_MAX, type AdminModel, type ModelFallbacks } from "../../../protocol/http/models";
import { providerLabels } from "../../../protocol/http/providers";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import { StatusLine } from "./status-line";
import type { TeamSettingsBridge } from "./team-settings-bridge";

let nextFieldNumber = 1;

/**
 * Fallback models: per model, the models that answer in its place (in order) when it cannot. One
 * form adds a fallback to a model; each model's list can be reordered and trimmed. Native selects,
 * styled with the theme: they are what screen readers and the keyboard know best.
 */
export class FallbacksSection {
  readonly element: HTMLElement;
  private readonly modelSelect: HTMLSelectElement;
  private readonly fallbackSelect: HTMLSelectElement;
  private readonly addButton: HTMLElement & { disabled: boolean };
  private readonly list: HTMLElement;
  private readonly status = new StatusLine();
  private models: AdminModel[] = [];
  private fallbacks: ModelFallbacks[] = [];
  private isSaving = false;

  constructor(private readonly bridge: TeamSettingsBridge) {
    this.element = document.createElement("div");
    this.element.className = "fallbacks-section";
    const form = document.createElement("div");
    form.className = "fallbacks-form";
    this.modelSelect = createSelect("fallbacks-form__model");
    this.fallbackSelect = createSelect("fallbacks-form__fallback");
    this.modelSelect.addEventListener("change", () => this.renderFallbackChoices());
    this.addButton = document.createElement("vscode-button") as HTMLElement & { disabled: boolean };
    this.addButton.setAttribute("icon", "add");
    this.addButton.setAttribute("aria-label", "Add this fallback");
    this.addButton.textContent = "Add fallback";
    this.addButton.addEventListener("click", () => void this.addFallback());
    form.append(labelled("Model", this.modelSelect), labelled("Falls back to", this.fallbackSelect), this.addButton);
    this.list = document.createElement("ul");
    this.list.className = "fallback-list";
    this.list.setAttribute("aria-label", "Fallbacks per model");
    this.element.append(form, this.status.element, this.list);
  }

  /** The models an admin can choose from (visible ones: hidden models cannot answer). */
  setModels(models: readonly AdminModel[]): void {
    this.models = models.filter((model) => model.isVisible && model.isAvailable);
    this.render();
  }

  setFallbacks(fallbacks: readonly ModelFallbacks[]): void {
    this.fallbacks = [...fallbacks];
    this.render();
  }

  private render(): void {
    const chosen = this.modelSelect.value;
    this.modelSelect.replaceChildren(...this.models.map((model) => createOption(model.id, this.describeModel(model.id))));
    if (this.models.some((model) => model.id === chosen)) this.modelSelect.value = chosen;
    this.renderFallbackChoices();
    this.renderList();
  }

  /** Every visible model but the chosen one and those it already falls back to. */
  private renderFallbackChoices(): void {
    const modelId = this.modelSelect.value;
    const taken = new Set([modelId, ...this.fallbacksOf(modelId)]);
    const chosen = this.fallbackSelect.value;
    const choices = this.models.filter((model) => !taken.has(model.id));
    this.fallbackSelect.replaceChildren(...choices.map((model) => createOption(model.id, this.describeModel(model.id))));
    if (choices.some((model) => model.id === chosen)) this.fallbackSelect.value = chosen;
    this.addButton.disabled = choices.length === 0 || this.fallbacksOf(modelId).length >= MODEL_FALLBACKS_MAX;
  }

  private renderList(): void {
    const items = this.fallbacks
      .filter((entry) => entry.fallbackModelIds.length > 0)
      .map((entry) => this.createEntry(entry.modelId, entry.fallbackModelIds));
    if (items.length === 0) {
      const empty = document.createElement("li");
      empty.className = "fallback-list__empty";
      empty.textContent = "No fallbacks yet: a model that cannot answer shows its error.";
      items.push(empty);
    }
    this.list.replaceChildren(...items);
  }

  private createEntry(modelId: string, fallbackModelIds: readonly string[]): HTMLElement {
    const entry = document.createElement("li");
    entry.className = "fallback-entry";
    entry.dataset.modelId = modelId;
    const title = document.createElement("div");
    title.className = "fallback-entry__title";
    const name = document.createElement("strong");
    name.textContent = this.describeModel(modelId);
    title.append(name, document.createTextNode(" falls back to"));
    const order = document.createElement("ol");
    order.className = "fallback-entry__order";
    order.setAttribute("aria-label", `Fallbacks of ${this.describeModel(modelId)}, in the order they are tried`);
    fallbackModelIds.forEach((fallbackId, index) => {
      const item = document.createElement("li");
      item.className = "fallback-entry__item";
      item.dataset.fallbackModelId = fallbackId;
      const label = document.createElement("span");
      label.className = "fallback-entry__name";
      label.textContent = this.describeModel(fallbackId);
      const what = `${this.describeModel(fallbackId)} in the fallbacks of ${this.describeModel(modelId)}`;
      const up = createIconButton("arrow-up", `Move ${what} up`, () => void this.save(modelId, move(fallbackModelIds, index, -1)));
      up.disabled = index === 0;
      const down = createIconButton("arrow-down", `Move ${what} down`, () => void this.save(modelId, move(fallbackModelIds, index, 1)));
      down.disabled = index === fallbackModelIds.length - 1;
      const remove = createIconButton(
        "close",
        `Remove ${what}`,
        () =>
          void this.save(
            modelId,
            fallbackModelIds.filter((id) => id !== fallbackId),
          ),
      );
      item.append(label, up, down, remove);
      order.append(item);
    });
    entry.append(title, order);
    return entry;
  }

  private async addFallback(): Promise<void> {
    const modelId = this.modelSelect.value;
    const fallbackId = this.fallbackSelect.value;
    if (!modelId || !fallbackId) return;
    await this.save(modelId, [...this.fallbacksOf(modelId), fallbackId]);
  }

  private async save(modelId: string, fallbackModelIds: string[]): Promise<void> {
    if (this.isSaving) return;
    this.isSaving = true;
    this.status.show("progress", "Saving…");
    try {
      const { fallbacks } = await this.bridge.request("fallbacks/set", { modelId, fallbackModelIds });
      this.setFallbacks(fallbacks);
      this.status.show(
        "success",
        fallbackModelIds.length === 0
          ? `${this.describeModel(modelId)} has no fallback now.`
          : `${this.describeModel(modelId)} falls back to ${fallbackModelIds.map((id) => this.describeModel(id)).join(", then ")}.`,
      );
    } catch (error) {
      this.status.show("error", `Not saved: ${describeRequestFailure(error)}`);
    } finally {
      this.isSaving = false;
    }
  }

  private fallbacksOf(modelId: string): readonly string[] {
    return this.fallbacks.find((entry) => entry.modelId === modelId)?.fallbackModelIds ?? [];
  }

  /** "Claude Sonnet 4.5 (Anthropic)"; a model no longer in the list keeps its id. */
  private describeModel(modelId: string): string {
    const model = this.models.find((candidate) => candidate.id === modelId);
    return model ? `${model.displayName} (${providerLabels[model.provider]})` : modelId;
  }
}

function move(ids: readonly string[], index: number, by: -1 | 1): string[] {
  const moved = [...ids];
  const [item] = moved.splice(index, 1);
  moved.splice(index + by, 0, item!);
  return moved;
}

function createSelect(className: string): HTMLSelectElement {
  const select = document.createElement("select");
  select.className = `select ${className}`;
  select.id = `fallback-field-${nextFieldNumber++}`;
  return select;
}

function labelled(text: string, control: HTMLSelectElement): HTMLElement {
  const label = document.createElement("label");
  label.className = "fallbacks-form__field";
  label.htmlFor = control.id;
  const caption = document.createElement("span");
  caption.textContent = text;
  label.append(caption, control);
  return label;
}

function createOption(value: string, text: string): HTMLOptionElement {
  const option = document.createElement("option");
  option.value = value;
  option.textContent = text;
  return option;
}

function createIconButton(icon: string, label: string, onClick: () => void): HTMLElement & { disabled: boolean } {
  const button = document.createElement("vscode-button") as HTMLElement & { disabled: boolean };
  button.setAttribute("secondary", "");
  button.setAttribute("icon", icon);
  button.setAttribute("aria-label", label);
  button.title = label;
  button.className = "fallback-entry__action";
  button.addEventListener("click", onClick);
  return button;
}
