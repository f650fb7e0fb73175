"""Health data in: waterborne disease cases, outbreak hotspots and water quality samples.

A file (CSV, or GeoJSON in WGS 84) is uploaded on the link's page, or fetched from the configured URL by "Run now"
and by the schedule. Each row has a place — `lon`/`lat` columns, a point geometry (GeoJSON) or a `ward` number — and
a date. Cases and hotspots: `disease`, `cases` (and `deaths`). Water samples: `ecoli_cfu` (E. coli, CFU/100 ml),
optionally `sample_id`, `parameter` and `threshold` (else the link's threshold, 0 by default: WHO guideline).

Every row is checked first. A bad row is reported as (row, field, reason); unless "skip bad rows" is chosen, one
bad row and nothing is written.
"""

from __future__ import annotations

import datetime
import tempfile
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.tenant_apps.jobs.services import job_progress
from imis.tenant_apps.registry.models import Ward

from ..errors import LinkError
from ..models import DiseaseCase, WaterSample
from .base import Adapter, http_get
from .tabular import Problems, Table, apply_aliases, parse_date, parse_decimal, table_read

DATASETS = {"cases": gettext_lazy("Disease cases"), "hotspots": gettext_lazy("Outbreak hotspots"),
            "samples": gettext_lazy("Water quality samples")}
LOCATION_ALIASES = {"lon": ("longitude", "lng", "long", "x"), "lat": ("latitude", "y"),
                    "ward": ("ward_no", "ward_number", "ward_id")}
CASE_ALIASES = {"date": ("reported_on", "report_date", "onset_date", "reported"), "disease": ("diagnosis",),
                "cases": ("count", "case_count", "number_of_cases", "n"), "deaths": ("death_count",),
                **LOCATION_ALIASES}
SAMPLE_ALIASES = {"date": ("sampled_on", "sample_date", "collected_on"),
                  "ecoli_cfu": ("e_coli_cfu", "e_coli", "ecoli", "e_coli_cfu_100ml", "e_coli_cfu_100_ml", "ecoli_cfu_100ml",
                                "coliform_cfu", "cfu_per_100ml", "result_cfu", "result"),
                  "sample_id": ("sample", "sample_code", "code"), "parameter": (),
                  "threshold": ("limit",), **LOCATION_ALIASES}
DEFAULT_THRESHOLD = Decimal(0)  # WHO: no E. coli detectable in any 100 ml sample of drinking water
MAX_DISEASE_LENGTH = 60


def _int(value: str) -> int | None:
    number = parse_decimal(value)
    if number is None or number != number.to_integral_value() or number < 0:
        return None
    return int(number)


class HealthAdapter(Adapter):
    kind = "health"
    title = gettext_lazy("Health data")
    summary = gettext_lazy("Waterborne disease cases, outbreak hotspots and water quality samples from the health "
                           "department, shown on the map against sanitation.")
    icon = "bi-heart-pulse"

    def config_problems(self, link) -> list[str]:
        return [] if link.endpoint_url else [str(_("Upload a file below, or give a URL to fetch it from."))]

    def run(self, *, link, run, job_id) -> dict:
        dataset = run.params.get("dataset") or link.options.get("dataset") or "cases"
        if dataset not in DATASETS:
            raise LinkError(_("Unknown dataset %(name)s.") % {"name": dataset}, code="unknown_dataset")
        skip_bad_rows = bool(run.params.get("skip_bad_rows", link.options.get("skip_bad_rows", False)))
        threshold = parse_decimal(link.options.get("threshold", "0")) or DEFAULT_THRESHOLD
        if run.params.get("file"):
            path = Path(settings.MEDIA_ROOT) / run.params["file"]
            table = table_read(path, original_name=run.params.get("original_name", path.name))
        else:
            with tempfile.NamedTemporaryFile(suffix=".data") as handle:
                handle.write(http_get(link, link.endpoint_url, accept="text/csv, application/geo+json"))
                handle.flush()
                table = table_read(Path(handle.name), original_name=link.endpoint_url.rsplit("?", 1)[0])
        job_progress(job_id=job_id, done=0, total=len(table.rows), message=str(_("Checking rows")))
        if dataset == "samples":
            records, problems = _samples_from(table, run=run, threshold=threshold)
            model = WaterSample
        else:
            records, problems = _cases_from(table, run=run, kind=DiseaseCase.Kind.CASES if dataset == "cases"
                                            else DiseaseCase.Kind.HOTSPOT)
            model = DiseaseCase
        report = {"dataset": dataset, "rows": len(table.rows), "problem_count": len(problems.items),
                  "problems": problems.items[:500], "skipped": len(problems.rows), "imported": 0,
                  "skip_bad_rows": skip_bad_rows}
        if problems.items and not skip_bad_rows:
            raise LinkError(_("%(count)s row(s) have problems; nothing was imported. Correct them, or choose "
                              "“skip bad rows”.") % {"count": len(problems.rows)}, code="bad_rows",
                            problems=problems.items[:500])
        with transaction.atomic():
            model.objects.bulk_create(records, batch_size=2000)
        report["imported"] = len(records)
        job_progress(job_id=job_id, done=len(table.rows), total=len(table.rows), message=str(_("Imported")))
        return report


