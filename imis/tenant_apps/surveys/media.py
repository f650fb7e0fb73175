"""The CSV files in a form's manifest: each municipality's (and each provider's) choice lists.

`buildings.csv` and `containments.csv` are shaped like ODK entity lists (name, label, __version, properties):
the form looks a record's current values up by its `name` to prefill the questions, and sends back the
`__version` it saw, so the reviewer learns when the register changed after the device fetched its lists.
Registry lists are cached per data version (any edit makes a new one); work orders are built per request.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Q
from django.utils import translation

from imis.platform.versioning import data_version_current
from imis.shared_apps.tenants.features import enabled_features_of

CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class MediaFile:
    filename: str
    content: bytes

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()


def _csv(header: list[str], rows: Iterable[Iterable]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue().encode("utf-8")


def _yes_no(value) -> str:
    return "" if value is None else ("yes" if value else "no")


def _yes_no_unknown(value) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _number(value) -> str:
    if value is None:
        return ""
    text = format(value, "f") if hasattr(value, "as_tuple") else str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _version(updated) -> int:
    return int(updated.timestamp()) if updated else 0


# --- registry lists -----------------------------------------------------------------------------------

def wards_csv(*, ward_numbers: list[int]) -> bytes:
    from imis.tenant_apps.registry.models import Ward

    wards = Ward.objects.order_by("number").values_list("number", "name")
    if ward_numbers:
        wards = wards.filter(number__in=ward_numbers)
    return _csv(["name", "label"], ((number, f"{number} · {name}" if name else str(number)) for number, name in wards))


BUILDING_COLUMNS = [
    "holding_id", "structure_type", "floors", "construction_year", "functional_use", "households", "population_male",
    "population_female", "population_other", "population_differently_abled", "is_low_income", "water_source",
    "water_customer_id", "has_toilet", "toilet_count", "has_shared_toilet", "sanitation_system",
    "is_desludging_vehicle_accessible",
]


def buildings_csv(*, ward_numbers: list[int]) -> bytes:
    from imis.tenant_apps.registry.models import Building

    rows = Building.objects.order_by("bin").values_list(
        "bin", "ward__number", "updated", "holding__holding_id", "structure_type", "floors", "construction_year",
        "functional_use", "households", "population_male", "population_female", "population_other",
        "population_differently_abled", "is_low_income", "water_source", "water_customer_id", "has_toilet",
        "toilet_count", "has_shared_toilet", "sanitation_system", "is_desludging_vehicle_accessible",
    )
    if ward_numbers:
        rows = rows.filter(ward__number__in=ward_numbers)

    def lines():
        for (bin_, ward, updated, holding, structure, floors, year, use, households, male, female, other, disabled,
             low_income, water, water_id, has_toilet, toilets, shared, sanitation, accessible) in rows.iterator(
                chunk_size=5000):
            label = f"{bin_} · {holding}" if holding else bin_
            yield (bin_, label, ward, _version(updated), holding, structure, floors, year, use, households, male,
                   female, other, disabled, _yes_no(low_income), water, water_id, _yes_no(has_toilet), toilets,
                   _yes_no(shared), sanitation, _yes_no_unknown(accessible))

    return _csv(["name", "label", "ward", "__version", *BUILDING_COLUMNS], lines())


def containments_csv(*, ward_numbers: list[int]) -> bytes:
    from django.contrib.postgres.aggregates import StringAgg

    from imis.tenant_apps.registry.models import Containment

    rows = (Containment.objects.order_by("code")
            .annotate(bins=StringAgg("buildings__bin", delimiter=" ", ordering="buildings__bin", default=""))
            .values_list("code", "ward__number", "updated", "bins", "type", "outlet", "length_m", "width_m",
                         "diameter_m", "depth_m", "construction_year", "last_emptied_on"))
    if ward_numbers:
        rows = rows.filter(ward__number__in=ward_numbers)
    with translation.override("en"):
        types = dict(Containment.Type.choices)
        lines = [(code, f"{code} · {types.get(type_, type_)}" + (f" · {bins}" if bins else ""), ward,
                  _version(updated), bins, type_, outlet, _number(length), _number(width), _number(diameter),
                  _number(depth), year, last.isoformat() if last else "")
                 for code, ward, updated, bins, type_, outlet, length, width, diameter, depth, year, last in rows]
    return _csv(["name", "label", "ward", "__version", "buildings", "type", "outlet", "length_m", "width_m",
                 "diameter_m", "depth_m", "construction_year", "last_emptied_on"], lines)


def roads_csv() -> bytes:
    from imis.tenant_apps.registry.models import Road

    return _csv(["name", "label"], ((code, f"{code} · {name}" if name else code)
                                    for code, name in Road.objects.order_by("code").values_list("code", "name")))


def services_csv(*, municipality) -> bytes:
    features = enabled_features_of(municipality)
    # Both languages in one label: the file (and its hash) must not change with the device's language.
    rows = []
    if "sewer" in features:
        rows.append(("sewer", "Sewer · সুয়ার"))
    if "water_supply" in features:
        rows.append(("water", "Water supply · পানি সরবরাহ"))
    return _csv(["name", "label"], rows)


# --- FSM lists ----------------------------------------------------------------------------------------

def _providers_of(user) -> list[int]:
    from imis.tenant_apps.fsm.models import ServiceProvider

    return list(ServiceProvider.objects.filter(user_ids__contains=[user.pk], is_active=True).values_list("pk", flat=True))


def work_orders_csv(*, user) -> bytes:
    """The scheduled applications of the user's provider(s): what their crews may record as emptied."""
    from imis.tenant_apps.fsm.models import Application

    orders = (Application.objects.filter(status=Application.Status.SCHEDULED, provider_id__in=_providers_of(user))
              .order_by("scheduled_date", "number")
              .values_list("number", "address", "scheduled_date", "vehicle__registration", "containment__code"))
    return _csv(["name", "label", "vehicle", "containment"], (
        (number, " · ".join(part for part in (number, address, date.isoformat() if date else "") if part), vehicle,
         containment) for number, address, date, vehicle, containment in orders))


