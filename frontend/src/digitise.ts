// The digitising page (registry/digitise.html, /map/digitise/): a GIS officer draws, reshapes, moves, splits and
// merges shapes over our vector tiles and the municipality's imagery, with the registry's attribute form beside
// the shape. Every save goes to /map/digitise/api/… (the registry.editing services validate, version-check and
// audit); the page only draws, snaps, measures and shows the answers.
//
// The page hands over its configuration (`digitise-config`) and every UI string (`digitise-strings`) as JSON
// blocks: nothing executable inline (strict CSP), no English in this file.
import "maplibre-gl/dist/maplibre-gl.css";
import "./map/map.css";
import * as maplibregl from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import {
  TerraDraw, TerraDrawLineStringMode, TerraDrawPointMode, TerraDrawPolygonMode, TerraDrawSelectMode,
  type GeoJSONStoreFeatures,
} from "terra-draw";
import { TerraDrawMapLibreGLAdapter } from "terra-draw-maplibre-gl-adapter";
import { format, number, readJson, type MapConfig, type Strings } from "./map/config";
import { geometryArea, geometryLength, positionsOf, type Geometry, type Position } from "./map/geo";
import { buildStyle } from "./map/style";

maplibregl.setWorkerUrl(workerUrl);

interface Editable { name: string; label: string; geometry: "Polygon" | "MultiPolygon" | "LineString" | "Point" }
interface Config extends MapConfig {
  can_edit: boolean;
  editable: Editable[];
  api: string;
  imagery_sources: string;
  building_url: string;
}
interface Feature {
  layer: string; id: number; label: string; version: number; geometry: Geometry | null; area_m2?: number;
  bin?: string;
}
interface ApiError { field: string; message: string; code: string | null }
interface HistoryEntry { id: number; action: string; actor: string; at: string }
type Tool = "idle" | "draw" | "select" | "split" | "merge";
type UndoStep = { layer: string; id: number; action: "create" | "update" };

const INK = "#db2777";
const SNAP_PIXELS = 12;
const MODE_OF: Record<Editable["geometry"], string> = {
  Polygon: "polygon", MultiPolygon: "polygon", LineString: "linestring", Point: "point",
};

/** Coordinates at Terra Draw's precision (9 decimals, about 0.1 mm): it refuses finer ones. */
function rounded(geometry: Geometry): Geometry {
  const round = (value: unknown): unknown => (Array.isArray(value) ? value.map(round)
    : typeof value === "number" ? Math.round(value * 1e9) / 1e9 : value);
  return { ...geometry, coordinates: round((geometry as { coordinates: unknown }).coordinates) } as Geometry;
}

