"""Demo FSM history: about five years of emptying requests per municipality, consistent end to end.

`seed_demo` runs this after the registry city. Per year about 8 % of the containments are asked to be emptied
(at least a dozen a year): approved within a day, emptied within two, the sludge at the plant the same day mostly,
feedback for most, a few rejections and cancellations, a few loads that never reached a plant, and — because the
timeline is cut at today's midnight — some applications still open today, a few of them past their SLA. A fixed
handful of "current" cases makes sure every inbox and the provider's work orders have something today at any
scale. Containments get `last_emptied_on` / `times_emptied` from the emptyings, then their next due date.

The history is a pure function of (figures, scale, seed, the registry rows, today's date): the same day and seed
give the same rows. It is written with COPY in one transaction, not through the per-transition services; the
events (the timeline) are written in bulk with the same actors and data the services record, and the audit log
gets one summary entry per table ("import", like the registry's demo city), not one per row.
Municipalities without the fsm feature are skipped; where containments are not mapped as features (Gazipur),
applications point at buildings with on-site sanitation instead.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import time
import zoneinfo
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction

from imis.platform.demo import demo_step
from imis.shared_apps.accounts.models import Membership
from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.tenants.features import is_feature_enabled
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry.demo import copy_rows, ids_reserve, qualified
from imis.tenant_apps.registry.models import Building, Containment, TreatmentPlant
from imis.tenant_apps.registry.synthetic import owner_identity, phone_number, stable_seed

from .models import (
    Application,
    ApplicationEvent,
    CrewMember,
    Disposal,
    EffluentTest,
    Emptying,
    Feedback,
    PriceSlab,
    ServiceProvider,
    Vehicle,
)
from .services import fsm_settings

S = Application.Status
HISTORY_YEARS = 5
YEARLY_SHARE = 0.08  # applications per containment per year
MIN_PER_YEAR = 12
YEAR_WEIGHTS = (0.8, 0.9, 1.0, 1.1, 1.2)  # the programme grows
REPEAT_GAP_DAYS = 270  # a containment is not emptied twice within this
ONSITE_SYSTEMS = ("septic_tank", "pit", "shared_septic_tank", "onsite_treatment")
CENT = Decimal("0.01")
TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)

CHANNELS = (("phone", 0.55), ("walk_in", 0.25), ("online", 0.15), ("scheduled", 0.05))
SLOTS = (("morning", 0.5), ("afternoon", 0.4), ("evening", 0.1))
SLOT_START = {"morning": (8, 30, 11, 0), "afternoon": (12, 30, 15, 0), "evening": (16, 15, 17, 45)}
REJECT_REASONS = ("Outside the municipal area", "Duplicate of an earlier request",
                  "The building is connected to the sewer", "The caller could not say where the tank is")
CANCEL_REASONS = ("The owner had it emptied privately", "The applicant could not be reached",
                  "The applicant postponed: family event", "The tank was found not to be full",
                  "The road was flooded; the applicant will call again")
RESCHEDULE_REASONS = ("Owner away on the day", "Vehicle breakdown", "Heavy rain", "Road dug up for drainage works")
NOTES = ("Overflowing into the yard", "Bad smell, toilet slow to flush", "Tank not emptied for years",
         "Near the mosque; narrow lane", "Call before coming", "Second floor tenant complains", "")
COMMENTS = ("Quick and clean.", "The crew was polite.", "Came late but did the job well.",
            "Some sludge spilled in the lane.", "Fee was higher than expected.", "Very satisfied.", "")
COMPANY_NAMES = ("Paribesh Sanitation Services", "Sebok Desludging Ltd", "Nirmol Pit Emptiers",
                 "Green Bangla Sanitation", "Shasthya Sheba Emptying Services")


def _pick(rng: random.Random, weighted) -> str:
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- what the registry holds --------------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    containment_id: int | None
    building_id: int | None
    holding_id: int | None
    ward_id: int | None
    volume: Decimal | None
    use: str
    is_low_income: bool
    is_accessible: bool | None
    address: str


def sites_listed() -> list[Site]:
    """Containments with the first building each serves (the services' rule); buildings with on-site sanitation
    where no containment is mapped."""
    with connection.cursor() as cursor:
        if Containment.objects.exists():
            cursor.execute("""
                SELECT DISTINCT ON (c.id) c.id, b.id, b.holding_id, COALESCE(c.ward_id, b.ward_id), c.volume_m3,
                       COALESCE(b.functional_use, ''), COALESCE(b.is_low_income, false),
                       b.is_desludging_vehicle_accessible, COALESCE(h.address, '')
                FROM registry_containment c
                LEFT JOIN registry_containment_buildings cb ON cb.containment_id = c.id
                LEFT JOIN registry_building b ON b.id = cb.building_id
                LEFT JOIN registry_holding h ON h.id = b.holding_id
                ORDER BY c.id, b.id""")
        else:
            cursor.execute("""
                SELECT NULL, b.id, b.holding_id, b.ward_id, NULL, b.functional_use, b.is_low_income,
                       b.is_desludging_vehicle_accessible, COALESCE(h.address, '')
                FROM registry_building b LEFT JOIN registry_holding h ON h.id = b.holding_id
                WHERE b.sanitation_system = ANY(%s) ORDER BY b.id""", [list(ONSITE_SYSTEMS)])
        return [Site(*row) for row in cursor.fetchall()]


# --- providers, vehicles, crew, prices, plant ---------------------------------------------------------

@dataclass
class FleetVehicle:
    pk: int
    registration: str
    capacity: Decimal
    suction: str
    is_available: bool
    crew: list[int] = field(default_factory=list)


@dataclass
class FleetProvider:
    pk: int
    name: str
    ward_ids: set[int]
    vehicles: list[FleetVehicle]


def _role_users(municipality) -> dict[str, tuple[int, str]]:
    """The first active member of each role: the demo's actors (help_desk@<slug>.demo and so on)."""
    users: dict[str, tuple[int, str]] = {}
    for role, user_id, email in (Membership.objects.filter(municipality=municipality, is_active=True)
                                 .order_by("role", "user__email").values_list("role", "user_id", "user__email")):
        users.setdefault(role, (user_id, email))
    return users


def fleet_ensure(*, municipality, rng: random.Random, per_year: int, today: datetime.date,
                 name: str) -> list[FleetProvider]:
    """The providers that can take work; a demo fleet is created when there is none."""
    if not Vehicle.objects.filter(status=Vehicle.Status.AVAILABLE, provider__is_active=True).exists():
        _fleet_create(municipality=municipality, rng=rng, per_year=per_year, today=today, name=name)
    providers = []
    for provider in ServiceProvider.objects.filter(is_active=True).prefetch_related("wards", "vehicles", "crew"):
        crew = sorted(member.pk for member in provider.crew.all() if member.is_active)
        vehicles = [FleetVehicle(v.pk, v.registration, v.capacity_m3, v.suction_type,
                                 v.status == Vehicle.Status.AVAILABLE)
                    for v in sorted(provider.vehicles.all(), key=lambda v: v.pk) if v.status != Vehicle.Status.RETIRED]
        for n, vehicle in enumerate(vehicles):  # each vehicle its usual crew of two or three
            vehicle.crew = crew[n * 3:n * 3 + 3] or crew[:2]
        if any(v.is_available for v in vehicles):
            providers.append(FleetProvider(provider.pk, provider.name, {w.pk for w in provider.wards.all()},
                                           vehicles))
    return sorted(providers, key=lambda p: p.pk)


def _fleet_create(*, municipality, rng: random.Random, per_year: int, today: datetime.date, name: str) -> None:
    from imis.tenant_apps.registry.models import Ward

    daily = per_year * 1.2 / 300
    count = min(max(round(daily / 6) + 1, 2), 5)
    short = name.split()[0]
    prefix = short.upper()
    ward_ids = list(Ward.objects.order_by("number").values_list("pk", flat=True))
    staff = list(Membership.objects.filter(municipality=municipality, role=Role.SERVICE_PROVIDER, is_active=True)
                 .order_by("user_id").values_list("user_id", flat=True))
    serial = 0
    for index in range(count):
        is_municipal = index == count - 1
        name = f"{short} City Conservancy Unit" if is_municipal else f"{COMPANY_NAMES[index % len(COMPANY_NAMES)]}"
        contact, _gender = owner_identity(rng)
        provider = ServiceProvider.objects.create(
            name=name, kind="municipal" if is_municipal else "private", contact_name=contact,
            phone=phone_number(rng), email=f"contact@{name.split()[0].lower()}.example",
            contract_start=today - datetime.timedelta(days=HISTORY_YEARS * 365 + 200),
            contract_end=today + datetime.timedelta(days=rng.randint(240, 900)),
            user_ids=staff if index == 0 else [],
        )
        if not is_municipal and count > 1 and ward_ids:  # private operators each serve a band of wards
            share = math.ceil(len(ward_ids) / (count - 1))
            provider.wards.set(ward_ids[index * share:(index + 1) * share])
        vehicles = max(2, math.ceil(daily / max(count, 1) / 3) + 1)
        for n in range(vehicles):
            serial += 1
            small = n == 0
            Vehicle.objects.create(
                provider=provider, registration=f"{prefix}-{'TA' if not small else 'HA'}-11-{serial:04d}",
                capacity_m3=Decimal("1.50") if small else Decimal(rng.choice(("3.00", "4.00", "4.00", "6.00"))),
                suction_type="vacutug" if small else "vacuum_truck", width_m=Decimal("1.40") if small else
                Decimal("2.40"), fitness_valid_until=today + datetime.timedelta(days=rng.randint(90, 700)),
                insurance_valid_until=today + datetime.timedelta(days=rng.randint(60, 400)),
            )
            for role in ("driver", "emptier", "helper"):
                person, _gender = owner_identity(rng)
                CrewMember.objects.create(
                    provider=provider, name=person, role=role, phone=phone_number(rng),
                    trained_on=today - datetime.timedelta(days=rng.randint(100, 1500)),
                    licence_number=f"DL-{rng.randrange(10**7):07d}" if role == "driver" else "",
                    ppe_issued_on=today - datetime.timedelta(days=rng.randint(20, 400)),
                )
    if not PriceSlab.objects.exists():
        PriceSlab.objects.bulk_create([
            PriceSlab(volume_from_m3=Decimal("0"), volume_to_m3=Decimal("2.00"), fee_per_trip=Decimal("1200")),
            PriceSlab(volume_from_m3=Decimal("2.01"), volume_to_m3=Decimal("5.00"), fee_per_trip=Decimal("2000")),
            PriceSlab(volume_from_m3=Decimal("5.01"), volume_to_m3=Decimal("10.00"), fee_per_trip=Decimal("3500")),
            PriceSlab(volume_from_m3=Decimal("10.01"), volume_to_m3=Decimal("200.00"), fee_per_trip=Decimal("6000")),
            PriceSlab(volume_from_m3=Decimal("0"), volume_to_m3=Decimal("5.00"), building_use="commercial",
                      fee_per_trip=Decimal("3000")),
            PriceSlab(volume_from_m3=Decimal("5.01"), volume_to_m3=Decimal("200.00"), building_use="commercial",
                      fee_per_trip=Decimal("6500")),
        ])


def plants_ensure(*, name: str, per_year: int) -> list[tuple[int, str, Decimal]]:
    """The operational plants; where the registry has none, one FSTP near the middle of the town."""
    plants = list(TreatmentPlant.objects.filter(status=TreatmentPlant.Status.OPERATIONAL).order_by("pk")
                  .values_list("pk", "name", "capacity_m3_per_day"))
    if plants:
        return plants
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_AsEWKT(ST_Centroid(ST_Extent(footprint)::geometry)) FROM registry_building")
        (centre,) = cursor.fetchone()
    if not centre:
        return []
    capacity = Decimal(max(20, round(per_year * 3 / 300 / 5) * 5))
    plant = TreatmentPlant.objects.create(name=f"{name.split()[0]} Faecal Sludge Treatment Plant",
                                          type="fstp", capacity_m3_per_day=capacity, location=centre)
    return [(plant.pk, plant.name, plant.capacity_m3_per_day)]


# --- pricing (the same rule as services.fsm_fee, on rows already in memory) ----------------------------

@dataclass(frozen=True)
class Prices:
    slabs: list[tuple[Decimal, Decimal, str, int, Decimal]]
    subsidy: Decimal
    surcharge: Decimal

    @classmethod
    def load(cls, config: dict) -> Prices:
        slabs = [(s.volume_from_m3, s.volume_to_m3, s.building_use, s.pk, s.fee_per_trip)
                 for s in PriceSlab.objects.order_by("building_use", "volume_from_m3")]
        return cls(slabs, Decimal(config["low_income_subsidy_percent"]),
                   Decimal(config["emergency_surcharge_percent"]))

    def fee(self, *, volume, use: str, trips: int, is_emergency: bool, is_low_income: bool):
        volume = Decimal(str(volume or 0))
        fitting = [s for s in self.slabs if s[0] <= volume <= s[1]]
        slab = next((s for s in fitting if s[2] == use), None) or next((s for s in fitting if s[2] == ""), None)
        if slab is None:
            return None, {}
        base = slab[4] * trips
        subsidy = base * self.subsidy / 100 if is_low_income else Decimal(0)
        surcharge = base * self.surcharge / 100 if is_emergency else Decimal(0)
        total = _money(base - subsidy + surcharge)
        return total, {"slab": slab[3], "fee_per_trip": str(slab[4]), "trips": trips, "base": str(base),
                       "low_income_subsidy": str(subsidy.quantize(CENT)),
                       "emergency_surcharge": str(surcharge.quantize(CENT)), "total": str(total)}


# --- the history, as rows -----------------------------------------------------------------------------

@dataclass
class Rows:
    applications: list[dict] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)  # (application index, at, from, to, role, note, data)
    emptyings: list[dict] = field(default_factory=list)
    disposals: list[dict] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    effluent: list[tuple] = field(default_factory=list)


