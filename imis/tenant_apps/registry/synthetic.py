"""Synthetic demo cities: plausible registry layers at the published scale, as plain rows.

Pure functions, no database: `city_generate(figures, scale=..., seed=...)` returns a `City` whose layers are
lists of tuples in the registry tables' column order. Foreign keys are 0-based row indices into the referenced
layer; the loader (demo.py) turns them into ids. Same figures + scale + seed -> identical rows.

The city is laid out in a local metric frame (u east-ish, v north-ish, rotated a little) around the centroid:
a convex outline, a grid of road lines with a hierarchy, a diagonal bypass, blocks between the lines filled
with rows of building plots fronting the roads, then a random subset of the plots becomes the buildings so
the counts are exact. Wards are a power diagram (convex cells) over the outline, so a building's ward is the
cell holding its centroid.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

Point = tuple[float, float]

REFERENCE_DATE = date(2026, 6, 30)  # the synthetic survey's "today": fixed, so rows never depend on the clock
SURVEY_START = datetime(2024, 7, 1, tzinfo=UTC)
SURVEY_SECONDS = int((datetime(2026, 6, 30, tzinfo=UTC) - SURVEY_START).total_seconds())

LAND_PER_PLOT_M2 = 330.0  # measured: the block layout below yields one plot per ~330 m² of outline
PLOT_SURPLUS = 1.15  # plots per building: the rest stay vacant (gaps, yards, peri-urban sparsity)
MIN_ZONE_AREA_M2 = 60_000.0
ZONE_GAP_M = 1500.0  # open land between the zones of a city corporation (Gazipur's zones 1 and 4)
BUILDING_AREA_MIN, BUILDING_AREA_MAX = 40.0, 250.0
LIC_LOW_INCOME_SHARE = 0.7
LOW_INCOME_SHARE = 0.15
PERSONS_PER_HOUSEHOLD = 4.5
DESLUDGING_MIN_ROAD_WIDTH_M = 3.0
CENTRE_DENSITY_RADIUS = 0.4  # inside this share of the radius every plot is equally likely to be built on

PRIMARY, SECONDARY, TERTIARY, ACCESS, LANE = "primary", "secondary", "tertiary", "access", "lane"
ROAD_WIDTH_M = {PRIMARY: (14.0, 22.0), SECONDARY: (8.0, 12.0), TERTIARY: (5.5, 7.5), ACCESS: (3.0, 5.0),
                LANE: (1.8, 2.9)}
SETBACK_M = {PRIMARY: (2.0, 4.0), SECONDARY: (1.5, 3.0), TERTIARY: (1.0, 2.5), ACCESS: (0.6, 2.0), LANE: (0.3, 1.2)}


# --- small utilities ------------------------------------------------------------------------------------

def stable_seed(*parts: object) -> int:
    """A seed from the parts that is the same on every run and machine (unlike hash())."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def scaled_count(count: int | None, scale: float) -> int:
    """round(count × scale), at least 1 where the published count is not zero."""
    if not count:
        return 0
    return max(1, round(count * scale))


class Choice:
    """Weighted choice with precomputed cumulative weights (rng.choices recomputes them on every call)."""

    def __init__(self, weights: dict[str, float]):
        self.values = list(weights)
        self.cumulative: list[float] = []
        total = 0.0
        for weight in weights.values():
            total += weight
            self.cumulative.append(total)
        self.total = total

    def pick(self, rng: random.Random) -> str:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def bangla_digits(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))


def two_places(value: float) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- plane geometry (local metres) ----------------------------------------------------------------------

def convex_hull(points: Iterable[Point]) -> list[Point]:
    """Andrew's monotone chain; counter-clockwise, without the closing point."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def half(seq: Sequence[Point]) -> list[Point]:
        chain: list[Point] = []
        for p in seq:
            while len(chain) >= 2 and _cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    return lower[:-1] + upper[:-1]


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def polygon_area(poly: Sequence[Point]) -> float:
    return abs(sum(poly[i - 1][0] * p[1] - p[0] * poly[i - 1][1] for i, p in enumerate(poly))) / 2


def inside_convex(poly: Sequence[Point], x: float, y: float) -> bool:
    """poly is counter-clockwise."""
    for i, (bx, by) in enumerate(poly):
        ax, ay = poly[i - 1]
        if (bx - ax) * (y - ay) - (by - ay) * (x - ax) < 0:
            return False
    return True


def clip_half_plane(poly: list[Point], a: float, b: float, c: float) -> list[Point]:
    """Sutherland–Hodgman: the part of a convex polygon where a·x + b·y <= c."""
    out: list[Point] = []
    for i, q in enumerate(poly):
        p = poly[i - 1]
        fp, fq = a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c
        if fq <= 0:
            if fp > 0:
                out.append(_between(p, q, fp, fq))
            out.append(q)
        elif fp <= 0:
            out.append(_between(p, q, fp, fq))
    return out


def _between(p: Point, q: Point, fp: float, fq: float) -> Point:
    t = fp / (fp - fq)
    return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))


def chord(poly: Sequence[Point], axis: str, pos: float) -> tuple[float, float] | None:
    """Where the line v = pos (axis "h") or u = pos (axis "v") crosses a convex polygon: (lo, hi) or None."""
    hits = []
    for i, q in enumerate(poly):
        p = poly[i - 1]
        (pa, pb), (qa, qb) = ((p[0], p[1]), (q[0], q[1])) if axis == "h" else ((p[1], p[0]), (q[1], q[0]))
        if (pb - pos) * (qb - pos) <= 0 and pb != qb:
            hits.append(pa + (pos - pb) / (qb - pb) * (qa - pa))
    return (min(hits), max(hits)) if len(hits) >= 2 else None


def point_segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def polygon_segment_distance(ring: Sequence[Point], a: Point, b: Point) -> float:
    """Distance between a polygon's boundary and a segment that does not cross it."""
    return min(
        min(point_segment_distance(corner, a, b) for corner in ring),
        min(point_segment_distance(end, ring[i - 1], ring[i]) for end in (a, b) for i in range(len(ring))),
    )


def line_through_convex(poly: Sequence[Point], origin: Point, direction: Point) -> tuple[float, float] | None:
    """The parameter interval of origin + t·direction inside a convex counter-clockwise polygon."""
    t0, t1 = -math.inf, math.inf
    for i, q in enumerate(poly):
        p = poly[i - 1]
        nx, ny = q[1] - p[1], p[0] - q[0]  # outward normal of a counter-clockwise edge
        denominator = nx * direction[0] + ny * direction[1]
        numerator = nx * (p[0] - origin[0]) + ny * (p[1] - origin[1])
        if abs(denominator) < 1e-12:
            if numerator < 0:
                return None
            continue
        t = numerator / denominator
        if denominator > 0:
            t1 = min(t1, t)
        else:
            t0 = max(t0, t)
    return (t0, t1) if t0 < t1 else None


# --- geographic frame and EWKT --------------------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """Local metres (u, v), rotated by `angle` and shifted by (east0, north0), to lon/lat (equirectangular)."""

    lon0: float
    lat0: float
    east0: float
    north0: float
    angle: float

    @property
    def deg_per_m(self) -> tuple[float, float]:
        phi = math.radians(self.lat0)
        metres_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
        metres_lat = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
        return 1 / metres_lon, 1 / metres_lat

    def projector(self):
        cos_a, sin_a = math.cos(self.angle), math.sin(self.angle)
        kx, ky = self.deg_per_m
        lon0, lat0, east0, north0 = self.lon0, self.lat0, self.east0, self.north0

        def project(u: float, v: float) -> Point:
            return (lon0 + (east0 + u * cos_a - v * sin_a) * kx, lat0 + (north0 + u * sin_a + v * cos_a) * ky)

        return project


def _coords(points: Iterable[Point]) -> str:
    return ",".join(f"{x!r} {y!r}" for x, y in points)


def _ring(project, ring: Sequence[Point]) -> str:
    points = [project(u, v) for u, v in ring]
    return "(" + _coords([*points, points[0]]) + ")"


def ewkt_polygon(project, ring: Sequence[Point]) -> str:
    return f"SRID=4326;POLYGON({_ring(project, ring)})"


def ewkt_multipolygon(parts: Sequence[tuple[object, Sequence[Point]]]) -> str:
    return "SRID=4326;MULTIPOLYGON(" + ",".join(f"({_ring(project, ring)})" for project, ring in parts) + ")"


def ewkt_line(project, points: Sequence[Point]) -> str:
    return "SRID=4326;LINESTRING(" + _coords(project(u, v) for u, v in points) + ")"


def ewkt_point(project, point: Point) -> str:
    x, y = project(*point)
    return f"SRID=4326;POINT({x!r} {y!r})"


# --- names ----------------------------------------------------------------------------------------------

