// What the page hands over: the layers (map_config, from the view) and every UI string (map-i18n, written in the
// template with {% translate %}), both as JSON blocks the CSP allows; URLs as data attributes on the container.
export type LegendEntry = [value: string, label: string, colour: string];

export interface LayerConfig {
  name: string;
  title: string;
  geometry: "Polygon" | "MultiPolygon" | "LineString" | "Point";
  minzoom: number;
  colour: string;
  thematic_of: string | null;
  style_property: string | null;
  legend: LegendEntry[];
  tiles: string;
}

export interface MapConfig {
  layers: LayerConfig[];
  bounds: [number, number, number, number];
  basemap_url: string;
}

export type Strings = Record<string, string> & {
  fields: Record<string, string>;
  groups: Record<string, string>;
  kinds: Record<string, string>;
};

export interface Urls {
  search: string;
  analysis: string; // with the placeholder "analysis-name"
  records: Record<string, string>; // layer name -> record URL with the id 0
  municipality: string;
}

export function readJson<T>(id: string | undefined): T | null {
  const script = id ? document.getElementById(id) : null;
  if (!script?.textContent) return null;
  try {
    return JSON.parse(script.textContent) as T;
  } catch {
    return null;
  }
}

// Which registry record a layer's features open (the MVT feature id is the row id).
const RECORD_OF_LAYER: Record<string, "building" | "containment" | "application"> = {
  buildings: "building",
  buildings_sanitation: "building",
  buildings_tax_due: "building",
  buildings_water: "building",
  containments: "containment",
  containments_emptying_due: "containment",
  fsm_applications: "application",
  fsm_not_disposed: "application",
};

export function readUrls(container: HTMLElement): Urls {
  const data = container.dataset;
  const byKind: Record<string, string | undefined> = {
    building: data.recordBuilding, containment: data.recordContainment, application: data.recordApplication,
  };
  const records: Record<string, string> = {};
  for (const [layer, kind] of Object.entries(RECORD_OF_LAYER)) {
    const url = byKind[kind];
    if (url) records[layer] = url;
  }
  return { search: data.searchUrl ?? "", analysis: data.analysisUrl ?? "", records, municipality: data.municipality ?? "" };
}

/** The record URL for a feature id, from a reversed URL whose id is 0. */
export function recordUrl(template: string | undefined, id: unknown): string {
  if (!template || (typeof id !== "number" && typeof id !== "string") || !/^\d+$/.test(String(id))) return "";
  return template.replace(/\/0\/(?=[^/]*$)/, `/${id}/`);
}

/** "Ward {n}" with {n} filled in: the template's strings carry named placeholders. */
export function format(template: string | undefined, values: Record<string, string | number>): string {
  return (template ?? "").replace(/\{(\w+)\}/g, (match, key: string) => (key in values ? String(values[key]) : match));
}

const LANGUAGE = document.documentElement.lang || "en";
const NUMBER_LOCALE = LANGUAGE.startsWith("bn") ? "bn-BD" : "en-IN"; // lakh/crore grouping in both languages

export function number(value: number, digits = 0): string {
  return new Intl.NumberFormat(NUMBER_LOCALE, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);
}

export function humanize(value: string): string {
  const text = value.replace(/_/g, " ").trim();
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

export function metres(value: number, strings: Strings): string {
  if (value >= 1000) return `${number(value / 1000, 2)} ${strings.unit_km}`;
  return `${number(value, value < 10 ? 1 : 0)} ${strings.unit_m}`;
}

export function squareMetres(value: number, strings: Strings): string {
  if (value >= 1_000_000) return `${number(value / 1_000_000, 2)} ${strings.unit_km2}`;
  if (value >= 10_000) return `${number(value / 10_000, 2)} ${strings.unit_ha} (${number(value)} ${strings.unit_m2})`;
  return `${number(value, value < 100 ? 1 : 0)} ${strings.unit_m2}`;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K, attributes: Record<string, string> = {}, ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}
