"""What a submission would change: per form, the record it is about, a field-by-field diff against the register,
the issues a reviewer must see, and how approval applies it (through the registry or FSM services).

The diff is computed afresh whenever it is shown or applied, so approval merges exactly what the reviewer saw
against the register as it is now. An empty answer means "not answered": it never clears a registered value.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.gis.geos import GEOSGeometry, Point, Polygon
from django.db import connection
from django.utils import formats, timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .catalogue import form_spec
from .models import Submission
from .xforms import geopoint_parse, geoshape_parse

GPS_NOISE_M = 5.0
POINT_FAR_FROM_FOOTPRINT_M = 30.0


# --- answers → Python ---------------------------------------------------------------------------------

def as_int(text: str) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def as_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text).quantize(Decimal("0.01")) if text not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def as_date(text: str) -> datetime.date | None:
    try:
        return parse_date((text or "")[:10]) if text else None
    except ValueError:
        return None


def as_time(text: str) -> datetime.time | None:
    try:
        return datetime.time.fromisoformat(text).replace(tzinfo=None) if text else None
    except ValueError:
        return None


def as_datetime(text: str) -> datetime.datetime | None:
    try:
        value = datetime.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def as_bool(text: str) -> bool | None:
    return {"yes": True, "no": False}.get(text or "")


def as_point(text: str) -> Point | None:
    point = geopoint_parse(text)
    return Point(point.lon, point.lat, srid=4326) if point else None


def as_polygon(text: str) -> Polygon | None:
    points = geoshape_parse(text)
    if not points:
        return None
    ring = [(point.lon, point.lat) for point in points]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    try:
        return Polygon(ring, srid=4326)
    except (ValueError, TypeError):
        return None


def accuracy_of(text: str) -> float | None:
    point = geopoint_parse(text)
    return point.accuracy if point else None


def metres_between(a: GEOSGeometry, b: GEOSGeometry) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Distance(ST_GeomFromEWKT(%s)::geography, ST_GeomFromEWKT(%s)::geography)",
                       [a.ewkt, b.ewkt])
        return float(cursor.fetchone()[0])


# --- display ------------------------------------------------------------------------------------------

def display(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "j M Y, H:i")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "j M Y")
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    if isinstance(value, Decimal | float):
        return formats.number_format(value, decimal_pos=2 if isinstance(value, Decimal) else 1, use_l10n=True)
    if isinstance(value, GEOSGeometry):
        if value.geom_type == "Point":
            return f"{value.y:.6f}, {value.x:.6f}"
        from imis.tenant_apps.registry.services import footprint_area_m2

        return _("Outline of %(area)s m², %(corners)s corners") % {
            "area": formats.number_format(footprint_area_m2(value), decimal_pos=0),
            "corners": len(value.exterior_ring) - 1}
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def same(current, proposed) -> bool:
    if isinstance(current, GEOSGeometry) and isinstance(proposed, GEOSGeometry):
        return current.equals_exact(proposed, 1e-7)
    if isinstance(current, Decimal) or isinstance(proposed, Decimal):
        try:
            return current is not None and proposed is not None and Decimal(current) == Decimal(proposed)
        except (InvalidOperation, TypeError):
            return False
    if isinstance(current, list) and isinstance(proposed, list):
        return sorted(current) == sorted(proposed)
    return current == proposed


# --- the review of one submission ---------------------------------------------------------------------

ISSUE_MESSAGES = {
    "incomplete": gettext_lazy("Not all parts of this submission have arrived yet."),
    "missing_attachment": gettext_lazy("A file the form refers to has not been received: %(name)s."),
    "record_missing": gettext_lazy("%(what)s %(key)s is not in the register (any more)."),
    "duplicate_key": gettext_lazy("%(what)s %(key)s is already registered: this should have been an update."),
    "conflict": gettext_lazy("The register changed after the device fetched its lists: check each difference."),
    "needs_footprint": gettext_lazy("Only a point was recorded for this new building: draw its outline "
                                    "(Edit and approve) before it can be registered."),
    "invalid_geometry": gettext_lazy("The outline sent by the device is not a usable polygon."),
    "point_far": gettext_lazy("The point recorded is %(metres)s m from the registered outline."),
    "low_accuracy": gettext_lazy("The GPS accuracy was only %(metres)s m."),
    "unknown_holding": gettext_lazy("Holding %(key)s is not registered: the building's holding is left as it is."),
    "unknown_buildings": gettext_lazy("These buildings are not registered and are left out: %(keys)s."),
    "approval_blocked": "%(message)s",
    "unknown_vehicle": gettext_lazy("Vehicle %(key)s is not registered."),
    "unknown_plant": gettext_lazy("The treatment plant chosen is not registered."),
    "wrong_status": gettext_lazy("Application %(key)s is %(status)s: it cannot take this record now."),
    "not_their_order": gettext_lazy("%(user)s does not work for the provider of application %(key)s."),
    "no_changes": gettext_lazy("Nothing differs from the register."),
}
# Issues that stop approval until an edit resolves them.
BLOCKING = {"record_missing", "duplicate_key", "needs_footprint", "invalid_geometry", "approval_blocked",
            "unknown_vehicle", "unknown_plant", "wrong_status", "not_their_order"}


@dataclass(frozen=True)
class Issue:
    code: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(ISSUE_MESSAGES.get(self.code, self.code)) % {key: value for key, value in self.params.items()}

    @property
    def is_blocking(self) -> bool:
        return self.code in BLOCKING

    def as_json(self) -> dict:
        return {"code": self.code, "params": {key: str(value) for key, value in self.params.items()}}


@dataclass
class Row:
    name: str
    label: str
    current: Any
    proposed: Any
    is_new_record: bool = False

    @property
    def is_changed(self) -> bool:
        if self.proposed is None or self.proposed == "" or self.proposed == []:
            return False
        return self.is_new_record or not same(self.current, self.proposed)

    @property
    def current_display(self) -> str:
        return "" if self.is_new_record else display(self.current)

    @property
    def proposed_display(self) -> str:
        return display(self.proposed)


@dataclass
class Review:
    action: str  # "create", "update" or "record" (an FSM event)
    target: Any
    target_label: str
    rows: list[Row]
    issues: list[Issue]
    proposed_geometry: GEOSGeometry | None = None
    current_geometry: GEOSGeometry | None = None
    target_model: str = ""

    @property
    def changes(self) -> dict[str, Any]:
        if self.action == "update" and self.target is None:
            return {}  # nothing to compare with: the record is missing
        return {row.name: row.proposed for row in self.rows if row.is_changed}

    @property
    def is_blocked(self) -> bool:
        return any(issue.is_blocking for issue in self.issues)

    @property
    def is_clean(self) -> bool:
        return not self.issues and bool(self.changes)


def submission_files_issues(submission: Submission, binary_names: list[str]) -> list[Issue]:
    issues = [] if submission.is_complete else [Issue("incomplete")]
    received = {attachment.filename for attachment in submission.attachments.all()}
    for name in binary_names:
        filename = submission.values.get(name)
        if filename and filename not in received and submission.is_complete:
            issues.append(Issue("missing_attachment", {"name": filename}))
    return issues


def _accuracy_issue(text: str, limit: float = 15.0) -> list[Issue]:
    accuracy = accuracy_of(text)
    return [Issue("low_accuracy", {"metres": f"{accuracy:.0f}"})] if accuracy and accuracy > limit else []


# --- forms --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldDef:
    name: str
    parse: Callable[[str], Any]
    source: str = ""  # the form's question, when it has another name


def _label(model, name: str) -> str:
    from django.utils.text import capfirst

    return capfirst(str(model._meta.get_field(name).verbose_name))


class FormHandler:
    """One form: the diff it makes and how approval applies it."""

    form_id = ""
    binary_fields: tuple[str, ...] = ("photo",)

    def review(self, submission: Submission, edits: dict | None = None) -> Review:
        raise NotImplementedError

    def apply(self, submission: Submission, review: Review, *, by) -> tuple[Any, dict]:
        raise NotImplementedError

    def _base_issues(self, submission: Submission) -> list[Issue]:
        issues = submission_files_issues(submission, list(self.binary_fields))
        spec = form_spec(self.form_id)
        if spec and spec.approval_blocked:
            issues.append(Issue("approval_blocked", {"message": spec.approval_blocked}))
        return issues


# --- building survey ----------------------------------------------------------------------------------

BUILDING_FIELDS = [
    FieldDef("structure_type", str), FieldDef("floors", as_int), FieldDef("construction_year", as_int),
    FieldDef("functional_use", str), FieldDef("households", as_int), FieldDef("population_male", as_int),
    FieldDef("population_female", as_int), FieldDef("population_other", as_int),
    FieldDef("population_differently_abled", as_int), FieldDef("is_low_income", as_bool),
    FieldDef("water_source", str), FieldDef("water_customer_id", str), FieldDef("has_toilet", as_bool),
    FieldDef("toilet_count", as_int), FieldDef("has_shared_toilet", as_bool), FieldDef("sanitation_system", str),
    FieldDef("is_desludging_vehicle_accessible", lambda text: None if text == "unknown" else as_bool(text)),
]


def _display_choice(model, name: str, value):
    if value in (None, ""):
        return value
    choices = dict(model._meta.get_field(name).choices or [])
    return choices.get(value, value)


class ChoiceValue(str):
    """A choice's stored value that shows its label."""

    label: str

    def __new__(cls, value: str, label: str):
        instance = super().__new__(cls, value)
        instance.label = label
        return instance

    def __str__(self) -> str:
        return str(self.label)

    @property
    def value(self) -> str:
        return str.__str__(self)


