"""Scheduled (block) desludging: which containments, which day, which vehicle, in which order.

1. Candidates: containments in the programme's wards/area that are due by its end (or never emptied), minus those
   emptied recently, those that declined recently and those with an open application; most overdue first.
2. Capacity: vehicles × trips a day × tank size, on working days that are not holidays. What does not fit waits.
3. Days: the kept containments are swept by bearing around the treatment plant into contiguous sectors, one per
   working day, each within the day's capacity (balanced by demand, not by count).
4. Routes: one small capacitated vehicle-routing model per day (OR-Tools, integer distance matrix in metres,
   guided local search within a time limit), each route starting and ending at the plant.
A nearest-neighbour plan is kept for comparison (the benchmark reports both).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_VOLUME_M3 = Decimal("2.0")


@dataclass(frozen=True)
class Stop:
    key: int  # containment id
    lon: float
    lat: float
    volume_m3: float
    due: datetime.date | None = None


@dataclass(frozen=True)
class Truck:
    key: int  # vehicle id
    capacity_m3: float
    trips_per_day: int

    @property
    def daily_capacity_m3(self) -> float:
        return self.capacity_m3 * self.trips_per_day


@dataclass
class Route:
    date: datetime.date
    truck: int
    stops: list[int]  # containment ids in order
    legs_m: list[int]  # distance to each stop from the previous one (the first from the plant)
    return_m: int = 0

    @property
    def length_m(self) -> int:
        return sum(self.legs_m) + self.return_m


@dataclass
class Plan:
    routes: list[Route] = field(default_factory=list)
    unplanned: list[int] = field(default_factory=list)

    @property
    def length_m(self) -> int:
        return sum(route.length_m for route in self.routes)

    @property
    def planned(self) -> int:
        return sum(len(route.stops) for route in self.routes)


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> int:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return int(round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))))


def working_days(start: datetime.date, end: datetime.date, *, weekdays: list[int],
                 holidays: list[datetime.date]) -> list[datetime.date]:
    days, day = [], start
    holidays = set(holidays)
    while day <= end:
        if day.weekday() in weekdays and day not in holidays:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def _bearing(depot: tuple[float, float], stop: Stop) -> float:
    return math.atan2(stop.lat - depot[1], (stop.lon - depot[0]) * math.cos(math.radians(depot[1])))


def select_within_capacity(stops: list[Stop], *, total_capacity_m3: float) -> tuple[list[Stop], list[Stop]]:
    """Most urgent first (earliest due; never emptied counts as due long ago) until capacity runs out."""
    ordered = sorted(stops, key=lambda s: (s.due or datetime.date.min, s.key))
    kept, waiting, used = [], [], 0.0
    for stop in ordered:
        if used + stop.volume_m3 <= total_capacity_m3:
            kept.append(stop)
            used += stop.volume_m3
        else:
            waiting.append(stop)
    return kept, waiting


def sweep_into_days(stops: list[Stop], *, depot: tuple[float, float], days: int,
                    day_capacity_m3: float) -> list[list[Stop]]:
    """Contiguous sectors around the plant, one per day, each balanced to the average daily demand.

    The target is recomputed as each day closes (what is left over the days left), and a day closes where its
    load comes nearest the target: lumpy volumes (one 4.8 m³ septic tank among 1.7 m³ pits) then neither leave
    days half empty nor pile the remainder on the last day.
    """
    if not stops or days <= 0:
        return [[] for _ in range(max(days, 0))]
    ordered = sorted(stops, key=lambda s: (_bearing(depot, s), s.key))
    remaining = sum(s.volume_m3 for s in ordered)
    target = min(day_capacity_m3, remaining / days)
    groups: list[list[Stop]] = [[]]
    load = 0.0
    for stop in ordered:
        after = load + stop.volume_m3
        if groups[-1] and len(groups) < days and (
                after > day_capacity_m3 + 1e-9 or after - target > (target - load) * 1.0001):
            remaining -= load
            groups.append([])
            load = 0.0
            target = min(day_capacity_m3, remaining / (days - len(groups) + 1))
        groups[-1].append(stop)
        load += stop.volume_m3
    while len(groups) < days:
        groups.append([])
    return groups


def _matrix(points: list[tuple[float, float]]) -> list[list[int]]:
    return [[0 if i == j else haversine_m(a, b) for j, b in enumerate(points)] for i, a in enumerate(points)]


def route_day_ortools(stops: list[Stop], *, trucks: list[Truck], depot: tuple[float, float], date: datetime.date,
                      seconds: float = 1.0) -> tuple[list[Route], list[int]]:
    """One capacitated VRP for one day; returns routes and the stops it could not fit."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    if not stops:
        return [], []
    points = [depot] + [(s.lon, s.lat) for s in stops]
    matrix = _matrix(points)
    scale = 100  # volumes in hundredths of m3: the solver wants integers
    demands = [0] + [int(round(s.volume_m3 * scale)) for s in stops]
    manager = pywrapcp.RoutingIndexManager(len(points), len(trucks), 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(matrix)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    demand = routing.RegisterUnaryTransitVector(demands)
    routing.AddDimensionWithVehicleCapacity(
        demand, 0, [int(t.daily_capacity_m3 * scale) for t in trucks], True, "load")
    penalty = 10 * max(max(row) for row in matrix) + 1
    for node in range(1, len(points)):
        routing.AddDisjunction([manager.NodeToIndex(node)], penalty)  # dropping a stop costs more than any detour
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    parameters.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(parameters)
    if solution is None:
        return route_day_nearest_neighbour(stops, trucks=trucks, depot=depot, date=date)
    routes, visited = [], set()
    for vehicle, truck in enumerate(trucks):
        index, previous, order, legs = routing.Start(vehicle), 0, [], []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            order.append(stops[node - 1].key)
            legs.append(matrix[previous][node])
            visited.add(node)
            previous = node
            index = solution.Value(routing.NextVar(index))
        if order:
            routes.append(Route(date=date, truck=truck.key, stops=order, legs_m=legs, return_m=matrix[previous][0]))
    dropped = [stops[node - 1].key for node in range(1, len(points)) if node not in visited]
    return routes, dropped


def route_day_nearest_neighbour(stops: list[Stop], *, trucks: list[Truck], depot: tuple[float, float],
                                date: datetime.date) -> tuple[list[Route], list[int]]:
    """The greedy baseline: each truck in turn goes to the nearest stop that still fits."""
    remaining = list(stops)
    routes = []
    for truck in trucks:
        position, load, order, legs = depot, 0.0, [], []
        while remaining:
            fitting = [s for s in remaining if load + s.volume_m3 <= truck.daily_capacity_m3]
            if not fitting:
                break
            nearest = min(fitting, key=lambda s: (haversine_m(position, (s.lon, s.lat)), s.key))
            legs.append(haversine_m(position, (nearest.lon, nearest.lat)))
            order.append(nearest.key)
            load += nearest.volume_m3
            position = (nearest.lon, nearest.lat)
            remaining.remove(nearest)
        if order:
            routes.append(Route(date=date, truck=truck.key, stops=order, legs_m=legs,
                                return_m=haversine_m(position, depot)))
    return routes, [s.key for s in remaining]


def plan_programme(stops: list[Stop], *, trucks: list[Truck], depot: tuple[float, float],
                   days: list[datetime.date], method: str = "ortools", seconds_per_day: float = 1.0,
                   progress: Callable[[int, int], None] | None = None) -> Plan:
    """The whole plan: select by urgency within capacity, sweep into days, route each day.

    `progress(done, total)` is told after each day is routed (a job's progress bar)."""
    if not trucks or not days:
        return Plan(unplanned=[s.key for s in stops])
    day_capacity = sum(t.daily_capacity_m3 for t in trucks)
    largest = max(t.daily_capacity_m3 for t in trucks)
    too_big = [s for s in stops if s.volume_m3 > largest]  # no truck can take it in a day: it waits
    kept, waiting = select_within_capacity([s for s in stops if s.volume_m3 <= largest],
                                           total_capacity_m3=day_capacity * len(days))
    plan = Plan(unplanned=[s.key for s in too_big + waiting])
    groups = sweep_into_days(kept, depot=depot, days=len(days), day_capacity_m3=day_capacity)
    for done, (date, group) in enumerate(zip(days, groups, strict=True), start=1):
        if method == "ortools":
            routes, dropped = route_day_ortools(group, trucks=trucks, depot=depot, date=date,
                                                seconds=seconds_per_day)
        else:
            routes, dropped = route_day_nearest_neighbour(group, trucks=trucks, depot=depot, date=date)
        plan.routes.extend(routes)
        plan.unplanned.extend(dropped)  # carried to the next day they cost more km than they save (bench)
        if progress is not None:
            progress(done, len(days))
    return plan