ROAD_STEMS = (
    "Shahid Suhrawardy", "Sher-e-Bangla", "Nawab Salimullah", "Begum Rokeya", "Kazi Nazrul Islam", "Rabindra",
    "Jibanananda", "Lalon Shah", "Khan Jahan Ali", "Shah Jalal", "Titumir", "Surya Sen", "Pritilata",
    "Mir Mosharraf", "Jasimuddin", "Sheikh Russel", "Noor Mohammad", "Shaheed Minar", "College", "Court",
    "Station", "Hospital", "Stadium", "Bazar", "Ghat", "Post Office", "Thana", "Kalibari", "Mosque", "School",
    "Kheyaghat", "Boro Bazar", "Chowrasta", "Rail Gate", "Power House", "Jail", "Circuit House", "Collectorate",
    "Upazila", "Sadar", "Arambagh", "Nirala", "Sonadanga", "Moylapota", "Gollamari", "Baikali", "Tutpara",
    "Muslimpara", "Banikpara", "Dakbangla", "Pourapark", "Kumarpara", "Shantidham", "Hazi Mohsin",
)
SUFFIXES = {PRIMARY: ("Road", "Avenue", "Sarani"), SECONDARY: ("Road", "Sarak"), TERTIARY: ("Road",)}
POND_STEMS = ("Boro", "Mia Bari", "Chowdhury Bari", "Kazi", "Jora", "Mosque", "Mandir", "Sheikh Bari", "Pal Para",
              "Shaha Bari", "Molla Bari", "Talukder")
COMMUNITY_STEMS = ("Rail", "Nirala", "Bastuhara", "Ghat", "Tutpara", "Rupsha", "Shanti", "Bou Bazar", "Chor",
                   "Matsya", "Kheya", "Station", "Charpara", "Jele Para", "Rishi Para", "Beltala")
COMMUNITY_KINDS = ("Bosti", "Colony", "Para", "Slum")

MALE_FIRST = ("Abdul Karim", "Abdur Rahim", "Mohammad Ali", "Shafiqul", "Aminul", "Jahangir", "Habibur",
              "Mizanur", "Anwar", "Kamal", "Jamal", "Rafiqul", "Nurul", "Saiful", "Monirul", "Delwar", "Shahidul",
              "Abul Kalam", "Golam Mostafa", "Harun", "Alamgir", "Faruk", "Mostafizur", "Ashraful", "Enamul",
              "Ziaur", "Mahbub", "Tariqul", "Rezaul", "Belal")
FEMALE_FIRST = ("Fatema", "Ayesha", "Nasrin", "Shirin", "Rokeya", "Hasina", "Rina", "Shahana", "Taslima",
                "Rehana", "Salma", "Nazma", "Jesmin", "Morium", "Rabeya", "Kohinoor", "Shammi", "Lovely",
                "Parvin", "Nurjahan")
MALE_SURNAMES = ("Rahman", "Hossain", "Islam", "Ahmed", "Khan", "Chowdhury", "Sheikh", "Mia", "Uddin", "Ali",
                 "Haque", "Kabir", "Molla", "Talukder", "Howlader", "Sikder", "Bhuiyan", "Sarder", "Gazi")
FEMALE_SURNAMES = ("Begum", "Khatun", "Akter", "Sultana", "Parvin", "Rahman", "Islam", "Chowdhury")
HINDU_MALE_FIRST = ("Sujit", "Prodip", "Ashok", "Gopal", "Shyamal", "Tapan", "Nikhil", "Bimal", "Uttam",
                    "Subrata")
HINDU_FEMALE_FIRST = ("Shikha", "Rita", "Anjali", "Puja", "Mitali", "Sabita", "Kakoli", "Dipali")
HINDU_SURNAMES = ("Das", "Saha", "Roy", "Biswas", "Ghosh", "Sarkar", "Pal", "Kundu", "Mondal", "Dey")


def owner_identity(rng: random.Random) -> tuple[str, str]:
    """(name, gender) in the mix of a Bangladeshi town's property register."""
    gender = GENDER.pick(rng)
    hindu = rng.random() < 0.1
    female = gender == "female"
    if hindu:
        first = rng.choice(HINDU_FEMALE_FIRST if female else HINDU_MALE_FIRST)
        last = rng.choice(HINDU_SURNAMES)
        if female and rng.random() < 0.5:
            last = "Rani " + last
    else:
        first = rng.choice(FEMALE_FIRST if female else MALE_FIRST)
        last = rng.choice(FEMALE_SURNAMES if female else MALE_SURNAMES)
        if not female and rng.random() < 0.45:
            first = "Md. " + first
    return f"{first} {last}", gender


def phone_number(rng: random.Random) -> str:
    """+8801 and nine digits: an operator digit (3-9), then eight more."""
    return f"+8801{rng.randint(3, 9)}{rng.randrange(10**8):08d}"


# --- per-city profile ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    zones: tuple[tuple[str, int], ...] = ()  # (name, published buildings); empty: one zone
    survey_wards: tuple[int, ...] = ()  # containments only in these wards; empty: everywhere
    water: dict[str, float] = field(default_factory=lambda: {
        "municipal": 30, "tube_well": 40, "deep_tube_well": 22, "pond": 3, "other": 5})


PROFILES: dict[str, Profile] = {
    "khulna": Profile(water={"municipal": 40, "tube_well": 25, "deep_tube_well": 27, "pond": 4, "other": 4}),
    "jhenaidah": Profile(water={"municipal": 20, "tube_well": 55, "deep_tube_well": 18, "pond": 3, "other": 4}),
    # Gazipur's municipal supply comes only where a water line runs along the road (see PeopleBuilder)
    "gazipur": Profile(zones=(("Zone 1", 83_950), ("Zone 4", 48_393)),
                       water={"municipal": 0, "tube_well": 50, "deep_tube_well": 40, "pond": 3, "other": 7}),
    "jashore": Profile(survey_wards=(5,),
                       water={"municipal": 30, "tube_well": 45, "deep_tube_well": 18, "pond": 3, "other": 4}),
}


@dataclass(frozen=True)
class CityCounts:
    buildings: int
    containments: int
    zone_buildings: tuple[int, ...]
    zone_wards: tuple[int, ...]


def city_counts(figures: dict, scale: float) -> CityCounts:
    """The exact counts the generator produces for these figures at this scale."""
    profile = PROFILES.get(figures["slug"], Profile())
    buildings = scaled_count(figures["buildings"], scale)
    containments = scaled_count(figures.get("containments"), scale) if "containments" in figures["layers"] else 0
    published = [count for _name, count in profile.zones] or [figures["buildings"]]
    zone_buildings = _apportion(buildings, published)
    # every zone gets one ward, the rest in proportion to its buildings
    zone_wards = [1 + n for n in _apportion(int(figures["wards"]) - len(published), published)]
    return CityCounts(buildings, containments, tuple(zone_buildings), tuple(zone_wards))


