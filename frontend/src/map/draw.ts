// Drawing with Terra Draw: measuring a distance or an area, and drawing the area (polygon or circle) an analysis
// runs on. One shape at a time; when it is finished the map goes back to identifying what is clicked.
import type * as maplibregl from "maplibre-gl";
import {
  TerraDraw, TerraDrawCircleMode, TerraDrawLineStringMode, TerraDrawPolygonMode, type GeoJSONStoreFeatures,
} from "terra-draw";
import { TerraDrawMapLibreGLAdapter } from "terra-draw-maplibre-gl-adapter";
import { element, metres, squareMetres, type Strings } from "./config";
import { distance, geometryArea, geometryLength, positionsOf, type Geometry } from "./geo";

export type Purpose = "measure-line" | "measure-area" | "area-polygon" | "area-circle";
const MODE_OF: Record<Purpose, string> = {
  "measure-line": "linestring", "measure-area": "polygon", "area-polygon": "polygon", "area-circle": "circle",
};
const INK = "#2563eb";

export class Drawing {
  private readonly draw: TerraDraw;
  private purpose: Purpose | null = null;
  private ready = false;
  private finishedAt = 0;
  onArea: (geometry: Geometry) => void = () => undefined;
  onModeChange: (purpose: Purpose | null) => void = () => undefined;

  constructor(map: maplibregl.Map, private readonly strings: Strings, private readonly readout: HTMLElement,
              private readonly hint: HTMLElement) {
    const keyEvents = { cancel: "Escape", finish: "Enter" };
    this.draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 9 }),
      modes: [
        new TerraDrawLineStringMode({
          keyEvents, styles: { lineStringColor: INK, lineStringWidth: 3, closingPointColor: INK, coordinatePointColor: INK },
        }),
        new TerraDrawPolygonMode({
          keyEvents, styles: {
            fillColor: INK, fillOpacity: 0.12, outlineColor: INK, outlineWidth: 2.5, closingPointColor: INK,
            coordinatePointColor: INK,
          },
        }),
        new TerraDrawCircleMode({
          keyEvents, styles: { fillColor: INK, fillOpacity: 0.12, outlineColor: INK, outlineWidth: 2.5 },
        }),
      ],
    });
    this.draw.on("ready", () => { this.ready = true; });
    this.draw.on("change", (ids) => this.changed(ids));
    this.draw.on("finish", (id) => this.finished(id));
    this.draw.start();
  }

  /** Drawing, or just finished (the click that closed a shape must not also identify what is under it). */
  get active(): boolean {
    return this.purpose !== null || performance.now() - this.finishedAt < 400;
  }

  start(purpose: Purpose): void {
    if (!this.ready) return;
    this.draw.clear();
    this.purpose = purpose;
    this.draw.setMode(MODE_OF[purpose]);
    this.hint.textContent = purpose === "measure-line" ? this.strings.hint_line ?? ""
      : purpose === "area-circle" ? this.strings.hint_circle ?? "" : this.strings.hint_polygon ?? "";
    if (purpose.startsWith("measure")) this.readout.replaceChildren();
    this.onModeChange(purpose);
  }

  stop(): void {
    if (this.ready) this.draw.setMode("static");
    this.purpose = null;
    this.hint.textContent = this.strings.hint_idle ?? "";
    this.onModeChange(null);
  }

  clear(): void {
    if (this.ready) this.draw.clear();
    this.readout.replaceChildren();
    this.stop();
  }

  private shape(id: string | number): Geometry | null {
    const feature = this.draw.getSnapshotFeature(id) as GeoJSONStoreFeatures | undefined;
    const geometry = feature?.geometry as Geometry | undefined;
    return geometry && (geometry.type === "LineString" || geometry.type === "Polygon") ? geometry : null;
  }

  private changed(ids: (string | number)[]): void {
    if (!this.purpose?.startsWith("measure")) return;
    for (const id of ids) {
      const geometry = this.shape(id);
      if (geometry) this.measure(geometry);
    }
  }

  private finished(id: string | number): void {
    const purpose = this.purpose;
    const geometry = this.shape(id);
    if (!purpose || !geometry) return;
    if (purpose.startsWith("measure")) this.measure(geometry);
    else this.onArea(geometry);
    this.purpose = null;
    this.finishedAt = performance.now();
    this.draw.setMode("static"); // the shape stays on the map; clicks identify again
    this.hint.textContent = this.strings.hint_idle ?? "";
    this.onModeChange(null);
  }

  private measure(geometry: Geometry): void {
    const rows: [string, string][] = [];
    if (geometry.type === "LineString") {
      rows.push([this.strings.distance ?? "", metres(geometryLength(geometry), this.strings)]);
    } else if (geometry.type === "Polygon") {
      rows.push([this.strings.area ?? "", squareMetres(geometryArea(geometry), this.strings)]);
      rows.push([this.strings.perimeter ?? "", metres(geometryLength(geometry), this.strings)]);
    }
    this.readout.replaceChildren(element("dl", {}, ...rows.flatMap(([label, value]) => [
      element("dt", { text: label }), element("dd", { text: value })])));
  }
}

/** A drawn circle's radius, for the label under the analysis form. */
export function circleRadius(geometry: Geometry): number | null {
  if (geometry.type !== "Polygon") return null;
  const ring = positionsOf(geometry);
  if (ring.length < 16) return null;
  const centre = ring.reduce<[number, number]>(
    (sum, [lon = 0, lat = 0]) => [sum[0] + lon / ring.length, sum[1] + lat / ring.length], [0, 0]);
  const radii = ring.map((position) => distance(centre, position));
  const mean = radii.reduce((a, b) => a + b, 0) / radii.length;
  return radii.every((r) => Math.abs(r - mean) < mean * 0.02) ? mean : null;
}
