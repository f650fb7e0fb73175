// Measuring on the sphere (WGS 84 mean radius): lengths by haversine, areas by the spherical excess of each ring
// (the method turf's `area` uses). At municipal scale both are within a few tenths of a percent of the spheroid.
export type Position = number[];
export type Geometry =
  | { type: "Point"; coordinates: Position }
  | { type: "MultiPoint" | "LineString"; coordinates: Position[] }
  | { type: "MultiLineString" | "Polygon"; coordinates: Position[][] }
  | { type: "MultiPolygon"; coordinates: Position[][][] }
  | { type: "GeometryCollection"; geometries: Geometry[] };
export type Bounds = [number, number, number, number];

const RADIUS = 6371008.8;
const rad = (degrees: number): number => (degrees * Math.PI) / 180;

export function distance(a: Position, b: Position): number {
  const [lon1 = 0, lat1 = 0] = a;
  const [lon2 = 0, lat2 = 0] = b;
  const dLat = rad(lat2 - lat1);
  const dLon = rad(lon2 - lon1);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * RADIUS * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function lineLength(line: Position[]): number {
  let total = 0;
  for (let i = 1; i < line.length; i += 1) total += distance(line[i - 1] as Position, line[i] as Position);
  return total;
}

function ringArea(ring: Position[]): number {
  const n = ring.length;
  if (n < 3) return 0;
  let total = 0;
  for (let i = 0; i < n; i += 1) {
    const lower = ring[i] as Position;
    const middle = ring[(i + 1) % n] as Position;
    const upper = ring[(i + 2) % n] as Position;
    total += (rad(upper[0] ?? 0) - rad(lower[0] ?? 0)) * Math.sin(rad(middle[1] ?? 0));
  }
  return Math.abs((total * RADIUS * RADIUS) / 2);
}

export function polygonArea(rings: Position[][]): number {
  const [outer, ...holes] = rings;
  if (!outer) return 0;
  return Math.max(0, ringArea(outer) - holes.reduce((sum, hole) => sum + ringArea(hole), 0));
}

export function geometryArea(geometry: Geometry): number {
  if (geometry.type === "Polygon") return polygonArea(geometry.coordinates);
  if (geometry.type === "MultiPolygon") return geometry.coordinates.reduce((sum, p) => sum + polygonArea(p), 0);
  return 0;
}

export function geometryLength(geometry: Geometry): number {
  if (geometry.type === "LineString") return lineLength(geometry.coordinates);
  if (geometry.type === "MultiLineString") return geometry.coordinates.reduce((sum, l) => sum + lineLength(l), 0);
  if (geometry.type === "Polygon") return geometry.coordinates[0] ? lineLength(geometry.coordinates[0]) : 0;
  return 0;
}

export function positionsOf(geometry: Geometry): Position[] {
  if (geometry.type === "GeometryCollection") return geometry.geometries.flatMap(positionsOf);
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

export function boundsOf(geometries: Geometry[]): Bounds | null {
  let bounds: Bounds | null = null;
  for (const geometry of geometries) {
    for (const [lon, lat] of positionsOf(geometry)) {
      if (lon === undefined || lat === undefined) continue;
      if (!bounds) bounds = [lon, lat, lon, lat];
      else bounds = [Math.min(bounds[0], lon), Math.min(bounds[1], lat), Math.max(bounds[2], lon), Math.max(bounds[3], lat)];
    }
  }
  return bounds;
}