def _apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split total in proportion to weights; the parts add up to total exactly."""
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in remainders[: total - sum(parts)]:
        parts[i] += 1
    return parts


# --- layout: lines, blocks, plots ------------------------------------------------------------------------

@dataclass(slots=True)
class RoadLine:
    axis: str  # "h": v = pos, runs along u; "v": u = pos, runs along v
    index: int
    pos: float
    hierarchy: str
    width: float
    name: str
    number: int = 0
    lo: float = 0.0
    hi: float = 0.0
    starts: list[float] = field(default_factory=list)
    roads: list[int] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return bool(self.roads)

    def road_at(self, along: float) -> int:
        return self.roads[max(0, bisect.bisect_right(self.starts, along) - 1)]


@dataclass(slots=True)
class RoadSegment:
    zone: int
    hierarchy: str
    width: float
    surface: str
    name: str
    start: Point
    end: Point


@dataclass(slots=True)
class Plot:
    zone: int
    block: int
    row: int
    corners: tuple[Point, Point, Point, Point]
    centre: Point
    yard: Point  # between the building's front and the road edge: where a tank goes
    area: float
    road: int
    line: RoadLine
    side: int
    along: float
    distance: float
    lic: int
    weight: float


@dataclass(slots=True)
class Pond:
    centre: Point
    radius: float
    ring: list[Point]


@dataclass(slots=True)
class Community:
    ring: list[Point]
    name: str


@dataclass
class Zone:
    index: int
    name: str
    outline: list[Point]
    radii: tuple[float, float]
    angle: float
    lines: list[RoadLine]
    blocks: list[tuple[float, float, float, float]]
    plots: list[Plot]
    ponds: list[Pond]
    communities: list[Community]
    waterlogging: list[tuple[list[Point], str]]
    first_road: int
    offset: Point = (0.0, 0.0)


@dataclass
class RowSpec:
    """A row of plots fronting one road line: along [start, end], depth up to `depth` behind the setback."""

    line: RoadLine
    side: int  # +1: plots on the side of growing v (h-lines) / u (v-lines); -1 the other side
    start: float
    end: float
    front: float  # distance of the building fronts from the line's centre line
    depth: float
    lic: bool


class LayoutBuilder:
    """Builds one zone's outline, road lines, blocks and plots, deterministic for its RNG."""

    def __init__(self, rng: random.Random, *, zone: int, name: str, area: float, first_road: int,
                 ponds_per_plot: float, communities_per_plot: float, waterlogging_per_plot: float):
        self.rng = rng
        self.zone = zone
        self.name = name
        self.area = area
        self.first_road = first_road
        self.ponds_per_plot = ponds_per_plot
        self.communities_per_plot = communities_per_plot
        self.waterlogging_per_plot = waterlogging_per_plot
        self.roads: list[RoadSegment] = []
        self.plots: list[Plot] = []
        self.ponds: list[Pond] = []
        self.communities: list[Community] = []
        self.row_count = 0

    def build(self) -> tuple[Zone, list[RoadSegment]]:
        rng = self.rng
        aspect = rng.uniform(1.0, 1.4)
        ru, rv = math.sqrt(self.area * aspect / math.pi), math.sqrt(self.area / aspect / math.pi)
        self.radii = (ru, rv)
        self.outline = self._outline(ru, rv)
        hlines = self._lines("h", rv * 1.25, (48.0, 68.0), (20, 10, 5))
        vlines = self._lines("v", ru * 1.25, (110.0, 200.0), (8, 4, 2))
        self.hlines, self.vlines = hlines, vlines
        self._number_lines()
        for line in hlines + vlines:
            self._segments(line, vlines if line.axis == "h" else hlines)
        self.highway = self._highway()
        expected_plots = self.area / LAND_PER_PLOT_M2
        blocks = self._fill_blocks(expected_plots)
        zone = Zone(
            index=self.zone, name=self.name, outline=self.outline, radii=self.radii, angle=rng.uniform(-0.35, 0.35),
            lines=hlines + vlines, blocks=blocks, plots=self.plots, ponds=self.ponds, communities=self.communities,
            waterlogging=self._waterlogging(expected_plots), first_road=self.first_road,
        )
        return zone, self.roads

    def _outline(self, ru: float, rv: float) -> list[Point]:
        rng = self.rng
        count = 28
        points = []
        for k in range(count):
            theta = 2 * math.pi * (k + rng.uniform(-0.3, 0.3)) / count
            factor = rng.uniform(0.88, 1.1)
            points.append((ru * factor * math.cos(theta), rv * factor * math.sin(theta)))
        hull = convex_hull(points)
        shrink = math.sqrt(self.area / polygon_area(hull))  # the hull bulges past the ellipse: back to the area
        return [(x * shrink, y * shrink) for x, y in hull]

    def _lines(self, axis: str, extent: float, spacing: tuple[float, float],
               every: tuple[int, int, int]) -> list[RoadLine]:
        rng = self.rng
        positions = [(0, 0.0)]
        for direction in (1, -1):
            index, pos = 0, 0.0
            while abs(pos) < extent:
                index += direction
                pos += direction * rng.uniform(*spacing)
                positions.append((index, pos))
        positions.sort(key=lambda item: item[1])
        lines = []
        for index, pos in positions:
            hierarchy = self._hierarchy(index, every)
            lines.append(RoadLine(axis=axis, index=index, pos=pos, hierarchy=hierarchy,
                                  width=round(rng.uniform(*ROAD_WIDTH_M[hierarchy]) * 2) / 2,
                                  name=self._road_name(hierarchy, len(lines))))
        return lines

    def _hierarchy(self, index: int, every: tuple[int, int, int]) -> str:
        primary, secondary, tertiary = every
        if index % primary == 0:
            return PRIMARY
        if index % secondary == 0:
            return SECONDARY
        if index % tertiary == 0:
            return TERTIARY
        return ACCESS if self.rng.random() < 0.6 else LANE

    def _road_name(self, hierarchy: str, serial: int) -> str:
        rng = self.rng
        stem = rng.choice(ROAD_STEMS)
        if hierarchy in SUFFIXES:
            return f"{stem} {rng.choice(SUFFIXES[hierarchy])}"
        if hierarchy == ACCESS:
            return f"{stem} Road" if rng.random() < 0.6 else f"Road No. {serial + 1}"
        return rng.choice((f"{stem} Lane", f"Lane {serial + 1}", f"{stem} Goli"))

    def _number_lines(self) -> None:
        # holding IDs use the line number as their road part: north to south, then west to east
        ordered = sorted(self.hlines, key=lambda line: -line.pos) + self.vlines
        for number, line in enumerate(ordered, start=1):
            line.number = number

    def _segments(self, line: RoadLine, crossing: list[RoadLine]) -> None:
        span = chord(self.outline, line.axis, line.pos)
        if span is None or span[1] - span[0] < 30:
            return
        line.lo, line.hi = span
        cuts = [other.pos for other in crossing if span[0] + 25 < other.pos < span[1] - 25]
        bounds = [span[0], *cuts, span[1]]
        for start, end in zip(bounds, bounds[1:], strict=False):
            line.starts.append(start)
            line.roads.append(self.first_road + len(self.roads))
            a, b = ((start, line.pos), (end, line.pos)) if line.axis == "h" else ((line.pos, start), (line.pos, end))
            self.roads.append(RoadSegment(self.zone, line.hierarchy, line.width, SURFACE[line.hierarchy].pick(self.rng),
                                          line.name, a, b))

    def _highway(self) -> tuple[Point, Point, float] | None:
        """A diagonal bypass: (origin, unit direction, half width plus clearance)."""
        rng = self.rng
        angle = rng.uniform(0.5, 1.1) * rng.choice((1, -1))
        direction = (math.cos(angle), math.sin(angle))
        offset = rng.uniform(-0.3, 0.3) * self.radii[1]
        origin = (-direction[1] * offset, direction[0] * offset)
        span = line_through_convex(self.outline, origin, direction)
        if span is None:
            return None
        width = round(rng.uniform(14.0, 20.0) * 2) / 2
        pieces = max(1, round((span[1] - span[0]) / 500))
        step = (span[1] - span[0]) / pieces
        for k in range(pieces):
            t0, t1 = span[0] + k * step, span[0] + (k + 1) * step
            self.roads.append(RoadSegment(
                self.zone, PRIMARY, width, "bituminous", "Bypass Road",
                (origin[0] + t0 * direction[0], origin[1] + t0 * direction[1]),
                (origin[0] + t1 * direction[0], origin[1] + t1 * direction[1]),
            ))
        return origin, direction, width / 2 + 3.0

    # blocks ------------------------------------------------------------------------------------------

    def _fill_blocks(self, expected_plots: float) -> list[tuple[float, float, float, float]]:
        rng = self.rng
        hlines, vlines = self.hlines, self.vlines
        candidates = []
        for i in range(len(hlines) - 1):
            for j in range(len(vlines) - 1):
                corners = [(vlines[j].pos, hlines[i].pos), (vlines[j + 1].pos, hlines[i].pos),
                           (vlines[j + 1].pos, hlines[i + 1].pos), (vlines[j].pos, hlines[i + 1].pos)]
                inside = [inside_convex(self.outline, x, y) for x, y in corners]
                if any(inside):
                    candidates.append((i, j, all(inside)))
        pond_blocks = self._pick_blocks(candidates, expected_plots * self.ponds_per_plot)
        community_starts = self._pick_blocks(candidates, expected_plots * self.communities_per_plot)
        blocks = []
        community, community_until = -1, (-1, -1)
        for k, (i, j, fully_inside) in enumerate(candidates):
            south, north, west, east = hlines[i], hlines[i + 1], vlines[j], vlines[j + 1]
            if (i, j) >= community_until and k in community_starts:
                last = min(len(vlines) - 1, j + rng.randint(1, 3))
                community = self._community(south, north, west, vlines[last])
                community_until = (i, last)
            lic = community if (i, j) < community_until else -1
            block = len(blocks)
            blocks.append((west.pos, south.pos, east.pos, north.pos))
            pond = self._pond(south, north, west, east) if k in pond_blocks else None
            self._fill_block(block, south, north, west, east, fully_inside, lic, pond)
        return blocks

    def _pick_blocks(self, candidates: list[tuple[int, int, bool]], expected: float) -> set[int]:
        """About `expected` of the candidate blocks, at least one if any is expected; whole blocks first."""
        if expected <= 0 or not candidates:
            return set()
        inner = [k for k, (_i, _j, fully_inside) in enumerate(candidates) if fully_inside] or list(range(len(candidates)))
        return set(self.rng.sample(inner, min(len(inner), max(1, round(expected)))))

    def _community(self, south: RoadLine, north: RoadLine, west: RoadLine, east: RoadLine) -> int:
        """A low-income community over a run of blocks, between the road edges, corners nudged along the roads."""
        rng = self.rng
        v0, v1 = south.pos + south.width / 2, north.pos - north.width / 2
        u0, u1 = west.pos + west.width / 2, east.pos - east.width / 2
        ring = [(u0 + rng.uniform(0, 3), v0), (u1 - rng.uniform(0, 3), v0), (u1 - rng.uniform(0, 3), v1),
                (u0 + rng.uniform(0, 3), v1)]
        name = f"{rng.choice(COMMUNITY_STEMS)} {rng.choice(COMMUNITY_KINDS)}"
        self.communities.append(Community(ring=ring, name=name))
        return len(self.communities) - 1

    def _pond(self, south: RoadLine, north: RoadLine, west: RoadLine, east: RoadLine) -> Pond | None:
        rng = self.rng
        depth = (north.pos - north.width / 2) - (south.pos + south.width / 2)
        largest = min(28.0, depth / 2 - 2)
        if largest < 8:
            return None
        radius = rng.uniform(8.0, largest)
        u_lo, u_hi = west.pos + west.width / 2 + radius + 3, east.pos - east.width / 2 - radius - 3
        v_lo, v_hi = south.pos + south.width / 2 + radius + 1, north.pos - north.width / 2 - radius - 1
        if u_lo >= u_hi or v_lo > v_hi:
            return None
        cu, cv = rng.uniform(u_lo, u_hi), rng.uniform(v_lo, v_hi)
        box = [(cu - radius, cv - radius), (cu + radius, cv - radius), (cu + radius, cv + radius),
               (cu - radius, cv + radius)]
        if not all(inside_convex(self.outline, x, y) for x, y in box) or self._near_highway((cu, cv), radius):
            return None
        sides = 14
        ring = [(cu + radius * rng.uniform(0.75, 1.0) * math.cos(2 * math.pi * k / sides),
                 cv + radius * rng.uniform(0.75, 1.0) * math.sin(2 * math.pi * k / sides)) for k in range(sides)]
        pond = Pond(centre=(cu, cv), radius=radius, ring=ring)
        self.ponds.append(pond)
        return pond

    def _near_highway(self, point: Point, reach: float) -> bool:
        if self.highway is None:
            return False
        (ox, oy), (dx, dy), clearance = self.highway
        return abs(-dy * (point[0] - ox) + dx * (point[1] - oy)) < reach + clearance

    def _fill_block(self, block: int, south: RoadLine, north: RoadLine, west: RoadLine, east: RoadLine,
                    fully_inside: bool, lic: int, pond: Pond | None) -> None:
        rng = self.rng
        setback = {line.axis + str(line.index): rng.uniform(*SETBACK_M[line.hierarchy])
                   for line in (south, north, west, east)}
        s_front = south.width / 2 + setback["h" + str(south.index)]
        n_front = north.width / 2 + setback["h" + str(north.index)]
        available = (north.pos - n_front) - (south.pos + s_front) - 1.5
        if available < 6:
            return
        depth = min(rng.uniform(14.0, 20.0), available / 2) if available >= 12 else available
        rows = []
        corner = 1.5
        u0, u1 = west.pos + west.width / 2 + corner, east.pos - east.width / 2 - corner
        if south.exists:
            rows.append(RowSpec(south, +1, max(u0, south.lo + 1), min(u1, south.hi - 1), s_front, depth, lic >= 0))
        if north.exists and available >= 12:
            rows.append(RowSpec(north, -1, max(u0, north.lo + 1), min(u1, north.hi - 1), n_front, depth, lic >= 0))
        mid0 = south.pos + s_front + depth + 1.0
        mid1 = north.pos - n_front - (depth if available >= 12 else 0) - 1.0
        if mid1 - mid0 >= 8:
            w_front = west.width / 2 + setback["v" + str(west.index)]
            e_front = east.width / 2 + setback["v" + str(east.index)]
            cross_depth = min(rng.uniform(10.0, 16.0), ((east.pos - e_front) - (west.pos + w_front)) / 2 - 1)
            if cross_depth >= 6:
                if west.exists:
                    rows.append(RowSpec(west, +1, max(mid0, west.lo + 1), min(mid1, west.hi - 1), w_front,
                                        cross_depth, lic >= 0))
                if east.exists:
                    rows.append(RowSpec(east, -1, max(mid0, east.lo + 1), min(mid1, east.hi - 1), e_front,
                                        cross_depth, lic >= 0))
        for row in rows:
            self._fill_row(block, row, fully_inside, lic, pond)

    def _fill_row(self, block: int, row: RowSpec, fully_inside: bool, lic: int, pond: Pond | None) -> None:
        rng = self.rng
        self.row_count += 1
        row_id = self.row_count
        line = row.line
        cursor = row.start
        half_width = line.width / 2
        median, spread, gap = (math.log(50.0), 0.2, (0.3, 1.0)) if row.lic else (math.log(85.0), 0.45, (0.6, 2.5))
        while True:
            area = min(BUILDING_AREA_MAX, max(BUILDING_AREA_MIN, math.exp(rng.gauss(median, spread))))
            ratio = rng.uniform(1.0, 1.8)
            width = math.sqrt(area / ratio)
            depth = width * ratio
            if depth > row.depth:
                depth = row.depth
                width = min(area / depth, 18.0)
            if width * depth < BUILDING_AREA_MIN:
                break
            theta = max(-0.09, min(0.09, rng.gauss(0.0, 0.035)))
            cos_t, sin_t = math.cos(theta), abs(math.sin(theta))
            extent_a, extent_b = width * cos_t + depth * sin_t, width * sin_t + depth * cos_t
            if extent_b > row.depth:
                theta, extent_a, extent_b = 0.0, width, depth
            if cursor + extent_a > row.end:
                break
            centre_a, centre_b = cursor + extent_a / 2, row.front + extent_b / 2
            cursor += extent_a + rng.uniform(*gap)
            if pond is not None and _box_hits_pond(line, row.side, centre_a, centre_b, extent_a, extent_b, pond):
                continue
            corners = _rectangle(line, row.side, centre_a, centre_b, width, depth, theta)
            if not fully_inside and not all(inside_convex(self.outline, x, y) for x, y in corners):
                continue
            if self._hits_highway(corners):
                continue
            centre = _to_uv(line, row.side, centre_a, centre_b)
            yard = _to_uv(line, row.side, centre_a, half_width + (row.front - half_width) / 2)
            road = line.road_at(centre_a)
            self.plots.append(Plot(
                zone=self.zone, block=block, row=row_id, corners=corners, centre=centre, yard=yard,
                area=width * depth, road=road, line=line, side=row.side, along=centre_a,
                distance=round(self._distance(road, corners, centre_a, extent_a, row.front), 2),
                lic=lic if lic >= 0 and self._in_community(lic, centre) else -1, weight=self._weight(centre, lic >= 0),
            ))

    def _distance(self, road: int, corners: tuple[Point, ...], centre_a: float, extent_a: float,
                  front: float) -> float:
        """Footprint to road segment: the setback line where the footprint lies alongside the segment,
        the exact polygon-segment distance where it reaches past the segment's end."""
        segment = self.roads[road - self.first_road]
        axis = 0 if segment.start[1] == segment.end[1] else 1
        low, high = sorted((segment.start[axis], segment.end[axis]))
        if low <= centre_a - extent_a / 2 and centre_a + extent_a / 2 <= high:
            return front
        return polygon_segment_distance(corners, segment.start, segment.end)

    def _in_community(self, lic: int, point: Point) -> bool:
        ring = self.communities[lic].ring
        return inside_convex(ring, *point)

    def _hits_highway(self, corners: tuple[Point, ...]) -> bool:
        if self.highway is None:
            return False
        (ox, oy), (dx, dy), clearance = self.highway
        distances = [-dy * (x - ox) + dx * (y - oy) for x, y in corners]
        return min(distances) < clearance and max(distances) > -clearance

    def _weight(self, centre: Point, in_community: bool) -> float:
        ru, rv = self.radii
        rho = math.hypot(centre[0] / ru, centre[1] / rv)
        weight = 1.0 if rho < CENTRE_DENSITY_RADIUS else max(0.3, 1.0 - 0.65 * (rho - CENTRE_DENSITY_RADIUS) / 0.6)
        return weight * (1.6 if in_community else 1.0)

    def _waterlogging(self, expected_plots: float) -> list[tuple[list[Point], str]]:
        rng = self.rng
        wanted = max(1, round(expected_plots * self.waterlogging_per_plot)) if self.waterlogging_per_plot else 0
        ru, rv = self.radii
        areas: list[tuple[list[Point], str]] = []
        for _ in range(20 * wanted):
            if len(areas) == wanted:
                break
            cu, cv = rng.uniform(-0.8, 0.8) * ru, rng.uniform(-0.8, 0.8) * rv
            if not inside_convex(self.outline, cu, cv):
                continue
            radius = rng.uniform(80.0, 300.0) * min(1.0, math.sqrt(self.area) / 2000)
            stretch = rng.uniform(0.5, 1.0)
            ring = [(cu + radius * rng.uniform(0.7, 1.0) * math.cos(2 * math.pi * k / 12),
                     cv + stretch * radius * rng.uniform(0.7, 1.0) * math.sin(2 * math.pi * k / 12)) for k in range(12)]
            areas.append((ring, SEVERITY.pick(rng)))
        return areas


