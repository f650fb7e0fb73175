// Imagery under the map: the municipality's uploaded images (our raster tiles) and outside XYZ/WMTS services,
// listed by `/imagery/sources.json`. One at a time, as a base layer choice under our vector layers, with an opacity
// slider. The section's labels come from the page (maps/map.html); image names and attributions from the server.
import * as maplibregl from "maplibre-gl";
import { element } from "./config";

export interface ImagerySource {
  id: number;
  name: string;
  tiles: string[];
  attribution: string;
  bounds: [number, number, number, number];
  minzoom: number;
  maxzoom: number;
  kind: "upload" | "external";
}

const LAYER_ID = "imagery";

export class Imagery {
  private sources: ImagerySource[] = [];
  private current: ImagerySource | null = null;
  private readonly choices: HTMLElement;
  private readonly opacity: HTMLInputElement;

  constructor(private readonly section: HTMLElement, private readonly map: maplibregl.Map,
    private readonly storageKey: string) {
    this.choices = section.querySelector("[data-gis-imagery-choices]") as HTMLElement;
    this.opacity = section.querySelector("[data-gis-imagery-opacity]") as HTMLInputElement;
  }

  async load(url: string): Promise<void> {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      this.sources = (await response.json()) as ImagerySource[];
    } catch {
      return; // no imagery: the map works without it
    }
    this.render();
    const saved = this.saved();
    const chosen = this.sources.find((source) => `${source.kind}-${source.id}` === saved.key);
    this.opacity.value = String(saved.opacity);
    if (chosen) this.choose(chosen);
    this.opacity.addEventListener("input", () => {
      this.applyOpacity();
      this.save();
    });
  }

  private render(): void {
    for (const source of this.sources) {
      const id = `gis-imagery-${source.kind}-${source.id}`;
      const input = element("input", {
        class: "form-check-input", type: "radio", name: "gis-imagery", id, value: `${source.kind}-${source.id}`,
        "data-imagery": String(source.id),
      });
      input.addEventListener("change", () => { if (input.checked) this.choose(source); });
      this.choices.append(element("div", { class: "form-check gis-layer" }, input,
        element("label", { class: "form-check-label", for: id, text: source.name })));
    }
    this.choices.querySelector<HTMLInputElement>('input[value=""]')?.addEventListener("change", (event) => {
      if ((event.target as HTMLInputElement).checked) this.choose(null);
    });
    this.section.hidden = !this.sources.length && !this.section.querySelector("[data-gis-imagery-manage]");
    this.section.dataset.count = String(this.sources.length);
  }

  /** Show one imagery source (or none) just above the background, under every vector layer. */
  choose(source: ImagerySource | null): void {
    if (this.map.getLayer(LAYER_ID)) this.map.removeLayer(LAYER_ID);
    if (this.current && this.map.getSource(LAYER_ID)) this.map.removeSource(LAYER_ID);
    this.current = source;
    this.opacity.disabled = !source;
    const radio = this.choices.querySelector<HTMLInputElement>(
      `input[value="${source ? `${source.kind}-${source.id}` : ""}"]`);
    if (radio) radio.checked = true;
    if (source) {
      this.map.addSource(LAYER_ID, {
        type: "raster", tiles: source.tiles, tileSize: 256, bounds: source.bounds, minzoom: source.minzoom,
        maxzoom: source.maxzoom, ...(source.attribution ? { attribution: source.attribution } : {}),
      });
      const layers = this.map.getStyle().layers ?? [];
      const above = layers.find((layer) => layer.id !== "background" && layer.id !== "basemap");
      this.map.addLayer({ id: LAYER_ID, type: "raster", source: LAYER_ID, paint: { "raster-fade-duration": 0 } },
        above?.id);
      this.applyOpacity();
    }
    this.section.dataset.chosen = source ? String(source.id) : "";
    this.save();
  }

  private applyOpacity(): void {
    if (this.map.getLayer(LAYER_ID)) {
      this.map.setPaintProperty(LAYER_ID, "raster-opacity", Number(this.opacity.value) / 100);
    }
  }

  private saved(): { key: string; opacity: number } {
    try {
      const value = JSON.parse(window.localStorage.getItem(this.storageKey) ?? "null") as { key?: string; opacity?: number } | null;
      const opacity = Number(value?.opacity);
      return { key: value?.key ?? "", opacity: Number.isFinite(opacity) && opacity >= 0 && opacity <= 100 ? opacity : 100 };
    } catch {
      return { key: "", opacity: 100 };
    }
  }

  private save(): void {
    try {
      window.localStorage.setItem(this.storageKey, JSON.stringify({
        key: this.current ? `${this.current.kind}-${this.current.id}` : "", opacity: Number(this.opacity.value),
      }));
    } catch {
      // private mode: the choice lasts for this page only
    }
  }
}