@dataclass
class Plan:
    """One application's intended course; what happened is what falls before the cut-off."""

    received_at: datetime.datetime
    site: Site
    stall_after: str | None = None  # "received" | "approved" | "emptied" | "disposed"
    provider_index: int | None = None
    scheduled_on: datetime.date | None = None
    slot: str | None = None
    is_emergency: bool | None = None
    outcome: str | None = None  # force "normal"


class HistoryBuilder:
    def __init__(self, *, rng, sites, providers, plants, prices, config, users, cutoff, short):
        self.rng, self.sites, self.providers, self.plants = rng, sites, providers, plants
        self.prices, self.config, self.users, self.cutoff, self.short = prices, config, users, cutoff, short
        self.rows = Rows()
        self.last_received: dict[tuple, datetime.datetime] = {}
        self.open_sites: set[tuple] = set()
        self.loads: list[dict] = []  # emptyings waiting for a plant arrival
        self.receipts = 0

    # -- helpers
    def at(self, day: datetime.date, hour: float) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(0), tzinfo=TZ) + datetime.timedelta(
            seconds=round(hour * 3600))

    def happened(self, moment: datetime.datetime | None) -> bool:
        return moment is not None and moment < self.cutoff

    def event(self, index, at, from_status, to_status, role, note="", **data):
        self.rows.events.append((index, at, from_status, to_status, role, note[:500], data))

    def providers_for(self, site: Site) -> list[int]:
        serving = [n for n, p in enumerate(self.providers) if not p.ward_ids or site.ward_id in p.ward_ids]
        return serving or list(range(len(self.providers)))

    # -- one application
    def add(self, plan: Plan) -> None:  # noqa: C901, PLR0912, PLR0915 - a timeline reads best in one place
        rng, site = self.rng, plan.site
        key = (site.containment_id, site.building_id)
        index = len(self.rows.applications)
        received = plan.received_at
        emergency = plan.is_emergency if plan.is_emergency is not None else rng.random() < 0.07
        channel = _pick(rng, CHANNELS)
        name, _gender = owner_identity(rng)
        app = {
            "index": index, "site": site, "status": S.RECEIVED, "channel": channel, "is_emergency": emergency,
            "applicant_name": name, "applicant_phone": phone_number(rng) if rng.random() < 0.92 else "",
            "address": site.address, "notes": rng.choice(NOTES) if rng.random() < 0.4 else "",
            "received_at": received, "approved_at": None, "rejected_at": None, "rejection_reason": "",
            "provider": None, "vehicle": None, "crew": [], "scheduled_date": None, "scheduled_slot": "",
            "is_confirmed": False, "scheduled_at": None, "times_rescheduled": 0, "emptied_at": None,
            "disposed_at": None, "closed_at": None, "cancelled_at": None, "cancel_reason": "", "fee_estimate": None,
            "fee_amount": None, "fee_breakdown": {},
        }
        self.rows.applications.append(app)
        self.last_received[key] = received
        self.event(index, received, "", S.RECEIVED, "help_desk", app["notes"], channel=channel, emergency=emergency)

        roll = rng.random() if plan.outcome is None else 1.0
        # approval (or rejection) within hours, next morning when the call came late
        if emergency:
            decided = received + datetime.timedelta(hours=rng.uniform(0.3, 2.0))
        elif received.hour < 15:
            decided = received + datetime.timedelta(hours=rng.uniform(0.5, 5))
        else:
            decided = self.at(received.date() + datetime.timedelta(days=1), rng.uniform(9, 12))
        if rng.random() < 0.04 and not emergency and plan.outcome is None:
            decided += datetime.timedelta(days=rng.choice((1, 2)))
        if plan.stall_after == "received" or not self.happened(decided):
            self.open_sites.add(key)
            return
        if roll < 0.02:
            app.update(status=S.REJECTED, rejected_at=decided, rejection_reason=rng.choice(REJECT_REASONS))
            self.event(index, decided, S.RECEIVED, S.REJECTED, "sanitation_officer", app["rejection_reason"])
            return
        cancel_stage = None
        if roll < 0.05:
            cancel_stage = rng.choice((S.RECEIVED, S.APPROVED, S.APPROVED, S.SCHEDULED, S.SCHEDULED))
        if cancel_stage == S.RECEIVED:
            self._cancel(app, S.RECEIVED, decided)
            return
        app.update(status=S.APPROVED, approved_at=decided)
        self.event(index, decided, S.RECEIVED, S.APPROVED, "sanitation_officer")

        # scheduling: the same hour or so, for today (emergency) or one to three days on
        scheduled_at = decided + datetime.timedelta(hours=rng.uniform(0.2, 2.5))
        if plan.stall_after == "approved" or not self.happened(scheduled_at):
            self.open_sites.add(key)
            return
        if cancel_stage == S.APPROVED:
            self._cancel(app, S.APPROVED, scheduled_at)
            return
        provider_index = plan.provider_index if plan.provider_index is not None else rng.choice(
            self.providers_for(site))
        provider = self.providers[provider_index]
        vehicle = self._vehicle(provider, site)
        day = plan.scheduled_on or (scheduled_at.date() + datetime.timedelta(
            days=0 if emergency else rng.choice((0, 1, 1, 1, 2, 2, 3))))
        day = max(day, scheduled_at.date() + datetime.timedelta(days=1 if scheduled_at.hour >= 16 else 0))
        slot = plan.slot or ("morning" if day == scheduled_at.date() and scheduled_at.hour < 10 else _pick(rng, SLOTS))
        if day == scheduled_at.date() and scheduled_at.hour >= 12 and slot == "morning":
            slot = "afternoon" if scheduled_at.hour < 15 else "evening"
        trips_estimate = max(1, math.ceil((site.volume or Decimal(1)) / vehicle.capacity))
        estimate, _breakdown = self.prices.fee(volume=site.volume or 0, use=site.use, trips=trips_estimate,
                                               is_emergency=emergency, is_low_income=site.is_low_income)
        app.update(status=S.SCHEDULED, scheduled_at=scheduled_at, provider=provider.pk, vehicle=vehicle,
                   crew=list(vehicle.crew), scheduled_date=day, scheduled_slot=slot,
                   is_confirmed=rng.random() < 0.8, fee_estimate=estimate)
        self.event(index, scheduled_at, S.APPROVED, S.SCHEDULED, "sanitation_officer", provider=provider.name,
                   vehicle=vehicle.registration, date=day.isoformat(), slot=slot)
        if rng.random() < 0.06 and plan.outcome is None:
            moved_at = self.at(day, rng.uniform(7, 9)) - datetime.timedelta(days=1)
            if self.happened(moved_at) and moved_at > scheduled_at:
                previous, day = day, day + datetime.timedelta(days=rng.randint(1, 3))
                app.update(scheduled_date=day, times_rescheduled=1)
                self.event(index, moved_at, S.SCHEDULED, S.SCHEDULED, "sanitation_officer",
                           rng.choice(RESCHEDULE_REASONS), rescheduled_from=str(previous), date=day.isoformat(),
                           slot=slot, vehicle=vehicle.registration)
        if cancel_stage == S.SCHEDULED:
            cancelled_at = self.at(day, rng.uniform(7, 9)) - datetime.timedelta(days=rng.choice((0, 1)))
            if self.happened(cancelled_at) and cancelled_at > scheduled_at:
                self._cancel(app, S.SCHEDULED, cancelled_at)
            else:
                self.open_sites.add(key)
            return

        # emptying on the day, in the slot
        first_hour, first_minute, last_hour, last_minute = SLOT_START[slot]
        start = self.at(day, rng.uniform(first_hour + first_minute / 60, last_hour + last_minute / 60))
        start = max(start, scheduled_at + datetime.timedelta(minutes=rng.randint(40, 90)))  # the truck has to come
        capacity = vehicle.capacity
        volume = (site.volume * Decimal(str(round(rng.uniform(0.55, 0.95), 3)))) if site.volume else Decimal(
            str(round(rng.uniform(1.2, 4.5), 2)))
        volume = min(_money(volume), capacity * 3)
        volume = max(volume, Decimal("0.30"))
        trips = max(1, math.ceil(volume / capacity))
        end = start + datetime.timedelta(minutes=rng.randint(35, 80) * trips)
        if plan.stall_after == "scheduled" or not self.happened(end) or end.date() != day:
            self.open_sites.add(key)
            return
        fee, breakdown = self.prices.fee(volume=site.volume if site.containment_id else volume, use=site.use,
                                         trips=trips, is_emergency=emergency, is_low_income=site.is_low_income)
        years_in = (day - (self.cutoff.date() - datetime.timedelta(days=HISTORY_YEARS * 365))).days / 365
        ppe = rng.random() < 0.7 + 0.05 * years_in
        self.receipts += 1
        emptying = {"application": index, "emptied_on": day, "started_at": start.time().replace(second=0,
                                                                                                 microsecond=0),
                    "ended_at": end.time().replace(second=0, microsecond=0), "volume": volume, "trips": trips,
                    "vehicle": vehicle, "ppe": ppe, "receipt": f"{self.short[:3].upper()}-{day:%y}-{self.receipts:05d}",
                    "cost": fee, "recorded_at": end + datetime.timedelta(minutes=rng.randint(2, 40)), "crew": vehicle.crew}
        self.rows.emptyings.append(emptying)
        app.update(status=S.EMPTIED, emptied_at=emptying["recorded_at"], fee_amount=fee if fee is not None else None,
                   fee_breakdown=breakdown if fee is not None else {"charged": None})
        self.event(index, emptying["recorded_at"], S.SCHEDULED, S.EMPTIED, "service_provider",
                   volume_m3=str(volume), trips=trips, vehicle=vehicle.registration, ppe_worn=ppe)
        if plan.stall_after == "emptied" or (plan.outcome is None and rng.random() < 0.003):
            self.open_sites.add(key)
            return  # the sludge never reached a plant
        self.loads.append({"application": app, "emptying": emptying, "plan": plan})

    def _vehicle(self, provider: FleetProvider, site: Site) -> FleetVehicle:
        vehicles = [v for v in provider.vehicles if v.is_available] or provider.vehicles
        if site.is_accessible is False:
            small = [v for v in vehicles if v.suction != "vacuum_truck"]
            vehicles = small or vehicles
        if site.volume and site.volume > 5:
            big = [v for v in vehicles if v.capacity >= 3]
            vehicles = big or vehicles
        return self.rng.choice(vehicles)

    def _cancel(self, app: dict, from_status: str, at: datetime.datetime) -> None:
        if not self.happened(at):
            self.open_sites.add((app["site"].containment_id, app["site"].building_id))
            return
        app.update(status=S.CANCELLED, cancelled_at=at, cancel_reason=self.rng.choice(CANCEL_REASONS))
        role = "help_desk" if self.rng.random() < 0.7 else "sanitation_officer"
        self.event(app["index"], at, from_status, S.CANCELLED, role, app["cancel_reason"])

    # -- the plant gate: loads of one vehicle on one day may go in one arrival
    def dispose_all(self) -> None:
        rng = self.rng
        self.loads.sort(key=lambda load: (load["emptying"]["vehicle"].pk, load["emptying"]["recorded_at"]))
        batch: list[dict] = []

        def close(batch: list[dict]) -> None:
            if not batch:
                return
            last = batch[-1]["emptying"]
            vehicle = last["vehicle"]
            if any(load["plan"].stall_after == "disposed_pending" for load in batch):
                arrived = last["recorded_at"] + datetime.timedelta(minutes=rng.randint(25, 90))
            elif rng.random() < 0.9:
                arrived = last["recorded_at"] + datetime.timedelta(minutes=rng.randint(25, 150))
            else:
                arrived = self.at(last["emptied_on"] + datetime.timedelta(days=1), rng.uniform(8, 10))
            if not self.happened(arrived):
                for load in batch:
                    self.open_sites.add((load["application"]["site"].containment_id,
                                         load["application"]["site"].building_id))
                return
            emptied = sum((load["emptying"]["volume"] for load in batch), Decimal(0))
            received = min(_money(emptied * Decimal(str(round(rng.uniform(0.93, 1.03), 3)))),
                           vehicle.capacity * max(load["emptying"]["trips"] for load in batch))
            plant_pk, plant_name, _capacity = self.plants[rng.randrange(len(self.plants))] if len(
                self.plants) > 1 else self.plants[0]
            disposal = {"index": len(self.rows.disposals), "plant": plant_pk, "vehicle": vehicle.pk,
                        "unregistered": "", "arrived_at": arrived,
                        "exited_at": arrived + datetime.timedelta(minutes=rng.randint(8, 25)),
                        "volume": received, "applications": [load["application"]["index"] for load in batch]}
            self.rows.disposals.append(disposal)
            for load in batch:
                app = load["application"]
                app.update(status=S.DISPOSED, disposed_at=arrived)
                self.event(app["index"], arrived, S.EMPTIED, S.DISPOSED, "plant_operator", plant=plant_name,
                           disposal=("disposal", disposal["index"]), volume_received_m3=str(received))
                self._feedback(app, load)

        for load in self.loads:
            emptying = load["emptying"]
            if batch:
                previous = batch[-1]["emptying"]
                fits = sum((b["emptying"]["volume"] for b in batch), Decimal(0)) + emptying["volume"] <= \
                    emptying["vehicle"].capacity
                same_run = (previous["vehicle"].pk == emptying["vehicle"].pk
                            and previous["emptied_on"] == emptying["emptied_on"] and emptying["trips"] == 1
                            and previous["trips"] == 1 and fits and rng.random() < 0.5)
                if not same_run:
                    close(batch)
                    batch = []
            batch.append(load)
        close(batch)

    def _feedback(self, app: dict, load: dict) -> None:
        rng, index = self.rng, app["index"]
        key = (app["site"].containment_id, app["site"].building_id)
        disposed = app["disposed_at"]
        called = disposed + datetime.timedelta(hours=rng.uniform(4, 96))
        if load["plan"].stall_after == "disposed_pending" or not self.happened(called):
            self.open_sites.add(key)
            return
        if rng.random() < 0.88:
            rating = _pick(rng, ((5, 0.42), (4, 0.36), (3, 0.14), (2, 0.05), (1, 0.03)))
            spilled = rng.random() < 0.04
            comments = rng.choice(COMMENTS) if rng.random() < 0.5 else ""
            ppe = load["emptying"]["ppe"] if rng.random() < 0.8 else None
            self.rows.feedback.append({"application": index, "rating": rating,
                                       "quality": max(1, min(5, rating + rng.choice((-1, 0, 0, 1)))),
                                       "ppe": ppe, "spilled": spilled, "comments": comments, "recorded_at": called})
            app.update(status=S.CLOSED, closed_at=called)
            self.event(index, called, S.DISPOSED, S.CLOSED, "help_desk", comments, rating=rating, spillage=spilled)
            return
        closed = disposed + datetime.timedelta(days=14)
        if self.happened(closed):  # three calls, nobody answered: closed without feedback
            app.update(status=S.CLOSED, closed_at=closed)
            self.event(index, closed, S.DISPOSED, S.CLOSED, "", "Closed without feedback: the applicant could not "
                                                               "be reached after three calls.")
        else:
            self.open_sites.add(key)

    # -- extras at the plant: private emptiers' loads and the weekly effluent tests
    def plant_extras(self, first_day: datetime.date, per_year: int) -> None:
        rng = self.rng
        private_share = min(0.04, 0.05 * per_year / 365)  # private emptiers' loads, in step with the town's size
        day = first_day
        while day < self.cutoff.date():
            for plant_pk, _name, _capacity in self.plants:
                if rng.random() < private_share:
                    arrived = self.at(day, rng.uniform(9, 17))
                    self.rows.disposals.append({
                        "index": len(self.rows.disposals), "plant": plant_pk, "vehicle": None,
                        "unregistered": f"PVT-{rng.randint(11, 99)}-{rng.randrange(10**4):04d}", "arrived_at": arrived,
                        "exited_at": arrived + datetime.timedelta(minutes=rng.randint(8, 20)),
                        "volume": _money(rng.uniform(1.5, 5)), "applications": []})
                if day.weekday() == 0:  # Monday sampling
                    monsoon = day.month in (6, 7, 8, 9)
                    failing = rng.random() < 0.09
                    bod = rng.gauss(34, 8) * (1.7 if failing else 1)
                    self.rows.effluent.append((
                        plant_pk, day, _money(max(5, bod)), _money(max(20, rng.gauss(140, 30) * (1.4 if failing else 1))),
                        _money(max(5, rng.gauss(55, 15))),
                        Decimal(str(round(max(10, rng.lognormvariate(5.8, 0.6)) * (3 if failing else 1), 1))),
                        _money(min(9.5, max(5.5, rng.gauss(7.3, 0.35)))),
                        _money(rng.gauss(29 if monsoon else 24, 2)),
                    ))
            day += datetime.timedelta(days=1)


