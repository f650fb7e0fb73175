// Identify: a click (or tap) on the map opens a popup listing what is there, with a link to the registry record
// (the tiles' feature id is the row id). A drain or sewer offers to run "buildings that could connect" on it.
import * as maplibregl from "maplibre-gl";
import { element, humanize, number, recordUrl, type LayerConfig, type Strings, type Urls } from "./config";
import type { Geometry } from "./geo";
import type { LayerSwitcher } from "./layers";

export type LinePick = { network: "drain" | "sewer"; id: number; code: string; geometry: Geometry };

const NETWORK_OF: Record<string, "drain" | "sewer"> = { drains: "drain", sewers: "sewer" };
const MAX_SHOWN = 3;
const TOLERANCE_PX = 6;

/** Legend labels by property and value, from every layer that has a legend ("pit" -> "Pit / holding tank"). */
export type Labels = Record<string, Record<string, string>>;

export function legendLabels(layers: LayerConfig[]): Labels {
  const out: Labels = {};
  for (const layer of layers) {
    if (!layer.style_property) continue;
    const own = (out[layer.style_property] ??= {});
    for (const [value, label] of layer.legend) own[value] = label;
  }
  return out;
}

export function valueText(key: string, value: unknown, strings: Strings, labels: Labels): string {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "boolean") return value ? strings.yes ?? "" : strings.no ?? "";
  if (typeof value === "number") return number(value, Number.isInteger(value) ? 0 : 2);
  const text = String(value);
  const label = labels[key]?.[text];
  if (label) return label;
  return /^[a-z_]+$/.test(text) ? humanize(text) : text;
}

// Points before lines before areas; wards only when nothing else is there.
function priority(feature: maplibregl.MapGeoJSONFeature): number {
  if (feature.layer.id.startsWith("wards")) return 9;
  const type = feature.geometry.type;
  return type.includes("Point") ? 0 : type.includes("Line") ? 1 : 2;
}

export class Identify {
  private readonly popup = new maplibregl.Popup({ closeButton: true, closeOnClick: false, maxWidth: "320px", offset: 6 });
  /** Set while the analysis form waits for a drain or sewer: a click on one picks it. */
  pickNetwork: "drain" | "sewer" | null = null;
  onPickLine: (pick: LinePick) => void = () => undefined;
  onSelect: (geometry: Geometry | null) => void = () => undefined;
  enabled = () => true;
  /** Whether a click on a drain or sewer picks it (the analysis form is in view), besides identifying it. */
  canPick = () => true;

  constructor(
    private readonly map: maplibregl.Map, private readonly switcher: LayerSwitcher,
    private readonly strings: Strings, private readonly urls: Urls, private readonly labels: Labels,
  ) {
    map.on("click", (event) => this.click(event));
    map.on("mousemove", (event) => {
      if (!this.enabled()) return;
      const hit = this.query(event.point).length > 0;
      map.getCanvas().style.cursor = hit ? "pointer" : "";
    });
    this.popup.on("close", () => this.onSelect(null));
  }

  private query(point: maplibregl.Point): maplibregl.MapGeoJSONFeature[] {
    const layers = this.switcher.interactiveIds();
    if (!layers.length) return [];
    const box: [maplibregl.PointLike, maplibregl.PointLike] = [
      [point.x - TOLERANCE_PX, point.y - TOLERANCE_PX], [point.x + TOLERANCE_PX, point.y + TOLERANCE_PX]];
    const seen = new Set<string>();
    const features = this.map.queryRenderedFeatures(box, { layers }).filter((feature) => {
      // a thematic layer shows the same rows as its base layer: one entry per row (the topmost, thematic one)
      const layer = this.switcher.layerOfStyleId(feature.layer.id);
      const key = `${layer?.thematic_of ?? layer?.name ?? feature.source}:${feature.id ?? JSON.stringify(feature.properties)}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    features.sort((a, b) => priority(a) - priority(b));
    const best = features[0] ? priority(features[0]) : 0;
    return best < 9 ? features.filter((f) => priority(f) < 9) : features;
  }

  private click(event: maplibregl.MapMouseEvent): void {
    if (!this.enabled()) return;
    const features = this.query(event.point);
    if (!features.length) {
      this.popup.remove();
      return;
    }
    const first = features[0] as maplibregl.MapGeoJSONFeature;
    const network = NETWORK_OF[this.switcher.layerOfStyleId(first.layer.id)?.name ?? ""];
    if (this.pickNetwork && this.canPick() && network === this.pickNetwork && typeof first.id === "number") {
      this.onPickLine({ network, id: first.id, code: String(first.properties.code ?? first.id), geometry: first.geometry as Geometry });
    }
    this.onSelect(first.geometry as Geometry);
    const shown = features.slice(0, MAX_SHOWN).map((feature) => this.describe(feature));
    if (features.length > MAX_SHOWN) {
      shown.push(element("p", { class: "small text-body-secondary mb-0", text: (this.strings.more_here ?? "").replace("{count}", String(features.length - MAX_SHOWN)) }));
    }
    this.popup.setLngLat(event.lngLat).setDOMContent(element("div", { class: "gis-popups" }, ...shown)).addTo(this.map);
  }

  private describe(feature: maplibregl.MapGeoJSONFeature): HTMLElement {
    const layer = this.switcher.layerOfStyleId(feature.layer.id);
    const rows = element("tbody");
    for (const [key, value] of Object.entries(feature.properties)) {
      if (key.startsWith("_")) continue; // the tiles' own bookkeeping (e.g. where a ward's label goes)
      const text = valueText(key, value, this.strings, this.labels);
      if (!text) continue;
      rows.append(element("tr", {}, element("th", { scope: "row", text: this.strings.fields[key] ?? humanize(key) }), element("td", { text })));
    }
    const actions = element("div", { class: "gis-popup-actions" });
    const url = recordUrl(this.urls.records[layer?.name ?? ""], feature.id);
    if (url) {
      actions.append(element("a", { class: "btn btn-sm btn-primary", href: url },
        element("i", { class: "bi bi-box-arrow-up-right", "aria-hidden": "true" }), ` ${this.strings.open_record}`));
    }
    const network = NETWORK_OF[layer?.name ?? ""];
    if (network && typeof feature.id === "number") {
      const id = feature.id;
      const button = element("button", { class: "btn btn-sm btn-outline-primary", type: "button", "data-gis-connect": String(id) },
        element("i", { class: "bi bi-buildings", "aria-hidden": "true" }), ` ${this.strings.connect_here}`);
      button.addEventListener("click", () => {
        this.onPickLine({ network, id, code: String(feature.properties.code ?? id), geometry: feature.geometry as Geometry });
        this.popup.remove();
      });
      actions.append(button);
    }
    const title = layer?.thematic_of ? layer.title : layer?.title ?? feature.layer.id;
    return element("section", { class: "gis-popup" }, element("h3", { class: "gis-popup-title", text: title }),
      element("table", {}, rows), actions);
  }

  close(): void {
    this.popup.remove();
  }
}
