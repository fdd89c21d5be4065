import type { AdminModel } from "../../../protocol/http/models";
import { PRESET_NAME_MAX_LENGTH, SYSTEM_PROMPT_MAX_CHARACTERS, type Preset } from "../../../protocol/http/prompts";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import { StatusLine } from "./status-line";
import type { TeamSettingsBridge } from "./team-settings-bridge";

let nextFieldNumber = 1;

/**
 * The team's presets: named starting points for a conversation (system prompt, model, temperature,
 * output limit) that members pick with "New Conversation from Preset…". A list with Delete, and a form
 * to add one. Native form controls (labelled, keyboard-first), styled by the theme.
 */
export class PresetsSection {
  readonly element: HTMLElement;
  private readonly list: HTMLElement;
  private readonly status = new StatusLine();
  private readonly modelSelect: HTMLSelectElement;
  private readonly nameInput: HTMLInputElement;
  private readonly promptInput: HTMLTextAreaElement;
  private readonly temperatureInput: HTMLInputElement;
  private readonly maxTokensInput: HTMLInputElement;
  private readonly addButton: HTMLButtonElement;
  private readonly cancelButton: HTMLButtonElement;
  private models: AdminModel[] = [];
  /** The preset the form is editing; null: the form adds a new one. */
  private editing: Preset | null = null;