def _received_times(rng: random.Random, *, first_day: datetime.date, last_day: datetime.date, per_year: int,
                    builder: HistoryBuilder) -> list[datetime.datetime]:
    """Arrival times of the calls: more in the monsoon, few on Fridays, in office hours (online at any hour)."""
    times = []
    for year in range(HISTORY_YEARS):
        count = round(per_year * YEAR_WEIGHTS[year])
        year_start = first_day + datetime.timedelta(days=365 * year)
        made = 0
        while made < count:
            day = year_start + datetime.timedelta(days=rng.randrange(365))
            if day > last_day:
                continue
            weight = (1.4 if day.month in (6, 7, 8, 9) else 1.0) * (0.3 if day.weekday() == 4 else 1.0)
            if rng.random() * 1.4 > weight:
                continue
            hour = rng.uniform(8, 18) if rng.random() < 0.85 else rng.uniform(7, 22)
            times.append(builder.at(day, hour))
            made += 1
    return sorted(times)


def history_build(*, sites: list[Site], providers: list[FleetProvider], plants, prices: Prices, config: dict,
                  users: dict, today: datetime.date, seed: int, slug: str, per_year: int, short: str) -> Rows:
    rng = random.Random(stable_seed(seed, slug, "fsm-history"))
    cutoff = datetime.datetime.combine(today, datetime.time(0), tzinfo=TZ)
    builder = HistoryBuilder(rng=rng, sites=sites, providers=providers, plants=plants, prices=prices, config=config,
                             users=users, cutoff=cutoff, short=short)
    first_day = today - datetime.timedelta(days=HISTORY_YEARS * 365)
    last_day = today - datetime.timedelta(days=1)
    order = list(range(len(sites)))
    rng.shuffle(order)
    cursor = 0

    def next_site(at: datetime.datetime, provider_index: int | None = None) -> Site | None:
        """A site with no open application, last served REPEAT_GAP_DAYS ago or more. A provider's current cases
        (provider_index) take a site served more recently when that is all the provider has: at a small scale
        every one of its sites may have been emptied lately, and today's work orders must not depend on it."""
        nonlocal cursor
        recent = None
        for _attempt in range(8 if provider_index is None else 400):
            site = sites[order[cursor % len(order)]]
            cursor += 1
            key = (site.containment_id, site.building_id)
            previous = builder.last_received.get(key)
            if key in builder.open_sites:
                continue
            if provider_index is not None and provider_index not in builder.providers_for(site):
                continue
            if previous is None or (at - previous).days >= REPEAT_GAP_DAYS:
                return site
            if provider_index is not None and recent is None and previous < at:
                recent = site
        return recent

    recent = cutoff - datetime.timedelta(days=8)
    for received in _received_times(rng, first_day=first_day, last_day=last_day, per_year=per_year, builder=builder):
        site = next_site(received)
        if site is None:
            continue
        stall = None
        if received >= recent and rng.random() < 0.12:
            stall = rng.choice(("received", "approved", "emptied", "disposed_pending"))
        builder.add(Plan(received_at=received, site=site, stall_after=stall))

    # the cases every inbox shows today, at any scale (hours before today's midnight)
    yesterday = today - datetime.timedelta(days=1)
    current = [
        Plan(cutoff - datetime.timedelta(hours=40), None, stall_after="received"),  # approval overdue
        Plan(cutoff - datetime.timedelta(hours=6), None, stall_after="received", is_emergency=True),
        Plan(cutoff - datetime.timedelta(hours=7), None, stall_after="received"),
        Plan(cutoff - datetime.timedelta(hours=75), None, stall_after="approved"),  # emptying overdue
        Plan(cutoff - datetime.timedelta(hours=10.5), None, stall_after="approved"),
        Plan(cutoff - datetime.timedelta(hours=14.5), None, provider_index=0, scheduled_on=today, slot="morning"),
        Plan(cutoff - datetime.timedelta(hours=13.8), None, provider_index=0, scheduled_on=today, slot="morning",
             is_emergency=True),
        Plan(cutoff - datetime.timedelta(hours=12.5), None, provider_index=0, scheduled_on=today, slot="afternoon"),
        Plan(cutoff - datetime.timedelta(hours=11), None, provider_index=0,
             scheduled_on=today + datetime.timedelta(days=1), slot="morning"),
        Plan(builder.at(today - datetime.timedelta(days=3), 8.7), None, provider_index=0,
             scheduled_on=today - datetime.timedelta(days=2), slot="morning", stall_after="emptied"),  # never at a plant
        Plan(builder.at(yesterday - datetime.timedelta(days=1), 10.2), None, provider_index=0,
             scheduled_on=yesterday, slot="afternoon", stall_after="disposed_pending"),  # awaiting feedback
    ]
    for plan in current:
        plan.received_at += datetime.timedelta(minutes=rng.randint(0, 40), seconds=rng.randint(0, 59))
        plan.outcome = "normal"
        plan.is_emergency = bool(plan.is_emergency)
        plan.site = next_site(plan.received_at, plan.provider_index)
        if plan.site is not None:
            builder.add(plan)
    builder.dispose_all()
    builder.plant_extras(first_day, per_year)
    return builder.rows