def _to_uv(line: RoadLine, side: int, a: float, b: float) -> Point:
    offset = line.pos + side * b
    return (a, offset) if line.axis == "h" else (offset, a)


def _rectangle(line: RoadLine, side: int, centre_a: float, centre_b: float, width: float, depth: float,
               theta: float) -> tuple[Point, Point, Point, Point]:
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    hw, hd = width / 2, depth / 2
    corners = []
    for sa, sb in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        a = centre_a + sa * hw * cos_t - sb * hd * sin_t
        b = centre_b + sa * hw * sin_t + sb * hd * cos_t
        corners.append(_to_uv(line, side, a, b))
    return tuple(corners)


def _box_hits_pond(line: RoadLine, side: int, centre_a: float, centre_b: float, extent_a: float, extent_b: float,
                   pond: Pond) -> bool:
    cu, cv = _to_uv(line, side, centre_a, centre_b)
    half_u, half_v = (extent_a / 2, extent_b / 2) if line.axis == "h" else (extent_b / 2, extent_a / 2)
    reach = pond.radius + 1.5
    return abs(cu - pond.centre[0]) < half_u + reach and abs(cv - pond.centre[1]) < half_v + reach


SURFACE = {
    PRIMARY: Choice({"bituminous": 1}),
    SECONDARY: Choice({"bituminous": 80, "concrete": 20}),
    TERTIARY: Choice({"bituminous": 50, "concrete": 35, "brick": 15}),
    ACCESS: Choice({"concrete": 35, "brick": 35, "bituminous": 15, "gravel": 10, "earthen": 5}),
    LANE: Choice({"brick": 45, "concrete": 25, "earthen": 20, "gravel": 10}),
}
SEVERITY = Choice({"low": 40, "medium": 40, "high": 20})
GENDER = Choice({"male": 72, "female": 27.8, "other": 0.2})


# --- wards: a power diagram over the outline -------------------------------------------------------------

