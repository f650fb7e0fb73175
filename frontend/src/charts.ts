// The KPI dashboard's charts (ECharts): month by month, the chosen indicator by quarter and by ward, a ward
// choropleth of it, and emptyings by service provider.
//
// The page hands the numbers over in `{{ chart_data|json_script:"kpi-data" }}` (not executable, so the strict
// CSP holds) and marks each chart container with data-chart="monthly|quarters|wards|choropleth|providers".
// The choropleth's ward polygons come from the page's own GeoJSON endpoint (same origin).
import * as echarts from "echarts/core";
import { BarChart, LineChart, MapChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, MapChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent,
  VisualMapComponent, SVGRenderer]);

type Kpi = {
  code: string;
  name: string;
  unit: string;
  value: number | null;
  target: number | null;
  series: [string, number | null][];
  by_ward: Record<string, number | null>;
  higher_is_better: boolean;
};
type Provider = { provider: string; emptyings: number; volume: number };
type Data = {
  monthly: { months: string[]; series: Record<string, number[]> };
  kpis: Kpi[];
  providers?: Provider[];
  choropleth_url: string;
  labels: Record<string, string>;
};

const GOOD = "#198754";
const BAD = "#dc3545";
const PALETTE = ["#0d6efd", "#198754", "#6f42c1", "#fd7e14", "#20c997"];

function readData(): Data | null {
  const element = document.getElementById("kpi-data");
  if (!element?.textContent) return null;
  try {
    return JSON.parse(element.textContent) as Data;
  } catch {
    return null;
  }
}

function chartIn(name: string): echarts.ECharts | null {
  const element = document.querySelector<HTMLElement>(`[data-chart="${name}"]`);
  if (!element) return null;
  const chart = echarts.init(element, undefined, { renderer: "svg" });
  window.addEventListener("resize", () => chart.resize());
  return chart;
}

function unitSuffix(unit: string): string {
  return unit === "%" ? " %" : unit === "h" ? " h" : "";
}

function drawMonthly(data: Data): void {
  const chart = chartIn("monthly");
  if (!chart) return;
  const names = Object.keys(data.monthly.series);
  chart.setOption({
    color: PALETTE,
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, type: "scroll" },
    grid: { left: 48, right: 48, top: 16, bottom: 48 },
    xAxis: { type: "category", data: data.monthly.months },
    yAxis: [{ type: "value", name: "" }, { type: "value", name: "", splitLine: { show: false } }],
    series: names.map((name) => ({
      name: data.labels[name] ?? name,
      type: name === "applications" || name === "emptied" ? "bar" : "line",
      yAxisIndex: name === "applications" || name === "emptied" ? 0 : 1,
      data: data.monthly.series[name],
      smooth: true,
    })),
  });
}

function drawQuarters(chart: echarts.ECharts, kpi: Kpi, labels: Record<string, string>): void {
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => v == null ? labels.no_data : `${v}${unitSuffix(kpi.unit)}` },
    grid: { left: 48, right: 16, top: 16, bottom: 24 },
    xAxis: { type: "category", data: kpi.series.map(([label]) => label) },
    yAxis: { type: "value" },
    series: [{
      type: "line", name: kpi.code, data: kpi.series.map(([, value]) => value), connectNulls: false,
      itemStyle: { color: PALETTE[0] },
      markLine: kpi.target == null ? undefined : {
        symbol: "none", label: { formatter: `${labels.target} ${kpi.target}${unitSuffix(kpi.unit)}` },
        lineStyle: { color: "#6c757d", type: "dashed" }, data: [{ yAxis: kpi.target }],
      },
    }],
  }, true);
}

function drawWards(chart: echarts.ECharts, kpi: Kpi, labels: Record<string, string>): void {
  const wards = Object.keys(kpi.by_ward);
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => v == null ? labels.no_data : `${v}${unitSuffix(kpi.unit)}` },
    grid: { left: 48, right: 16, top: 16, bottom: 32 },
    xAxis: { type: "category", data: wards.map((w) => `${labels.ward} ${w}`), axisLabel: { interval: "auto" } },
    yAxis: { type: "value" },
    series: [{
      type: "bar", name: kpi.code,
      data: wards.map((w) => {
        const value = kpi.by_ward[w];
        const good = kpi.target == null || value == null ? null
          : (kpi.higher_is_better ? value >= kpi.target : value <= kpi.target);
        return { value, itemStyle: { color: good == null ? PALETTE[0] : good ? GOOD : BAD } };
      }),
    }],
  }, true);
}

async function drawChoropleth(chart: echarts.ECharts, data: Data, kpi: Kpi): Promise<void> {
  const url = new URL(data.choropleth_url, window.location.href);
  url.searchParams.set("code", kpi.code);
  const response = await fetch(url.toString(), { credentials: "same-origin" });
  if (!response.ok) return;
  const geojson = await response.json();
  const mapName = `wards-${kpi.code}`;
  echarts.registerMap(mapName, geojson);
  const values = (geojson.features as { properties: { name: string; value: number | null } }[])
    .map((feature) => ({ name: feature.properties.name, value: feature.properties.value }));
  const known = values.map((v) => v.value).filter((v): v is number => v != null);
  const low = known.length ? Math.min(...known) : 0;
  const high = known.length ? Math.max(...known) : 1;
  chart.setOption({
    tooltip: {
      trigger: "item",
      formatter: (p: { name: string; value: number }) =>
        `${p.name}: ${Number.isFinite(p.value) ? `${p.value.toFixed(1)}${unitSuffix(kpi.unit)}` : data.labels.no_data}`,
    },
    visualMap: {
      min: low, max: high === low ? low + 1 : high, calculable: true, left: 0, bottom: 0,
      inRange: { color: kpi.higher_is_better ? ["#f8d7da", "#75b798", "#146c43"] : ["#146c43", "#75b798", "#f8d7da"] },
    },
    series: [{
      type: "map", map: mapName, roam: true, nameProperty: "name", data: values,
      itemStyle: { areaColor: "#dee2e6", borderColor: "#fff" },
      emphasis: { label: { show: true } },
    }],
  }, true);
}

function drawProviders(data: Data): void {
  const chart = chartIn("providers");
  if (!chart || !data.providers) return;
  chart.setOption({
    color: PALETTE,
    tooltip: { trigger: "axis" },
    legend: { bottom: 0 },
    grid: { left: 48, right: 48, top: 16, bottom: 48 },
    xAxis: { type: "category", data: data.providers.map((p) => p.provider) },
    yAxis: [{ type: "value" }, { type: "value", splitLine: { show: false } }],
    series: [
      { type: "bar", name: data.labels.provider_emptyings, data: data.providers.map((p) => p.emptyings) },
      { type: "bar", name: data.labels.provider_volume, yAxisIndex: 1, data: data.providers.map((p) => p.volume) },
    ],
  });
}

function start(): void {
  const data = readData();
  if (!data) return;
  drawMonthly(data);
  drawProviders(data);
  const quarters = chartIn("quarters");
  const wards = chartIn("wards");
  const map = chartIn("choropleth");
  const select = document.querySelector<HTMLSelectElement>("[data-chart-select]");
  const show = (code: string): void => {
    const kpi = data.kpis.find((k) => k.code === code);
    if (!kpi) return;
    if (quarters) drawQuarters(quarters, kpi, data.labels);
    if (wards) drawWards(wards, kpi, data.labels);
    if (map) void drawChoropleth(map, data, kpi);
  };
  if (select) {
    select.addEventListener("change", () => show(select.value));
    show(select.value);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