class _Places:
    """Ward numbers and point-in-ward lookups, once per file."""

    def __init__(self):
        self.wards = {ward.number: ward for ward in Ward.objects.all()}
        self.has_boundaries = any(ward.boundary is not None for ward in self.wards.values())

    def ward_at(self, point: Point) -> Ward | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT number FROM registry_ward WHERE ST_Intersects(boundary, ST_GeomFromEWKT(%s)) "
                           "ORDER BY number LIMIT 1", [point.ewkt])
            row = cursor.fetchone()
        return self.wards.get(row[0]) if row else None

    def locate(self, number: int, values: dict, geometry, problems: Problems) -> tuple[Point | None, Ward | None]:
        """The row's point and ward; a problem is added (and (None, None) returned) when there is neither."""
        point = None
        if geometry is not None:
            point = geometry if geometry.geom_type == "Point" else geometry.point_on_surface
            point.srid = 4326
        elif values.get("lon") or values.get("lat"):
            lon, lat = parse_decimal(values.get("lon", "")), parse_decimal(values.get("lat", ""))
            if lon is None or lat is None:
                column = "lon" if lon is None else "lat"
                problems.add(number, column, values.get(column), _("Give longitude and latitude as numbers."))
                return None, None
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                problems.add(number, "lon", f"{lon}, {lat}", _("Not a WGS 84 longitude/latitude: the file seems to "
                                                            "be in a projected CRS (metres)."))
                return None, None
            point = Point(float(lon), float(lat), srid=4326)
        ward = None
        if values.get("ward"):
            ward_number = _int(values["ward"])
            ward = self.wards.get(ward_number) if ward_number is not None else None
            if ward is None:
                problems.add(number, "ward", values["ward"], _("There is no such ward in this municipality."))
                return None, None
        elif point is not None:
            ward = self.ward_at(point)
            if ward is None and self.has_boundaries:
                problems.add(number, "lon" if geometry is None else "geometry", f"{point.x:.6f}, {point.y:.6f}",
                             _("The place lies outside every ward of the municipality (are longitude and "
                               "latitude swapped?)."))
                return None, None
        if point is None and ward is None:
            problems.add(number, "ward", "", _("Give a place: longitude and latitude, a point geometry or a ward "
                                               "number."))
        return point, ward


def _required(table: Table, aliases: dict, needed: tuple[str, ...]) -> dict[str, str]:
    mapping = apply_aliases(table.columns, aliases)
    present = set(mapping.values())
    missing = [name for name in needed if name not in present]
    has_place = table.has_geometry or {"lon", "lat"} <= present or "ward" in present
    if missing or not has_place:
        if not has_place:
            missing.append("lon + lat " + _("or") + " ward")
        raise LinkError(_("The file lacks the column(s) %(missing)s (it has: %(columns)s).") % {
            "missing": ", ".join(missing), "columns": ", ".join(table.columns) or "-"}, code="missing_columns")
    return mapping


def _date(number: int, values: dict, problems: Problems) -> datetime.date | None:
    day = parse_date(values.get("date", ""))
    if day is None:
        problems.add(number, "date", values.get("date"), _("Give the date as YYYY-MM-DD."))
    elif day > timezone.localdate():
        problems.add(number, "date", values.get("date"), _("The date is in the future."))
        return None
    return day


def _mapped(values: dict, mapping: dict) -> dict:
    return {ours: values.get(theirs, "") for theirs, ours in mapping.items()}


def _cases_from(table: Table, *, run, kind: str) -> tuple[list[DiseaseCase], Problems]:
    mapping = _required(table, CASE_ALIASES, ("date", "disease", "cases"))
    places, problems, records = _Places(), Problems(), []
    for number, raw, geometry in table.rows:
        values = _mapped(raw, mapping)
        before = len(problems.items)
        day = _date(number, values, problems)
        disease = values.get("disease", "").strip()
        if not disease:
            problems.add(number, "disease", "", _("Name the disease."))
        elif len(disease) > MAX_DISEASE_LENGTH:
            problems.add(number, "disease", disease, _("At most %(n)s characters.") % {"n": MAX_DISEASE_LENGTH})
        cases = _int(values.get("cases", ""))
        if cases is None:
            problems.add(number, "cases", values.get("cases"), _("Give the number of cases as a whole number, 0 or "
                                                                 "more."))
        deaths = _int(values["deaths"]) if values.get("deaths") else 0
        if deaths is None:
            problems.add(number, "deaths", values.get("deaths"), _("Give deaths as a whole number, 0 or more."))
        point, ward = places.locate(number, values, geometry, problems)
        if len(problems.items) == before:
            records.append(DiseaseCase(run=run, kind=kind, disease=disease, reported_on=day, cases=cases,
                                       deaths=deaths, ward=ward, location=point))
    return records, problems


def _samples_from(table: Table, *, run, threshold: Decimal) -> tuple[list[WaterSample], Problems]:
    mapping = _required(table, SAMPLE_ALIASES, ("date", "ecoli_cfu"))
    places, problems, records = _Places(), Problems(), []
    for number, raw, geometry in table.rows:
        values = _mapped(raw, mapping)
        before = len(problems.items)
        day = _date(number, values, problems)
        cfu = parse_decimal(values.get("ecoli_cfu", ""))
        if cfu is None or cfu < 0:
            problems.add(number, "ecoli_cfu", values.get("ecoli_cfu"), _("Give the count (CFU/100 ml) as a number, "
                                                                         "0 or more."))
        row_threshold = threshold
        if values.get("threshold"):
            row_threshold = parse_decimal(values["threshold"])
            if row_threshold is None or row_threshold < 0:
                problems.add(number, "threshold", values["threshold"], _("Give the threshold as a number, 0 or "
                                                                         "more."))
        point, ward = places.locate(number, values, geometry, problems)
        if len(problems.items) == before:
            records.append(WaterSample(run=run, sample_code=values.get("sample_id", "")[:40], sampled_on=day,
                                       parameter=(values.get("parameter") or "E. coli")[:40], cfu_per_100ml=cfu,
                                       threshold=row_threshold, is_pass=cfu <= row_threshold, ward=ward,
                                       location=point))
    return records, problems