@dataclass
class WardCells:
    seeds: list[Point]
    weights: list[float]
    numbers: list[int]  # ward number of each seed

    def nearest(self, x: float, y: float) -> int:
        best, best_index = math.inf, 0
        for index, ((sx, sy), weight) in enumerate(zip(self.seeds, self.weights, strict=True)):
            score = (x - sx) ** 2 + (y - sy) ** 2 - weight
            if score < best:
                best, best_index = score, index
        return best_index

    def cell(self, outline: list[Point], index: int) -> list[Point]:
        (sx, sy), weight = self.seeds[index], self.weights[index]
        polygon = outline
        for other, ((ox, oy), other_weight) in enumerate(zip(self.seeds, self.weights, strict=True)):
            if other != index:
                c = ox * ox + oy * oy - sx * sx - sy * sy - other_weight + weight
                polygon = clip_half_plane(polygon, 2 * (ox - sx), 2 * (oy - sy), c)
        return polygon


def ward_cells(rng: random.Random, zone: Zone, points: list[Point], count: int, first_number: int) -> WardCells:
    """k-means seeds over the built-up points (topped up with points anywhere in the outline), numbered in rows
    from the north-west."""
    sample = rng.sample(points, min(len(points), 2500))
    sample += _random_points(rng, zone.outline, max(0, 30 * count - len(sample)))
    seeds = _distinct(rng, zone.outline, rng.sample(sample, count))
    for _ in range(10):
        seeds = _lloyd_step(rng, zone.outline, sample, seeds)
    rows = max(1, round(math.sqrt(count)))
    by_north = sorted(range(count), key=lambda i: -seeds[i][1])
    ordered = []
    for r in range(rows):
        chunk = by_north[r * count // rows: (r + 1) * count // rows]
        ordered += sorted(chunk, key=lambda i: seeds[i][0])
    seeds = [seeds[i] for i in ordered]
    return WardCells(seeds=seeds, weights=[0.0] * count, numbers=list(range(first_number, first_number + count)))


def _random_points(rng: random.Random, outline: list[Point], count: int) -> list[Point]:
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    points: list[Point] = []
    while len(points) < count:
        x, y = rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))
        if inside_convex(outline, x, y):
            points.append((x, y))
    return points


def _distinct(rng: random.Random, outline: list[Point], seeds: list[Point]) -> list[Point]:
    kept: list[Point] = []
    for seed in seeds:
        while any(math.dist(seed, other) < 1.0 for other in kept):
            seed = _random_points(rng, outline, 1)[0]
        kept.append(seed)
    return kept


def _lloyd_step(rng: random.Random, outline: list[Point], sample: list[Point], seeds: list[Point]) -> list[Point]:
    sums = [[0.0, 0.0, 0] for _ in seeds]
    for x, y in sample:
        best = min(range(len(seeds)), key=lambda i: (x - seeds[i][0]) ** 2 + (y - seeds[i][1]) ** 2)
        acc = sums[best]
        acc[0] += x
        acc[1] += y
        acc[2] += 1
    moved = [(sx / n, sy / n) if n else _random_points(rng, outline, 1)[0] for sx, sy, n in sums]
    return _distinct(rng, outline, moved)


def ward_grow(cells: WardCells, outline: list[Point], sample: list[Point], wards: Iterable[int],
              share: float) -> None:
    """Enlarge the given wards (power weights) until they hold `share` of the sample, keeping every cell."""
    indices = [cells.numbers.index(number) for number in wards if number in cells.numbers]
    if not indices or not sample:
        return
    needed = share * len(sample)
    step = polygon_area(outline) / len(cells.seeds) / math.pi * 0.08
    for _ in range(60):
        if sum(1 for x, y in sample if cells.nearest(x, y) in indices) >= needed:
            return
        for index in indices:
            cells.weights[index] += step
        if any(polygon_area(cells.cell(outline, i)) < 1.0 for i in range(len(cells.seeds))):
            for index in indices:
                cells.weights[index] -= step
            return


# --- the city --------------------------------------------------------------------------------------------

@dataclass
class Layer:
    key: str  # the registry model (lower case) or "containment_buildings" (the M2M table)
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)  # FK column -> layer key; values are row indices


@dataclass
class City:
    slug: str
    counts: CityCounts
    layers: dict[str, Layer]


@dataclass(slots=True)
class BuiltPlot:
    """A chosen plot: a building, with its ward (row index) and attributes."""

    plot: Plot
    ward: int
    attrs: dict


def city_generate(figures: dict, *, scale: float, seed: int) -> City:
    return CityGenerator(figures, scale=scale, seed=seed).generate()


class CityGenerator:
    def __init__(self, figures: dict, *, scale: float, seed: int):
        self.figures = figures
        self.slug = figures["slug"]
        self.seed = seed
        self.layers_wanted = set(figures["layers"])
        self.profile = PROFILES.get(self.slug, Profile())
        self.counts = city_counts(figures, scale)
        self.short_name = figures["name"].split()[0]

    def rng(self, part: str) -> random.Random:
        return random.Random(stable_seed(self.seed, self.slug, part))

    def generate(self) -> City:
        zones, roads = self._zones()
        self.zones, self.roads = zones, roads
        chosen = [self._select(zone, n) for zone, n in zip(zones, self.counts.zone_buildings, strict=True)]
        self.ward_layer, self.cells = self._wards(zones, chosen)
        buildings = self._buildings(zones, chosen)
        layers = self._layers(buildings)
        return City(slug=self.slug, counts=self.counts, layers=layers)

    # geometry -----------------------------------------------------------------------------------------

    def _zones(self) -> tuple[list[Zone], list[RoadSegment]]:
        names = [name for name, _count in self.profile.zones] or [self.figures["name"]]
        zones: list[Zone] = []
        roads: list[RoadSegment] = []
        for index, (name, n) in enumerate(zip(names, self.counts.zone_buildings, strict=True)):
            zone, zone_roads = self._zone(index, name, n, len(roads))
            zones.append(zone)
            roads += zone_roads
        self._place(zones)
        return zones, roads

    def _zone(self, index: int, name: str, n: int, first_road: int) -> tuple[Zone, list[RoadSegment]]:
        area = max(MIN_ZONE_AREA_M2, n * LAND_PER_PLOT_M2 * PLOT_SURPLUS)
        densities = {
            "ponds": 1 / 300 if "water_bodies" in self.layers_wanted else 0.0,
            "communities": 1 / 1500 if "low_income_communities" in self.layers_wanted else 0.0,
            "waterlogging": 1 / 6000 if "water_logging_areas" in self.layers_wanted else 0.0,
        }
        for attempt in range(8):
            builder = LayoutBuilder(
                self.rng(f"layout:{index}:{attempt}"), zone=index, name=name, area=area, first_road=first_road,
                ponds_per_plot=densities["ponds"], communities_per_plot=densities["communities"],
                waterlogging_per_plot=densities["waterlogging"],
            )
            zone, roads = builder.build()
            if len(zone.plots) >= n * 1.08 and len(zone.plots) >= 1:
                return zone, roads
            area *= max(1.1, n * PLOT_SURPLUS / max(1, len(zone.plots)))
        raise RuntimeError(f"could not lay out {n} buildings in {name}")

    def _place(self, zones: list[Zone]) -> None:
        """Zones side by side with a green gap, the building-weighted centre on the centroid."""
        if len(zones) == 1:
            return
        rng = self.rng("zones")
        direction = rng.uniform(-0.6, 0.6)
        x = 0.0
        centres = []
        for k, zone in enumerate(zones):
            radius = max(math.hypot(*point) for point in zone.outline)
            if k:
                x += radius + ZONE_GAP_M
            centres.append(x)
            x += radius
        weights = [max(1, n) for n in self.counts.zone_buildings]
        mean = sum(c * w for c, w in zip(centres, weights, strict=True)) / sum(weights)
        for zone, centre in zip(zones, centres, strict=True):
            d = centre - mean
            zone.offset = (d * math.cos(direction), d * math.sin(direction))

    def frame(self, zone: Zone) -> Frame:
        lon0, lat0 = self.figures["centroid"]
        return Frame(lon0=lon0, lat0=lat0, east0=zone.offset[0], north0=zone.offset[1], angle=zone.angle)

    def _select(self, zone: Zone, n: int) -> list[Plot]:
        """n of the zone's plots, denser towards the centre (Efraimidis–Spirakis weighted sampling)."""
        rng = self.rng(f"select:{zone.index}")
        keys = [rng.random() ** (1 / plot.weight) for plot in zone.plots]
        chosen = heapq.nlargest(n, range(len(zone.plots)), key=keys.__getitem__)
        plots = [zone.plots[i] for i in chosen]
        plots.sort(key=lambda p: (p.line.number, p.side, p.along))
        return plots

    # wards --------------------------------------------------------------------------------------------

    def _wards(self, zones: list[Zone], chosen: list[list[Plot]]) -> tuple[Layer, list[WardCells]]:
        layer = Layer("ward", ("number", "name", "name_bn", "boundary"))
        all_cells = []
        number = 1
        for zone, plots, count in zip(zones, chosen, self.counts.zone_wards, strict=True):
            rng = self.rng(f"wards:{zone.index}")
            centres = [plot.centre for plot in plots]
            cells = ward_cells(rng, zone, centres, count, number)
            survey = [w for w in self.profile.survey_wards if w in cells.numbers]
            if survey and self.counts.containments and centres:
                share = min(0.9, self.counts.containments * 1.3 / len(centres))
                ward_grow(cells, zone.outline, rng.sample(centres, min(len(centres), 5000)), survey, share)
            project = self.frame(zone).projector()
            for index, ward_number in enumerate(cells.numbers):
                ring = cells.cell(zone.outline, index)
                layer.rows.append((ward_number, f"Ward {ward_number}", f"ওয়ার্ড {bangla_digits(ward_number)}",
                                   ewkt_multipolygon([(project, ring)])))
            all_cells.append(cells)
            number += count
        return layer, all_cells

    def ward_index(self, zone: Zone, point: Point, block_cache: dict[int, int | None], block: int) -> int:
        """Row index of the ward holding the point; a block wholly inside one cell answers for all its points."""
        cells = self.cells[zone.index]
        offset = cells.numbers[0] - 1
        if block not in block_cache:
            u0, v0, u1, v1 = zone.blocks[block]
            found = {cells.nearest(u, v) for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))}
            block_cache[block] = found.pop() if len(found) == 1 else None
        cached = block_cache[block]
        return offset + (cached if cached is not None else cells.nearest(*point))

    # buildings ----------------------------------------------------------------------------------------

    def _buildings(self, zones: list[Zone], chosen: list[list[Plot]]) -> list[BuiltPlot]:
        buildings = []
        for zone, plots in zip(zones, chosen, strict=True):
            cache: dict[int, int | None] = {}
            for plot in plots:
                buildings.append(BuiltPlot(plot=plot, ward=self.ward_index(zone, plot.centre, cache, plot.block),
                                          attrs={}))
        return buildings

    def _layers(self, buildings: list[BuiltPlot]) -> dict[str, Layer]:
        networks = NetworkBuilder(self).build()
        people = PeopleBuilder(self, buildings, networks).build()
        layers = {"ward": self.ward_layer, "municipalboundary": self._boundary(), "road": self._road_layer()}
        layers.update(networks.plant_layers)
        layers.update(people)
        layers.update(networks.line_layers)
        layers.update(self._areas(buildings))
        return layers

    def _boundary(self) -> Layer:
        parts = [(self.frame(zone).projector(), zone.outline) for zone in self.zones]
        return Layer("municipalboundary", ("name", "boundary"), [(self.figures["name"], ewkt_multipolygon(parts))])

    def _road_layer(self) -> Layer:
        layer = Layer("road", ("code", "name", "hierarchy", "width_m", "surface", "geom"))
        projectors = [self.frame(zone).projector() for zone in self.zones]
        for number, road in enumerate(self.roads, start=1):
            layer.rows.append((f"R-{number:05d}", road.name, road.hierarchy, two_places(road.width), road.surface,
                               ewkt_line(projectors[road.zone], (road.start, road.end))))
        return layer

    def _areas(self, buildings: list[BuiltPlot]) -> dict[str, Layer]:
        layers: dict[str, Layer] = {}
        projectors = [self.frame(zone).projector() for zone in self.zones]
        rng = self.rng("areas")
        if "water_bodies" in self.layers_wanted:
            ponds = Layer("waterbody", ("name", "kind", "geom"))
            for zone in self.zones:
                for pond in zone.ponds:
                    named = rng.random() < 0.4
                    kind = "Dighi" if pond.radius > 22 else "Pukur"
                    ponds.rows.append((f"{rng.choice(POND_STEMS)} {kind}" if named else "", "pond",
                                       ewkt_polygon(projectors[zone.index], pond.ring)))
            layers["waterbody"] = ponds
        if "water_logging_areas" in self.layers_wanted:
            logging_layer = Layer("waterloggingarea", ("name", "severity", "geom"))
            for zone in self.zones:
                for ring, severity in zone.waterlogging:
                    logging_layer.rows.append((f"Water-logging near {rng.choice(ROAD_STEMS)}", severity,
                                               ewkt_polygon(projectors[zone.index], ring)))
            layers["waterloggingarea"] = logging_layer
        if "low_income_communities" in self.layers_wanted:
            layers["lowincomecommunity"] = self._communities(buildings, projectors)
        return layers

    def _communities(self, buildings: list[BuiltPlot], projectors: list) -> Layer:
        totals: dict[tuple[int, int], list[int]] = {}
        for building in buildings:
            if building.plot.lic >= 0:
                total = totals.setdefault((building.plot.zone, building.plot.lic), [0, 0])
                total[0] += building.attrs["households"]
                total[1] += building.attrs["population"]
        layer = Layer("lowincomecommunity", ("name", "households", "population", "geom"))
        for zone in self.zones:
            for index, community in enumerate(zone.communities):
                households, population = totals.get((zone.index, index), (0, 0))
                layer.rows.append((community.name, households, population,
                                   ewkt_polygon(projectors[zone.index], community.ring)))
        return layer


