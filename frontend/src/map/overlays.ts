// What the page draws over the data: the analysis results (a GeoJSON source, coloured by a value when the
// analysis is a choropleth) and the current selection (a search match, an identified feature, the picked drain).
import type * as maplibregl from "maplibre-gl";
import type { Geometry } from "./geo";
import { COLOURS } from "./style";

export type Feature = { type: "Feature"; id?: string | number; geometry: Geometry | null; properties: Record<string, unknown> };
export type FeatureCollection = { type: "FeatureCollection"; features: Feature[] };

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };
type Expression = maplibregl.ExpressionSpecification;
const POLYGON: Expression = ["in", ["geometry-type"], ["literal", ["Polygon", "MultiPolygon"]]];
const LINE: Expression = ["in", ["geometry-type"], ["literal", ["LineString", "MultiLineString"]]];
const POINT: Expression = ["in", ["geometry-type"], ["literal", ["Point", "MultiPoint"]]];

export function addOverlays(map: maplibregl.Map): void {
  map.addSource("gis-results", { type: "geojson", data: EMPTY });
  map.addSource("gis-selection", { type: "geojson", data: EMPTY });
  const value = ["to-number", ["get", "_value"], 0] as maplibregl.ExpressionSpecification;
  const ramp = ["interpolate", ["linear"], value, 0, "#fef3c7", 0.5, "#f59e0b", 1, "#b91c1c"] as maplibregl.ExpressionSpecification;
  // Results keep the thematic colour of what they cover, under a strong outline (a ramp fill for choropleths).
  const fill = ["case", ["has", "_value"], ramp, COLOURS.result] as maplibregl.ExpressionSpecification;
  map.addLayer({
    id: "gis-results-fill", type: "fill", source: "gis-results", filter: POLYGON,
    paint: { "fill-color": fill, "fill-opacity": ["case", ["has", "_value"], 0.72, 0.35] },
  });
  map.addLayer({
    id: "gis-results-halo", type: "line", source: "gis-results", filter: ["any", POLYGON, LINE],
    layout: { "line-join": "round" },
    paint: { "line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 13, 2, 18, 5] },
  });
  map.addLayer({
    id: "gis-results-line", type: "line", source: "gis-results", filter: ["any", POLYGON, LINE],
    layout: { "line-join": "round" },
    paint: { "line-color": COLOURS.resultLine, "line-width": ["interpolate", ["linear"], ["zoom"], 13, 1, 18, 2.5] },
  });
  map.addLayer({
    id: "gis-results-point", type: "circle", source: "gis-results", filter: POINT,
    paint: { "circle-color": fill, "circle-radius": 6, "circle-stroke-color": COLOURS.resultLine, "circle-stroke-width": 2 },
  });
  map.addLayer({
    id: "gis-selection-fill", type: "fill", source: "gis-selection", filter: POLYGON,
    paint: { "fill-color": COLOURS.selection, "fill-opacity": 0.18 },
  });
  map.addLayer({
    id: "gis-selection-line", type: "line", source: "gis-selection", filter: ["any", POLYGON, LINE],
    layout: { "line-cap": "round", "line-join": "round" },
    paint: { "line-color": COLOURS.selection, "line-width": ["case", ["==", ["geometry-type"], "LineString"], 6, 3], "line-opacity": 0.85 },
  });
  map.addLayer({
    id: "gis-selection-point", type: "circle", source: "gis-selection", filter: POINT,
    paint: { "circle-color": "rgba(0,0,0,0)", "circle-radius": 11, "circle-stroke-color": COLOURS.selection, "circle-stroke-width": 3 },
  });
}

function setData(map: maplibregl.Map, source: string, data: FeatureCollection): void {
  (map.getSource(source) as maplibregl.GeoJSONSource | undefined)?.setData(data as unknown as GeoJSON.FeatureCollection);
}

/** Selection: keyed parts (e.g. "search", "identify", "line") so that picking a drain keeps the search match. */
export class Selection {
  private readonly parts = new Map<string, Feature[]>();

  constructor(private readonly map: maplibregl.Map) {}

  set(key: string, geometries: (Geometry | null | undefined)[]): void {
    const features = geometries.filter((g): g is Geometry => !!g)
      .map((geometry) => ({ type: "Feature" as const, geometry, properties: {} }));
    if (features.length) this.parts.set(key, features);
    else this.parts.delete(key);
    setData(this.map, "gis-selection", { type: "FeatureCollection", features: [...this.parts.values()].flat() });
  }

  clear(key: string): void {
    this.set(key, []);
  }
}

export function showResults(map: maplibregl.Map, data: FeatureCollection): void {
  setData(map, "gis-results", data);
}
