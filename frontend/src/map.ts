// The staff map page (maps/map.html): MapLibre GL bundled here, our own vector tiles as the base map, a layer
// switcher with legends, identify, search, measuring, drawing, analyses with exports, and a PNG "print".
//
// The page hands over its layers (`map-config`) and every UI string (`map-strings`) as JSON blocks, and its URLs
// as data attributes: nothing executable inline (strict CSP), no English in this file.
import "maplibre-gl/dist/maplibre-gl.css";
import "./map/map.css";
import * as maplibregl from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import { Analyses } from "./map/analyses";
import { readJson, readUrls, type MapConfig, type Strings } from "./map/config";
import { Drawing, type Purpose } from "./map/draw";
import { Identify, legendLabels } from "./map/identify";
import { Imagery } from "./map/imagery";
import { LayerSwitcher } from "./map/layers";
import { addOverlays, Selection } from "./map/overlays";
import { printMap } from "./map/print";
import { Search } from "./map/search";
import { buildStyle, COLOURS } from "./map/style";

maplibregl.setWorkerUrl(workerUrl);

class ButtonsControl implements maplibregl.IControl {
  private container: HTMLElement | null = null;

  constructor(private readonly buttons: { icon: string; title: string; action: () => void; name: string }[]) {}

  onAdd(): HTMLElement {
    const container = document.createElement("div");
    container.className = "maplibregl-ctrl maplibregl-ctrl-group gis-ctrl";
    for (const spec of this.buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.title = spec.title;
      button.setAttribute("aria-label", spec.title);
      button.dataset.gisControl = spec.name;
      const icon = document.createElement("i");
      icon.className = `bi ${spec.icon}`;
      icon.setAttribute("aria-hidden", "true");
      button.append(icon);
      button.addEventListener("click", spec.action);
      container.append(button);
    }
    this.container = container;
    return container;
  }

  onRemove(): void {
    this.container?.remove();
  }
}

function fallback(target: HTMLElement): void {
  const note = document.createElement("p");
  note.className = "gis-map-fallback";
  note.textContent = target.dataset.fallback ?? "";
  target.replaceChildren(note);
}

