// The analysis form: choose an analysis, give its inputs (a picked drain, a drawn area, distances), run it on the
// server, then highlight what it returned, list it in a table and offer the same result as CSV or GeoPackage.
import type * as maplibregl from "maplibre-gl";
import { element, format, humanize, number, squareMetres, type MapConfig, type Strings } from "./config";
import { boundsOf, geometryArea, type Geometry } from "./geo";
import { circleRadius } from "./draw";
import { legendLabels, valueText, type Labels, type LinePick } from "./identify";
import { showResults, type Feature, type FeatureCollection, type Selection } from "./overlays";

type Result = { name: string; summary: Record<string, unknown>; columns: string[]; features: FeatureCollection };
type FieldError = { field: string; message: string; code: string | null };

const MAX_TABLE_ROWS = 200;
// Choropleth results: the value each feature is coloured by (normalised 0..1 for the ramp).
const RAMP_OF: Record<string, string> = { water_supply_status: "municipal_share", application_density: "applications" };

function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "";
}

export class Analyses {
  private readonly select: HTMLSelectElement;
  private readonly error: HTMLElement;
  private readonly results: HTMLElement;
  private readonly labels: Labels;
  private lastParams: [string, string][] = [];
  private lastName = "";
  onStartDrawing: (purpose: "area-polygon" | "area-circle") => void = () => undefined;
  onNetworkWanted: (network: "drain" | "sewer" | null) => void = () => undefined;
  onResults: (shown: boolean) => void = () => undefined;

  constructor(
    private readonly form: HTMLFormElement, results: HTMLElement, private readonly map: maplibregl.Map,
    config: MapConfig, private readonly strings: Strings, private readonly urlTemplate: string,
    private readonly selection: Selection, private readonly root: HTMLElement,
  ) {
    this.select = form.querySelector<HTMLSelectElement>("[data-gis-analysis-select]") as HTMLSelectElement;
    this.error = form.querySelector<HTMLElement>("[data-gis-analysis-error]") as HTMLElement;
    this.results = results;
    this.labels = legendLabels(config.layers);
    const layers = new Set(config.layers.map((layer) => layer.name));
    // Analyses and inputs whose layer this municipality does not have (a feature not enabled) are left out.
    for (const node of form.querySelectorAll<HTMLElement>("[data-requires-layer]")) {
      if (!layers.has(node.dataset.requiresLayer ?? "")) node.remove();
    }
    const networks = form.querySelector<HTMLElement>("[data-gis-networks]");
    if (networks && networks.querySelectorAll("input").length < 2) networks.hidden = true; // drains only: no choice
    for (const input of form.querySelectorAll<HTMLInputElement>("input[data-gis-default-date]")) {
      const date = new Date(Date.now() + Number(input.dataset.gisDefaultDate) * 86_400_000);
      input.value = date.toISOString().slice(0, 10);
    }
    this.select.addEventListener("change", () => this.show());
    form.addEventListener("change", (event) => {
      if ((event.target as HTMLInputElement).name === "network") this.networkChanged();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.run();
    });
    for (const button of form.querySelectorAll<HTMLButtonElement>("[data-gis-tool^=area-]")) {
      button.addEventListener("click", () => this.onStartDrawing(button.dataset.gisTool as "area-polygon" | "area-circle"));
    }
    form.querySelector<HTMLInputElement>("input[name=ward]")?.addEventListener("input", (event) => {
      if ((event.target as HTMLInputElement).value) this.setArea(null);
    });
    results.querySelector("[data-gis-results-clear]")?.addEventListener("click", () => this.clearResults());
    this.show();
  }

  get name(): string {
    return this.select.value;
  }

  private field(name: string): HTMLInputElement | null {
    return this.form.querySelector<HTMLInputElement>(`fieldset:not([disabled]) [name="${name}"]`);
  }

  private show(): void {
    for (const fieldset of this.form.querySelectorAll<HTMLFieldSetElement>("[data-gis-analysis-fields]")) {
      const on = fieldset.dataset.gisAnalysisFields === this.name;
      fieldset.disabled = !on;
      fieldset.hidden = !on;
    }
    this.error.hidden = true;
    this.networkChanged();
  }

  private network(): "drain" | "sewer" {
    return (this.form.querySelector<HTMLInputElement>("input[name=network]:checked")?.value ?? "drain") as "drain" | "sewer";
  }

  private networkChanged(): void {
    if (this.name !== "connectable") {
      this.onNetworkWanted(null);
      return;
    }
    const network = this.network();
    const label = this.form.querySelector<HTMLElement>("[data-gis-line-label]");
    const input = this.form.querySelector<HTMLInputElement>("[data-gis-line-id]");
    if (input && label && input.dataset.network !== network) {
      input.value = "";
      label.classList.remove("is-set", "is-invalid");
      label.textContent = format(this.strings.select_line, { network: this.strings[network] ?? network });
      this.selection.clear("line");
    }
    this.onNetworkWanted(network);
  }

