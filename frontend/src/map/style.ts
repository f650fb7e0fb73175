// The map's style, built from the layer declarations the server sends: one vector source per layer (its own tile
// endpoint), our layers making the base map (wards, water, roads, buildings), thematic layers coloured by their
// style property with the legend's colours. Labels use the Noto Sans Bengali files we already ship (style
// `font-faces`): no glyph or tile request leaves the site.
import type * as maplibregl from "maplibre-gl";
import bengali400 from "@fontsource/noto-sans-bengali/files/noto-sans-bengali-bengali-400-normal.woff2?url";
import bengali600 from "@fontsource/noto-sans-bengali/files/noto-sans-bengali-bengali-600-normal.woff2?url";
import latin400 from "@fontsource/noto-sans-bengali/files/noto-sans-bengali-latin-400-normal.woff2?url";
import latin600 from "@fontsource/noto-sans-bengali/files/noto-sans-bengali-latin-600-normal.woff2?url";
import type { LayerConfig, MapConfig, Strings } from "./config";

type Layer = maplibregl.LayerSpecification;
type Expression = maplibregl.ExpressionSpecification;

export const FONT_REGULAR = "IMIS Regular";
export const FONT_BOLD = "IMIS Bold";
const LATIN = ["U+0000-00FF", "U+0131", "U+0152-0153", "U+02BB-02BC", "U+02C6", "U+02DA", "U+02DC", "U+2000-206F",
  "U+20AC", "U+2122", "U+2212"];
const BENGALI = ["U+0951-0952", "U+0964-0965", "U+0980-09FE", "U+200C-200D", "U+25CC"];

export const COLOURS = {
  background: "#f3f4f1",
  roadCasing: "#a3acb9",
  road: "#ffffff",
  majorRoad: "#fde9b0",
  building: "#d4d8de",
  buildingLine: "#9aa3af",
  highlight: "#e11d48",
  result: "#1d4ed8",
  resultLine: "#1e3a8a",
  selection: "#db2777",
};

/** The MapLibre layer ids drawn for each of our layers (for the switcher and identify). */
export type LayerIds = Map<string, string[]>;

const ROAD_WIDTH: Expression = [
  "match", ["get", "hierarchy"],
  "primary", 1.0, "secondary", 0.8, "tertiary", 0.62, "access", 0.45, "lane", 0.38, 0.45,
];

function zoomed(base: Expression, low: number, high: number): Expression {
  // width in pixels: `base` (0..1) × a zoom ramp, doubling per zoom level like the ground does
  return ["interpolate", ["exponential", 2], ["zoom"], 12, ["*", base, low], 18, ["*", base, high]];
}

function thematicColour(layer: LayerConfig): Expression | string {
  const property = layer.style_property;
  if (!property || !layer.legend.length) return layer.colour;
  const fallback = layer.legend.find(([value]) => value === "")?.[2] ?? "#9ca3af";
  const pairs = layer.legend.filter(([value]) => value !== "").flatMap(([value, , colour]) => [value, colour]);
  return ["match", ["coalesce", ["get", property], ""], ...pairs, fallback] as unknown as Expression;
}

function polygonLayers(layer: LayerConfig, source: string, strings: Strings): Layer[] {
  const base = { source, "source-layer": layer.name, minzoom: layer.minzoom };
  const id = layer.name;
  if (layer.name === "wards") {
    return [
      { ...base, id: `${id}-fill`, type: "fill", paint: { "fill-color": layer.colour, "fill-opacity": 0.04 } },
      {
        ...base, id: `${id}-line`, type: "line",
        paint: { "line-color": layer.colour, "line-opacity": 0.75, "line-width": ["interpolate", ["linear"], ["zoom"], 11, 1, 16, 2.5] },
      },
      {
        ...base, id: `${id}-label`, type: "symbol", maxzoom: 16,
        // only in the tile that holds the ward's point on surface: one label per ward, not one per tile
        filter: ["!=", ["get", "_label"], false] as Expression,
        layout: {
          "text-field": ["concat", strings.ward_prefix ?? "", ["to-string", ["get", "number"]]] as Expression,
          "text-font": [FONT_BOLD], "text-size": ["interpolate", ["linear"], ["zoom"], 11, 11, 15, 15],
          "symbol-placement": "point", "text-padding": 20,
        },
        paint: { "text-color": "#3730a3", "text-halo-color": "#ffffff", "text-halo-width": 1.6, "text-opacity": 0.85 },
      },
    ];
  }
  if (layer.name === "buildings") {
    return [
      { ...base, id: `${id}-fill`, type: "fill", paint: { "fill-color": COLOURS.building, "fill-opacity": 0.95 } },
      {
        ...base, id: `${id}-line`, type: "line", minzoom: Math.max(layer.minzoom, 15),
        paint: { "line-color": COLOURS.buildingLine, "line-width": 0.6 },
      },
    ];
  }
  if (layer.thematic_of) {
    return [
      { ...base, id: `${id}-fill`, type: "fill", paint: { "fill-color": thematicColour(layer), "fill-opacity": 0.9 } },
      {
        ...base, id: `${id}-line`, type: "line", minzoom: Math.max(layer.minzoom, 15),
        paint: { "line-color": "#334155", "line-opacity": 0.45, "line-width": 0.6 },
      },
    ];
  }
  const opacity = layer.name === "water_bodies" ? 0.55 : 0.16;
  const dashed = layer.name === "waterlogging" || layer.name === "low_income_communities";
  return [
    { ...base, id: `${id}-fill`, type: "fill", paint: { "fill-color": layer.colour, "fill-opacity": opacity } },
    {
      ...base, id: `${id}-line`, type: "line",
      paint: { "line-color": layer.colour, "line-width": 1.2, ...(dashed ? { "line-dasharray": [3, 2] } : {}) },
    },
  ];
}