function start(root: HTMLElement): void {
  const config = readJson<Config>(root.dataset.config);
  const strings = readJson<Strings & { actions: Record<string, string> }>(root.dataset.strings);
  const target = root.querySelector<HTMLElement>(".gis-map");
  if (!config || !strings || !target) return;
  const $ = <T extends HTMLElement>(selector: string): T | null => root.querySelector<T>(selector);
  const layerSelect = $<HTMLSelectElement>("[data-digitise-layer]");
  const hint = $<HTMLElement>("[data-digitise-hint]");
  const measure = $<HTMLElement>("[data-digitise-measure]");
  const form = $<HTMLFormElement>("[data-digitise-form]");
  const fields = $<HTMLElement>("[data-digitise-fields]");
  const errorBox = $<HTMLElement>("[data-digitise-error]");
  const savedBox = $<HTMLElement>("[data-digitise-saved]");
  const confirmBox = $<HTMLElement>("[data-digitise-confirm]");
  const deleteButton = $<HTMLButtonElement>("[data-digitise-delete]");
  const historyBox = $<HTMLElement>("[data-digitise-history]");
  const historyList = $<HTMLElement>("[data-digitise-history-list]");

  const [minx, miny, maxx, maxy] = config.bounds;
  const visible = new Set(config.layers.map((layer) => layer.name));
  const { style, ids } = buildStyle(config, strings, visible);
  let map: maplibregl.Map;
  try {
    map = new maplibregl.Map({
      container: target, style, bounds: [[minx, miny], [maxx, maxy]], fitBoundsOptions: { padding: 24 },
      maxZoom: 22, hash: "view", attributionControl: false, dragRotate: false, pitchWithRotate: false,
      touchPitch: false,
    });
  } catch {
    target.textContent = target.dataset.fallback ?? "";
    return;
  }
  map.doubleClickZoom.disable();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric", maxWidth: 120 }), "bottom-left");
  new ResizeObserver(() => map.resize()).observe(target);

  let tool: Tool = "idle";
  let current: Feature | null = null; // the saved feature being edited (null while drawing a new one)
  let drawId: string | number | null = null; // its shape in Terra Draw's store
  const undo: UndoStep[] = [];

  const layer = (): Editable => config.editable.find((spec) => spec.name === layerSelect?.value) ?? config.editable[0]!;
  const say = (text: string): void => { if (hint) hint.textContent = text; };
  const url = (...parts: (string | number)[]): string => `${config.api}${parts.join("/")}/`;

  // Snapping: corners snap to the nearest corner of a footprint, road, drain … drawn within a few pixels.
  const snapLayers = (): string[] => ["buildings", "roads", "drains", "sewers", "water_lines", "water_bodies",
    "low_income_communities", "wards"].flatMap((name) => ids.get(name) ?? []).filter((id) => map.getLayer(id));
  const snap = (event: { containerX: number; containerY: number }): Position | undefined => {
    const { containerX: x, containerY: y } = event;
    const box: [maplibregl.PointLike, maplibregl.PointLike] = [[x - SNAP_PIXELS, y - SNAP_PIXELS],
      [x + SNAP_PIXELS, y + SNAP_PIXELS]];
    let best: Position | undefined;
    let bestDistance = SNAP_PIXELS;
    for (const feature of map.queryRenderedFeatures(box, { layers: snapLayers() })) {
      for (const position of positionsOf(feature.geometry as Geometry)) {
        const point = map.project(position as [number, number]);
        const distance = Math.hypot(point.x - x, point.y - y);
        if (distance < bestDistance) {
          bestDistance = distance;
          best = position;
        }
      }
    }
    return best;
  };
  const snapping = { toCustom: snap, toCoordinate: true };
  const polygonStyles = { fillColor: INK, fillOpacity: 0.15, outlineColor: INK, outlineWidth: 2.5,
    closingPointColor: INK, coordinatePointColor: INK } as const;
  const draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 9 }),
    modes: [
      new TerraDrawPolygonMode({ snapping, keyEvents: { cancel: "Escape", finish: "Enter" }, styles: polygonStyles }),
      new TerraDrawLineStringMode({ snapping, keyEvents: { cancel: "Escape", finish: "Enter" },
        styles: { lineStringColor: INK, lineStringWidth: 3, closingPointColor: INK, coordinatePointColor: INK } }),
      new TerraDrawPointMode({ styles: { pointColor: INK, pointWidth: 7 } }),
      new TerraDrawSelectMode({
        flags: {
          polygon: { feature: { draggable: true, coordinates: { draggable: true, midpoints: true, deletable: true,
            snappable: snapping } } },
          linestring: { feature: { draggable: true, coordinates: { draggable: true, midpoints: true, deletable: true,
            snappable: snapping } } },
          point: { feature: { draggable: true } },
        },
        styles: { selectedPolygonColor: INK, selectedPolygonOutlineColor: INK, selectedLineStringColor: INK,
          selectedPointColor: INK, selectionPointColor: INK, midPointColor: INK },
      }),
    ],
  });

  const shape = (): Geometry | null => {
    if (drawId === null) return null;
    const feature = draw.getSnapshotFeature(drawId) as GeoJSONStoreFeatures | undefined;
    return feature ? (feature.geometry as unknown as Geometry) : null;
  };
  const showMeasure = (): void => {
    const geometry = shape();
    if (!measure) return;
    if (!geometry) { measure.textContent = ""; return; }
    if (geometry.type === "Polygon") measure.textContent = format(strings.area, { area: number(geometryArea(geometry), 1) });
    else if (geometry.type === "LineString") measure.textContent = format(strings.length, { length: number(geometryLength(geometry), 1) });
    else measure.textContent = "";
  };

  const setTool = (next: Tool): void => {
    tool = next;
    root.dataset.tool = next;
    for (const button of root.querySelectorAll<HTMLButtonElement>("[data-digitise-tool]")) {
      button.classList.toggle("active", button.dataset.digitiseTool === next);
      button.setAttribute("aria-pressed", String(button.dataset.digitiseTool === next));
    }
  };
  const clearMessages = (): void => {
    if (errorBox) { errorBox.hidden = true; errorBox.textContent = ""; }
    if (savedBox) savedBox.hidden = true;
    for (const node of root.querySelectorAll(".is-invalid")) node.classList.remove("is-invalid");
    for (const node of root.querySelectorAll("[data-digitise-field-error]")) node.remove();
  };
  const closeEdit = (): void => {
    clearMessages();
    draw.clear();
    drawId = null;
    current = null;
    if (form) form.hidden = true;
    if (fields) fields.replaceChildren();
    if (confirmBox) confirmBox.hidden = true;
    if (historyBox) historyBox.hidden = true;
    showMeasure();
    draw.setMode("static");
    setTool("idle");
  };
  const refreshTiles = (): void => {
    const stamp = Date.now();
    for (const spec of config.layers) {
      const source = map.getSource(`src-${spec.name}`) as maplibregl.VectorTileSource | undefined;
      source?.setTiles([`${spec.tiles}?v=${stamp}`]);
    }
  };
  const done = (text: string): void => {
    if (savedBox) { savedBox.textContent = text; savedBox.hidden = false; }
  };
  const showErrors = (errors: ApiError[]): void => {
    clearMessages();
    const general: string[] = [];
    for (const error of errors) {
      const input = form?.querySelector<HTMLElement>(`[name="f-${error.field}"]`);
      if (input) {
        input.classList.add("is-invalid");
        const note = document.createElement("div");
        note.className = "invalid-feedback d-block";
        note.dataset.digitiseFieldError = "";
        note.textContent = error.message;
        input.insertAdjacentElement("afterend", note);
      } else {
        general.push(error.message);
      }
      if (error.code === "overlap" && confirmBox) confirmBox.hidden = false;
    }
    if (errorBox && general.length) { errorBox.textContent = general.join(" "); errorBox.hidden = false; }
  };

  const post = async (path: string, data: FormData): Promise<{ ok: boolean; body: Record<string, unknown> }> => {
    const token = form?.querySelector<HTMLInputElement>("[name=csrfmiddlewaretoken]")?.value ?? "";
    if (!data.has("csrfmiddlewaretoken")) data.set("csrfmiddlewaretoken", token);
    try {
      const response = await fetch(path, { method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": token, Accept: "application/json" } });
      const body = await response.json().catch(() => ({ errors: [{ field: "", message: strings.failed, code: null }] }));
      return { ok: response.ok, body: body as Record<string, unknown> };
    } catch {
      return { ok: false, body: { errors: [{ field: "", message: strings.failed ?? "", code: null }] } };
    }
  };
  const getJson = async <T>(path: string): Promise<T | null> => {
    try {
      const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
      return response.ok ? ((await response.json()) as T) : null;
    } catch {
      return null;
    }
  };

  const loadForm = async (spec: Editable, id?: number): Promise<void> => {
    if (!form || !fields) return;
    const response = await fetch(`${url(spec.name, "form")}${id ? `?id=${id}` : ""}`, { credentials: "same-origin" });
    // The fragment is our own server-rendered Django form (no scripts): the same fields and validation as the
    // registry's edit pages.
    fields.innerHTML = response.ok ? await response.text() : "";
    form.hidden = false;
    if (deleteButton) deleteButton.hidden = !id || !config.can_edit;
    const saveButton = form.querySelector<HTMLButtonElement>("[data-digitise-save]");
    if (saveButton) saveButton.hidden = !config.can_edit; // read-only roles see the record, not a Save
    say(strings.hint_form ?? "");
  };
  const loadHistory = async (feature: Feature): Promise<void> => {
    if (!historyBox || !historyList) return;
    const data = await getJson<{ entries: HistoryEntry[] }>(url(feature.layer, feature.id, "history"));
    historyList.replaceChildren();
    for (const [index, entry] of (data?.entries ?? []).entries()) {
      const item = document.createElement("li");
      item.className = "d-flex justify-content-between align-items-center gap-2 border-bottom py-1";
      const text = document.createElement("span");
      text.textContent = `${new Date(entry.at).toLocaleString()} · ${strings.actions[entry.action] ?? entry.action} · ${entry.actor}`;
      item.append(text);
      if (index > 0 && config.can_edit) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-link btn-sm p-0";
        button.textContent = strings.restore ?? "";
        button.addEventListener("click", () => void restore(feature, entry.id, "update"));
        item.append(button);
      }
      historyList.append(item);
    }
    historyBox.hidden = false;
  };

  const openFeature = async (feature: Feature): Promise<void> => {
    closeEdit();
    current = feature;
    // A ward of several parts cannot be reshaped here (Terra Draw draws single polygons): its attributes can.
    const several = feature.geometry?.type === "MultiPolygon" && feature.geometry.coordinates.length > 1;
    if (feature.geometry && !several) {
      let geometry = rounded(feature.geometry);
      if (geometry.type === "MultiPolygon") geometry = { type: "Polygon", coordinates: geometry.coordinates[0] ?? [] };
      const spec = config.editable.find((item) => item.name === feature.layer);
      const [result] = draw.addFeatures([{ type: "Feature", geometry: geometry as never,
        properties: { mode: MODE_OF[spec?.geometry ?? "Polygon"] } } as GeoJSONStoreFeatures]);
      if (result?.valid) {
        drawId = result.id as string | number;
        if (config.can_edit) {
          draw.setMode("select");
          draw.selectFeature(drawId);
        }
      }
    }
    showMeasure();
    setTool(config.can_edit ? "select" : "idle");
    await loadForm(layer(), feature.id);
    await loadHistory(feature);
  };

  const restore = async (feature: Feature, entry: number, action: "update" | null): Promise<void> => {
    const fresh = await getJson<Feature>(url(feature.layer, feature.id));
    if (!fresh) return;
    const data = new FormData();
    data.set("version", String(fresh.version));
    data.set("entry", String(entry));
    const { ok, body } = await post(url(feature.layer, feature.id, "restore"), data);
    if (!ok) { showErrors((body.errors as ApiError[]) ?? []); return; }
    if (action) undo.push({ layer: feature.layer, id: feature.id, action });
    refreshTiles();
    closeEdit();
    done(format(strings.restored, { label: (body as unknown as Feature).label }));
  };

  const save = async (): Promise<void> => {
    if (!form) return;
    clearMessages();
    const spec = layer();
    const data = new FormData(form);
    const geometry = shape();
    if (geometry) data.set("geometry", JSON.stringify(geometry));
    if (current) data.set("version", String(current.version));
    const path = current ? url(current.layer, current.id) : url(spec.name);
    const { ok, body } = await post(path, data);
    if (!ok) { showErrors((body.errors as ApiError[]) ?? []); return; }
    const saved = body as unknown as Feature;
    undo.push({ layer: saved.layer, id: saved.id, action: current ? "update" : "create" });
    refreshTiles();
    closeEdit();
    done(format(strings.saved, { label: saved.label }));
    say("");
  };

  const remove = async (): Promise<void> => {
    if (!current || !window.confirm(strings.confirm_delete ?? "")) return;
    const data = new FormData();
    data.set("version", String(current.version));
    const { ok, body } = await post(url(current.layer, current.id, "delete"), data);
    if (!ok) { showErrors((body.errors as ApiError[]) ?? []); return; }
    refreshTiles();
    closeEdit();
    done(strings.deleted ?? "");
  };

  const undoLast = async (): Promise<void> => {
    const step = undo.pop();
    if (!step) { say(strings.nothing_to_undo ?? ""); return; }
    const feature = await getJson<Feature>(url(step.layer, step.id));
    if (!feature) { say(strings.nothing_to_undo ?? ""); return; }
    if (step.action === "create") {
      const data = new FormData();
      data.set("version", String(feature.version));
      const { ok, body } = await post(url(step.layer, step.id, "delete"), data);
      if (!ok) { showErrors((body.errors as ApiError[]) ?? []); return; }
    } else {
      const history = await getJson<{ entries: HistoryEntry[] }>(url(step.layer, step.id, "history"));
      const previous = history?.entries[1];
      if (!previous) return;
      await restore(feature, previous.id, null);
    }
    refreshTiles();
    closeEdit();
    say(strings.undone ?? "");
  };

  const pickAt = async (lngLat: maplibregl.LngLat): Promise<void> => {
    const spec = tool === "merge" ? config.editable.find((item) => item.name === "buildings") : layer();
    if (!spec) return;
    const found = await getJson<{ feature: Feature | null }>(
      `${url(spec.name, "at")}?lon=${lngLat.lng}&lat=${lngLat.lat}`);
    const feature = found?.feature ?? null;
    if (!feature) { say(strings.nothing_here ?? ""); return; }
    if (tool === "merge" && current && feature.id !== current.id) {
      const data = new FormData();
      data.set("version", String(current.version));
      data.set("other", String(feature.id));
      data.set("other_version", String(feature.version));
      const { ok, body } = await post(url("buildings", current.id, "merge"), data);
      if (!ok) { showErrors((body.errors as ApiError[]) ?? []); return; }
      undo.push({ layer: "buildings", id: current.id, action: "update" });
      refreshTiles();
      closeEdit();
      done(format(strings.merged, { label: (body as unknown as Feature).label }));
      return;
    }
    await openFeature(feature);
  };

  draw.on("change", () => showMeasure());
  draw.on("finish", (id) => {
    if (tool === "draw") {
      drawId = id;
      current = null;
      draw.setMode("select");
      draw.selectFeature(id);
      setTool("select");
      showMeasure();
      void loadForm(layer());
    } else if (tool === "split" && current) {
      const line = draw.getSnapshotFeature(id) as GeoJSONStoreFeatures | undefined;
      const feature = current;
      if (!line) return;
      const data = new FormData();
      data.set("version", String(feature.version));
      data.set("line", JSON.stringify(line.geometry));
      void post(url("buildings", feature.id, "split"), data).then(({ ok, body }) => {
        draw.removeFeatures([id]);
        if (!ok) { showErrors((body.errors as ApiError[]) ?? []); return; }
        const [a, b] = body.features as Feature[];
        undo.push({ layer: "buildings", id: feature.id, action: "update" });
        refreshTiles();
        closeEdit();
        done(format(strings.split_done, { a: a?.label ?? "", b: b?.label ?? "" }));
      });
    }
  });

  map.on("click", (event) => {
    if (tool === "draw" || tool === "split") return;
    if (tool === "select" && drawId !== null) return; // clicks now reshape the selected shape
    void pickAt(event.lngLat);
  });

  for (const button of root.querySelectorAll<HTMLButtonElement>("[data-digitise-tool]")) {
    button.addEventListener("click", () => {
      const name = button.dataset.digitiseTool;
      if (savedBox) savedBox.hidden = true;
      if (name === "undo") { void undoLast(); return; }
      if (name === "draw") {
        closeEdit();
        setTool("draw");
        draw.setMode(MODE_OF[layer().geometry]);
        say(layer().geometry === "Point" ? strings.hint_draw_point ?? ""
          : layer().geometry === "LineString" ? strings.hint_draw_line ?? "" : strings.hint_draw_polygon ?? "");
      } else if (name === "select") {
        closeEdit();
        setTool("select");
        say(strings.hint_select ?? "");
      } else if (name === "split") {
        if (!current || current.layer !== "buildings") { setTool("select"); say(strings.hint_split ?? ""); return; }
        setTool("split");
        draw.setMode("linestring");
        say(strings.hint_split ?? "");
      } else if (name === "merge") {
        if (!current || current.layer !== "buildings") { setTool("select"); say(strings.hint_merge ?? ""); return; }
        draw.setMode("static");
        setTool("merge");
        say(strings.hint_merge ?? "");
      }
    });
  }
  const syncLayerTools = (): void => {
    for (const button of root.querySelectorAll<HTMLElement>("[data-only-layer]")) {
      button.hidden = button.dataset.onlyLayer !== layer().name;
    }
  };
  layerSelect?.addEventListener("change", () => { closeEdit(); syncLayerTools(); });
  syncLayerTools();
  form?.addEventListener("submit", (event) => { event.preventDefault(); void save(); });
  $<HTMLButtonElement>("[data-digitise-cancel]")?.addEventListener("click", () => { closeEdit(); say(""); });
  deleteButton?.addEventListener("click", () => void remove());

  // Imagery: the municipality's base layers (uploaded or external XYZ); none if the list is not there.
  const imagerySelect = $<HTMLSelectElement>("[data-digitise-imagery]");
  const opacity = $<HTMLInputElement>("[data-digitise-opacity]");
  type Source = { id?: string | number; name?: string; title?: string; label?: string; tiles?: string[] | string;
    url?: string; tile_url?: string; max_zoom?: number; maxzoom?: number; minzoom?: number; attribution?: string;
    bounds?: [number, number, number, number] };
  const sources = new Map<string, Source>();
  const showImagery = (): void => {
    if (map.getLayer("imagery")) map.removeLayer("imagery");
    if (map.getSource("imagery")) map.removeSource("imagery");
    const source = sources.get(imagerySelect?.value ?? "");
    if (!source) return;
    const tiles = Array.isArray(source.tiles) ? source.tiles : [source.tiles ?? source.tile_url ?? source.url ?? ""];
    map.addSource("imagery", { type: "raster", tiles, tileSize: 256, minzoom: source.minzoom ?? 0,
      maxzoom: source.max_zoom ?? source.maxzoom ?? 22, ...(source.bounds ? { bounds: source.bounds } : {}),
      ...(source.attribution ? { attribution: source.attribution } : {}) });
    const above = map.getStyle().layers.find((item) => item.id !== "background")?.id;
    map.addLayer({ id: "imagery", type: "raster", source: "imagery",
      paint: { "raster-opacity": Number(opacity?.value ?? 100) / 100 } }, above);
  };
  const loadImagery = async (): Promise<void> => {
    const data = await getJson<Source[] | { sources?: Source[]; results?: Source[] }>(config.imagery_sources);
    const list = Array.isArray(data) ? data : data?.sources ?? data?.results ?? [];
    for (const [index, source] of list.entries()) {
      const key = String(source.id ?? index);
      sources.set(key, source);
      const option = document.createElement("option");
      option.value = key;
      option.textContent = source.title ?? source.name ?? source.label ?? key;
      imagerySelect?.append(option);
    }
  };
  imagerySelect?.addEventListener("change", showImagery);
  opacity?.addEventListener("input", () => {
    if (map.getLayer("imagery")) map.setPaintProperty("imagery", "raster-opacity", Number(opacity.value) / 100);
  });

  map.on("movestart", () => { root.dataset.state = "moving"; });
  map.on("idle", () => { root.dataset.state = "idle"; });
  map.on("load", () => {
    draw.start();
    void loadImagery();
    root.dataset.ready = "true";
  });
}

const root = document.querySelector<HTMLElement>("[data-digitise]");
if (root) start(root);