def _choice(model, name: str, value):
    if value in (None, ""):
        return value
    return ChoiceValue(value, _display_choice(model, name, value))


class BuildingSurvey(FormHandler):
    form_id = "imis_building_survey"

    def review(self, submission, edits=None):
        from imis.tenant_apps.registry.models import Building, Holding

        values, edits = submission.values, dict(edits or {})
        issues = self._base_issues(submission)
        is_update = values.get("mode") == "update"
        target, key = None, (values.get("building") if is_update else values.get("new_bin", "")).strip().upper()
        what = _("Building")
        if is_update:
            target = Building.objects.select_related("holding").filter(bin=key).first()
            if target is None:
                issues.append(Issue("record_missing", {"what": what, "key": key}))
            elif values.get("base_version") and str(int(target.updated.timestamp())) != values["base_version"]:
                issues.append(Issue("conflict"))
        new_bin = (edits.pop("bin", None) or key) if not is_update else None
        if not is_update and Building.objects.filter(bin=new_bin).exists():
            issues.append(Issue("duplicate_key", {"what": what, "key": new_bin}))

        rows: list[Row] = []
        is_new = not is_update
        if is_new:
            rows.append(Row("bin", _label(Building, "bin"), None, new_bin, is_new_record=True))
        # geometry
        footprint, point = None, None
        if values.get("geometry") == "shape":
            footprint = as_polygon(values.get("footprint", ""))
            if footprint is None:
                issues.append(Issue("invalid_geometry"))
        elif values.get("geometry") == "point":
            point = as_point(values.get("location", ""))
            issues += _accuracy_issue(values.get("location", ""))
        if "footprint" in edits:
            footprint = edits.pop("footprint")
            issues = [issue for issue in issues if issue.code != "invalid_geometry"]
        if footprint is not None or is_new:
            rows.append(Row("footprint", _label(Building, "footprint"), target.footprint if target else None, footprint,
                            is_new_record=is_new))
        if is_new and footprint is None:
            issues.append(Issue("needs_footprint"))
        if target is not None and point is not None and footprint is None:
            metres = metres_between(point, target.footprint)
            if metres > POINT_FAR_FROM_FOOTPRINT_M:
                issues.append(Issue("point_far", {"metres": f"{metres:.0f}"}))
        # holding
        holding_key = (edits.pop("holding_id", None) if "holding_id" in edits else values.get("holding_id", ""))
        holding_key = (holding_key or "").strip().upper()
        holding = None
        if holding_key:
            holding = Holding.objects.filter(holding_id=holding_key).first()
            if holding is None:
                issues.append(Issue("unknown_holding", {"key": holding_key}))
        rows.append(Row("holding", _label(Building, "holding"), target.holding if target else None, holding,
                        is_new_record=is_new))
        for definition in BUILDING_FIELDS:
            proposed = edits[definition.name] if definition.name in edits else definition.parse(
                values.get(definition.name, ""))
            if definition.name == "toilet_count" and (edits.get("has_toilet", as_bool(values.get("has_toilet", "")))
                                                      is False):
                proposed = 0
            current = getattr(target, definition.name) if target else None
            if Building._meta.get_field(definition.name).choices:
                current, proposed = _choice(Building, definition.name, current), _choice(Building, definition.name,
                                                                                          proposed)
            rows.append(Row(definition.name, _label(Building, definition.name), current, proposed,
                            is_new_record=is_new))
        surveyed_at = as_datetime(values.get("end", "")) or submission.received_at
        rows.append(Row("surveyed_at", _label(Building, "surveyed_at"), target.surveyed_at if target else None,
                        surveyed_at, is_new_record=is_new))
        rows.append(Row("verification_status", _label(Building, "verification_status"),
                        _choice(Building, "verification_status", target.verification_status) if target else None,
                        _choice(Building, "verification_status", Building.Verification.VERIFIED),
                        is_new_record=is_new))
        review = Review("update" if is_update else "create", target, target.bin if target else (new_bin or key), rows,
                        issues, proposed_geometry=footprint or point,
                        current_geometry=target.footprint if target else None, target_model="registry.building")
        if is_update and target is not None and not review.changes:
            review.issues.append(Issue("no_changes"))
        return review

    def apply(self, submission, review, *, by):
        from imis.tenant_apps.registry.services import building_create, building_update, snapshot

        changes = {name: (value.value if isinstance(value, ChoiceValue) else value)
                   for name, value in review.changes.items()}
        if review.action == "create":
            building = building_create(by=by, **changes)
            return building, {name: [None, _jsonable(value)] for name, value in changes.items()}
        before = snapshot(review.target)
        building = building_update(building=review.target, by=by, **changes)
        after = snapshot(building)
        return building, {name: [_jsonable(before.get(_attname(name))), _jsonable(after.get(_attname(name)))]
                          for name in changes}