# --- networks: drains, sewers, water lines, the treatment plant -------------------------------------------

@dataclass
class Networks:
    drain_of_road: dict[int, str]
    sewer_of_road: dict[int, str]
    water_of_road: set[int]
    line_layers: dict[str, Layer]
    plant_layers: dict[str, Layer]


class NetworkBuilder:
    def __init__(self, city: CityGenerator):
        self.city = city
        self.rng = city.rng("networks")
        self.projectors = [city.frame(zone).projector() for zone in city.zones]

    def build(self) -> Networks:
        wanted = self.city.layers_wanted
        networks = Networks({}, {}, set(), {}, {})
        if "treatment_plants" in wanted:
            networks.plant_layers["treatmentplant"] = self._plant()
        if "drains" in wanted:
            networks.line_layers["drain"] = self._drains(networks.drain_of_road)
        if "sewers" in wanted:
            networks.line_layers["sewer"] = self._sewers(networks.sewer_of_road)
        if "water_connections" in wanted:
            networks.line_layers["waterline"] = self._water_lines(networks.water_of_road)
        return networks

    def _plant(self) -> Layer:
        zone = self.city.zones[0]
        angle = self.rng.uniform(0, 2 * math.pi)
        ru, rv = zone.radii
        location = (ru * 1.25 * math.cos(angle), rv * 1.25 * math.sin(angle))
        capacity = max(20, round(self.city.counts.containments * 0.0015 / 5) * 5)
        layer = Layer("treatmentplant", ("name", "type", "capacity_m3_per_day", "status", "location"))
        layer.rows.append((f"{self.city.short_name} Faecal Sludge Treatment Plant", "fstp", two_places(capacity),
                           "operational", ewkt_point(self.projectors[0], location)))
        return layer

    def _drains(self, drain_of_road: dict[int, str]) -> Layer:
        chance = {PRIMARY: 0.92, SECONDARY: 0.9, TERTIARY: 0.88, ACCESS: 0.82, LANE: 0.5}
        size = {PRIMARY: (900, 1500), SECONDARY: (600, 1000), TERTIARY: (450, 750), ACCESS: (300, 600),
                LANE: (200, 400)}
        layer = Layer("drain", ("code", "kind", "is_covered", "size_mm", "geom"))
        rng = self.rng
        for index, road in enumerate(self.city.roads):
            if rng.random() >= chance[road.hierarchy]:
                continue
            sides = [1, -1] if road.hierarchy in (PRIMARY, SECONDARY) and rng.random() < 0.6 else [rng.choice((1, -1))]
            for side in sides:
                code = f"D-{len(layer.rows) + 1:05d}"
                drain_of_road.setdefault(index, code)
                closed = rng.random() < (0.6 if road.hierarchy in (PRIMARY, SECONDARY) else 0.25)
                covered = closed or rng.random() < 0.35
                layer.rows.append((code, "closed" if closed else "open", covered,
                                   round(rng.uniform(*size[road.hierarchy]) / 50) * 50,
                                   self._parallel(road, side * (road.width / 2 + 0.4))))
        return layer

    def _sewers(self, sewer_of_road: dict[int, str]) -> Layer:
        """A sewered core in the first zone: every road but the lanes within about a third of its radius."""
        zone = self.city.zones[0]
        ru, rv = zone.radii
        centre = (self.rng.uniform(-0.2, 0.2) * ru, self.rng.uniform(-0.2, 0.2) * rv)
        reach = 0.45 * min(ru, rv)
        diameter = {PRIMARY: 600, SECONDARY: 450, TERTIARY: 300, ACCESS: 200}
        layer = Layer("sewer", ("code", "diameter_mm", "geom"))
        for index, road in enumerate(self.city.roads):
            if road.zone != 0 or road.hierarchy == LANE:
                continue
            middle = ((road.start[0] + road.end[0]) / 2, (road.start[1] + road.end[1]) / 2)
            if math.dist(middle, centre) > reach:
                continue
            code = f"S-{len(layer.rows) + 1:05d}"
            sewer_of_road[index] = code
            layer.rows.append((code, diameter[road.hierarchy], self._parallel(road, 0.0)))
        return layer

    def _water_lines(self, water_of_road: set[int]) -> Layer:
        diameter = {PRIMARY: 300, SECONDARY: 200, TERTIARY: 150, ACCESS: 100}
        material = Choice({"pvc": 40, "hdpe": 25, "ductile_iron": 15, "galvanised_iron": 12, "asbestos_cement": 8})
        layer = Layer("waterline", ("code", "diameter_mm", "material", "geom"))
        rng = self.rng
        for index, road in enumerate(self.city.roads):
            if road.hierarchy == LANE or rng.random() >= (0.75 if road.zone == 0 else 0.4):
                continue
            water_of_road.add(index)
            layer.rows.append((f"WL-{len(layer.rows) + 1:05d}", diameter[road.hierarchy], material.pick(rng),
                               self._parallel(road, -(road.width / 2 + 0.8))))
        return layer

    def _parallel(self, road: RoadSegment, offset: float) -> str:
        (x0, y0), (x1, y1) = road.start, road.end
        length = math.hypot(x1 - x0, y1 - y0)
        nx, ny = -(y1 - y0) / length * offset, (x1 - x0) / length * offset
        return ewkt_line(self.projectors[road.zone], ((x0 + nx, y0 + ny), (x1 + nx, y1 + ny)))


