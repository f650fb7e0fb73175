"""Demo sewer connections for municipalities with the feature (Gazipur): applications from buildings of the
campaign list (near a sewer, not on it yet) in every state of their life cycle, run through the real services so
the connected ones change their building's sanitation with audit, as a clerk's would.

Deterministic (seeded random over the campaign list in BIN order), idempotent (a municipality with connections
is left as it is), small: one application per ~3 candidates, at most APPLICATIONS_AT_SCALE_1 × scale.
"""

from __future__ import annotations

import datetime
import random
import time

from django.db import transaction
from django.utils import timezone

from imis.platform.demo import demo_step
from imis.shared_apps.tenants.features import is_feature_enabled
from imis.tenant_apps.registry.models import Building, Sewer

from . import selectors, services
from .models import SewerConnection, SewerConnectionEvent

DEMO_TODAY = datetime.date(2026, 11, 28)
APPLICATIONS_AT_SCALE_1 = 3_000
STATES = (("applied", 25), ("surveyed", 15), ("approved", 15), ("fee_paid", 10), ("connected", 25),
          ("rejected", 5), ("cancelled", 5))
FEES = (3000, 4500, 6000, 8000)


def _walk(connection: SewerConnection, target: str, rng: random.Random, today: datetime.date) -> None:
    if target == "rejected" and rng.random() < 0.5:
        services.connection_survey(by=None, connection=connection, is_feasible=False, distance_m=rng.randint(5, 40),
                                   notes="The building's outlet lies below the sewer invert")
        return
    if target in ("rejected", "cancelled") and rng.random() < 0.5:
        close = services.connection_reject if target == "rejected" else services.connection_cancel
        close(by=None, connection=connection, reason="The owner could not be reached" if target == "rejected"
              else "The owner withdrew the application")
        return
    week = datetime.timedelta(days=7)
    services.connection_survey(by=None, connection=connection, is_feasible=True,
                               surveyed_on=min(connection.applied_on + week, today),
                               distance_m=min(max(1, float(connection.map_distance_m or 0) + rng.randint(1, 8)),
                                              services.max_connection_distance_m()),
                               notes=rng.choice(("Manhole in front of the gate", "Lateral along the lane",
                                                 "Needs a new inspection chamber")))
    if target == "surveyed":
        return
    if target == "rejected":
        services.connection_reject(by=None, connection=connection, reason="The sewer is at capacity here")
        return
    services.connection_approve(by=None, connection=connection, fee_amount=rng.choice(FEES))
    if target in ("approved", "cancelled"):
        if target == "cancelled":
            services.connection_cancel(by=None, connection=connection, reason="The owner withdrew the application")
        return
    services.connection_pay(by=None, connection=connection, method="cash")
    if target == "connected":
        services.connection_connect(by=None, connection=connection,
                                    connected_on=min(connection.applied_on + 4 * week, today))


@demo_step("sewer.connections", order=63)
def demo_sewer(*, municipality, figures, scale, seed, log):
    if not is_feature_enabled(municipality, "sewer"):
        return
    if SewerConnection.objects.exists():
        log(f"  {municipality.slug}: sewer connections present, left as it is")
        return
    if not Sewer.objects.exists():
        return
    started = time.perf_counter()
    rng = random.Random(f"sewer:{municipality.slug}:{seed}")
    rows = sorted(selectors.campaign_buildings(distance_m=services.max_connection_distance_m()).rows,
                  key=lambda row: row["bin"])
    count = min(len(rows) // 3 or len(rows), max(12, round(APPLICATIONS_AT_SCALE_1 * scale)))
    chosen = rng.sample(rows, count) if count < len(rows) else rows
    buildings = Building.objects.in_bulk([row["id"] for row in chosen])
    sewers = Sewer.objects.in_bulk([row["sewer_id"] for row in chosen])
    today = min(DEMO_TODAY, timezone.localdate())
    states, weights = zip(*STATES, strict=True)
    with transaction.atomic():
        for row in chosen:
            building = buildings[row["id"]]
            owner = building.holding.owners.first() if building.holding_id else None
            applied_on = today - datetime.timedelta(days=rng.randint(5, 240))
            connection = services.connection_apply(
                by=None, building=building, sewer=sewers[row["sewer_id"]], applied_on=applied_on,
                applicant_name=owner.name if owner else f"Occupant of {building.bin}")
            _walk(connection, rng.choices(states, weights)[0], rng, today)
        # the steps happened a week apart after each application, not all at the moment of seeding
        events = SewerConnectionEvent.objects.select_related("connection").order_by("connection_id", "at", "pk")
        step, previous = 0, None
        for event in events:
            step = step + 1 if event.connection_id == previous else 0
            previous = event.connection_id
            day = min(event.connection.applied_on + datetime.timedelta(days=7 * step), today)
            event.at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10 + step, 0)))
            event.save(update_fields=["at"])
    log(f"  {municipality.slug}: {count:,} sewer connection applications in {time.perf_counter() - started:.1f}s")
