"""Demo water supply for municipalities with the feature (Gazipur): a tariff for this fiscal year and the last,
connections from buildings with a holding in every state of the life cycle (applied, inspected, approved with the
fee due, active, disconnected, rejected, illegal), monthly meter readings, the last few months billed by the real
bill run, most bills paid at the counter and some left overdue.

Everything goes through the services (fees and bills through the water payable, readings through the bulk CSV
import), then the dates are moved back to when each step would have happened. Deterministic (seeded random over
buildings in BIN order), idempotent (a municipality with connections is left as it is), scaled by `scale`.
"""

from __future__ import annotations

import datetime
import random
import time
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from imis.platform.demo import demo_step
from imis.shared_apps.tenants.features import is_feature_enabled
from imis.tenant_apps.registry.models import Building

from . import services
from .models import ConnectionEvent, MeterReading, WaterBill, WaterConnection, WaterPayment, WaterTariff
from .payables import WaterPayable

DEMO_TODAY = datetime.date(2026, 11, 28)
CONNECTIONS_AT_SCALE_1 = 2_000
BILLED_MONTHS = 4
STATES = (("active", 60), ("disconnected", 8), ("applied", 8), ("inspected", 6), ("approved", 6), ("rejected", 5),
          ("illegal", 7))
SLABS = "10:8, 20:11, 40:15, :20"
PAID_SHARE = 0.8