  /** A drain or sewer picked on the map (a click while this form waits for one, or the popup's button). */
  pickLine(pick: LinePick): void {
    this.select.value = "connectable";
    this.show();
    const radio = this.form.querySelector<HTMLInputElement>(`input[name=network][value="${pick.network}"]`);
    if (radio && !radio.checked) {
      radio.checked = true;
      this.networkChanged();
    }
    const input = this.form.querySelector<HTMLInputElement>("[data-gis-line-id]");
    const label = this.form.querySelector<HTMLElement>("[data-gis-line-label]");
    if (!input || !label) return;
    input.value = String(pick.id);
    input.dataset.network = pick.network;
    label.classList.add("is-set");
    label.classList.remove("is-invalid");
    label.textContent = format(this.strings.selected_line, { network: this.strings[pick.network] ?? pick.network, code: pick.code });
    this.selection.set("line", [pick.geometry]);
    this.error.hidden = true;
  }

  /** The area drawn for "what is in an area" (null: none). */
  setArea(geometry: Geometry | null): void {
    const input = this.form.querySelector<HTMLInputElement>("[data-gis-area-geometry]");
    const label = this.form.querySelector<HTMLElement>("[data-gis-area-label]");
    if (!input || !label) return;
    input.value = geometry ? JSON.stringify(geometry) : "";
    label.classList.toggle("is-set", !!geometry);
    label.classList.remove("is-invalid");
    if (!geometry) {
      label.textContent = this.strings.no_area ?? "";
      return;
    }
    const ward = this.form.querySelector<HTMLInputElement>("input[name=ward]");
    if (ward) ward.value = "";
    const radius = circleRadius(geometry);
    let text = format(this.strings.drawn_area, { area: squareMetres(geometryArea(geometry), this.strings) });
    if (radius) text += ` · ${this.strings.radius} ${number(radius)} ${this.strings.unit_m}`;
    label.textContent = text;
    this.select.value = "area_summary";
    this.show();
  }

  private params(): [string, string][] {
    const data = new FormData(this.form);
    const out: [string, string][] = [];
    for (const [key, value] of data.entries()) {
      if (key !== "analysis" && typeof value === "string" && value !== "") out.push([key, value]);
    }
    return out;
  }

  private url(): string {
    return this.urlTemplate.replace("analysis-name", this.name);
  }

  private busy(on: boolean): void {
    const button = this.form.querySelector<HTMLButtonElement>("[data-gis-run]");
    if (button) {
      button.disabled = on;
      button.querySelector(".spinner-border")?.toggleAttribute("hidden", !on);
    }
    this.root.dataset.analysis = on ? "running" : this.root.dataset.analysis === "running" ? "done" : this.root.dataset.analysis ?? "";
  }

  async run(): Promise<void> {
    this.error.hidden = true;
    for (const node of this.form.querySelectorAll(".is-invalid")) node.classList.remove("is-invalid");
    const params = this.params();
    const name = this.name;
    this.busy(true);
    try {
      const response = await fetch(this.url(), {
        method: "POST", body: new URLSearchParams(params), credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
      if (response.status === 400) {
        const body = (await response.json()) as { errors?: FieldError[] };
        this.showErrors(body.errors ?? []);
        this.root.dataset.analysis = "error";
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      const result = (await response.json()) as Result;
      this.lastParams = params;
      this.lastName = name;
      this.render(result);
      this.root.dataset.analysis = "done";
    } catch {
      this.error.textContent = this.strings.failed ?? "";
      this.error.hidden = false;
      this.root.dataset.analysis = "error";
    } finally {
      this.busy(false);
    }
  }

  private showErrors(errors: FieldError[]): void {
    const messages: string[] = [];
    for (const error of errors) {
      const target = this.field(error.field) ?? this.form.querySelector<HTMLElement>(`fieldset:not([disabled]) [data-field="${error.field}"]`);
      target?.classList.add("is-invalid");
      messages.push(error.message);
    }
    this.error.textContent = messages.join(" ") || this.strings.failed || "";
    this.error.hidden = false;
  }

  private render(result: Result): void {
    const features = result.features.features;
    const rampKey = RAMP_OF[result.name];
    let max = 0;
    if (rampKey) for (const f of features) max = Math.max(max, Number(f.properties[rampKey]) || 0);
    const drawn: FeatureCollection = {
      type: "FeatureCollection",
      features: features.filter((f) => f.geometry).map((f, index) => ({
        ...f, id: index,
        properties: rampKey && max > 0 ? { ...f.properties, _value: (Number(f.properties[rampKey]) || 0) / max } : f.properties,
      })),
    };
    showResults(this.map, drawn);
    this.onResults(drawn.features.length > 0);
    const area = this.lastParams.find(([key]) => key === "geometry");
    if (result.name === "area_summary" && area) this.selection.set("area", [JSON.parse(area[1]) as Geometry]);
    else this.selection.clear("area");

    const title = this.results.querySelector("[data-gis-results-title]");
    if (title) title.textContent = this.strings.kinds[result.name] ?? humanize(result.name);
    this.renderSummary(result, rampKey, max);
    this.renderTable(result);
    this.renderExport(features.some((f) => f.geometry));
    this.results.hidden = false;

    const bounds = boundsOf(drawn.features.map((f) => f.geometry as Geometry));
    if (bounds) this.map.fitBounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]], { padding: 60, maxZoom: 18, duration: 800 });
  }