def _attname(name: str) -> str:
    return f"{name}_id" if name in ("holding", "ward", "nearest_road") else name


def _jsonable(value):
    if isinstance(value, ChoiceValue):
        return value.value
    if isinstance(value, GEOSGeometry):
        return value.ewkt
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, Decimal | datetime.date | datetime.time):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


# --- containment survey -------------------------------------------------------------------------------

CONTAINMENT_FIELDS = [
    FieldDef("type", str), FieldDef("outlet", str), FieldDef("length_m", as_decimal), FieldDef("width_m", as_decimal),
    FieldDef("diameter_m", as_decimal), FieldDef("depth_m", as_decimal), FieldDef("construction_year", as_int),
    FieldDef("last_emptied_on", as_date),
]


class ContainmentSurvey(FormHandler):
    form_id = "imis_containment_survey"

    def review(self, submission, edits=None):
        from imis.tenant_apps.registry.models import Building, Containment

        values, edits = submission.values, dict(edits or {})
        issues = self._base_issues(submission)
        is_update = values.get("mode") == "update"
        is_new = not is_update
        key = (values.get("containment") if is_update else values.get("new_code", "")).strip().upper()
        what = _("Containment")
        target = None
        if is_update:
            target = Containment.objects.prefetch_related("buildings").filter(code=key).first()
            if target is None:
                issues.append(Issue("record_missing", {"what": what, "key": key}))
            elif values.get("base_version") and str(int(target.updated.timestamp())) != values["base_version"]:
                issues.append(Issue("conflict"))
        code = (edits.pop("code", None) or key) if is_new else None
        if is_new and Containment.objects.filter(code=code).exists():
            issues.append(Issue("duplicate_key", {"what": what, "key": code}))
        rows: list[Row] = []
        if is_new:
            rows.append(Row("code", _label(Containment, "code"), None, code, is_new_record=True))
        location = edits.pop("location") if "location" in edits else as_point(values.get("location", ""))
        issues += _accuracy_issue(values.get("location", ""))
        if target is not None and location is not None:
            moved = metres_between(location, target.location)
            noise = max(GPS_NOISE_M, accuracy_of(values.get("location", "")) or 0)
            if moved <= noise:
                location = target.location  # the same place, measured again
        rows.append(Row("location", _label(Containment, "location"), target.location if target else None, location,
                        is_new_record=is_new))
        bins = edits.pop("buildings") if "buildings" in edits else values.get("served_buildings", "").split()
        bins = sorted({bin_.strip().upper() for bin_ in bins if bin_.strip()})
        found = dict(Building.objects.filter(bin__in=bins).values_list("bin", "pk"))
        unknown = [bin_ for bin_ in bins if bin_ not in found]
        if unknown:
            issues.append(Issue("unknown_buildings", {"keys": ", ".join(unknown)}))
        current_bins = sorted(b.bin for b in target.buildings.all()) if target else None
        rows.append(Row("buildings", _("Buildings served"), current_bins, sorted(found) or None,
                        is_new_record=is_new))
        for definition in CONTAINMENT_FIELDS:
            proposed = edits[definition.name] if definition.name in edits else definition.parse(
                values.get(definition.name, ""))
            current = getattr(target, definition.name) if target else None
            if Containment._meta.get_field(definition.name).choices:
                current = _choice(Containment, definition.name, current)
                proposed = _choice(Containment, definition.name, proposed)
            rows.append(Row(definition.name, _label(Containment, definition.name), current, proposed,
                            is_new_record=is_new))
        surveyed_at = as_datetime(values.get("end", "")) or submission.received_at
        rows.append(Row("surveyed_at", _label(Containment, "surveyed_at"), target.surveyed_at if target else None,
                        surveyed_at, is_new_record=is_new))
        if is_new and location is None:
            issues.append(Issue("record_missing", {"what": _("Location"), "key": ""}))
        review = Review("update" if is_update else "create", target, target.code if target else (code or key), rows,
                        issues, proposed_geometry=location, current_geometry=target.location if target else None,
                        target_model="registry.containment")
        if is_update and target is not None and not review.changes:
            review.issues.append(Issue("no_changes"))
        return review

    def apply(self, submission, review, *, by):
        from imis.tenant_apps.registry.models import Building
        from imis.tenant_apps.registry.services import containment_create, containment_update, snapshot

        changes = {name: (value.value if isinstance(value, ChoiceValue) else value)
                   for name, value in review.changes.items()}
        bins = changes.pop("buildings", None)
        building_ids = (list(Building.objects.filter(bin__in=bins).values_list("pk", flat=True))
                        if bins is not None else None)
        if review.action == "create":
            containment = containment_create(by=by, building_ids=building_ids or [], **changes)
            applied = {name: [None, _jsonable(value)] for name, value in changes.items()}
        else:
            before = snapshot(review.target)
            containment = containment_update(containment=review.target, by=by, building_ids=building_ids, **changes)
            after = snapshot(containment)
            applied = {name: [_jsonable(before.get(name)), _jsonable(after.get(name))] for name in changes}
        if bins is not None:
            applied["buildings"] = [next((row.current for row in review.rows if row.name == "buildings"), None), bins]
        return containment, applied