  constructor(private readonly bridge: TeamSettingsBridge) {
    this.element = document.createElement("div");
    this.element.className = "presets-section";
    this.list = document.createElement("ul");
    this.list.className = "presets-section__list";
    this.list.setAttribute("aria-label", "Presets");

    const form = document.createElement("form");
    form.className = "presets-section__form";
    form.setAttribute("aria-label", "Add a preset");
    this.nameInput = document.createElement("input");
    this.nameInput.required = true;
    this.nameInput.maxLength = PRESET_NAME_MAX_LENGTH;
    this.promptInput = document.createElement("textarea");
    this.promptInput.rows = 4;
    this.promptInput.maxLength = SYSTEM_PROMPT_MAX_CHARACTERS;
    this.modelSelect = document.createElement("select");
    this.temperatureInput = document.createElement("input");
    this.temperatureInput.type = "number";
    this.temperatureInput.min = "0";
    this.temperatureInput.max = "1";
    this.temperatureInput.step = "0.1";
    this.maxTokensInput = document.createElement("input");
    this.maxTokensInput.type = "number";
    this.maxTokensInput.min = "1";
    this.maxTokensInput.step = "1";
    const add = document.createElement("button");
    add.type = "submit";
    add.className = "presets-section__add";
    add.textContent = "Add Preset";
    this.addButton = add;
    this.cancelButton = document.createElement("button");
    this.cancelButton.type = "button";
    this.cancelButton.className = "presets-section__delete presets-section__cancel";
    this.cancelButton.textContent = "Cancel";
    this.cancelButton.hidden = true;
    this.cancelButton.addEventListener("click", () => this.stopEditing());
    const buttons = document.createElement("div");
    buttons.className = "presets-section__buttons";
    buttons.append(add, this.cancelButton);
    form.append(
      field("Name", this.nameInput),
      field("System prompt (empty: the default)", this.promptInput),
      field("Model (optional)", this.modelSelect),
      field("Temperature, 0–1 (empty: the model's)", this.temperatureInput),
      field("Max output tokens (empty: the model's)", this.maxTokensInput),
      buttons,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.create();
    });
    this.element.append(this.list, form, this.status.element);
    this.renderModels();
  }

  setModels(models: AdminModel[]): void {
    this.models = models.filter((model) => model.isVisible);
    this.renderModels();
  }

  setPresets(presets: Preset[]): void {
    if (presets.length === 0) {
      const empty = document.createElement("li");
      empty.className = "presets-section__empty";
      empty.textContent = "No presets yet.";
      this.list.replaceChildren(empty);
      return;
    }
    this.list.replaceChildren(
      ...presets.map((preset) => {
        const item = document.createElement("li");
        item.className = "presets-section__preset";
        item.dataset.presetId = preset.id;
        const name = document.createElement("strong");
        name.textContent = preset.name;
        const detail = document.createElement("span");
        detail.className = "presets-section__detail";
        const parts = [
          preset.modelId ?? "any model",
          preset.temperature === null ? undefined : `temperature ${preset.temperature}`,
          preset.maxOutputTokens === null ? undefined : `${preset.maxOutputTokens.toLocaleString("en-US")} output tokens`,
          preset.systemPrompt === null
            ? "default system prompt"
            : `“${preset.systemPrompt.slice(0, 80)}${preset.systemPrompt.length > 80 ? "…" : ""}”`,
        ];
        detail.textContent = parts.filter((part) => part !== undefined).join(" · ");
        const edit = document.createElement("button");
        edit.type = "button";
        edit.className = "presets-section__delete presets-section__edit";
        edit.textContent = "Edit";
        edit.setAttribute("aria-label", `Edit preset ${preset.name}`);
        edit.addEventListener("click", () => this.startEditing(preset));
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "presets-section__delete";
        remove.textContent = "Delete";
        remove.setAttribute("aria-label", `Delete preset ${preset.name}`);
        remove.addEventListener("click", () => void this.delete(preset));
        item.append(name, detail, edit, remove);
        return item;
      }),
    );
  }

  private renderModels(): void {
    const none = new Option("Any (the member's current model)", "");
    this.modelSelect.replaceChildren(none, ...this.models.map((model) => new Option(model.displayName, model.id)));
  }

  /** The form shows the preset's values; submitting saves them over it (Cancel goes back to adding). */
  private startEditing(preset: Preset): void {
    this.editing = preset;
    this.nameInput.value = preset.name;
    this.promptInput.value = preset.systemPrompt ?? "";
    // a model hidden since stays chosen: the preset keeps it unless the admin picks another
    if (preset.modelId !== null && ![...this.modelSelect.options].some((option) => option.value === preset.modelId))
      this.modelSelect.append(new Option(preset.modelId, preset.modelId));
    this.modelSelect.value = preset.modelId ?? "";
    this.temperatureInput.value = preset.temperature === null ? "" : String(preset.temperature);
    this.maxTokensInput.value = preset.maxOutputTokens === null ? "" : String(preset.maxOutputTokens);
    this.addButton.textContent = "Save Preset";
    this.cancelButton.hidden = false;
    this.status.show("info", `Editing ${preset.name}: Save Preset keeps the changes, Cancel drops them.`);
    this.nameInput.focus();
  }

  private stopEditing(): void {
    this.editing = null;
    this.clearForm();
    this.status.clear();
  }

  private clearForm(): void {
    this.nameInput.value = "";
    this.promptInput.value = "";
    this.modelSelect.value = "";
    this.temperatureInput.value = "";
    this.maxTokensInput.value = "";
    this.addButton.textContent = "Add Preset";
    this.cancelButton.hidden = true;
  }

  private async create(): Promise<void> {
    const temperature = this.temperatureInput.value.trim();
    const maxTokens = this.maxTokensInput.value.trim();
    const values = {
      name: this.nameInput.value,
      systemPrompt: this.promptInput.value.trim() === "" ? null : this.promptInput.value,
      modelId: this.modelSelect.value === "" ? null : this.modelSelect.value,
      temperature: temperature === "" ? null : Number(temperature),
      maxOutputTokens: maxTokens === "" ? null : Number(maxTokens),
    };
    const editing = this.editing;
    this.status.show("progress", "Saving…");
    try {
      if (editing) await this.bridge.request("preset/update", { presetId: editing.id, ...values });
      else await this.bridge.request("preset/create", values);
      this.editing = null;
      this.clearForm();
      await this.reload();
      this.status.show("success", editing ? `Saved ${values.name.trim()}.` : "Preset added.");
    } catch (error) {
      this.status.show("error", `Not saved: ${describeRequestFailure(error)}`);
    }
  }

  private async delete(preset: Preset): Promise<void> {
    this.status.show("progress", "Deleting…");
    try {
      await this.bridge.request("preset/delete", { presetId: preset.id });
      await this.reload();
      this.status.show("success", `Deleted ${preset.name}.`);
    } catch (error) {
      this.status.show("error", `Not deleted: ${describeRequestFailure(error)}`);
    }
  }

  private async reload(): Promise<void> {
    this.setPresets((await this.bridge.request("presets/list", {})).presets);
  }
}

function field(labelText: string, control: HTMLElement): HTMLElement {
  const id = `preset-field-${nextFieldNumber++}`;
  control.id = id;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = labelText;
  const wrapper = document.createElement("div");
  wrapper.className = "presets-section__field";
  wrapper.append(label, control);
  return wrapper;
}