def provider_vehicles_csv(*, user) -> bytes:
    from imis.tenant_apps.fsm.models import Vehicle

    vehicles = (Vehicle.objects.filter(provider_id__in=_providers_of(user)).exclude(status=Vehicle.Status.RETIRED)
                .order_by("registration").values_list("registration", "capacity_m3"))
    return _csv(["name", "label"], ((reg, f"{reg} · {_number(capacity)} m³") for reg, capacity in vehicles))


def gate_vehicles_csv() -> bytes:
    from imis.tenant_apps.fsm.models import Vehicle

    vehicles = (Vehicle.objects.exclude(status=Vehicle.Status.RETIRED).order_by("registration")
                .values_list("registration", "provider__name", "capacity_m3"))
    return _csv(["name", "label"], ((reg, f"{reg} · {provider} · {_number(capacity)} m³")
                                    for reg, provider, capacity in vehicles))


def plants_csv() -> bytes:
    from imis.tenant_apps.registry.models import TreatmentPlant

    plants = TreatmentPlant.objects.filter(status=TreatmentPlant.Status.OPERATIONAL).order_by("name")
    return _csv(["name", "label"], plants.values_list("pk", "name"))


def emptied_orders_csv() -> bytes:
    """Applications emptied and not yet disposed, with the vehicle that carries their sludge."""
    from imis.tenant_apps.fsm.models import Application

    orders = (Application.objects.filter(status=Application.Status.EMPTIED).filter(~Q(emptying=None))
              .order_by("number").values_list("number", "emptying__vehicle__registration", "emptying__volume_m3",
                                               "emptying__emptied_on"))
    return _csv(["name", "label", "vehicle"], (
        (number, f"{number} · {_number(volume)} m³ · {emptied.isoformat()}", vehicle)
        for number, vehicle, volume, emptied in orders))


# --- per form -----------------------------------------------------------------------------------------

def _cached(key: str, build) -> bytes:
    full_key = f"surveys:media:{key}:{data_version_current()}"
    content = cache.get(full_key)
    if content is None:
        content = build()
        cache.set(full_key, content, CACHE_SECONDS)
    return content


def media_files(*, form_id: str, municipality, user, ward_numbers: list[int] | None = None,
                only: str | None = None) -> dict[str, MediaFile]:
    """Every CSV of a form's manifest (or just `only`) for this municipality and user: filename → file."""
    wards = sorted(ward_numbers or [])
    ward_key = ",".join(map(str, wards)) or "all"
    registry = {
        "wards.csv": lambda: _cached(f"wards:{ward_key}", lambda: wards_csv(ward_numbers=wards)),
        "buildings.csv": lambda: _cached(f"buildings:{ward_key}", lambda: buildings_csv(ward_numbers=wards)),
        "containments.csv": lambda: _cached(f"containments:{ward_key}", lambda: containments_csv(ward_numbers=wards)),
        "roads.csv": lambda: _cached("roads", roads_csv),
        "services.csv": lambda: services_csv(municipality=municipality),
    }
    builders = {
        "imis_emptying_record": {"applications.csv": lambda: work_orders_csv(user=user),
                                 "vehicles.csv": lambda: provider_vehicles_csv(user=user)},
        "imis_disposal_log": {"applications.csv": emptied_orders_csv, "vehicles.csv": gate_vehicles_csv,
                              "plants.csv": plants_csv},
    }.get(form_id, registry)
    from .xforms import form_compiled

    return {name: MediaFile(name, builders[name]()) for name in form_compiled(form_id).media
            if only is None or name == only}