function lineLayers(layer: LayerConfig, source: string): Layer[] {
  const base = { source, "source-layer": layer.name, minzoom: layer.minzoom };
  const id = layer.name;
  if (layer.name === "roads") {
    return [
      {
        ...base, id: `${id}-casing`, type: "line", layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": COLOURS.roadCasing, "line-width": zoomed(ROAD_WIDTH, 3, 26) },
      },
      {
        ...base, id: `${id}-line`, type: "line", layout: { "line-cap": "round", "line-join": "round" },
        paint: {
          "line-color": ["match", ["get", "hierarchy"], ["primary", "secondary"], COLOURS.majorRoad, COLOURS.road],
          "line-width": zoomed(ROAD_WIDTH, 2, 22),
        },
      },
      {
        ...base, id: `${id}-label`, type: "symbol", minzoom: Math.max(layer.minzoom, 15),
        layout: {
          "symbol-placement": "line", "text-field": ["get", "name"], "text-font": [FONT_REGULAR], "text-size": 11,
          "text-max-angle": 30, "symbol-spacing": 320,
        },
        paint: { "text-color": "#334155", "text-halo-color": "#ffffff", "text-halo-width": 1.4 },
      },
    ];
  }
  const dash: Record<string, number[]> = { water_lines: [2, 1.5], sewers: [4, 1.5] };
  const width: Record<string, number> = { drains: 1.6, sewers: 2, water_lines: 1.5 };
  const colour = layer.thematic_of ? thematicColour(layer) : layer.colour;
  return [{
    ...base, id: `${id}-line`, type: "line", layout: { "line-cap": "round", "line-join": "round" },
    paint: {
      "line-color": colour,
      "line-width": ["interpolate", ["linear"], ["zoom"], 13, (width[layer.name] ?? 2) * 0.5, 16, width[layer.name] ?? 2,
        19, (width[layer.name] ?? 2) * 2.5],
      "line-opacity": ["interpolate", ["linear"], ["zoom"], 13, 0.6, 16, 1],
      ...(dash[layer.name] ? { "line-dasharray": dash[layer.name] } : {}),
    },
  }];
}

function pointLayers(layer: LayerConfig, source: string): Layer[] {
  const big = layer.name === "treatment_plants";
  return [{
    id: `${layer.name}-circle`, type: "circle", source, "source-layer": layer.name, minzoom: layer.minzoom,
    paint: {
      "circle-color": thematicColour(layer),
      "circle-radius": big ? 8 : ["interpolate", ["linear"], ["zoom"], 13, 1.5, 16, 3, 18, 5.5, 20, 8],
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": big ? 2 : ["interpolate", ["linear"], ["zoom"], 14, 0.5, 17, 1.2],
    },
  }];
}

export function layersOf(layer: LayerConfig, strings: Strings): Layer[] {
  const source = `src-${layer.name}`;
  if (layer.geometry === "Point") return pointLayers(layer, source);
  if (layer.geometry === "LineString") return lineLayers(layer, source);
  return polygonLayers(layer, source, strings);
}

// Paint order: areas, then buildings, then lines, then points, then labels (whatever the declaration order).
function rank(layer: Layer): number {
  if (layer.type === "symbol") return 5;
  if (layer.type === "circle") return 4;
  if (layer.id.startsWith("wards-line")) return 3.5;
  if (layer.type === "line" && !layer.id.startsWith("buildings")) return 3;
  if (layer.id.startsWith("buildings")) return 2;
  return 1;
}

export function buildStyle(config: MapConfig, strings: Strings, visible: Set<string>): {
  style: maplibregl.StyleSpecification; ids: LayerIds;
} {
  const sources: maplibregl.StyleSpecification["sources"] = {};
  const layers: Layer[] = [];
  const ids: LayerIds = new Map();
  for (const layer of config.layers) {
    sources[`src-${layer.name}`] = {
      type: "vector", tiles: [layer.tiles], minzoom: layer.minzoom, maxzoom: 22, bounds: config.bounds,
    };
    const own = layersOf(layer, strings).map((spec) => ({
      ...spec, layout: { ...(spec.layout ?? {}), visibility: visible.has(layer.name) ? "visible" : "none" },
    }) as Layer);
    ids.set(layer.name, own.map((spec) => spec.id));
    layers.push(...own);
  }
  const ordered = layers.map((layer, index) => ({ layer, index }))
    .sort((a, b) => rank(a.layer) - rank(b.layer) || a.index - b.index).map(({ layer }) => layer);
  const base: Layer[] = [{ id: "background", type: "background", paint: { "background-color": COLOURS.background } }];
  if (config.basemap_url) {
    sources.basemap = { type: "raster", tiles: [config.basemap_url], tileSize: 256 };
    base.push({ id: "basemap", type: "raster", source: "basemap", paint: { "raster-opacity": 0.9 } });
  }
  const fonts = (latin: string, bengali: string) => [
    { url: latin, "unicode-range": LATIN }, { url: bengali, "unicode-range": BENGALI },
  ];
  return {
    style: {
      version: 8,
      "font-faces": { [FONT_REGULAR]: fonts(latin400, bengali400), [FONT_BOLD]: fonts(latin600, bengali600) },
      sources,
      layers: [...base, ...ordered],
    } as maplibregl.StyleSpecification,
    ids,
  };
}