def _months(today: datetime.date) -> list[datetime.date]:
    """The last BILLED_MONTHS finished months, oldest first."""
    months, month = [], today.replace(day=1)
    for _i in range(BILLED_MONTHS):
        month = (month - datetime.timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


def _at(day: datetime.date, hour: int = 11) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def _tariffs(today: datetime.date) -> None:
    year = services.fiscal_year_of(today)
    for fiscal_year, rise in ((year - 1, Decimal(0)), (year, Decimal(1))):
        if not WaterTariff.objects.filter(fiscal_year=fiscal_year).exists():
            services.tariff_set(by=None, fiscal_year=fiscal_year, slabs=SLABS, flat_monthly_rate=300 + 25 * rise,
                                connection_fee=2500 + 500 * rise)


def _connect(building, state, rng, today, first_month) -> WaterConnection:
    owner = building.holding.owners.first()
    name = owner.name if owner else f"Occupant of {building.bin}"
    if state == "illegal":
        return services.connection_report_illegal(by=None, holding=building.holding, building=building,
                                                  notes=rng.choice(("Pipe tapped from the main before the meter",
                                                                    "Line laid without approval")))
    earliest = first_month - datetime.timedelta(days=30) if state in ("active", "disconnected") else today
    applied_on = earliest - datetime.timedelta(days=rng.randint(20, 300 if earliest < today else 60))
    connection = services.connection_apply(by=None, holding=building.holding, building=building, applicant_name=name,
                                           size_mm=rng.choice((13, 13, 13, 20, 25)), is_metered=rng.random() < 0.8,
                                           applicant_phone=f"017{rng.randint(10_000_000, 99_999_999)}",
                                           applied_on=applied_on)
    if state == "applied":
        return connection
    if state == "rejected" and rng.random() < 0.5:
        return services.connection_inspect(by=None, connection=connection, passed=False,
                                           notes="No distribution line within 50 m")
    services.connection_inspect(by=None, connection=connection, passed=True,
                                notes=rng.choice(("Line in the lane, 15 m", "Main along the road", "Riser ready")))
    if state == "inspected":
        return connection
    if state == "rejected":
        return services.connection_reject(by=None, connection=connection, reason="The owner refused the fee")
    connection = services.connection_approve(by=None, connection=connection)
    if state == "approved":
        return connection
    WaterPayable().settle(reference=f"fee:{connection.pk}", amount=connection.connection_fee, method="cash",
                          by=None, received_at=_at(applied_on + datetime.timedelta(days=16)))
    return services.connection_activate(by=None, connection=connection,
                                        meter_number=f"M-{rng.randint(100_000, 999_999)}",
                                        initial_reading=rng.randint(0, 400),
                                        activated_on=min(applied_on + datetime.timedelta(days=20), today))


def _readings(connections, months, rng) -> None:
    """A reading at each month's end, through the bulk import a meter reader's file would take."""
    metered = [c for c in connections if c.is_metered]
    latest = {r.connection_id: r.reading for r in MeterReading.objects.filter(connection__in=metered)}
    for month in months:
        _start, end = services.month_bounds(month)
        rows = ["customer_id,read_on,reading"]
        for connection in metered:
            if connection.activated_on >= end:
                continue
            latest[connection.pk] += rng.randint(6, 45)
            rows.append(f"{connection.customer_id},{end.isoformat()},{latest[connection.pk]}")
        if len(rows) > 1:
            services.readings_import(by=None, content="\n".join(rows) + "\n")


def _pay_bills(rng, today) -> None:
    payable = WaterPayable()
    for bill in WaterBill.objects.filter(status=WaterBill.Status.ISSUED).select_related("connection").order_by(
            "period", "pk"):
        if rng.random() >= PAID_SHARE:
            continue
        day = min(bill.due_date - datetime.timedelta(days=rng.randint(0, 18)), today)
        payable.settle(reference=f"bill:{bill.pk}", amount=bill.amount, method=rng.choice(("cash", "cash", "bank")),
                       by=None, payment_reference="", received_at=_at(day, rng.randint(9, 16)))


def _backdate(today: datetime.date) -> None:
    """The steps happened over weeks, not at the moment of seeding."""
    week = datetime.timedelta(days=7)
    for connection in WaterConnection.objects.exclude(status=WaterConnection.Status.ILLEGAL):
        fields = {}
        if connection.inspected_on:
            fields["inspected_on"] = min(connection.applied_on + week, today)
        if connection.approved_on:
            fields["approved_on"] = min(connection.applied_on + 2 * week, today)
        WaterConnection.objects.filter(pk=connection.pk).update(**fields)
    days = {c.pk: c for c in WaterConnection.objects.all()}
    for bill in WaterBill.objects.all():
        _start, end = services.month_bounds(bill.period)
        WaterBill.objects.filter(pk=bill.pk).update(issued_at=_at(min(end + datetime.timedelta(days=2), today)))
    step_day = {"applied": lambda c: c.applied_on, "inspected": lambda c: c.inspected_on,
                "rejected": lambda c: c.inspected_on or c.applied_on, "approved": lambda c: c.approved_on,
                "activated": lambda c: c.activated_on, "illegal": lambda c: c.applied_on,
                "disconnected": lambda c: c.disconnected_on}
    bills = {b.number: b for b in WaterBill.objects.all()}
    for event in ConnectionEvent.objects.exclude(action="paid"):
        connection = days[event.connection_id]
        if event.action == "billed":
            bill = bills.get(event.note.split(" ")[0])
            day = services.month_bounds(bill.period)[1] + datetime.timedelta(days=2) if bill else None
        else:
            day = step_day.get(event.action, lambda c: None)(connection)
        if day:
            ConnectionEvent.objects.filter(pk=event.pk).update(at=_at(min(day, today)))


@demo_step("water.supply", order=64)
def demo_water(*, municipality, figures, scale, seed, log):
    if not is_feature_enabled(municipality, "water_supply"):
        return
    if WaterConnection.objects.exists():
        log(f"  {municipality.slug}: water connections present, left as it is")
        return
    started = time.perf_counter()
    rng = random.Random(f"water:{municipality.slug}:{seed}")
    today = min(DEMO_TODAY, timezone.localdate())
    months = _months(today)
    buildings = list(Building.objects.filter(holding__isnull=False).select_related("holding").order_by("bin"))
    if not buildings:
        return
    count = min(len(buildings) // 4 or len(buildings), max(14, round(CONNECTIONS_AT_SCALE_1 * scale)))
    chosen = rng.sample(buildings, count) if count < len(buildings) else buildings
    states, weights = zip(*STATES, strict=True)
    plan = list(states) + [rng.choices(states, weights)[0] for _i in range(count - len(states))]  # each state once
    with transaction.atomic():
        _tariffs(today)
        connections = [_connect(building, state, rng, today, months[0])
                       for building, state in zip(chosen, plan, strict=False)]
        connected = [c for c in connections if c.status == WaterConnection.Status.ACTIVE]
        _readings(connected, months, rng)
        for month in months:
            services.bill_run_execute(by=None, period=month)
        _pay_bills(rng, today)
        to_cut = [c for c, state in zip(connections, plan, strict=False) if state == "disconnected"]
        for connection in to_cut:
            services.connection_disconnect(by=None, connection=connection, reason="Bills unpaid for months")
        _backdate(today)
    bills = WaterBill.objects.count()
    paid = WaterPayment.objects.filter(kind=WaterPayment.Kind.BILL).count()
    log(f"  {municipality.slug}: {count:,} water connections, {bills:,} bills ({paid:,} paid) in "
        f"{time.perf_counter() - started:.1f}s")
