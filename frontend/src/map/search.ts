// The map's search box: holding ID, BIN, containment, road (code or name), drain, ward -> fly there and highlight.
import * as maplibregl from "maplibre-gl";
import { element, format, type Strings } from "./config";
import type { Bounds, Geometry } from "./geo";

export type SearchResult = {
  kind: string; kind_label: string; id: number; label: string; detail: string; url: string;
  bbox: Bounds; center: [number, number]; geometry: Geometry;
};

export class Search {
  private results: SearchResult[] = [];
  private active = -1;
  private timer = 0;
  private controller: AbortController | null = null;
  private readonly popup = new maplibregl.Popup({ closeButton: true, closeOnClick: true, offset: 10, maxWidth: "300px" });
  private readonly input: HTMLInputElement;
  private readonly list: HTMLElement;
  onPick: (result: SearchResult) => void = () => undefined;

  constructor(
    form: HTMLFormElement, private readonly url: string, private readonly map: maplibregl.Map,
    private readonly strings: Strings,
  ) {
    this.input = form.querySelector<HTMLInputElement>("input[name=q]") as HTMLInputElement;
    this.list = form.querySelector<HTMLElement>("[data-gis-search-results]") as HTMLElement;
    this.input.addEventListener("input", () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.run(), 250);
    });
    this.input.addEventListener("keydown", (event) => this.key(event));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.run().then(() => {
        const first = this.results[Math.max(this.active, 0)];
        if (first) this.pick(first);
      });
    });
    document.addEventListener("click", (event) => {
      if (!form.contains(event.target as Node)) this.hide();
    });
  }

  private async run(): Promise<void> {
    const query = this.input.value.trim();
    if (query.length < 1) {
      this.hide();
      return;
    }
    this.controller?.abort();
    this.controller = new AbortController();
    try {
      const response = await fetch(`${this.url}?${new URLSearchParams({ q: query })}`, {
        headers: { Accept: "application/json" }, signal: this.controller.signal, credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      const body = (await response.json()) as { results: SearchResult[] };
      this.results = body.results;
      this.render(query);
    } catch (error) {
      if ((error as Error).name === "AbortError") return;
      this.results = [];
      this.list.replaceChildren(element("div", { class: "list-group-item text-danger", text: this.strings.search_failed ?? "" }));
      this.list.hidden = false;
    }
  }

  private render(query: string): void {
    this.active = -1;
    if (!this.results.length) {
      this.list.replaceChildren(element("div", { class: "list-group-item text-body-secondary", text: format(this.strings.search_none, { query }) }));
      this.list.hidden = false;
      return;
    }
    this.list.replaceChildren(...this.results.map((result, index) => {
      const item = element("button", {
        class: "list-group-item list-group-item-action", type: "button", role: "option", id: `gis-search-${index}`,
        "aria-selected": "false",
      }, element("span", { class: "gis-search-kind", text: result.kind_label }), element("strong", { text: result.label }));
      if (result.detail) item.append(element("span", { class: "text-body-secondary", text: ` · ${result.detail}` }));
      item.addEventListener("click", () => this.pick(result));
      return item;
    }));
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  private key(event: KeyboardEvent): void {
    if (this.list.hidden || !this.results.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.results.length) % this.results.length;
      this.list.querySelectorAll("[role=option]").forEach((node, index) => {
        node.classList.toggle("active", index === this.active);
        node.setAttribute("aria-selected", String(index === this.active));
      });
      this.input.setAttribute("aria-activedescendant", `gis-search-${this.active}`);
    } else if (event.key === "Escape") {
      this.hide();
    }
  }

  private hide(): void {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  pick(result: SearchResult): void {
    this.hide();
    const [minx, miny, maxx, maxy] = result.bbox;
    const camera = this.map.cameraForBounds([[minx, miny], [maxx, maxy]], { padding: 60, maxZoom: 18 });
    const zoom = Math.max(Math.min(camera?.zoom ?? 17, 18), result.kind === "ward" ? 12 : 15);
    this.map.flyTo({ center: result.center, zoom, speed: 1.6, essential: true });
    this.onPick(result);
    const content = element("div", { class: "gis-popup" },
      element("h3", { class: "gis-popup-title", text: `${result.kind_label} ${result.label}` }));
    if (result.detail) content.append(element("p", { class: "small mb-1", text: result.detail }));
    if (result.url) {
      content.append(element("a", { class: "btn btn-sm btn-primary", href: result.url },
        element("i", { class: "bi bi-box-arrow-up-right", "aria-hidden": "true" }), ` ${this.strings.open_record}`));
    }
    this.map.once("moveend", () => this.popup.setLngLat(result.center).setDOMContent(content).addTo(this.map));
  }

  closePopup(): void {
    this.popup.remove();
  }
}
