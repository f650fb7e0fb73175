// The registry's small record map: a footprint, a containment, a holding's buildings.
//
// No map tiles are fetched: the style is a plain background plus one GeoJSON source that the page hands over in
// a `{{ data|json_script:"id" }}` block (allowed by the CSP: it is not executable). The container names that
// block: <div data-minimap="minimap-data" data-minimap-fallback="...">.
//
// Feature properties the page may set:
//   role   "subject" (the record itself), "served" (a containment's buildings), "containment" (a point);
//          "neighbour" and "road" are context: drawn, but the map is fitted to the others
//   label  shown on hover
//   url    opened on click
import "maplibre-gl/dist/maplibre-gl.css";
import * as maplibregl from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";

maplibregl.setWorkerUrl(workerUrl);

type Position = number[];
type Geometry = { type: string; coordinates: unknown };
type Feature = { type: "Feature"; geometry: Geometry; properties?: Record<string, unknown> };
type FeatureCollection = { type: "FeatureCollection"; features: Feature[] };

// Bootstrap's palette, so the legend under the map (bi-square-fill text-primary ...) matches.
const COLOURS = {
  background: "#eef2f6",
  subjectFill: "#0d6efd",
  subjectLine: "#084298",
  servedFill: "#198754",
  servedLine: "#0f5132",
  neighbourFill: "#dee2e6",
  neighbourLine: "#6c757d",
  containment: "#664d03",
  road: "#b6bbc1",
};

const CONTEXT_ROLES = new Set(["neighbour", "road"]);

function positionsOf(geometry: Geometry): Position[] {
  const out: Position[] = [];
  const walk = (value: unknown): void => {
    if (!Array.isArray(value)) return;
    if (typeof value[0] === "number") {
      out.push(value as Position);
      return;
    }
    for (const item of value) walk(item);
  };
  walk(geometry.coordinates);
  return out;
}

// Fit to the record (subject, served buildings, containments); roads and neighbours are only context.
function boundsOf(data: FeatureCollection): maplibregl.LngLatBounds | null {
  const focus = data.features.filter((feature) => !CONTEXT_ROLES.has(String(feature.properties?.role)));
  const features = focus.length ? focus : data.features;
  let bounds: maplibregl.LngLatBounds | null = null;
  for (const feature of features) {
    for (const position of positionsOf(feature.geometry)) {
      const [lon, lat] = position;
      if (lon === undefined || lat === undefined) continue;
      if (bounds) bounds.extend([lon, lat]);
      else bounds = new maplibregl.LngLatBounds([lon, lat], [lon, lat]);
    }
  }
  return bounds;
}

function styleOf(data: FeatureCollection): maplibregl.StyleSpecification {
  const polygons: maplibregl.FilterSpecification = ["==", ["geometry-type"], "Polygon"];
  const role = (name: string): maplibregl.FilterSpecification => ["all", polygons, ["==", ["get", "role"], name]];
  return {
    version: 8,
    sources: { record: { type: "geojson", data: data as unknown as maplibregl.GeoJSONSourceSpecification["data"] } },
    layers: [
      { id: "background", type: "background", paint: { "background-color": COLOURS.background } },
      {
        id: "road", type: "line", source: "record", filter: ["==", ["get", "role"], "road"],
        layout: { "line-cap": "round", "line-join": "round" },
        paint: {
          "line-color": COLOURS.road,
          "line-width": ["interpolate", ["exponential", 2], ["zoom"], 14, 2, 20, 40],
        },
      },
      {
        id: "neighbour-fill", type: "fill", source: "record", filter: role("neighbour"),
        paint: { "fill-color": COLOURS.neighbourFill, "fill-opacity": 0.7 },
      },
      {
        id: "neighbour-line", type: "line", source: "record", filter: role("neighbour"),
        paint: { "line-color": COLOURS.neighbourLine, "line-width": 1 },
      },
      {
        id: "served-fill", type: "fill", source: "record", filter: role("served"),
        paint: { "fill-color": COLOURS.servedFill, "fill-opacity": 0.35 },
      },
      {
        id: "served-line", type: "line", source: "record", filter: role("served"),
        paint: { "line-color": COLOURS.servedLine, "line-width": 2 },
      },
      {
        id: "subject-fill", type: "fill", source: "record", filter: role("subject"),
        paint: { "fill-color": COLOURS.subjectFill, "fill-opacity": 0.35 },
      },
      {
        id: "subject-line", type: "line", source: "record", filter: role("subject"),
        paint: { "line-color": COLOURS.subjectLine, "line-width": 2.5 },
      },
      {
        id: "containment", type: "circle", source: "record", filter: ["==", ["geometry-type"], "Point"],
        paint: {
          "circle-radius": 7, "circle-color": COLOURS.containment,
          "circle-stroke-color": "#ffffff", "circle-stroke-width": 2,
        },
      },
    ],
  };
}

