"""Scheduled desludging at the issue's size: 5,000 due containments, 10 vehicles, 30 days.

OR-Tools (sweep into days, one routing model per day) against a nearest-neighbour plan of the same stops, in the
same run. Figures: planning time and total route length (the ratio compares lengths: > 1 means shorter routes).
"""

import datetime
import math
import os
import random
import time

import pytest

from imis.tenant_apps.fsm.programmes import BANGLADESH_WORKWEEK
from imis.tenant_apps.fsm.scheduling import Stop, Truck, plan_programme, working_days

pytestmark = pytest.mark.bench
KHULNA = (89.5403, 22.8456)


def khulna_stops(count: int) -> list[Stop]:
    rng = random.Random(2026)
    stops = []
    for n in range(count):  # a city of ~7 km across, denser in the middle
        radius = abs(rng.gauss(0, 0.018))
        angle = rng.uniform(0, 6.283)
        stops.append(Stop(key=n, lon=KHULNA[0] + radius * 1.08 * math.cos(angle),
                          lat=KHULNA[1] + radius * math.sin(angle),
                          volume_m3=rng.choice([1.2, 1.8, 2.4, 3.0, 3.6, 4.5]),
                          due=datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randint(0, 700))))
    return stops


def test_planning_5000_containments_10_vehicles_30_days(report):
    stops = khulna_stops(int(os.environ.get("BENCH_STOPS", 5000)))
    trucks = [Truck(key=n, capacity_m3=4.0 if n % 2 else 3.0, trips_per_day=4) for n in range(10)]
    start = datetime.date(2026, 12, 1)
    days = working_days(start, start + datetime.timedelta(days=29), weekdays=BANGLADESH_WORKWEEK, holidays=[])
    depot = (KHULNA[0] + 0.03, KHULNA[1] - 0.02)

    began = time.perf_counter()
    greedy = plan_programme(stops, trucks=trucks, depot=depot, days=days, method="nearest")
    greedy_seconds = time.perf_counter() - began
    began = time.perf_counter()
    optimised = plan_programme(stops, trucks=trucks, depot=depot, days=days,
                               seconds_per_day=float(os.environ.get("BENCH_SECONDS_PER_DAY", 1.5)))
    optimised_seconds = time.perf_counter() - began

    assert optimised.planned == greedy.planned or abs(optimised.planned - greedy.planned) < 0.02 * len(stops)
    report.add("FSM plan: 5,000 stops / 10 vehicles / 30 days, OR-Tools", optimised_seconds, "s",
               baseline_name="nearest-neighbour plan", baseline_figure=greedy_seconds)
    report.add("FSM plan: total route length, OR-Tools", optimised.length_m / 1000, "km",
               baseline_name="nearest-neighbour plan", baseline_figure=greedy.length_m / 1000)
    report.add("FSM plan: containments planned, OR-Tools", optimised.planned, "stops",
               baseline_name="nearest-neighbour plan", baseline_figure=greedy.planned, higher_is_better=True)
