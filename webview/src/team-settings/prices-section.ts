import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { ModelPrice } from "../../../protocol/http/prices";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import { StatusLine } from "./status-line";
import type { TeamSettingsBridge } from "./team-settings-bridge";

const PRICE_FIELDS = [
  { key: "inputUsdPerMillionTokens", label: "Input" },
  { key: "outputUsdPerMillionTokens", label: "Output" },
  { key: "cachedInputUsdPerMillionTokens", label: "Cached input" },
] as const;

/**
 * Each catalog model's price in US dollars per million tokens (input, output, cached input), where it
 * comes from (Juggler's default with the day it was taken, or an admin's), and a way to set it from
 * now on. Answers already recorded keep their cost.
 */
export class PricesSection {
  readonly element = document.createElement("div");
  private readonly table = document.createElement("table");
  private readonly status = new StatusLine();

  constructor(private readonly bridge: TeamSettingsBridge) {
    this.element.className = "prices-section";
    this.table.className = "settings-table prices-table";
    const note = document.createElement("p");
    note.className = "field__help";
    note.textContent = "US dollars per million tokens. A new price applies to answers from now on; earlier answers keep their cost.";
    this.element.append(note, this.table, this.status.element);
  }

  setPrices(prices: readonly ModelPrice[]): void {
    const caption = document.createElement("caption");
    caption.className = "visually-hidden";
    caption.textContent = "Model prices";
    const head = document.createElement("thead");
    const headRow = document.createElement("tr");
    for (const text of ["Model", ...PRICE_FIELDS.map((field) => `${field.label} $/M`), "Source", ""]) {
      const cell = document.createElement("th");
      cell.scope = "col";
      cell.textContent = text;
      headRow.append(cell);
    }
    head.append(headRow);
    const body = document.createElement("tbody");
    for (const price of prices) body.append(this.createRow(price));
    this.table.replaceChildren(caption, head, body);
  }

  private createRow(price: ModelPrice): HTMLTableRowElement {
    const row = document.createElement("tr");
    row.dataset.modelId = price.modelId;
    const name = document.createElement("th");
    name.scope = "row";
    const title = document.createElement("span");
    title.textContent = price.displayName;
    const id = document.createElement("span");
    id.className = "prices-table__model-id";
    id.textContent = price.modelId;
    name.append(title, document.createElement("br"), id);
    row.append(name);
    const inputs = PRICE_FIELDS.map((field) => {
      const cell = document.createElement("td");
      const input = document.createElement("input");
      input.type = "number";
      input.min = "0";
      input.step = "any";
      input.className = "price-input";
      input.dataset.field = field.key;
      input.setAttribute("aria-label", `${field.label} price of ${price.displayName}, dollars per million tokens`);
      input.value = price.current ? String(price.current[field.key]) : "";
      input.placeholder = "not set";
      cell.append(input);
      row.append(cell);
      return input;
    });
    const source = document.createElement("td");
    source.className = "prices-table__source";
    source.textContent = describeSource(price);
    row.append(source);
    const actions = document.createElement("td");
    const save = document.createElement("vscode-button");
    save.setAttribute("secondary", "");
    save.setAttribute("aria-label", `Save the price of ${price.displayName}`);
    save.textContent = "Save";
    save.hidden = true;
    actions.append(save);
    row.append(actions);
    const original = inputs.map((input) => input.value);
    for (const input of inputs) {
      input.addEventListener("input", () => {
        save.hidden = inputs.every((entry, index) => entry.value === original[index]);
      });
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !save.hidden) void this.save(price, inputs, row);
      });
    }
    save.addEventListener("click", () => void this.save(price, inputs, row));
    return row;
  }

  private async save(price: ModelPrice, inputs: HTMLInputElement[], row: HTMLTableRowElement): Promise<void> {
    const [input, output, cached] = inputs.map((entry) => entry.value.trim());
    const inputPrice = Number(input);
    const outputPrice = Number(output);
    if (input === "" || output === "" || !(inputPrice >= 0) || !(outputPrice >= 0)) {
      this.status.show("error", `${price.displayName}: give input and output prices (0 or more).`);
      return;
    }
    const cachedPrice = cached === "" ? undefined : Number(cached);
    if (cachedPrice !== undefined && !(cachedPrice >= 0)) {
      this.status.show("error", `${price.displayName}: the cached input price must be 0 or more.`);
      return;
    }
    this.status.show("progress", `Saving the price of ${price.displayName}…`);
    try {
      const saved = await this.bridge.request("prices/set", {
        modelId: price.modelId,
        inputUsdPerMillionTokens: inputPrice,
        outputUsdPerMillionTokens: outputPrice,
        ...(cachedPrice === undefined ? {} : { cachedInputUsdPerMillionTokens: cachedPrice }),
      });
      row.replaceWith(this.createRow(saved));
      this.status.show("success", `${price.displayName}: the new price applies from now on.`);
    } catch (error) {
      this.status.show("error", `Not saved: ${describeRequestFailure(error)}`);
    }
  }
}

function describeSource(price: ModelPrice): string {
  const current = price.current;
  const scheduled =
    price.scheduled.length > 0 ? ` · ${price.scheduled.length} later price${price.scheduled.length === 1 ? "" : "s"} scheduled` : "";
  if (!current) return `No price: its answers have no cost${scheduled}`;
  if (current.source === "default") return `Juggler's default, taken ${current.takenOn ?? "from the provider's list"}${scheduled}`;
  return `Set by an admin, from ${current.effectiveFrom?.slice(0, 10) ?? "now"}${scheduled}`;
}