const INTERACTIVE_LAYERS = ["containment", "subject-fill", "served-fill", "neighbour-fill", "road"];

function showFallback(container: HTMLElement): void {
  const message = container.dataset.minimapFallback;
  if (!message) return;
  const note = document.createElement("p");
  note.className = "text-muted small p-3 mb-0";
  note.textContent = message;
  container.replaceChildren(note);
}

function createMap(container: HTMLElement, data: FeatureCollection): void {
  const bounds = boundsOf(data);
  if (!bounds) {
    showFallback(container);
    return;
  }
  let map: maplibregl.Map;
  try {
    map = new maplibregl.Map({
      container,
      style: styleOf(data),
      bounds,
      fitBoundsOptions: { padding: 40, maxZoom: 19 },
      maxZoom: 21,
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      cooperativeGestures: true,
    });
  } catch {
    showFallback(container); // no WebGL
    return;
  }
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  map.touchZoomRotate.disableRotation();

  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 8 });
  map.on("mousemove", (event) => {
    const [feature] = map.queryRenderedFeatures(event.point, { layers: INTERACTIVE_LAYERS });
    const label = feature?.properties?.label;
    const url = feature?.properties?.url;
    map.getCanvas().style.cursor = url ? "pointer" : "";
    if (typeof label === "string" && label) popup.setLngLat(event.lngLat).setText(label).addTo(map);
    else popup.remove();
  });
  map.on("mouseout", () => popup.remove());
  map.on("click", (event) => {
    const [feature] = map.queryRenderedFeatures(event.point, { layers: INTERACTIVE_LAYERS });
    const url = feature?.properties?.url;
    if (typeof url === "string" && url.startsWith("/")) window.location.assign(url);
  });
  // The map may sit in a tab that was hidden while it loaded: refit once it has a size.
  new ResizeObserver(() => {
    if (!container.clientWidth) return;
    map.resize();
  }).observe(container);
}

function readData(container: HTMLElement): FeatureCollection | null {
  const id = container.dataset.minimap;
  const script = id ? document.getElementById(id) : null;
  if (!script?.textContent) return null;
  try {
    const data = JSON.parse(script.textContent) as FeatureCollection;
    return data && Array.isArray(data.features) ? data : null;
  } catch {
    return null;
  }
}

// A WebGL map in a hidden tab would start at 0×0: start it the first time its container is visible.
function whenVisible(container: HTMLElement, start: () => void): void {
  if (container.clientWidth > 0 && container.clientHeight > 0) {
    start();
    return;
  }
  const observer = new ResizeObserver(() => {
    if (container.clientWidth > 0 && container.clientHeight > 0) {
      observer.disconnect();
      start();
    }
  });
  observer.observe(container);
}

for (const container of document.querySelectorAll<HTMLElement>("[data-minimap]")) {
  const data = readData(container);
  if (!data || !data.features.length) {
    showFallback(container);
    continue;
  }
  whenVisible(container, () => createMap(container, data));
}

// --- record page tabs: #map, #history ... open that tab; switching tabs updates the address --------------
function tabTrigger(hash: string): HTMLElement | null {
  if (!/^#[\w-]+$/.test(hash)) return null;
  return document.querySelector<HTMLElement>(`[data-bs-toggle="tab"][data-tab-hash="${hash.slice(1)}"]`);
}

tabTrigger(window.location.hash)?.click();

document.addEventListener("shown.bs.tab", (event) => {
  const name = (event.target as HTMLElement | null)?.dataset.tabHash;
  if (name) window.history.replaceState(null, "", `#${name}`);
});