  private renderSummary(result: Result, rampKey: string | undefined, max: number): void {
    const list = this.results.querySelector("[data-gis-results-summary]") as HTMLElement;
    const nodes: HTMLElement[] = [];
    for (const [key, value] of Object.entries(result.summary)) {
      const label = this.strings.fields[key] ?? humanize(key);
      if (value && typeof value === "object") {
        const items = Object.entries(value as Record<string, number>).map(([k, v]) => element("li", {},
          `${key === "by_ward" ? `${this.strings.fields.ward} ${k}` : valueText("sanitation_system", k, this.strings, this.labels) || this.strings.not_recorded}: `,
          element("strong", { text: number(Number(v)) })));
        nodes.push(element("dt", { text: label }), element("dd", { class: "gis-summary-wide" }, element("ul", {}, ...items)));
        continue;
      }
      const text = key === "area_m2" ? squareMetres(Number(value), this.strings) : typeof value === "number" ? number(value, 2) : String(value);
      nodes.push(element("dt", { text: label }), element("dd", { text }));
    }
    if (rampKey && max > 0) {
      const ramp = element("div", {}, element("div", { class: "gis-ramp" }),
        element("div", { class: "gis-ramp-labels" }, element("span", { text: "0" }),
          element("span", { text: rampKey === "municipal_share" ? `${number(max * 100)} %` : number(max) })));
      nodes.push(element("dt", { text: this.strings.fields[rampKey] ?? rampKey }), element("dd", { class: "gis-summary-wide" }, ramp));
    }
    list.replaceChildren(...nodes);
  }

  private renderTable(result: Result): void {
    const table = this.results.querySelector("[data-gis-results-table]") as HTMLTableElement;
    const note = this.results.querySelector("[data-gis-results-note]") as HTMLElement;
    const features = result.features.features;
    const head = element("tr", {}, ...result.columns.map((column) => element("th", { scope: "col", text: this.strings.fields[column] ?? humanize(column) })));
    table.tHead?.replaceChildren(head);
    const body = table.tBodies[0] as HTMLTableSectionElement;
    if (!features.length) {
      body.replaceChildren(element("tr", {}, element("td", { colspan: String(result.columns.length), class: "text-body-secondary", text: this.strings.no_rows ?? "" })));
      note.hidden = true;
      return;
    }
    const shown = features.slice(0, MAX_TABLE_ROWS);
    body.replaceChildren(...shown.map((feature) => this.row(feature, result.columns)));
    note.hidden = features.length <= MAX_TABLE_ROWS;
    note.textContent = format(this.strings.showing_rows, { shown: number(shown.length), count: number(features.length) });
  }

  private row(feature: Feature, columns: string[]): HTMLTableRowElement {
    const row = element("tr", { tabindex: "0" }, ...columns.map((column) => {
      const value = feature.properties[column];
      const text = column === "municipal_share" && typeof value === "number" ? `${number(value * 100, 1)} %` : valueText(column, value, this.strings, this.labels);
      return element("td", { text });
    }));
    const go = (): void => {
      if (!feature.geometry) return;
      const bounds = boundsOf([feature.geometry]);
      if (bounds) this.map.fitBounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]], { padding: 80, maxZoom: 19, duration: 600 });
      this.selection.set("row", [feature.geometry]);
    };
    row.addEventListener("click", go);
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") go();
    });
    return row;
  }

  private renderExport(hasGeometry: boolean): void {
    const form = this.results.querySelector<HTMLFormElement>("[data-gis-export]");
    const fields = form?.querySelector("[data-gis-export-fields]");
    if (!form || !fields) return;
    form.action = this.urlTemplate.replace("analysis-name", this.lastName);
    fields.replaceChildren(...this.lastParams.map(([key, value]) => element("input", { type: "hidden", name: key, value })));
    const gpkg = form.querySelector<HTMLButtonElement>("[data-gis-export-gpkg]");
    if (gpkg) gpkg.hidden = !hasGeometry;
  }

  clearResults(): void {
    showResults(this.map, { type: "FeatureCollection", features: [] });
    this.onResults(false);
    this.selection.clear("row");
    this.selection.clear("area");
    this.results.hidden = true;
    delete this.root.dataset.analysis;
  }
}
