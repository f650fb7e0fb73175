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
  lang?: string;
};
type WardFeature = { properties: { ward: number; name: string; value: number | null } };

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

// Numbers as the page writes them: Indian/Bangladeshi grouping, Bangla digits on Bangla pages.
let isBangla = false;
let numberFormat = new Intl.NumberFormat("en-IN", { maximumFractionDigits: 1 });
const BANGLA_DIGITS = "০১২৩৪৫৬৭৮৯";

function digits(text: string | number): string {
  const value = String(text);
  return isBangla ? value.replace(/[0-9]/g, (d) => BANGLA_DIGITS.charAt(Number(d))) : value;
}

function num(value: unknown): string {
  return typeof value === "number" && Number.isFinite(value) ? numberFormat.format(value) : String(value ?? "");
}

function chartIn(name: string): echarts.ECharts | null {
  const element = document.querySelector<HTMLElement>(`[data-chart="${name}"]`);
  if (!element) return null;
  const chart = echarts.init(element, undefined, { renderer: "svg" });
  // The page's own font (Noto Sans Bengali is bundled): SVG text otherwise falls back to a system font.
  chart.setOption({ textStyle: { fontFamily: getComputedStyle(document.body).fontFamily } });
  window.addEventListener("resize", () => chart.resize());
  return chart;
}

function unitSuffix(unit: string, labels: Record<string, string>): string {
  return unit === "%" ? " %" : unit === "h" ? ` ${labels.hours ?? "h"}` : "";
}

function valueText(value: unknown, kpi: Kpi, labels: Record<string, string>): string {
  return value == null || value === "-" || (typeof value === "number" && !Number.isFinite(value))
    ? (labels.no_data ?? "") : `${num(value)}${unitSuffix(kpi.unit, labels)}`;
}

const valueAxis = { type: "value" as const, axisLabel: { formatter: (v: number) => num(v) } };
const categoryLabels = { formatter: (v: string) => digits(v), hideOverlap: true };

function drawMonthly(data: Data): void {
  const chart = chartIn("monthly");
  if (!chart) return;
  const names = Object.keys(data.monthly.series);
  // counts as bars (left axis), m³ as lines (right axis), taka as a dashed line on an axis of its own
  const axisOf = (name: string): number =>
    name === "applications" || name === "emptied" ? 0 : name === "tax_collected" ? 2 : 1;
  const hasTax = names.includes("tax_collected");
  chart.setOption({
    color: PALETTE,
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => num(v) },
    legend: { bottom: 0, itemGap: 8, itemWidth: 14, textStyle: { fontSize: 11 } },
    grid: { left: 40, right: hasTax ? 96 : 48, top: 28, bottom: 72 },
    xAxis: { type: "category", data: data.monthly.months, axisLabel: categoryLabels },
    yAxis: [
      { ...valueAxis, name: data.labels.count_axis, minInterval: 1 },
      { ...valueAxis, name: "m³", splitLine: { show: false } },
      { ...valueAxis, name: "৳", splitLine: { show: false }, offset: 48, show: hasTax },
    ],
    series: names.map((name) => ({
      name: data.labels[name] ?? name,
      type: axisOf(name) === 0 ? "bar" : "line",
      yAxisIndex: axisOf(name),
      data: data.monthly.series[name],
      lineStyle: name === "tax_collected" ? { type: "dashed" } : undefined,
    })),
  });
}

function drawQuarters(chart: echarts.ECharts, kpi: Kpi, labels: Record<string, string>): void {
  chart.setOption({
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => valueText(v, kpi, labels) },
    grid: { left: 48, right: 24, top: 16, bottom: 24 },
    xAxis: { type: "category", data: kpi.series.map(([label]) => label), axisLabel: categoryLabels },
    yAxis: valueAxis,
    series: [{
      type: "line", name: kpi.code, data: kpi.series.map(([, value]) => value), connectNulls: false,
      itemStyle: { color: PALETTE[0] },
      label: { show: true, formatter: (p: { value: unknown }) => valueText(p.value, kpi, labels), fontSize: 10 },
      markLine: kpi.target == null ? undefined : {
        symbol: "none", label: { formatter: `${labels.target} ${valueText(kpi.target, kpi, labels)}`, position: "insideEndTop" },
        lineStyle: { color: "#6c757d", type: "dashed" }, data: [{ yAxis: kpi.target }],
      },
    }],
  }, true);
}