# --- connection survey (staged only) ------------------------------------------------------------------

class ConnectionSurvey(FormHandler):
    form_id = "imis_connection_survey"

    def review(self, submission, edits=None):
        from imis.tenant_apps.registry.models import Building, Road

        values = submission.values
        issues = self._base_issues(submission)
        key = (values.get("building") or "").strip().upper()
        target = Building.objects.filter(bin=key).first()
        if target is None:
            issues.append(Issue("record_missing", {"what": _("Building"), "key": key}))
        service = values.get("service", "")
        road = Road.objects.filter(code=values.get("road", "")).first() if values.get("road") else None
        location = as_point(values.get("location", ""))
        rows = [
            Row("service", _("Connection to"), None, {"sewer": _("Sewer"), "water": _("Water supply")}.get(service,
                                                                                                         service)),
            Row("is_connected", _("Connected"), None, as_bool(values.get("is_connected", ""))),
            Row("connected_on", _("Connected since"), None, as_date(values.get("connected_on", ""))),
        ]
        if service == "sewer":
            rows.append(Row("sewer_code", _label(Building, "sewer_code"), target.sewer_code if target else None,
                            values.get("sewer_code", "")))
        else:
            rows.append(Row("water_customer_id", _label(Building, "water_customer_id"),
                            target.water_customer_id if target else None, values.get("water_customer_id", "")))
            rows.append(Row("meter_number", _("Meter number"), None, values.get("meter_number", "")))
        rows += [
            Row("pipe_diameter_mm", _("Pipe diameter (mm)"), None, as_decimal(values.get("pipe_diameter_mm", ""))),
            Row("road", _("Road"), None, str(road) if road else values.get("road", "")),
            Row("location", _("Connection point"), None, location),
        ]
        issues += _accuracy_issue(values.get("location", ""))
        return Review("record", target, target.bin if target else key, rows, issues, proposed_geometry=location,
                      current_geometry=target.footprint if target else None, target_model="registry.building")

    def apply(self, submission, review, *, by):
        raise NotImplementedError("Connections come with the water and sewer services.")