# --- loading ------------------------------------------------------------------------------------------

def _actor(users: dict, role: str) -> tuple[int | None, str]:
    user = users.get(role)
    return (user[0], user[1]) if user else (None, "system")


def _seconds(value):
    """Timestamps to the second, as people and forms write them."""
    return value.replace(microsecond=0) if isinstance(value, datetime.datetime) else value


def history_load(rows: Rows, *, users: dict) -> dict[str, int]:
    """COPY the rows into the current schema (callers hold the transaction). Returns rows per table."""
    apps = rows.applications
    for app in apps:
        for key in ("received_at", "approved_at", "rejected_at", "scheduled_at", "emptied_at", "disposed_at",
                    "closed_at", "cancelled_at"):
            app[key] = _seconds(app[key])
    rows.events = [(index, _seconds(at), *rest) for index, at, *rest in rows.events]
    for item in (*rows.emptyings, *rows.feedback):
        item["recorded_at"] = _seconds(item["recorded_at"])
    for disposal in rows.disposals:
        disposal["arrived_at"], disposal["exited_at"] = _seconds(disposal["arrived_at"]), _seconds(
            disposal["exited_at"])
    counts = {"application": len(apps), "event": len(rows.events), "emptying": len(rows.emptyings),
              "disposal": len(rows.disposals), "feedback": len(rows.feedback), "effluent test": len(rows.effluent)}
    if not apps:
        return counts
    ranked = sorted(apps, key=lambda app: (app["received_at"], app["index"]))
    with connection.cursor() as cursor:
        first_app = ids_reserve(cursor, Application, len(apps))
        cursor.execute("SELECT setval('fsm_application_number_seq', nextval('fsm_application_number_seq') + %s - 1)",
                       [len(apps)])
        first_number = cursor.fetchone()[0] - len(apps) + 1
        app_id = {}
        for rank, app in enumerate(ranked):
            app_id[app["index"]] = first_app + rank
            app["number"] = f"FSM-{app['received_at']:%Y}-{first_number + rank:06d}"
        first_disposal = ids_reserve(cursor, Disposal, len(rows.disposals))
        first_emptying = ids_reserve(cursor, Emptying, len(rows.emptyings))

        copy_rows(cursor, Application, [
            "id", "number", "status", "channel", "is_emergency", "holding_id", "building_id", "containment_id",
            "ward_id", "applicant_name", "applicant_phone", "address", "notes", "received_at", "approved_at",
            "rejected_at", "rejection_reason", "provider_id", "vehicle_id", "scheduled_date", "scheduled_slot",
            "is_confirmed_with_customer", "scheduled_at", "times_rescheduled", "emptied_at", "disposed_at",
            "closed_at", "cancelled_at", "cancel_reason", "fee_estimate", "fee_amount", "fee_breakdown",
        ], (
            (app_id[a["index"]], a["number"], a["status"], a["channel"], a["is_emergency"], a["site"].holding_id,
             a["site"].building_id, a["site"].containment_id, a["site"].ward_id, a["applicant_name"],
             a["applicant_phone"], a["address"], a["notes"], a["received_at"], a["approved_at"], a["rejected_at"],
             a["rejection_reason"], a["provider"], a["vehicle"].pk if a["vehicle"] else None, a["scheduled_date"],
             a["scheduled_slot"], a["is_confirmed"], a["scheduled_at"], a["times_rescheduled"], a["emptied_at"],
             a["disposed_at"], a["closed_at"], a["cancelled_at"], a["cancel_reason"], a["fee_estimate"],
             a["fee_amount"], json.dumps(a["fee_breakdown"]))
            for a in ranked
        ))
        copy_rows(cursor, Application.crew.through, ["application_id", "crewmember_id"],
                  ((app_id[a["index"]], member) for a in ranked for member in a["crew"]))

        def data_of(data: dict) -> str:
            if "disposal" in data:
                data = {**data, "disposal": first_disposal + data["disposal"][1]}
            return json.dumps(data)

        copy_rows(cursor, ApplicationEvent, ["application_id", "at", "from_status", "to_status", "actor_id",
                                             "actor_label", "note", "data"], (
            (app_id[index], at, from_status, to_status, *_actor(users, role), note, data_of(data))
            for index, at, from_status, to_status, role, note, data in sorted(
                rows.events, key=lambda event: (app_id[event[0]], event[1]))
        ))
        copy_rows(cursor, Emptying, ["id", "application_id", "emptied_on", "started_at", "ended_at", "volume_m3",
                                     "trips", "vehicle_id", "is_ppe_worn", "receipt_number", "cost", "recorded_at"], (
            (first_emptying + n, app_id[e["application"]], e["emptied_on"], e["started_at"], e["ended_at"],
             e["volume"], e["trips"], e["vehicle"].pk, e["ppe"], e["receipt"], e["cost"], e["recorded_at"])
            for n, e in enumerate(rows.emptyings)
        ))
        copy_rows(cursor, Emptying.crew.through, ["emptying_id", "crewmember_id"],
                  ((first_emptying + n, member) for n, e in enumerate(rows.emptyings) for member in e["crew"]))
        operator = _actor(users, "plant_operator")[0]
        copy_rows(cursor, Disposal, ["id", "treatment_plant_id", "vehicle_id", "unregistered_vehicle", "arrived_at",
                                     "exited_at", "volume_received_m3", "recorded_by_id", "notes"], (
            (first_disposal + d["index"], d["plant"], d["vehicle"], d["unregistered"], d["arrived_at"],
             d["exited_at"], d["volume"], operator, "")
            for d in rows.disposals
        ))
        copy_rows(cursor, Disposal.applications.through, ["disposal_id", "application_id"],
                  ((first_disposal + d["index"], app_id[index]) for d in rows.disposals for index in d["applications"]))
        copy_rows(cursor, Feedback, ["application_id", "rating", "service_quality", "is_ppe_worn", "had_spillage",
                                     "comments", "channel", "recorded_at"], (
            (app_id[f["application"]], f["rating"], f["quality"], f["ppe"], f["spilled"], f["comments"],
             "help_desk", f["recorded_at"]) for f in rows.feedback
        ))
        copy_rows(cursor, EffluentTest, ["treatment_plant_id", "sampled_on", "bod_mg_l", "cod_mg_l", "tss_mg_l",
                                         "ecoli_cfu_100ml", "ph", "temperature_c"], iter(rows.effluent))
        # where each application is: its containment, or a point on its building
        cursor.execute(f"""UPDATE {qualified(Application)} a SET location = c.location
                           FROM {qualified(Containment)} c WHERE a.containment_id = c.id AND a.location IS NULL""")
        cursor.execute(f"""UPDATE {qualified(Application)} a SET location = ST_PointOnSurface(b.footprint)
                           FROM {qualified(Building)} b
                           WHERE a.containment_id IS NULL AND a.building_id = b.id AND a.location IS NULL""")
        for model in (Application, ApplicationEvent, Emptying, Disposal, Feedback, EffluentTest):
            cursor.execute(f"ANALYZE {qualified(model)}")
    return counts


