"""The data-quality report: what to fix in the registry, per ward, with a score that rises as records get fixed.

Each check is one SQL query returning (model, id, ward, label, detail) for the records it flags. A refresh runs
them all into QualityProblem rows (one INSERT ... SELECT), from which the page counts per ward, lists records to
work through and streams the CSV. A ward's score is the share of its records (buildings, holdings, containments)
that no check flags. The report is current while the registry's data version (bumped by every audited write) is
the one it was computed at; after edits the page refreshes it (in a job for large municipalities).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from imis.platform.versioning import data_version_current

from .models import QualityProblem, QualityRun

DEFAULT_SURVEY_YEARS = 5
QUALITY_INLINE_MAX_BUILDINGS = 20_000
LIST_PAGE = 50
OVERLAP_MIN_M2 = 1.0  # slivers below a square metre are digitising noise, not two buildings in one place
NEEDS_CONTAINMENT = ("septic_tank", "pit", "onsite_treatment", "shared_septic_tank")
RECORD_URLS = {"registry.building": "/registry/buildings/{pk}/", "registry.holding": "/registry/holdings/{pk}/",
               "registry.containment": "/registry/containments/{pk}/"}


@dataclass(frozen=True)
class Check:
    code: str
    title: str
    model: str
    sql: str  # SELECT model, id, ward_id, label, detail
    hint: str = ""


def _checks(years: int) -> list[Check]:
    building = "'registry.building'::text, b.id, b.ward_id, b.bin::text"
    return [
        Check("building_no_holding", _("Buildings without a holding ID"), "registry.building",
              f"SELECT {building}, ''::text FROM registry_building b WHERE b.holding_id IS NULL",
              _("Link the building to its holding (or create the holding).")),
        Check("duplicate_holding_id", _("Duplicate holding IDs"), "registry.holding", """
              WITH normal AS (SELECT id, ward_id, holding_id, regexp_replace(upper(trim(holding_id)),
                                     '(^|[^0-9])0+([0-9])', '\\1\\2', 'g') AS k FROM registry_holding),
                   twice AS (SELECT k, string_agg(holding_id, ', ' ORDER BY holding_id) AS ids FROM normal
                             GROUP BY k HAVING count(*) > 1)
              SELECT 'registry.holding'::text, n.id, n.ward_id, n.holding_id::text, 'entered as ' || t.ids
              FROM normal n JOIN twice t ON t.k = n.k""",
              _("Two holding IDs that differ only in leading zeros, spaces or case are one holding entered twice.")),
        Check("holding_no_road", _("Holdings not linked to a road"), "registry.holding",
              "SELECT 'registry.holding'::text, h.id, h.ward_id, h.holding_id::text, ''::text FROM registry_holding h "
              "WHERE h.road_id IS NULL", _("Set the road the holding's address is on.")),
        Check("building_no_road", _("Buildings not linked to a road"), "registry.building",
              f"SELECT {building}, b.road_link_status::text FROM registry_building b "
              "WHERE b.road_link_status <> 'linked'",
              _("Run road linking, then check buildings that are too far from a road or between two roads.")),
        Check("containment_no_building", _("Containments linked to no building"), "registry.containment",
              "SELECT 'registry.containment'::text, c.id, c.ward_id, c.code::text, ''::text FROM registry_containment c "
              "WHERE NOT EXISTS (SELECT 1 FROM registry_containment_buildings cb WHERE cb.containment_id = c.id)",
              _("Link the containment to the buildings it serves.")),
        Check("building_needs_containment", _("Buildings whose sanitation needs a containment but have none"),
              "registry.building",
              f"SELECT {building}, b.sanitation_system::text FROM registry_building b "
              "WHERE b.sanitation_system = ANY(%(needs)s) AND NOT EXISTS (SELECT 1 FROM "
              "registry_containment_buildings cb WHERE cb.building_id = b.id)",
              _("Survey the septic tank or pit and link it to the building.")),
        Check("footprint_invalid", _("Invalid footprints"), "registry.building",
              f"SELECT {building}, ST_IsValidReason(b.footprint) FROM registry_building b "
              "WHERE NOT ST_IsValid(b.footprint)", _("Redraw the footprint: it crosses itself.")),
        Check("footprint_overlap", _("Overlapping footprints"), "registry.building", f"""
              SELECT {building}, 'overlaps ' || string_agg(o.bin, ', ') FROM registry_building b
              JOIN registry_building o ON o.id <> b.id AND o.footprint && b.footprint
                   AND ST_IsValid(o.footprint) AND ST_IsValid(b.footprint)
                   AND ST_Relate(o.footprint, b.footprint, '2********')
                   AND ST_Area(ST_Intersection(o.footprint, b.footprint)::geography, false) >= {OVERLAP_MIN_M2}
              GROUP BY b.id""", _("Two buildings drawn over each other: one is usually a duplicate.")),
        Check("building_missing_attributes", _("Buildings missing key attributes"), "registry.building",
              f"SELECT {building}, concat_ws(', ', CASE WHEN b.sanitation_system = '' THEN 'sanitation system' END, "
              "CASE WHEN b.structure_type = '' THEN 'structure type' END, "
              "CASE WHEN b.water_source = '' THEN 'water source' END) FROM registry_building b "
              "WHERE b.sanitation_system = '' OR b.structure_type = '' OR b.water_source = ''",
              _("Fill in the sanitation system, structure type and water source.")),
        Check("containment_missing_volume", _("Containments without a volume"), "registry.containment",
              "SELECT 'registry.containment'::text, c.id, c.ward_id, c.code::text, ''::text FROM registry_containment c "
              "WHERE c.volume_m3 IS NULL", _("Measure the containment: its emptying date depends on its volume.")),
        Check("survey_old", _("Survey missing or older than %(years)s years") % {"years": years},
              "registry.building",
              f"SELECT {building}, coalesce(to_char(b.surveyed_at, 'YYYY-MM-DD'), 'never') FROM registry_building b "
              "WHERE b.surveyed_at IS NULL OR b.surveyed_at < now() - make_interval(years => %(years)s)",
              _("Survey the building again.")),
    ]


def quality_checks(years: int = DEFAULT_SURVEY_YEARS) -> list[Check]:
    return _checks(years)


def _params(years: int) -> dict:
    return {"needs": list(NEEDS_CONTAINMENT), "years": years}


def _problems_sql(checks: list[Check]) -> str:
    return " UNION ALL ".join(f"SELECT '{check.code}'::text AS code, p.* FROM ({check.sql}) "
                              "AS p (model, id, ward_id, label, detail)" for check in checks)


@dataclass
class WardQuality:
    ward_id: int | None
    number: int | None
    name: str
    records: int
    problems: int  # distinct records flagged by at least one check
    counts: dict[str, int]

    @property
    def score(self) -> int | None:
        if not self.records:
            return None
        return round(100 * (1 - self.problems / self.records))

    @property
    def display_name(self) -> str:
        """The ward's own name when it has one beyond "Ward 7"."""
        return "" if not self.name or self.name == f"Ward {self.number}" else self.name

    @property
    def grade(self) -> str:
        if self.score is None:
            return "secondary"
        return "success" if self.score >= 90 else "warning" if self.score >= 70 else "danger"