# --- buildings, holdings, owners, containments -------------------------------------------------------------

USE_ON_MAIN_ROADS = Choice({"residential": 52, "mixed": 18, "commercial": 20, "industrial": 1.5, "educational": 2,
                            "religious": 1.5, "institutional": 2, "health": 1.5, "government": 1.5})
USE_ELSEWHERE = Choice({"residential": 83, "mixed": 6, "commercial": 4, "industrial": 1.5, "educational": 1.5,
                        "religious": 1.5, "institutional": 1, "health": 0.5, "government": 1})
STRUCTURE = Choice({"pucca": 50, "semi_pucca": 33, "kutcha": 15, "other": 2})
STRUCTURE_IN_COMMUNITIES = Choice({"pucca": 8, "semi_pucca": 45, "kutcha": 45, "other": 2})
PUCCA_FLOORS = Choice({"1": 30, "2": 30, "3": 15, "4": 12, "5": 8, "6": 5})
HOUSEHOLDS_PER_FLOOR = Choice({"1": 50, "2": 35, "3": 15})
SANITATION = Choice({"septic_tank": 40, "pit": 22, "drain": 12, "shared_septic_tank": 4, "shared_toilet": 5,
                     "community_toilet": 2, "water_body": 5, "open_ground": 4, "onsite_treatment": 4.5,
                     "composting": 1.5})
NO_TOILET = Choice({"community_toilet": 35, "shared_toilet": 35, "open_defecation": 30})
VERIFICATION = Choice({"verified": 86, "needs_review": 5, "unverified": 9})
CONTAINMENT = Choice({"septic_tank": 60, "lined_pit": 20, "unlined_pit": 12, "holding_tank": 8})
CONTAINMENT_POOR = Choice({"septic_tank": 25, "lined_pit": 35, "unlined_pit": 35, "holding_tank": 5})
OUTLET = {
    "septic_tank": Choice({"soak_pit": 35, "drain": 40, "open_ground": 8, "water_body": 7, "none": 10}),
    "holding_tank": Choice({"none": 85, "drain": 15}),
    "lined_pit": Choice({"none": 70, "open_ground": 15, "drain": 10, "water_body": 5}),
    "unlined_pit": Choice({"none": 70, "open_ground": 15, "drain": 10, "water_body": 5}),
}

BUILDING_COLUMNS = (
    "bin", "footprint", "holding_id", "ward_id", "structure_type", "floors", "construction_year", "functional_use",
    "households", "population_male", "population_female", "population_other", "population_differently_abled",
    "is_low_income", "water_source", "water_customer_id", "has_toilet", "toilet_count", "has_shared_toilet",
    "sanitation_system", "sewer_code", "drain_code", "is_desludging_vehicle_accessible", "verification_status",
    "surveyed_at", "nearest_road_id", "road_distance_m", "road_link_status",
)
CONTAINMENT_COLUMNS = (
    "code", "type", "outlet", "length_m", "width_m", "diameter_m", "depth_m", "volume_m3", "construction_year",
    "location", "ward_id", "last_emptied_on", "times_emptied", "next_emptying_due", "surveyed_at",
)