def containments_emptied_update() -> int:
    """Each containment's last emptying and count include the history; then its next due date."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {qualified(Containment)} c
            SET last_emptied_on = GREATEST(c.last_emptied_on, s.last_on), times_emptied = c.times_emptied + s.n
            FROM (SELECT a.containment_id, MAX(e.emptied_on) AS last_on, COUNT(*) AS n
                  FROM {qualified(Emptying)} e JOIN {qualified(Application)} a ON a.id = e.application_id
                  WHERE a.containment_id IS NOT NULL GROUP BY a.containment_id) s
            WHERE c.id = s.containment_id""")
        updated = cursor.rowcount
    from imis.tenant_apps.registry.services import containments_refresh_emptying_due

    containments_refresh_emptying_due()
    return updated


def audit_summaries(counts: dict[str, int]) -> None:
    """One audit entry per table, not per row."""
    labels = {"application": Application, "event": ApplicationEvent, "emptying": Emptying, "disposal": Disposal,
              "feedback": Feedback, "effluent test": EffluentTest}
    AuditEntry.objects.bulk_create([
        AuditEntry(action=AuditEntry.Action.IMPORT, model=labels[key]._meta.label_lower, object_id="*",
                   object_label=f"demo FSM history: {count:,} rows", actor_id=None, actor_label="seed_demo")
        for key, count in counts.items() if count
    ])