@dataclass
class QualityReport:
    run: QualityRun
    checks: list[Check]
    wards: list[WardQuality]

    @property
    def years(self) -> int:
        return self.run.years

    @property
    def is_current(self) -> bool:
        return self.run.data_version == data_version_current()

    @property
    def totals(self) -> dict[str, int]:
        return {check.code: sum(ward.counts.get(check.code, 0) for ward in self.wards) for check in self.checks}

    @property
    def flagged(self) -> int:
        return sum(ward.problems for ward in self.wards)

    @property
    def score(self) -> int | None:
        records = sum(ward.records for ward in self.wards)
        return round(100 * (1 - self.flagged / records)) if records else None


def quality_refresh(*, years: int = DEFAULT_SURVEY_YEARS) -> QualityReport:
    """Run every check and keep its findings as the current report (older reports are dropped).

    One INSERT ... SELECT writes the flagged records; per-ward counts and scores come from them. Seconds at
    156,052 buildings, which is why large municipalities refresh it as a job (quality_refresh_start).
    """
    started = time.perf_counter()
    version = data_version_current()
    checks = _checks(years)
    with transaction.atomic():
        run = QualityRun.objects.create(data_version=version, years=years)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(f"""
                INSERT INTO dataio_qualityproblem (run_id, code, model, object_id, ward_number, label, detail)
                SELECT %(run)s, p.code, p.model, p.id, w.number, left(coalesce(p.label, ''), 200),
                       left(coalesce(p.detail, ''), 300)
                FROM ({_problems_sql(checks)}) p LEFT JOIN registry_ward w ON w.id = p.ward_id""",
                           {**_params(years), "run": run.pk})
            cursor.execute("""
                WITH per_check AS (SELECT ward_number, code, count(*) AS n FROM dataio_qualityproblem
                                   WHERE run_id = %(run)s GROUP BY ward_number, code),
                flagged AS (SELECT ward_number, count(DISTINCT (model, object_id)) AS n FROM dataio_qualityproblem
                            WHERE run_id = %(run)s GROUP BY ward_number),
                records AS (
                    SELECT w.number AS ward_number, sum(r.n) AS n FROM (
                        SELECT ward_id, count(*) AS n FROM registry_building GROUP BY ward_id
                        UNION ALL SELECT ward_id, count(*) FROM registry_holding GROUP BY ward_id
                        UNION ALL SELECT ward_id, count(*) FROM registry_containment GROUP BY ward_id) r
                    LEFT JOIN registry_ward w ON w.id = r.ward_id GROUP BY w.number)
                SELECT w.id, w.number, w.name, coalesce(r.n, 0), coalesce(f.n, 0),
                       coalesce((SELECT json_object_agg(c.code, c.n) FROM per_check c
                                 WHERE c.ward_number IS NOT DISTINCT FROM w.number), '{}'::json)::text
                FROM (SELECT id, number, name FROM registry_ward UNION ALL SELECT NULL, NULL, '') w
                LEFT JOIN records r ON r.ward_number IS NOT DISTINCT FROM w.number
                LEFT JOIN flagged f ON f.ward_number IS NOT DISTINCT FROM w.number
                ORDER BY w.number NULLS LAST""", {"run": run.pk})
            rows = cursor.fetchall()
        run.wards = [{"ward_id": row[0], "number": row[1], "name": row[2] or "", "records": int(row[3]),
                      "problems": int(row[4]), "counts": json.loads(row[5])}
                     for row in rows if row[0] is not None or row[3]]
        run.seconds = round(time.perf_counter() - started, 2)
        run.save(update_fields=["wards", "seconds"])
        QualityRun.objects.exclude(pk=run.pk).delete()
    return _report(run)


