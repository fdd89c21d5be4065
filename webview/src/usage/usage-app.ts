import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import type { UsageDimension, UsageResponse, UsageRow } from "../../../protocol/http/usage";
import type { UsageViewer } from "../../../protocol/webview/usage-protocol";
import { createIcon } from "../create-icon";
import { describeRequestFailure } from "../host-bridge/host-request-error";
import type { UsageBridge } from "./usage-bridge";
import { UsageChart } from "./usage-chart";
import { buildUsageCsv } from "./usage-csv";
import {
  formatPeriod,
  periodsOf,
  resolveUsageRange,
  usageRangeKinds,
  usageRangeLabels,
  type UsageRange,
  type UsageRangeKind,
} from "./usage-range";
import {
  buildUsageSeries,
  groupLabel,
  metricValue,
  usageDimensionLabels,
  usageMetricLabels,
  usageMetrics,
  type UsageMetric,
} from "./usage-series";

const integerFormat = new Intl.NumberFormat("en-US");
const compactFormat = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

interface Loaded {
  range: UsageRange;
  dimension: UsageDimension;
  /** By period and group: the chart and the CSV. */
  detail: UsageResponse;
  /** By group over the whole range: the table. */
  byGroup: UsageResponse;
}

/**
 * "Juggler: Show Usage": a range (today … custom), a metric and a grouping; a stacked bar chart over
 * time, the totals, a table by group below, and a CSV export of the rows shown. Everything comes
 * through the host; the server decides whose figures a caller may see.
 */
export class UsageApp {
  private viewer: UsageViewer | undefined;
  private rangeKind: UsageRangeKind = "30-days";
  private metric: UsageMetric = "tokens";
  private dimension: UsageDimension = "model";
  private userId = "";
  private loaded: Loaded | undefined;
  private loadGeneration = 0;