@demo_step("fsm.history", order=50)
def demo_fsm_history(*, municipality, figures, scale, seed, log):
    if not is_feature_enabled(municipality, "fsm"):
        log(f"  {municipality.slug}: FSM not enabled, no FSM history")
        return
    if Application.objects.exists():
        log(f"  {municipality.slug}: FSM applications present, left as they are")
        return
    started = time.perf_counter()
    sites = sites_listed()
    if not sites:
        log(f"  {municipality.slug}: no containment or on-site building in the registry, no FSM history")
        return
    per_year = max(MIN_PER_YEAR, round(YEARLY_SHARE * len(sites)))
    today = datetime.datetime.now(tz=TZ).date()
    slug, name = figures.get("slug", municipality.slug), figures.get("name", municipality.name)
    rng = random.Random(stable_seed(seed, slug, "fsm-fleet"))
    with transaction.atomic():
        providers = fleet_ensure(municipality=municipality, rng=rng, per_year=per_year, today=today, name=name)
        plants = plants_ensure(name=name, per_year=per_year)
        if not providers or not plants:
            log(f"  {municipality.slug}: no provider or plant, no FSM history")
            return
        config = fsm_settings()
        users = _role_users(municipality)
        rows = history_build(sites=sites, providers=providers, plants=plants, prices=Prices.load(config),
                             config=config, users=users, today=today, seed=seed, slug=slug, per_year=per_year,
                             short=name.split()[0])
        generated = time.perf_counter()
        counts = history_load(rows, users=users)
        containments_emptied_update()
        audit_summaries(counts)
    done = time.perf_counter()
    open_now = sum(1 for app in rows.applications if app["status"] in (S.RECEIVED, S.APPROVED, S.SCHEDULED,
                                                                        S.EMPTIED, S.DISPOSED))
    log(f"  {municipality.slug}: FSM history of {counts['application']:,} applications ({open_now} open), "
        f"{counts['emptying']:,} emptyings, {counts['disposal']:,} plant arrivals, {counts['feedback']:,} feedback; "
        f"generated in {generated - started:.1f}s, loaded in {done - generated:.1f}s")