# --- emptying record ----------------------------------------------------------------------------------

class EmptyingRecord(FormHandler):
    form_id = "imis_emptying_record"
    binary_fields = ("photo", "receipt_photo")

    def review(self, submission, edits=None):
        from imis.tenant_apps.fsm.models import Application, ServiceProvider, Vehicle

        values, edits = submission.values, dict(edits or {})
        issues = self._base_issues(submission)
        number = (values.get("application") or "").strip()
        target = (Application.objects.select_related("provider", "vehicle", "containment").filter(number=number)
                  .first())
        if target is None:
            issues.append(Issue("record_missing", {"what": _("Application"), "key": number}))
        else:
            if target.status != Application.Status.SCHEDULED:
                issues.append(Issue("wrong_status", {"key": number, "status": target.get_status_display().lower()}))
            provider_ids = set(ServiceProvider.objects.filter(user_ids__contains=[submission.submitted_by_id])
                               .values_list("pk", flat=True))
            if target.provider_id not in provider_ids:
                issues.append(Issue("not_their_order", {"user": submission.submitted_by_label, "key": number}))
        registration = edits.pop("vehicle") if "vehicle" in edits else values.get("vehicle", "")
        vehicle = Vehicle.objects.filter(registration=registration).first() if registration else None
        if registration and vehicle is None:
            issues.append(Issue("unknown_vehicle", {"key": registration}))

        def pick(name, parse):
            return edits[name] if name in edits else parse(values.get(name, ""))

        rows = [
            Row("status", _("Status"), target.get_status_display() if target else None,
                Application.Status.EMPTIED.label if target else None),
            Row("emptied_on", _("Emptied on"), None, pick("emptied_on", as_date)),
            Row("started_at", _("Start"), None, pick("started_at", as_time)),
            Row("ended_at", _("End"), None, pick("ended_at", as_time)),
            Row("vehicle", _("Vehicle"), target.vehicle if target else None, vehicle),
            Row("volume_m3", _("Volume (m³)"), None, pick("volume_m3", as_decimal)),
            Row("trips", _("Trips"), None, pick("trips", as_int)),
            Row("is_ppe_worn", _("PPE worn by the whole crew"), None, pick("is_ppe_worn", as_bool)),
            Row("receipt_number", _("Receipt number"), None, pick("receipt_number", str)),
            Row("cost", _("Cost charged (BDT)"), None, pick("cost", as_decimal)),
        ]
        location = as_point(values.get("location", ""))
        containment = target.containment if target and target.containment_id else None
        return Review("record", target, target.number if target else number, rows, issues,
                      proposed_geometry=location, current_geometry=containment.location if containment else None,
                      target_model="fsm.application")

    def apply(self, submission, review, *, by):
        from imis.shared_apps.accounts.models import User
        from imis.tenant_apps.fsm.models import Emptying
        from imis.tenant_apps.fsm.services import application_record_emptying

        values = {row.name: row.proposed for row in review.rows}
        crew_member = User.objects.get(pk=submission.submitted_by_id)
        application = application_record_emptying(
            application=review.target, by=crew_member, emptied_on=values["emptied_on"] or timezone.localdate(),
            volume_m3=values["volume_m3"] or 0, trips=values["trips"] or 1, vehicle=values["vehicle"],
            is_ppe_worn=bool(values["is_ppe_worn"]), started_at=values["started_at"], ended_at=values["ended_at"],
            receipt_number=values["receipt_number"] or "", cost=values["cost"],
        )
        emptying = Emptying.objects.get(application=application)
        _photos_to_emptying(submission, emptying)
        return application, {name: [None, _jsonable(value)] for name, value in values.items() if name != "status"}