  private readonly rangeButtons = new Map<UsageRangeKind, HTMLButtonElement>();
  private readonly customFrom = document.createElement("input");
  private readonly customTo = document.createElement("input");
  private readonly customFields = document.createElement("span");
  private readonly metricSelect = document.createElement("select");
  private readonly dimensionSelect = document.createElement("select");
  private readonly userSelect = document.createElement("select");
  private readonly userField = document.createElement("label");
  private readonly exportButton = document.createElement("vscode-button");
  private readonly totals = document.createElement("p");
  private readonly status = document.createElement("div");
  private readonly chartElement = document.createElement("div");
  private readonly empty = document.createElement("p");
  private readonly table = document.createElement("table");
  private readonly description = document.createElement("p");
  private chart: UsageChart | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly bridge: UsageBridge,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.root.append(this.buildPage());
    this.chart = new UsageChart(this.chartElement);
    this.bridge.onNotification("data/invalidated", () => void this.loadViewer());
    this.bridge.command("webview/ready", {});
    void this.loadViewer();
  }

  private buildPage(): HTMLElement {
    const page = document.createElement("main");
    page.className = "usage-page";
    const header = document.createElement("header");
    header.className = "usage-header";
    const title = document.createElement("h1");
    title.textContent = "Usage";
    this.description.className = "usage-header__description";
    this.description.textContent = "Tokens, cost and requests of your answers.";
    header.append(title, this.description);

    const toolbar = document.createElement("div");
    toolbar.className = "usage-toolbar";
    const ranges = document.createElement("div");
    ranges.className = "usage-ranges";
    ranges.setAttribute("role", "radiogroup");
    ranges.setAttribute("aria-label", "Period");
    for (const kind of usageRangeKinds) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "usage-range";
      button.textContent = usageRangeLabels[kind];
      button.dataset.range = kind;
      button.setAttribute("role", "radio");
      button.addEventListener("click", () => this.chooseRange(kind));
      button.addEventListener("keydown", (event) => this.moveRangeFocus(event, kind));
      this.rangeButtons.set(kind, button);
      ranges.append(button);
    }
    this.customFields.className = "usage-custom";
    for (const [input, label] of [
      [this.customFrom, "From"],
      [this.customTo, "To"],
    ] as const) {
      input.type = "date";
      input.className = "usage-date";
      input.setAttribute("aria-label", `${label} (UTC day)`);
      input.addEventListener("change", () => void this.load());
    }
    const to = document.createElement("span");
    to.textContent = "to";
    this.customFields.append(this.customFrom, to, this.customTo);

    fillSelect(
      this.metricSelect,
      usageMetrics.map((metric) => [metric, usageMetricLabels[metric]]),
      this.metric,
    );
    this.metricSelect.addEventListener("change", () => {
      this.metric = this.metricSelect.value as UsageMetric;
      this.render();
    });
    this.dimensionSelect.addEventListener("change", () => {
      this.dimension = this.dimensionSelect.value as UsageDimension;
      void this.load();
    });
    this.userSelect.addEventListener("change", () => {
      this.userId = this.userSelect.value;
      void this.load();
    });
    this.metricSelect.className = "usage-metric";
    this.dimensionSelect.className = "usage-dimension";
    this.userSelect.className = "usage-user";
    this.exportButton.setAttribute("secondary", "");
    this.exportButton.className = "usage-export";
    this.exportButton.setAttribute("icon", "desktop-download");
    this.exportButton.textContent = "Export CSV";
    this.exportButton.addEventListener("click", () => void this.exportCsv());

    this.userField.className = "usage-field";
    this.userField.append(document.createTextNode("Person "), this.userSelect);
    this.userField.hidden = true;
    toolbar.append(
      ranges,
      this.customFields,
      labelled("Show", this.metricSelect),
      labelled("By", this.dimensionSelect),
      this.userField,
      this.exportButton,
    );

    this.totals.className = "usage-totals";
    this.totals.setAttribute("aria-live", "polite");
    this.status.className = "usage-status";
    this.status.setAttribute("role", "status");
    this.chartElement.className = "usage-chart";
    this.empty.className = "usage-empty";
    this.empty.textContent = "No answers in this period.";
    this.empty.hidden = true;
    this.table.className = "usage-table";
    page.append(header, toolbar, this.status, this.totals, this.chartElement, this.empty, this.table);
    this.updateControls();
    return page;
  }

  private async loadViewer(): Promise<void> {
    try {
      this.viewer = await this.bridge.request("viewer/get", {});
    } catch (error) {
      this.showProblem(describeRequestFailure(error));
      return;
    }
    const isAdmin = this.viewer.isAdmin;
    this.description.textContent = isAdmin
      ? "Tokens, cost and requests of the team's answers, in Juggler's chat and through API keys."
      : "Tokens, cost and requests of your answers, in Juggler's chat and through your API keys.";
    const dimensions: UsageDimension[] = isAdmin ? ["model", "provider", "client", "user"] : ["model", "provider", "client"];
    if (!dimensions.includes(this.dimension)) this.dimension = "model";
    fillSelect(
      this.dimensionSelect,
      dimensions.map((dimension) => [dimension, usageDimensionLabels[dimension]]),
      this.dimension,
    );
    this.userField.hidden = !isAdmin;
    if (isAdmin) {
      fillSelect(
        this.userSelect,
        [["", "All members"], ...this.viewer.users.map((user): [string, string] => [user.id, user.name])],
        this.userId,
      );
    } else {
      this.userId = "";
    }
    await this.load();
  }

  private chooseRange(kind: UsageRangeKind): void {
    this.rangeKind = kind;
    if (kind === "custom" && !this.customFrom.value) {
      const last30 = resolveUsageRange("30-days", this.now());
      this.customFrom.value = last30.from;
      this.customTo.value = last30.to;
    }
    this.updateControls();
    void this.load();
  }

  /** Arrow keys move between the period choices, as in a radio group. */
  private moveRangeFocus(event: KeyboardEvent, kind: UsageRangeKind): void {
    const step =
      event.key === "ArrowRight" || event.key === "ArrowDown" ? 1 : event.key === "ArrowLeft" || event.key === "ArrowUp" ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const index = (usageRangeKinds.indexOf(kind) + step + usageRangeKinds.length) % usageRangeKinds.length;
    const next = usageRangeKinds[index]!;
    this.chooseRange(next);
    this.rangeButtons.get(next)?.focus();
  }

  private updateControls(): void {
    for (const [kind, button] of this.rangeButtons) {
      const isChosen = kind === this.rangeKind;
      button.setAttribute("aria-checked", String(isChosen));
      button.tabIndex = isChosen ? 0 : -1;
    }
    this.customFields.hidden = this.rangeKind !== "custom";
  }

  private currentRange(): UsageRange {
    return resolveUsageRange(
      this.rangeKind,
      this.now(),
      this.rangeKind === "custom" ? { from: this.customFrom.value, to: this.customTo.value } : undefined,
    );
  }

  private async load(): Promise<void> {
    const generation = ++this.loadGeneration;
    const range = this.currentRange();
    const dimension = this.dimension;
    const userId = this.userId || undefined;
    this.showLoading();
    try {
      const [detail, byGroup] = await Promise.all([
        this.bridge.request("usage/query", { from: range.from, to: range.to, groupBy: [range.bucket, dimension], userId }),
        this.bridge.request("usage/query", { from: range.from, to: range.to, groupBy: [dimension], userId }),
      ]);
      // A newer choice was made meanwhile: its answer wins.
      if (generation !== this.loadGeneration) return;
      this.loaded = { range, dimension, detail, byGroup };
      this.status.replaceChildren();
      this.render();
    } catch (error) {
      if (generation !== this.loadGeneration) return;
      this.showProblem(describeRequestFailure(error));
    }
  }

  private showLoading(): void {
    const ring = document.createElement("vscode-progress-ring");
    ring.setAttribute("aria-label", "Loading usage");
    this.status.replaceChildren(ring);
  }

  private showProblem(message: string): void {
    this.status.replaceChildren(createIcon("error"), document.createTextNode(` ${message}`));
    this.status.classList.add("usage-status--problem");
  }

  private render(): void {
    const loaded = this.loaded;
    if (!loaded) return;
    this.status.classList.remove("usage-status--problem");
    const { range, dimension, detail, byGroup } = loaded;
    const metric = this.metric;
    const totals = detail.totals;
    const cost = totals.costMicroUsd === null ? "no cost known" : formatUsd(totals.costMicroUsd / 1_000_000);
    const partialCost =
      totals.answersWithCost < totals.answers && totals.costMicroUsd !== null
        ? ` (${integerFormat.format(totals.answersWithCost)} of the answers priced)`
        : "";
    this.totals.textContent = `${range.from === range.to ? range.from : `${range.from} to ${range.to}`}: ${integerFormat.format(totals.answers)} ${totals.answers === 1 ? "request" : "requests"} · ${integerFormat.format((totals.inputTokens ?? 0) + (totals.outputTokens ?? 0))} tokens · ${cost}${partialCost}`;

    const periods = periodsOf(range);
    const series = buildUsageSeries(detail.rows, periods, dimension, metric);
    const hasData = detail.rows.length > 0;
    this.empty.hidden = hasData;
    this.chartElement.hidden = !hasData;
    if (hasData) {
      const formatValue = metric === "cost" ? (value: number) => formatUsd(value) : (value: number) => compactFormat.format(value);
      this.chart?.show({
        labels: periods.map((period) => formatPeriod(period, range.bucket)),
        series,
        unit: metric === "cost" ? "USD" : metric,
        formatValue,
        description: `${usageMetricLabels[metric]} by ${usageDimensionLabels[dimension].toLowerCase()}, ${range.from} to ${range.to}: ${series
          .map((entry) => `${entry.name} ${formatValue(entry.total)}`)
          .join(", ")}. The table below lists every figure.`,
      });
    }
    this.renderTable(byGroup.rows, dimension, metric);
  }

  private renderTable(rows: readonly UsageRow[], dimension: UsageDimension, metric: UsageMetric): void {
    const caption = document.createElement("caption");
    caption.className = "visually-hidden";
    caption.textContent = `Usage by ${usageDimensionLabels[dimension].toLowerCase()}`;
    const head = document.createElement("thead");
    const headRow = document.createElement("tr");
    for (const [text, isNumber] of [
      [usageDimensionLabels[dimension], false],
      ["Requests", true],
      ["Input tokens", true],
      ["Output tokens", true],
      ["Cached input", true],
      ["Cost", true],
      ["Time to first token", true],
    ] as const) {
      const cell = document.createElement("th");
      cell.scope = "col";
      cell.textContent = text;
      if (isNumber) cell.className = "usage-table__number";
      headRow.append(cell);
    }
    head.append(headRow);
    const body = document.createElement("tbody");
    const sorted = [...rows].sort((first, second) => metricValue(second, metric) - metricValue(first, metric));
    for (const row of sorted) {
      const line = document.createElement("tr");
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = groupLabel(row, dimension);
      line.append(name);
      for (const text of [
        integerFormat.format(row.answers),
        formatCount(row.inputTokens),
        formatCount(row.outputTokens),
        formatCount(row.cachedInputTokens),
        row.costMicroUsd === null ? "—" : formatUsd(row.costMicroUsd / 1_000_000),
        row.averageTimeToFirstTokenMs === null ? "—" : `${integerFormat.format(Math.round(row.averageTimeToFirstTokenMs))} ms`,
      ]) {
        const cell = document.createElement("td");
        cell.className = "usage-table__number";
        cell.textContent = text;
        line.append(cell);
      }
      body.append(line);
    }
    this.table.replaceChildren(caption, head, body);
    this.table.hidden = rows.length === 0;
  }

  private async exportCsv(): Promise<void> {
    const loaded = this.loaded;
    if (!loaded) return;
    const content = buildUsageCsv(loaded.detail.rows, { withPeriod: true, dimension: loaded.dimension });
    const suggestedFileName = `juggler-usage-${loaded.range.from}-to-${loaded.range.to}-by-${loaded.dimension}.csv`;
    try {
      await this.bridge.request("csv/save", { suggestedFileName, content }, { timeoutMs: 10 * 60_000 });
    } catch (error) {
      this.showProblem(describeRequestFailure(error));
    }
  }
}

function fillSelect(select: HTMLSelectElement, options: readonly (readonly [string, string])[], value: string): void {
  select.replaceChildren(
    ...options.map(([optionValue, label]) => {
      const option = document.createElement("option");
      option.value = optionValue;
      option.textContent = label;
      return option;
    }),
  );
  select.value = value;
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = document.createElement("label");
  label.className = "usage-field";
  label.append(document.createTextNode(`${text} `), control);
  return label;
}

function formatCount(value: number | null): string {
  return value === null ? "—" : integerFormat.format(value);
}

function formatUsd(usd: number): string {
  if (usd === 0) return "$0";
  if (Math.abs(usd) < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}
