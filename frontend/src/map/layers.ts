// The layer switcher: groups (base / networks / thematic / FSM), a checkbox per layer with its legend swatch,
// thematic legends listed under their layer, and a "zoom in to see" hint under a layer's minimum zoom.
import type * as maplibregl from "maplibre-gl";
import { element, type LayerConfig, type MapConfig, type Strings } from "./config";
import type { LayerIds } from "./style";

const GROUP_OF: Record<string, string> = {
  wards: "base", water_bodies: "base", roads: "base", buildings: "base", waterlogging: "base",
  low_income_communities: "base", drains: "network", sewers: "network", water_lines: "network",
  treatment_plants: "network", toilets: "network", containments: "network",
};
const GROUPS = ["base", "network", "thematic", "fsm"];
export const DEFAULT_VISIBLE = ["wards", "water_bodies", "roads", "buildings", "drains"];

function groupOf(layer: LayerConfig): string {
  if (layer.thematic_of) return "thematic";
  if (layer.name.startsWith("fsm_")) return "fsm";
  return GROUP_OF[layer.name] ?? (layer.geometry === "Polygon" || layer.geometry === "MultiPolygon" ? "base" : "network");
}

function swatch(layer: LayerConfig, colour = layer.colour): HTMLElement {
  const kind = layer.name === "roads" ? "road" : layer.geometry === "Point" ? "point"
    : layer.geometry === "LineString" ? "line" : "polygon";
  const node = element("span", { class: `gis-swatch gis-swatch-${kind}`, "aria-hidden": "true" });
  const shown = layer.name === "buildings" ? "#d4d8de" : colour;
  if (kind !== "road") node.style.setProperty("--swatch", shown);
  return node;
}

export class LayerSwitcher {
  readonly visible: Set<string>;
  private readonly hints = new Map<string, HTMLElement>();

  constructor(
    private readonly container: HTMLElement, private readonly config: MapConfig,
    private readonly strings: Strings, storageKey: string,
  ) {
    this.storageKey = storageKey;
    const names = new Set(config.layers.map((layer) => layer.name));
    let saved: string[] | null = null;
    try {
      saved = JSON.parse(window.localStorage.getItem(storageKey) ?? "null") as string[] | null;
    } catch {
      saved = null;
    }
    this.visible = new Set((Array.isArray(saved) ? saved : DEFAULT_VISIBLE).filter((name) => names.has(name)));
  }

  private readonly storageKey: string;
  private map: maplibregl.Map | null = null;
  private ids: LayerIds = new Map();

  render(): void {
    const groups = new Map<string, LayerConfig[]>();
    for (const layer of this.config.layers) {
      const group = groupOf(layer);
      groups.set(group, [...(groups.get(group) ?? []), layer]);
    }
    const sections: HTMLElement[] = [];
    for (const group of GROUPS) {
      const layers = groups.get(group);
      if (!layers?.length) continue;
      const title = element("h2", { class: "gis-group-title", id: `gis-group-${group}`, text: this.strings.groups[group] ?? group });
      const list = element("div", { role: "group", "aria-labelledby": title.id });
      for (const layer of layers) list.append(...this.row(layer));
      sections.push(element("section", { class: "gis-group" }, title, list));
    }
    this.container.replaceChildren(...sections);
  }

  private row(layer: LayerConfig): HTMLElement[] {
    const id = `gis-layer-${layer.name}`;
    const input = element("input", { class: "form-check-input", type: "checkbox", id, "data-layer": layer.name });
    input.checked = this.visible.has(layer.name);
    const hint = element("span", { class: "gis-layer-hint", text: this.strings.zoom_in ?? "" });
    hint.hidden = true;
    this.hints.set(layer.name, hint);
    const label = element("label", { for: id }, ...(layer.legend.length ? [] : [swatch(layer)]), layer.title);
    const row = element("div", { class: "form-check gis-layer" }, input, label, hint);
    const out: HTMLElement[] = [row];
    if (layer.legend.length) {
      const legend = element("ul", { class: "gis-legend", "aria-label": layer.title });
      for (const [, text, colour] of layer.legend) legend.append(element("li", {}, swatch(layer, colour), text));
      legend.hidden = !input.checked;
      out.push(legend);
      input.addEventListener("change", () => { legend.hidden = !input.checked; });
    }
    input.addEventListener("change", () => this.set(layer.name, input.checked));
    return out;
  }

  attach(map: maplibregl.Map, ids: LayerIds): void {
    this.map = map;
    this.ids = ids;
    const update = (): void => this.updateHints();
    map.on("zoomend", update);
    update();
  }

  set(name: string, on: boolean): void {
    if (on) this.visible.add(name);
    else this.visible.delete(name);
    const input = this.container.querySelector<HTMLInputElement>(`input[data-layer="${name}"]`);
    if (input && input.checked !== on) {
      input.checked = on;
      input.dispatchEvent(new Event("change"));
    }
    for (const id of this.ids.get(name) ?? []) {
      if (this.map?.getLayer(id)) this.map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
    }
    try {
      window.localStorage.setItem(this.storageKey, JSON.stringify([...this.visible]));
    } catch {
      // private mode: the choice lasts for this page only
    }
    this.updateHints();
  }

  private updateHints(): void {
    const zoom = this.map?.getZoom() ?? 0;
    for (const layer of this.config.layers) {
      const hint = this.hints.get(layer.name);
      if (hint) hint.hidden = !(this.visible.has(layer.name) && zoom < layer.minzoom);
    }
  }

  /** The visible layers' MapLibre ids that can be clicked (no casings, no labels). */
  interactiveIds(): string[] {
    const out: string[] = [];
    for (const name of this.visible) {
      for (const id of this.ids.get(name) ?? []) {
        if (!id.endsWith("-casing") && !id.endsWith("-label") && this.map?.getLayer(id)) out.push(id);
      }
    }
    return out;
  }

  layerOfStyleId(styleId: string): LayerConfig | undefined {
    for (const [name, ids] of this.ids) if (ids.includes(styleId)) return this.config.layers.find((l) => l.name === name);
    return undefined;
  }
}