function drawWards(chart: echarts.ECharts, kpi: Kpi, labels: Record<string, string>): void {
  const wards = Object.keys(kpi.by_ward);
  chart.setOption({
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => valueText(v, kpi, labels) },
    grid: { left: 48, right: 16, top: 16, bottom: 32 },
    // many wards: the axis shows numbers only, the tooltip says "Ward 12"
    xAxis: {
      type: "category", data: wards.map((w) => `${labels.ward} ${w}`),
      axisLabel: { ...categoryLabels, formatter: (v: string) => digits(wards.length > 8 ? v.replace(/\D+/g, "") : v) },
    },
    yAxis: valueAxis,
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

let choroplethRequest = 0;

async function drawChoropleth(chart: echarts.ECharts, data: Data, kpi: Kpi): Promise<void> {
  const request = ++choroplethRequest;
  const url = new URL(data.choropleth_url, window.location.href);
  url.searchParams.set("code", kpi.code);
  let geojson: { features: WardFeature[] };
  try {
    const response = await fetch(url.toString(), { credentials: "same-origin" });
    if (!response.ok) return;
    geojson = await response.json();
  } catch {
    return; // the page is being left, or the network dropped: the cards and tables still show the numbers
  }
  if (request !== choroplethRequest || chart.isDisposed()) return; // another indicator was chosen meanwhile
  const mapName = `wards-${kpi.code}`;
  echarts.registerMap(mapName, geojson as never);
  const values = geojson.features.map((feature) => ({
    name: feature.properties.name, value: feature.properties.value, ward: feature.properties.ward,
  }));
  const known = values.map((v) => v.value).filter((v): v is number => v != null);
  const low = known.length ? Math.min(...known) : 0;
  const high = known.length ? Math.max(...known) : 1;
  chart.setOption({
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    tooltip: {
      trigger: "item",
      formatter: (p: { name: string; value: unknown }) => `${digits(p.name)}: ${valueText(p.value, kpi, data.labels)}`,
    },
    visualMap: {
      min: low, max: high === low ? low + 1 : high, left: 0, bottom: 8, itemHeight: 80, itemWidth: 12,
      formatter: (v: number) => num(v), textStyle: { fontSize: 10 },
      inRange: { color: kpi.higher_is_better ? ["#f8d7da", "#75b798", "#146c43"] : ["#146c43", "#75b798", "#f8d7da"] },
    },
    series: [{
      type: "map", map: mapName, roam: true, nameProperty: "name", data: values, left: 56, right: 8,
      itemStyle: { areaColor: "#dee2e6", borderColor: "#fff" },
      label: {
        show: true, fontSize: 11, color: "#212529", textBorderColor: "#fff", textBorderWidth: 2,
        formatter: (p: { data?: { ward?: number } }) => digits(p.data?.ward ?? ""),
      },
      emphasis: { label: { show: true } },
    }],
  }, true);
}

function drawProviders(data: Data): void {
  const chart = chartIn("providers");
  if (!chart || !data.providers) return;
  chart.setOption({
    color: PALETTE,
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => num(v) },
    legend: { bottom: 0, textStyle: { fontSize: 11 } },
    grid: { left: 48, right: 48, top: 28, bottom: 48 },
    xAxis: { type: "category", data: data.providers.map((p) => p.provider), axisLabel: categoryLabels },
    yAxis: [{ ...valueAxis, name: data.labels.provider_emptyings, minInterval: 1 },
      { ...valueAxis, name: "m³", splitLine: { show: false } }],
    series: [
      { type: "bar", name: data.labels.provider_emptyings, data: data.providers.map((p) => p.emptyings) },
      { type: "bar", name: data.labels.provider_volume, yAxisIndex: 1, data: data.providers.map((p) => p.volume) },
    ],
  });
}

// While the server recomputes after a change, the page shows the last values and says so: reload it shortly.
function reloadWhenUpdated(): void {
  const banner = document.querySelector<HTMLElement>("[data-kpi-updating]");
  const seconds = Number(banner?.dataset.reloadAfter ?? "0");
  if (banner && seconds > 0) window.setTimeout(() => window.location.reload(), seconds * 1000);
}

function start(): void {
  reloadWhenUpdated();
  const data = readData();
  if (!data) return;
  isBangla = (data.lang ?? document.documentElement.lang).startsWith("bn");
  numberFormat = new Intl.NumberFormat(isBangla ? "bn-BD" : "en-IN", { maximumFractionDigits: 1 });
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