def _photos_to_emptying(submission: Submission, emptying) -> None:
    """The crew's photos go with the emptying record (fsm.EmptyingPhoto); the originals stay with the submission."""
    from django.core.files.base import ContentFile

    from imis.tenant_apps.fsm.models import EmptyingPhoto

    for attachment in submission.attachments.all():
        if not attachment.is_image:
            continue
        with attachment.file.open("rb") as source:
            photo = EmptyingPhoto(emptying=emptying)
            photo.image.save(attachment.filename, ContentFile(source.read()), save=True)


# --- disposal log -------------------------------------------------------------------------------------

class DisposalLog(FormHandler):
    form_id = "imis_disposal_log"

    def review(self, submission, edits=None):
        from imis.tenant_apps.fsm.models import Application, Vehicle
        from imis.tenant_apps.registry.models import TreatmentPlant

        values, edits = submission.values, dict(edits or {})
        issues = self._base_issues(submission)
        plant = TreatmentPlant.objects.filter(pk=as_int(values.get("treatment_plant", "")) or 0).first()
        if "treatment_plant" in edits:
            plant = edits.pop("treatment_plant")
        if plant is None:
            issues.append(Issue("unknown_plant"))
        registered = values.get("is_registered_vehicle") != "no"
        registration = edits.pop("vehicle") if "vehicle" in edits else (values.get("vehicle", "") if registered
                                                                         else "")
        vehicle = Vehicle.objects.filter(registration=registration).first() if registration else None
        if registration and vehicle is None:
            issues.append(Issue("unknown_vehicle", {"key": registration}))
        numbers = sorted(set(edits.pop("applications") if "applications" in edits
                             else values.get("applications", "").split()))
        applications = list(Application.objects.filter(number__in=numbers).order_by("number"))
        for application in applications:
            if application.status != Application.Status.EMPTIED:
                issues.append(Issue("wrong_status", {"key": application.number,
                                                     "status": application.get_status_display().lower()}))
        missing = sorted(set(numbers) - {a.number for a in applications})
        for number in missing:
            issues.append(Issue("record_missing", {"what": _("Application"), "key": number}))

        def pick(name, parse):
            return edits[name] if name in edits else parse(values.get(name, ""))

        rows = [
            Row("treatment_plant", _("Treatment plant"), None, plant),
            Row("vehicle", _("Vehicle"), None, vehicle),
            Row("unregistered_vehicle", _("Unregistered vehicle"), None,
                pick("unregistered_vehicle", str) if not registered else ""),
            Row("arrived_at", _("Arrived"), None, pick("arrived_at", as_datetime)),
            Row("exited_at", _("Left"), None, pick("exited_at", as_datetime)),
            Row("volume_received_m3", _("Volume received (m³)"), None, pick("volume_received_m3", as_decimal)),
            Row("applications", _("Applications"), None, [a.number for a in applications] or None),
        ]
        label = plant.name if plant else ""
        review = Review("record", None, label, rows, issues, proposed_geometry=plant.location if plant else None,
                        target_model="fsm.disposal")
        review.applications = applications  # type: ignore[attr-defined]
        return review

    def apply(self, submission, review, *, by):
        from imis.shared_apps.accounts.models import User
        from imis.tenant_apps.fsm.services import disposal_record

        values = {row.name: row.proposed for row in review.rows}
        operator = User.objects.get(pk=submission.submitted_by_id)
        disposal = disposal_record(
            by=operator, treatment_plant=values["treatment_plant"], arrived_at=values["arrived_at"],
            volume_received_m3=values["volume_received_m3"] or 0, applications=review.applications,  # type: ignore
            vehicle=values["vehicle"], unregistered_vehicle=values["unregistered_vehicle"] or "",
            exited_at=values["exited_at"], notes=(submission.values.get("notes") or "")[:300],
        )
        return disposal, {name: [None, _jsonable(value)] for name, value in values.items()}


HANDLERS: dict[str, FormHandler] = {handler.form_id: handler for handler in (
    BuildingSurvey(), ContainmentSurvey(), ConnectionSurvey(), EmptyingRecord(), DisposalLog())}


def handler_for(form_id: str) -> FormHandler:
    return HANDLERS[form_id]