def _report(run: QualityRun) -> QualityReport:
    wards = [WardQuality(**ward) for ward in run.wards]
    return QualityReport(run=run, checks=_checks(run.years), wards=wards)


def quality_latest(*, years: int | None = None) -> QualityReport | None:
    run = QualityRun.objects.order_by("-created").first()
    if run is None or (years is not None and run.years != years):
        return None
    return _report(run)


def quality_needs_refresh(report: QualityReport | None, *, years: int) -> bool:
    return report is None or report.years != years or not report.is_current


def registry_is_small() -> bool:
    """Small registries refresh the report while the page loads; large ones in a job."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'registry_building'::regclass")
        estimate = cursor.fetchone()[0]
    return estimate < QUALITY_INLINE_MAX_BUILDINGS


def quality_refresh_start(*, years: int, by):
    """Queue a refresh unless one for the same data version is queued or running."""
    from imis.tenant_apps.jobs.models import Job
    from imis.tenant_apps.jobs.services import job_create, job_enqueue

    from .tasks import run_quality_refresh

    key = f"quality:{data_version_current()}:{years}"
    existing = Job.objects.filter(kind="dataio.quality", idempotency_key=key).first()
    if existing:
        return existing
    job = job_create(kind="dataio.quality", title=str(_("Data-quality report")), by=by, params={"years": years},
                     idempotency_key=key)
    return job_enqueue(job=job, task=run_quality_refresh)


def quality_refresh_run(*, job_id) -> None:
    from imis.tenant_apps.jobs.services import job_fail, job_progress, job_start, job_succeed

    job = job_start(job_id=job_id)
    job_progress(job_id=job_id, done=0, total=1, message=str(_("Running the checks")))
    try:
        report = quality_refresh(years=int(job.params.get("years", DEFAULT_SURVEY_YEARS)))
    except Exception as error:
        job_fail(job_id=job_id, error=str(error))
        raise
    job_succeed(job_id=job_id, result={"score": report.score, "flagged": report.flagged})


@dataclass
class Problem:
    code: str
    model: str
    id: int
    ward: int | None
    label: str
    detail: str

    @property
    def url(self) -> str:
        return RECORD_URLS.get(self.model, "").format(pk=self.id)


def _problem_rows(report: QualityReport, *, code: str | None = None, ward: int | None = None):
    rows = QualityProblem.objects.filter(run=report.run)
    if code:
        rows = rows.filter(code=code)
    if ward is not None:
        rows = rows.filter(ward_number=ward)
    return rows.order_by("code", "ward_number", "label").values_list(
        "code", "model", "object_id", "ward_number", "label", "detail")


def quality_problems(report: QualityReport, *, code: str | None = None, ward: int | None = None,
                     limit: int = LIST_PAGE, offset: int = 0) -> tuple[list[Problem], int]:
    """One page of flagged records (and how many there are), for one check and/or one ward."""
    rows = _problem_rows(report, code=code, ward=ward)
    total = rows.count()
    return [Problem(*row) for row in rows[offset:offset + limit]], total


def quality_problems_all(report: QualityReport) -> Iterator[Problem]:
    """Every flagged record, for the CSV download (chunked: any size)."""
    for row in _problem_rows(report).iterator(chunk_size=5000):
        yield Problem(*row)


def quality_wards_geojson(report: QualityReport) -> dict:
    """The map layer: ward boundaries with their score and counts (a choropleth of data quality)."""
    by_number = {ward.number: ward for ward in report.wards if ward.number is not None}
    with connection.cursor() as cursor:
        cursor.execute("SELECT number, name, ST_AsGeoJSON(boundary, 6) FROM registry_ward "
                       "WHERE boundary IS NOT NULL ORDER BY number")
        rows = cursor.fetchall()
    features = []
    for number, name, geometry in rows:
        ward = by_number.get(number)
        properties = {"ward": number, "name": name, "score": ward.score if ward else None,
                      "records": ward.records if ward else 0, "problems": ward.problems if ward else 0}
        if ward:
            properties.update(ward.counts)
        features.append({"type": "Feature", "geometry": json.loads(geometry), "properties": properties})
    return {"type": "FeatureCollection", "features": features}
