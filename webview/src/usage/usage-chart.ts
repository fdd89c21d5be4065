import { BarChart } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import type { UsageSeries } from "./usage-series";

// Only what the panel draws (stacked bars, axes, legend, tooltip, the aria description) is bundled:
// about 505 KiB minified with zrender, against 1,096 KiB for ECharts' whole minified build
// (docs/decisions/0024-vs-code-chat-models-and-usage-view.md).
echarts.use([BarChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

/** VS Code's chart colours (charts.*), in the order series take them. */
const SERIES_COLOR_VARIABLES = [
  "--vscode-charts-blue",
  "--vscode-charts-orange",
  "--vscode-charts-green",
  "--vscode-charts-purple",
  "--vscode-charts-yellow",
  "--vscode-charts-red",
  "--vscode-terminal-ansiCyan",
  "--vscode-terminal-ansiMagenta",
];

export interface ChartTheme {
  colors: string[];
  foreground: string;
  lines: string;
  background: string;
  fontFamily: string;
}

/** The theme's colours now, read from the variables VS Code sets on the page (they change with the theme). */
export function readChartTheme(element: Element = document.body): ChartTheme {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    colors: SERIES_COLOR_VARIABLES.map((name, index) =>
      read(name, ["#59a4f9", "#d18616", "#89d185", "#b180d7", "#cca700", "#f14c4c", "#29b8db", "#bc3fbc"][index]!),
    ),
    foreground: read("--vscode-charts-foreground", read("--vscode-foreground", "#cccccc")),
    lines: read("--vscode-charts-lines", "rgba(128, 128, 128, 0.5)"),
    background: read("--vscode-editor-background", "#1e1e1e"),
    fontFamily: read("--vscode-font-family", "sans-serif"),
  };
}

export interface UsageChartData {
  /** Axis labels, one per period. */
  labels: string[];
  series: UsageSeries[];
  /** What one unit is, for the axis and the tooltip: "tokens", "USD", "requests". */
  unit: string;
  formatValue(value: number): string;
  /** A sentence for screen readers (the table below has every figure). */
  description: string;
}

/** A stacked bar chart of one metric over time, one colour per group, in the theme's colours. */
export class UsageChart {
  private chart: echarts.ECharts | undefined;
  private data: UsageChartData | undefined;
  private readonly resizeObserver = new ResizeObserver(() => this.chart?.resize());
  private readonly themeObserver = new MutationObserver(() => this.render());

  constructor(readonly element: HTMLElement) {
    element.setAttribute("role", "img");
    this.resizeObserver.observe(element);
    // On a theme change VS Code writes the new --vscode-* variables into <html>'s style and, between
    // kinds, swaps the body's class (vscode-dark, vscode-light, high contrast) and its theme id.
    this.themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ["style"] });
    this.themeObserver.observe(document.body, { attributes: true, attributeFilter: ["class", "data-vscode-theme-id"] });
  }

  show(data: UsageChartData): void {
    this.data = data;
    this.render();
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.themeObserver.disconnect();
    this.chart?.dispose();
  }

  private render(): void {
    const data = this.data;
    if (!data) return;
    const theme = readChartTheme();
    this.chart ??= echarts.init(this.element, undefined, { renderer: "canvas" });
    this.element.setAttribute("aria-label", data.description);
    const textStyle = { color: theme.foreground, fontFamily: theme.fontFamily };
    this.chart.setOption(
      {
        animation: false,
        color: theme.colors,
        textStyle,
        aria: { enabled: true, label: { description: data.description } },
        grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
        legend: { type: "scroll", top: 0, textStyle, pageTextStyle: textStyle, inactiveColor: theme.lines },
        // A canvas tooltip: an HTML one would need inline styles, which the panel's CSP refuses.
        tooltip: {
          trigger: "axis",
          renderMode: "richText",
          backgroundColor: theme.background,
          borderColor: theme.lines,
          textStyle,
          valueFormatter: (value: unknown) => data.formatValue(typeof value === "number" ? value : Number(value)),
        },
        xAxis: {
          type: "category",
          data: data.labels,
          axisLine: { lineStyle: { color: theme.lines } },
          axisLabel: { color: theme.foreground },
        },
        yAxis: {
          type: "value",
          name: data.unit,
          nameTextStyle: textStyle,
          axisLabel: { color: theme.foreground, formatter: (value: number) => data.formatValue(value) },
          splitLine: { lineStyle: { color: theme.lines } },
        },
        series: data.series.map((series) => ({ type: "bar", name: series.name, stack: "usage", data: series.values, barMaxWidth: 32 })),
      },
      { notMerge: true },
    );
  }
}