class PeopleBuilder:
    """Attributes, holdings, owners and containments of the chosen plots."""

    def __init__(self, city: CityGenerator, buildings: list[BuiltPlot], networks: Networks):
        self.city = city
        self.buildings = buildings
        self.networks = networks
        self.projectors = [city.frame(zone).projector() for zone in city.zones]
        self.water = Choice(city.profile.water)

    def build(self) -> dict[str, Layer]:
        self._attributes()
        served = self._containments()
        self._sanitation(served)
        holdings, owners, holding_of = self._holdings()
        layers = {"holding": holdings, "owner": owners, "building": self._building_layer(holding_of)}
        if "containments" in self.city.layers_wanted:
            layers["containment"], layers["containment_buildings"] = self.containment_layers
        return layers

    # attributes ---------------------------------------------------------------------------------------

    def _attributes(self) -> None:
        rng = self.city.rng("attributes")
        in_lic = sum(1 for b in self.buildings if b.plot.lic >= 0)
        outside = len(self.buildings) - in_lic
        share_outside = (max(0.02, (LOW_INCOME_SHARE * len(self.buildings) - LIC_LOW_INCOME_SHARE * in_lic) / outside)
                         if outside else 0.0)
        customer = 0
        for building in self.buildings:
            attrs = self._building_attrs(rng, building, share_outside)
            if attrs["water_source"] == "municipal":
                customer += 1
                attrs["water_customer_id"] = f"WC-{customer:07d}"
            building.attrs = attrs

    def _building_attrs(self, rng: random.Random, building: BuiltPlot, share_outside: float) -> dict:
        plot = building.plot
        road = self.city.roads[plot.road]
        in_lic = plot.lic >= 0
        use = (USE_ON_MAIN_ROADS if road.hierarchy in (PRIMARY, SECONDARY) else USE_ELSEWHERE).pick(rng)
        structure = (STRUCTURE_IN_COMMUNITIES if in_lic else STRUCTURE).pick(rng)
        floors = self._floors(rng, structure, plot.area)
        households = self._households(rng, use, floors, in_lic)
        population = sum(max(1, min(12, round(rng.gauss(PERSONS_PER_HOUSEHOLD, 1.7)))) for _ in range(households))
        other = 1 if population and rng.random() < 0.002 else 0
        male = min(population - other, max(0, round(population * 0.505 + rng.gauss(0, math.sqrt(population) / 2))))
        disabled = sum(1 for _ in range(population) if rng.random() < 0.015)
        has_toilet = rng.random() < (0.86 if in_lic else 0.985)
        water = self._water_source(rng, plot.road)
        return {
            "functional_use": use, "structure_type": structure, "floors": floors,
            "construction_year": self._year(rng, structure), "households": households, "population": population,
            "population_male": male, "population_female": population - male - other, "population_other": other,
            "population_differently_abled": disabled,
            "is_low_income": rng.random() < (LIC_LOW_INCOME_SHARE if in_lic else share_outside),
            "water_source": water, "water_customer_id": "", "has_toilet": has_toilet,
            "toilet_count": self._toilets(rng, has_toilet, households),
            # without a toilet of its own a household mostly uses a neighbour's
            "has_shared_toilet": rng.random() < ((0.4 if in_lic else 0.05) if has_toilet else 0.6),
            "verification_status": VERIFICATION.pick(rng),
            "surveyed_at": SURVEY_START + timedelta(seconds=rng.randrange(SURVEY_SECONDS)),
            "sewered": plot.road in self.networks.sewer_of_road and rng.random() < 0.9,
        }

    @staticmethod
    def _toilets(rng: random.Random, has_toilet: bool, households: int) -> int:
        if not has_toilet:
            return 0
        return max(1, households + rng.randint(-1, 1)) if households else rng.randint(1, 4)

    @staticmethod
    def _floors(rng: random.Random, structure: str, area: float) -> int:
        if structure == "kutcha":
            return 1
        if structure in ("semi_pucca", "other"):
            return 2 if rng.random() < 0.15 else 1
        floors = int(PUCCA_FLOORS.pick(rng))
        return min(floors, 2) if area < 60 else floors

    @staticmethod
    def _households(rng: random.Random, use: str, floors: int, in_lic: bool) -> int:
        if use == "residential":
            return sum(int(HOUSEHOLDS_PER_FLOOR.pick(rng)) for _ in range(floors)) + (rng.randint(0, 1) if in_lic
                                                                                       else 0)
        if use == "mixed":
            return sum(int(HOUSEHOLDS_PER_FLOOR.pick(rng)) for _ in range(max(1, floors - 1)))
        return 1 if rng.random() < 0.08 else 0

    @staticmethod
    def _year(rng: random.Random, structure: str) -> int:
        age = int(rng.expovariate(1 / (8 if structure == "kutcha" else 16)))
        return REFERENCE_DATE.year - min(age, 60)

    def _water_source(self, rng: random.Random, road: int) -> str:
        if road in self.networks.water_of_road and rng.random() < 0.85:
            return "municipal"
        return self.water.pick(rng)

    # containments -------------------------------------------------------------------------------------

    def _containments(self) -> dict[int, list[int]]:
        """Containment rows (layer kept on self) and, per building index, the containments serving it."""
        target = self.city.counts.containments
        self.containment_layers = (Layer("containment", CONTAINMENT_COLUMNS, refs={"ward_id": "ward"}),
                                   Layer("containment_buildings", ("containment_id", "building_id"),
                                         refs={"containment_id": "containment", "building_id": "building"}))
        if not target or "containments" not in self.city.layers_wanted:
            return {}
        rng = self.city.rng("containments")
        groups = self._service_groups(rng, restricted=True) or self._service_groups(rng, restricted=False)
        if not groups:  # nobody has a toilet of their own: the tanks go to the first buildings
            groups = [([i], b.plot.yard, b.ward) for i, b in enumerate(self.buildings[:target])]
        if len(groups) > target:
            groups = [groups[i] for i in sorted(rng.sample(range(len(groups)), target))]
        else:
            groups += self._second_tanks(rng, target - len(groups), groups)
        served: dict[int, list[int]] = {}
        for group, location, ward in groups:
            self._containment(rng, group, location, ward, served)
        return served

    def _service_groups(self, rng: random.Random, *, restricted: bool) -> list[tuple[list[int], Point, int]]:
        """(buildings, tank location, ward index): mostly one building each, a few tanks shared by 2-3
        neighbours in the same row and ward; only in the surveyed wards when restricted."""
        survey = set(self.city.profile.survey_wards) if restricted else set()
        ward_numbers = [row[0] for row in self.city.ward_layer.rows]
        caches: dict[int, dict[int, int | None]] = {}
        groups: list[tuple[list[int], Point, int]] = []
        i, count = 0, len(self.buildings)
        while i < count:
            size = 1 if rng.random() >= 0.05 else rng.randint(2, 3)
            members = [i]
            while len(members) < size and i + len(members) < count and self._neighbours(members[-1],
                                                                                      i + len(members)):
                members.append(i + len(members))
            i += len(members)
            plots = [self.buildings[m].plot for m in members]
            if not all(self.buildings[m].attrs["has_toilet"] and not self.buildings[m].attrs["sewered"]
                       for m in members):
                continue
            location = (sum(p.yard[0] for p in plots) / len(plots), sum(p.yard[1] for p in plots) / len(plots))
            zone = self.city.zones[plots[0].zone]
            ward = self.city.ward_index(zone, location, caches.setdefault(zone.index, {}), plots[0].block)
            if ward != self.buildings[members[0]].ward:
                continue
            if survey and ward_numbers[ward] not in survey:
                continue
            groups.append((members, location, ward))
        return groups

    def _neighbours(self, a: int, b: int) -> bool:
        first, second = self.buildings[a], self.buildings[b]
        return first.plot.row == second.plot.row and first.plot.zone == second.plot.zone and first.ward == second.ward

    def _second_tanks(self, rng: random.Random, missing: int,
                      groups: list[tuple[list[int], Point, int]]) -> list[tuple[list[int], Point, int]]:
        """Too few buildings for the published count: the largest buildings get a second tank."""
        singles = sorted((g for g in groups if len(g[0]) == 1),
                         key=lambda g: (-self.buildings[g[0][0]].attrs["floors"], g[0][0])) or groups
        extra = []
        for k in range(missing):
            members, (x, y), ward = singles[k % len(singles)]
            extra.append((members, (x + rng.uniform(-0.3, 0.3), y), ward))
        return extra

    def _containment(self, rng: random.Random, members: list[int], location: Point, ward: int,
                     served: dict[int, list[int]]) -> None:
        containments, links = self.containment_layers
        lead = self.buildings[members[0]]
        attrs = lead.attrs
        poor = attrs["structure_type"] == "kutcha" or lead.plot.lic >= 0
        kind = (CONTAINMENT_POOR if poor else CONTAINMENT).pick(rng)
        outlet = OUTLET[kind].pick(rng)
        households = sum(self.buildings[m].attrs["households"] for m in members) or 1
        length = width = diameter = None
        if kind in ("septic_tank", "holding_tank"):
            grow = min(1.8, 1 + 0.08 * (households - 1))
            length = two_places(round(rng.uniform(1.8, 3.2) * grow, 1))
            width = two_places(round(rng.uniform(1.0, 1.8) * min(grow, 1.4), 1))
            depth = two_places(round(rng.uniform(1.2, 2.2), 1))
            volume = (length * width * depth).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        else:
            diameter = two_places(round(rng.uniform(0.9, 1.5), 1))
            depth = two_places(round(rng.uniform(1.5, 3.0), 1))
            volume = two_places(math.pi * (float(diameter) / 2) ** 2 * float(depth))
        built = min(REFERENCE_DATE.year, attrs["construction_year"] + rng.randint(0, 3))
        last_emptied, times = self._emptying(rng, built)
        index = len(containments.rows)
        project = self.projectors[lead.plot.zone]
        containments.rows.append((
            f"C-{index + 1:07d}", kind, outlet, length, width, diameter, depth, volume, built,
            ewkt_point(project, location), ward, last_emptied, times, None, attrs["surveyed_at"],
        ))
        for member in members:
            links.rows.append((index, member))
            served.setdefault(member, []).append(index)

    @staticmethod
    def _emptying(rng: random.Random, built: int) -> tuple[date | None, int]:
        if rng.random() >= 0.4:
            return None, 0
        earliest = date(max(built, REFERENCE_DATE.year - 8), 1, 1)
        span = (REFERENCE_DATE - earliest).days
        days_ago = min(span, int(rng.expovariate(1 / 700)))
        years = max(1, (REFERENCE_DATE.year - built) // 2)
        return REFERENCE_DATE - timedelta(days=days_ago), min(years, 1 + int(rng.expovariate(0.6)))

    def _sanitation(self, served: dict[int, list[int]]) -> None:
        rng = self.city.rng("sanitation")
        containments, links = self.containment_layers
        buildings_served = Counter(tank for tank, _building in links.rows)
        for index, building in enumerate(self.buildings):
            attrs = building.attrs
            tanks = served.get(index)
            if attrs["sewered"]:
                system = "sewer"
            elif tanks:
                kind = containments.rows[tanks[0]][1]
                if kind in ("septic_tank", "holding_tank"):
                    system = "shared_septic_tank" if buildings_served[tanks[0]] > 1 else "septic_tank"
                else:
                    system = "pit"
            elif attrs["has_toilet"]:
                system = SANITATION.pick(rng)
            else:
                system = NO_TOILET.pick(rng)
            attrs["sanitation_system"] = system
            attrs["sewer_code"] = self.networks.sewer_of_road.get(building.plot.road, "") if system == "sewer" else ""
            to_drain = system == "drain" or (bool(tanks) and containments.rows[tanks[0]][2] == "drain")
            attrs["drain_code"] = self.networks.drain_of_road.get(building.plot.road, "") if to_drain else ""

    # holdings and owners ------------------------------------------------------------------------------

    def _holdings(self) -> tuple[Layer, Layer, list[int]]:
        """About 1.15 buildings per holding: neighbours in a row and ward sometimes share one.
        Holding IDs are ward-road-house, house numbers counted along each road line within a ward."""
        rng = self.city.rng("holdings")
        ward_numbers = [row[0] for row in self.city.ward_layer.rows]
        holdings = Layer("holding", ("holding_id", "ward_id", "road_id", "address", "is_multi_ward_confirmed"),
                         refs={"ward_id": "ward", "road_id": "road"})
        owners = Layer("owner", ("holding_id", "name", "phone", "national_id", "gender"),
                       refs={"holding_id": "holding"})
        holding_of: list[int] = []
        house: dict[tuple[int, int, int], int] = {}
        last_key, last_number, suffix = None, "", 0
        members = 0
        for index, building in enumerate(self.buildings):
            plot = building.plot
            if index and members < 3 and self._neighbours(index - 1, index) and rng.random() < 0.17:
                holding_of.append(holding_of[-1])
                members += 1
                continue
            members = 1
            key = (plot.zone, building.ward, plot.line.number)
            ward_number = ward_numbers[building.ward]
            if key == last_key and suffix < 3 and rng.random() < 0.02:  # a subdivided plot: 17, 17A, 17B
                suffix += 1
                number = f"{last_number}{'ABC'[suffix - 1]}"
            else:
                house[key] = house.get(key, 0) + 1
                suffix = 0
                last_number = number = f"{ward_number}-{plot.line.number:04d}-{house[key]:05d}"
            last_key = key
            road = self.city.roads[plot.road]
            holdings.rows.append((number, building.ward, plot.road,
                                  f"House {house[key]}, {road.name}, Ward {ward_number}, {self.city.short_name}",
                                  False))
            name, gender = owner_identity(rng)
            national_id = f"{rng.randrange(10**9, 10**10)}" if rng.random() < 0.75 else ""
            owners.rows.append((len(holdings.rows) - 1, name, phone_number(rng), national_id, gender))
            holding_of.append(len(holdings.rows) - 1)
        return holdings, owners, holding_of

    # the building rows --------------------------------------------------------------------------------

    def _building_layer(self, holding_of: list[int]) -> Layer:
        layer = Layer("building", BUILDING_COLUMNS,
                      refs={"holding_id": "holding", "ward_id": "ward", "nearest_road_id": "road"})
        rows = layer.rows
        roads = self.city.roads
        for index, building in enumerate(self.buildings):
            plot, a = building.plot, building.attrs
            road = roads[plot.road]
            rows.append((
                f"B-{index + 1:07d}", ewkt_polygon(self.projectors[plot.zone], plot.corners), holding_of[index],
                building.ward, a["structure_type"], a["floors"], a["construction_year"], a["functional_use"],
                a["households"], a["population_male"], a["population_female"], a["population_other"],
                a["population_differently_abled"], a["is_low_income"], a["water_source"], a["water_customer_id"],
                a["has_toilet"], a["toilet_count"], a["has_shared_toilet"], a["sanitation_system"], a["sewer_code"],
                a["drain_code"], road.width >= DESLUDGING_MIN_ROAD_WIDTH_M, a["verification_status"],
                a["surveyed_at"], plot.road, plot.distance, "linked",
            ))
        return layer