function start(root: HTMLElement): void {
  const config = readJson<MapConfig>(root.dataset.config);
  const strings = readJson<Strings>(root.dataset.strings);
  const target = root.querySelector<HTMLElement>(".gis-map");
  if (!config || !strings || !target) return;
  const urls = readUrls(root);
  const [minx, miny, maxx, maxy] = config.bounds;
  const bounds: maplibregl.LngLatBoundsLike = [[minx, miny], [maxx, maxy]];
  const switcher = new LayerSwitcher(root.querySelector("[data-gis-layers]") as HTMLElement, config, strings,
    `imis-map-layers:${window.location.host}`);
  switcher.render();
  const { style, ids } = buildStyle(config, strings, switcher.visible);
  let resultsShown = false;

  let map: maplibregl.Map;
  try {
    map = new maplibregl.Map({
      container: target,
      style,
      bounds,
      fitBoundsOptions: { padding: 24 },
      maxZoom: 21,
      hash: "view",
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      canvasContextAttributes: { preserveDrawingBuffer: true }, // the PNG "print" reads the canvas
      locale: {
        "NavigationControl.ZoomIn": strings.zoom_in_button ?? "",
        "NavigationControl.ZoomOut": strings.zoom_out_button ?? "",
        "Popup.Close": strings.close ?? "",
        "Map.Title": strings.map_title ?? "",
        "GeolocateControl.FindMyLocation": strings.my_location ?? "",
        "GeolocateControl.LocationNotAvailable": strings.location_unavailable ?? "",
        "ScaleControl.Meters": strings.unit_m ?? "",
        "ScaleControl.Kilometers": strings.unit_km ?? "",
      },
    });
  } catch {
    fallback(target);
    return;
  }
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.GeolocateControl({ positionOptions: { enableHighAccuracy: true }, trackUserLocation: false }), "top-right");
  map.addControl(new ButtonsControl([
    { name: "home", icon: "bi-house", title: strings.home ?? "", action: () => map.fitBounds(bounds, { padding: 24 }) },
    {
      name: "print", icon: "bi-printer", title: strings.print ?? "",
      action: () => printMap(map, config, switcher.visible, strings, {
        municipality: urls.municipality, timeZone: root.dataset.timezone || "Asia/Dhaka",
        extra: resultsShown ? [{ label: strings.analysis_results ?? "", colour: COLOURS.result, geometry: "Polygon" }] : [],
      }),
    },
  ]), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric", maxWidth: 120 }), "bottom-left");

  map.on("movestart", () => { root.dataset.state = "moving"; });
  map.on("idle", () => { root.dataset.state = "idle"; });

  // The side panel: collapsible (a strip on desktop, a bottom sheet on phones).
  const toggle = root.querySelector<HTMLButtonElement>("[data-gis-panel-toggle]");
  const phone = window.matchMedia("(max-width: 767.98px)");
  const setPanel = (open: boolean): void => {
    root.classList.toggle("gis-collapsed", !open);
    toggle?.setAttribute("aria-expanded", String(open));
    window.requestAnimationFrame(() => map.resize());
  };
  toggle?.addEventListener("click", () => setPanel(root.classList.contains("gis-collapsed")));
  if (phone.matches) setPanel(false);
  new ResizeObserver(() => map.resize()).observe(target);

  map.on("load", () => {
    addOverlays(map);
    switcher.attach(map, ids);
    const imagerySection = root.querySelector<HTMLElement>("[data-gis-imagery]");
    if (imagerySection?.dataset.sourcesUrl) {
      map.addControl(new maplibregl.AttributionControl({ compact: true }), "bottom-right");
      void new Imagery(imagerySection, map, `imis-map-imagery:${window.location.host}`).load(imagerySection.dataset.sourcesUrl);
    }
    const selection = new Selection(map);
    const identify = new Identify(map, switcher, strings, urls, legendLabels(config.layers));
    const drawing = new Drawing(map, strings, root.querySelector("[data-gis-measure]") as HTMLElement,
      root.querySelector("[data-gis-draw-hint]") as HTMLElement);
    identify.enabled = () => !drawing.active;
    const analysePane = root.querySelector<HTMLElement>("#gis-pane-analyse");
    identify.canPick = () => !!analysePane?.classList.contains("active") && !root.classList.contains("gis-collapsed");
    identify.onSelect = (geometry) => selection.set("identify", [geometry]);

    const analysisForm = root.querySelector<HTMLFormElement>("[data-gis-analysis-form]");
    const results = root.querySelector<HTMLElement>("[data-gis-results]");
    if (analysisForm && results && urls.analysis) {
      const analyses = new Analyses(analysisForm, results, map, config, strings, urls.analysis, selection, root);
      const showAnalyse = (): void => {
        root.querySelector<HTMLButtonElement>("#gis-tab-analyse")?.click();
        if (phone.matches) setPanel(true);
      };
      identify.onPickLine = (pick) => {
        analyses.pickLine(pick);
        showAnalyse();
      };
      analyses.onNetworkWanted = (network) => {
        identify.pickNetwork = network;
        if (network && !switcher.visible.has(`${network}s`)) switcher.set(`${network}s`, true);
      };
      analyses.onNetworkWanted(analyses.name === "connectable" ? "drain" : null);
      analyses.onStartDrawing = (purpose) => {
        identify.close();
        drawing.start(purpose);
        if (phone.matches) setPanel(false);
      };
      // While results are shown, the building layers step back so that the highlighted ones stand out.
      const faded = new Map<string, maplibregl.DataDrivenPropertyValueSpecification<number>>();
      analyses.onResults = (shown) => {
        resultsShown = shown;
        for (const name of ["buildings", "buildings_sanitation"]) {
          const id = `${name}-fill`;
          if (!map.getLayer(id)) continue;
          if (!faded.has(id)) faded.set(id, map.getPaintProperty(id, "fill-opacity") as number);
          map.setPaintProperty(id, "fill-opacity", shown ? 0.4 : faded.get(id) ?? 0.9);
        }
      };
      drawing.onArea = (geometry) => {
        analyses.setArea(geometry);
        showAnalyse();
      };
    }
    for (const button of root.querySelectorAll<HTMLButtonElement>("#gis-pane-measure [data-gis-tool]")) {
      button.addEventListener("click", () => {
        const tool = button.dataset.gisTool ?? "";
        identify.close();
        if (tool === "clear") drawing.clear();
        else drawing.start(tool as Purpose);
      });
    }
    drawing.onModeChange = (purpose) => {
      root.dataset.drawing = purpose ?? "";
      for (const button of root.querySelectorAll<HTMLButtonElement>("[data-gis-tool]")) {
        button.classList.toggle("active", button.dataset.gisTool === purpose);
        button.setAttribute("aria-pressed", String(button.dataset.gisTool === purpose));
      }
    };

    const searchForm = root.querySelector<HTMLFormElement>("[data-gis-search]");
    if (searchForm && urls.search) {
      const search = new Search(searchForm, urls.search, map, strings);
      search.onPick = (result) => {
        identify.close();
        selection.set("search", [result.geometry]);
        if (result.kind === "drain" || result.kind === "sewer") switcher.set(`${result.kind}s`, true);
      };
    }
    root.dataset.ready = "true";
  });
}

const root = document.querySelector<HTMLElement>("[data-gis]");
if (root) start(root);
