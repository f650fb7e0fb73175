"""The indicator catalogue: what each KPI means, where its numbers come from and how it is computed.

Every indicator computes, in one SQL statement, a numerator and a denominator *per ward* (the row of buildings,
applications, bills ... without a ward is kept under the key None); the city figure is the sum of the wards'.
The value is numerator ÷ denominator (× 100 for percentages); a zero denominator gives None, shown as "no data"
— never a crash and never a fake 0 %. Indicators whose data has no ward (plants, effluent tests) are city-wide.

Periods are Bangladesh fiscal years (July to June, 2026 = 2026-27) or one of their quarters (Q1 = Jul–Sep).

Each indicator names its data sources (the apps whose tables it reads: "fsm", "registry", "tax" ...). Its cached
value is keyed by those sources' versions (imis.platform.versioning), so an emptying recomputes the FSM
indicators and leaves the registry and tax ones alone. Statements several indicators or periods share, and the
period-free halves of a computation (the people served by each ward's pits and tanks), are cached the same way
as "parts" (Context.part), so a new emptying does not rescan 150,000 buildings.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

FISCAL_YEAR_START_MONTH = 7
ALL = "all"  # the key of the city-wide row
Rows = dict  # ward number (int) / None (no ward) / ALL -> (numerator, denominator)

# --- the safe-sanitation rule (defaults; a municipality may change them: models.SanitationRule) -----------------

DEFAULT_SAFE_RULE = {
    # Excreta leave the building safely whatever the containment.
    "safe_systems": ["sewer", "onsite_treatment", "composting"],
    # Safe only when a containment serving the building is of a safe type with a safe outlet.
    "containment_systems": ["septic_tank", "pit", "shared_septic_tank"],
    "safe_containment_types": ["septic_tank", "lined_pit", "holding_tank"],
    "safe_outlets": ["soak_pit", "sewer", "none"],
    # JMP: a toilet shared with other households is "limited", not safely managed.
    "is_shared_toilet_safe": False,
}


# --- periods -----------------------------------------------------------------------------------------------

def fiscal_year_of(day: datetime.date) -> int:
    return day.year if day.month >= FISCAL_YEAR_START_MONTH else day.year - 1


def _month_start(year: int, month_index: int) -> datetime.date:
    """month_index 0 = January of `year`; may run past December."""
    return datetime.date(year + month_index // 12, month_index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    year: int  # fiscal year, 2026 = 2026-27
    quarter: int | None = None  # 1 = Jul–Sep ... 4 = Apr–Jun

    @property
    def start_date(self) -> datetime.date:
        offset = FISCAL_YEAR_START_MONTH - 1 + 3 * ((self.quarter or 1) - 1)
        return _month_start(self.year, offset)

    @property
    def end_date(self) -> datetime.date:
        """The first day after the period."""
        offset = FISCAL_YEAR_START_MONTH - 1 + (3 * self.quarter if self.quarter else 12)
        return _month_start(self.year, offset)

    @property
    def start(self) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(self.start_date, datetime.time.min))

    @property
    def end(self) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(self.end_date, datetime.time.min))

    @property
    def key(self) -> str:
        return f"{self.year}" + (f"Q{self.quarter}" if self.quarter else "")

    @property
    def year_label(self) -> str:
        return f"{self.year}-{(self.year + 1) % 100:02d}"

    @property
    def label(self) -> str:
        return (f"Q{self.quarter} " if self.quarter else "") + self.year_label

    def days_elapsed(self, *, today: datetime.date | None = None) -> int:
        """Days of the period up to today (the whole period once it is over; 0 before it starts)."""
        today = today or timezone.localdate()
        last = min(self.end_date, today + datetime.timedelta(days=1))
        return max(0, (last - self.start_date).days)

    def previous(self) -> Period:
        if self.quarter is None:
            return Period(self.year - 1)
        return Period(self.year, self.quarter - 1) if self.quarter > 1 else Period(self.year - 1, 4)

    def quarters(self) -> list[Period]:
        return [Period(self.year, q) for q in (1, 2, 3, 4)]

    def months(self) -> list[datetime.date]:
        count = 3 if self.quarter else 12
        first = FISCAL_YEAR_START_MONTH - 1 + 3 * ((self.quarter or 1) - 1)
        return [_month_start(self.year, first + i) for i in range(count)]

    @classmethod
    def parse(cls, year, quarter=None) -> Period:
        current = fiscal_year_of(timezone.localdate())
        try:
            year = int(year)
        except (TypeError, ValueError):
            year = current
        if not 2000 <= year <= current + 1:
            year = current
        try:
            quarter = int(quarter) if quarter not in (None, "") else None
        except (TypeError, ValueError):
            quarter = None
        return cls(year, quarter if quarter in (1, 2, 3, 4) else None)


# --- what a computation sees -------------------------------------------------------------------------------

@dataclass
class Context:
    period: Period
    fsm: dict = field(default_factory=dict)  # fsm feature settings (SLA hours, sludge rate, effluent standards)
    safe_rule: dict = field(default_factory=lambda: dict(DEFAULT_SAFE_RULE))
    today: datetime.date | None = None
    memo: dict = field(default_factory=dict)  # shared SQL results (several indicators read one statement)
    versions: dict | None = None  # source versions: parts are cached across requests under them (None: not)

    @property
    def params(self) -> dict:
        period = self.period
        return {"start": period.start, "end": period.end, "start_date": period.start_date,
                "end_date": period.end_date, "now": timezone.now()}

    def once(self, name: str, compute: Callable[[], object]):
        if name not in self.memo:
            self.memo[name] = compute()
        return self.memo[name]

    def part(self, name: str, sources: tuple[str, ...], compute: Callable[[], object]):
        """A period-free intermediate result, cached under the versions of the sources it reads (when the
        caller gave versions), and within this computation."""
        def cached():
            if self.versions is None:
                return compute()
            from django.core.cache import cache

            key = f"kpi:part:{name}:{versions_key(sources, self.versions)}"
            value = cache.get(key)
            if value is None:
                value = compute()
                cache.set(key, value, PART_CACHE_SECONDS)
            return value
        return self.once(f"part:{name}", cached)


PART_CACHE_SECONDS = 3600


def versions_key(sources, versions: dict) -> str:
    """"<*>.<fsm>.<registry>" — the versions a cached result depends on ("*": changes that named no source)."""
    return ".".join(str(versions[name]) for name in ("*", *sorted(sources)))


def _rows(sql: str, params: dict) -> Rows:
    """Run a `SELECT ward_number, numerator, denominator ... GROUP BY ward_number` into Rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {ward: (Decimal(num or 0), Decimal(den or 0)) for ward, num, den in cursor.fetchall()}


def _multi(sql: str, params: dict) -> dict[int | None, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: tuple(Decimal(value or 0) for value in row[1:]) for row in cursor.fetchall()}


def _pick(rows: dict, numerator: int, denominator: int) -> Rows:
    return {ward: (values[numerator], values[denominator]) for ward, values in rows.items()}


# --- the catalogue -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    group: str  # fsm | cwis | revenue | registry
    formula: str
    unit: str  # "%", "h", "ratio", "count"
    source: str
    explanation: str
    compute: Callable[[Context], Rows]
    feature: str | None = None  # the municipality feature it needs (None: always shown)
    higher_is_better: bool = True
    is_city_wide: bool = False  # its data has no ward
    is_period_bound: bool = True  # False: a snapshot of the registry as it is now
    is_available: Callable[[], bool] = lambda: True  # the app it reads is installed
    total: Callable[[Context, Rows], tuple] | None = None  # the city figure when it is not the sum of the wards
    sources: tuple[str, ...] = ()  # the apps whose tables it reads (default: by feature, see SOURCES_OF_FEATURE)

    @property
    def scale(self) -> Decimal:
        return Decimal(100) if self.unit == "%" else Decimal(1)

    def value_of(self, numerator, denominator) -> Decimal | None:
        if denominator is None or Decimal(denominator) == 0:
            return None
        if self.unit == "count":
            return Decimal(numerator)
        return Decimal(numerator) * self.scale / Decimal(denominator)


REGISTRY: dict[str, Indicator] = {}


# What an indicator of a feature reads, unless it says otherwise. Every indicator reads the registry (wards,
# buildings, holdings); the payments app settles online payments into tax payments.
SOURCES_OF_FEATURE = {"fsm": ("fsm", "registry"), "holding_tax": ("tax", "payments", "registry"),
                      "trade_licence": ("licences", "registry"), None: ("registry",)}


def indicator(**spec):
    def register(compute):
        spec.setdefault("sources", SOURCES_OF_FEATURE[spec.get("feature")])
        item = Indicator(compute=compute, **spec)
        REGISTRY[item.code] = item
        return compute

    return register


GROUPS = {"fsm": _("Faecal sludge services"), "cwis": _("Citywide inclusive sanitation"),
          "revenue": _("Revenue"), "registry": _("Registry health")}

# --- FSM service -------------------------------------------------------------------------------------------

APPLICATION_WARD = "LEFT JOIN registry_ward w ON w.id = a.ward_id"


@indicator(code="FSM-1", group="fsm", feature="fsm", unit="%", name=_("Application response efficiency"),
           formula=_("applications received in the period that have been emptied ÷ applications received in the "
                     "period × 100"),
           source=_("FSM applications (received, emptied)"),
           explanation=_("Of the requests people made in this period, how many have had their pit or tank emptied "
                         "so far. Rejected and cancelled requests count as not served."))
def fsm_response_efficiency(ctx: Context) -> Rows:
    return _rows(f"""SELECT w.number, count(*) FILTER (WHERE a.emptied_at IS NOT NULL), count(*)
                     FROM fsm_application a {APPLICATION_WARD}
                     WHERE a.received_at >= %(start)s AND a.received_at < %(end)s GROUP BY w.number""", ctx.params)


@indicator(code="FSM-2", group="fsm", feature="fsm", unit="h", higher_is_better=False, name=_("Response time"),
           formula=_("Σ (emptied at − received at) in hours ÷ applications emptied in the period"),
           source=_("FSM applications (received, emptied)"),
           explanation=_("On average, how many hours a household waited from its request to the emptying."))
def fsm_response_time(ctx: Context) -> Rows:
    return _rows(f"""SELECT w.number, sum(extract(epoch FROM a.emptied_at - a.received_at)) / 3600, count(*)
                     FROM fsm_application a {APPLICATION_WARD}
                     WHERE a.emptied_at >= %(start)s AND a.emptied_at < %(end)s GROUP BY w.number""", ctx.params)


@indicator(code="FSM-3", group="fsm", feature="fsm", unit="%", name=_("Customer satisfaction"),
           formula=_("Σ ratings ÷ (5 × feedbacks) × 100, for services emptied in the period"),
           source=_("FSM feedback (overall rating 1–5)"),
           explanation=_("How happy households were with the service: 100 % means every household gave 5 of 5."))
def fsm_customer_satisfaction(ctx: Context) -> Rows:
    return _rows(f"""SELECT w.number, sum(f.rating), 5 * count(*)
                     FROM fsm_feedback f JOIN fsm_application a ON a.id = f.application_id {APPLICATION_WARD}
                     WHERE a.emptied_at >= %(start)s AND a.emptied_at < %(end)s GROUP BY w.number""", ctx.params)


@indicator(code="FSM-4", group="fsm", feature="fsm", unit="%", name=_("PPE compliance"),
           formula=_("feedbacks saying the crew wore PPE ÷ feedbacks answering the question × 100"),
           source=_("FSM feedback (crew wore PPE)"),
           explanation=_("How often households saw the emptying crew wear protective equipment, as they told the "
                         "help desk."))
def fsm_ppe_compliance(ctx: Context) -> Rows:
    return _rows(f"""SELECT w.number, count(*) FILTER (WHERE f.is_ppe_worn), count(*)
                     FROM fsm_feedback f JOIN fsm_application a ON a.id = f.application_id {APPLICATION_WARD}
                     WHERE f.is_ppe_worn IS NOT NULL AND a.emptied_at >= %(start)s AND a.emptied_at < %(end)s
                     GROUP BY w.number""", ctx.params)


@indicator(code="FSM-4b", group="fsm", feature="fsm", unit="%", name=_("PPE worn (crew-reported)"),
           formula=_("emptyings recorded with the whole crew in PPE ÷ emptyings in the period × 100"),
           source=_("FSM emptying records"),
           explanation=_("What the service providers themselves recorded about protective equipment."))
def fsm_ppe_reported(ctx: Context) -> Rows:
    return _rows(f"""SELECT w.number, count(*) FILTER (WHERE e.is_ppe_worn), count(*)
                     FROM fsm_emptying e JOIN fsm_application a ON a.id = e.application_id {APPLICATION_WARD}
                     WHERE e.emptied_on >= %(start_date)s AND e.emptied_on < %(end_date)s GROUP BY w.number""",
                 ctx.params)


# A disposal may carry the sludge of several applications: its volume is shared among them in proportion to
# what was emptied from each, and an application is credited at most with what was emptied from it.
SAFE_DESLUDGING_SQL = """
WITH emptied AS (
    SELECT e.application_id, e.volume_m3, a.ward_id FROM fsm_emptying e JOIN fsm_application a ON a.id = e.application_id
    WHERE e.emptied_on >= %(start_date)s AND e.emptied_on < %(end_date)s
), trips AS (
    SELECT DISTINCT da.disposal_id FROM fsm_disposal_applications da JOIN emptied USING (application_id)
), carried AS (
    SELECT da.disposal_id, sum(e.volume_m3) AS volume FROM fsm_disposal_applications da
    JOIN trips USING (disposal_id) JOIN fsm_emptying e ON e.application_id = da.application_id
    GROUP BY da.disposal_id
), delivered AS (
    SELECT da.application_id, sum(d.volume_received_m3 * e.volume_m3 / NULLIF(c.volume, 0)) AS volume
    FROM fsm_disposal_applications da JOIN carried c USING (disposal_id)
    JOIN fsm_disposal d ON d.id = da.disposal_id JOIN emptied e ON e.application_id = da.application_id
    GROUP BY da.application_id
)
SELECT w.number, sum(LEAST(e.volume_m3, coalesce(d.volume, 0))), sum(e.volume_m3),
       count(d.application_id), count(*)
FROM emptied e LEFT JOIN delivered d USING (application_id) LEFT JOIN registry_ward w ON w.id = e.ward_id
GROUP BY w.number
"""


def _safe_desludging(ctx: Context) -> dict:
    return ctx.once("safe_desludging", lambda: _multi(SAFE_DESLUDGING_SQL, ctx.params))


@indicator(code="FSM-5", group="fsm", feature="fsm", unit="%", name=_("Safe desludging (volume)"),
           formula=_("m³ delivered to a treatment plant from emptyings in the period ÷ m³ emptied in the period × "
                     "100 (a shared trip's volume is split in proportion to what each emptying contributed)"),
           source=_("FSM emptying and plant arrival records"),
           explanation=_("How much of the sludge taken out of pits and tanks reached a treatment plant rather than "
                         "a drain, canal or field."))
def fsm_safe_desludging_volume(ctx: Context) -> Rows:
    return _pick(_safe_desludging(ctx), 0, 1)


@indicator(code="FSM-5b", group="fsm", feature="fsm", unit="%", name=_("Safe desludging (count)"),
           formula=_("emptyings in the period recorded at a treatment plant ÷ emptyings in the period × 100"),
           source=_("FSM emptying and plant arrival records"),
           explanation=_("How many of the emptyings were followed by a recorded arrival at a treatment plant."))
def fsm_safe_desludging_count(ctx: Context) -> Rows:
    return _pick(_safe_desludging(ctx), 2, 3)


LOW_INCOME_SITE = """(coalesce(b.is_low_income, false) OR EXISTS (SELECT 1 FROM registry_lowincomecommunity lic
    WHERE ST_Intersects(lic.geom, coalesce(a.location, c.location, ST_PointOnSurface(b.footprint)))))"""


@indicator(code="FSM-6", group="fsm", feature="fsm", unit="%", name=_("Inclusion"),
           formula=_("applications received in the period, from a low-income building or community, that have been "
                     "emptied ÷ "
                     "applications received in the period × 100"),
           source=_("FSM applications; low-income community boundaries"),
           explanation=_("What share of the service goes to households in low-income communities."))
def fsm_inclusion(ctx: Context) -> Rows:
    return _rows(f"""SELECT w.number, count(*) FILTER (WHERE a.emptied_at IS NOT NULL AND {LOW_INCOME_SITE}),
                            count(*)
                     FROM fsm_application a {APPLICATION_WARD}
                     LEFT JOIN registry_containment c ON c.id = a.containment_id
                     LEFT JOIN registry_building b ON b.id = a.building_id
                     WHERE a.received_at >= %(start)s AND a.received_at < %(end)s GROUP BY w.number""", ctx.params)


def _expected_sludge(ctx: Context) -> dict:
    """m³ of sludge expected per ward over the days elapsed: people in buildings served by a containment ×
    the municipality's accumulation rate (litres per person per year)."""
    def compute():
        rate = Decimal(str(ctx.fsm.get("sludge_accumulation_litres_per_person_year", 40)))
        days = Decimal(ctx.period.days_elapsed(today=ctx.today))
        people = ctx.part("people_served", ("registry",), _people_served)
        return {ward: total * rate / 1000 * days / Decimal("365.25") for ward, total in people.items()}
    return ctx.once("expected_sludge", compute)


def _people_served() -> dict:
    """People per ward in buildings served by at least one pit or tank (whatever the period)."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT w.number, sum(b.population_male + b.population_female + b.population_other)
                          FROM registry_building b
                          JOIN (SELECT DISTINCT building_id FROM registry_containment_buildings) served
                            ON served.building_id = b.id
                          LEFT JOIN registry_ward w ON w.id = b.ward_id
                          GROUP BY w.number""")
        return {ward: Decimal(total or 0) for ward, total in cursor.fetchall()}


def _emptied_volume(ctx: Context) -> dict:
    return ctx.once("emptied_volume", lambda: {ward: values[0] for ward, values in _multi(
        """SELECT w.number, sum(e.volume_m3) FROM fsm_emptying e JOIN fsm_application a ON a.id = e.application_id
           LEFT JOIN registry_ward w ON w.id = a.ward_id
           WHERE e.emptied_on >= %(start_date)s AND e.emptied_on < %(end_date)s GROUP BY w.number""",
        ctx.params).items()})


@indicator(code="FSM-7", group="fsm", feature="fsm", unit="%", name=_("Faecal sludge collection ratio"),
           formula=_("m³ emptied in the period ÷ (people served by a pit or tank × sludge accumulation rate × "
                     "days elapsed ÷ 365.25) × 100"),
           source=_("FSM emptying records; building population; FSM settings (litres per person per year)"),
           # xgettext:no-python-format  (a literal per cent sign)
           explanation=_("How much of the sludge that households produce is being collected. Below 100 % sludge "
                         "builds up in pits and tanks."))
def fsm_collection_ratio(ctx: Context) -> Rows:
    collected, expected = _emptied_volume(ctx), _expected_sludge(ctx)
    return {ward: (collected.get(ward, Decimal(0)), expected.get(ward, Decimal(0)))
            for ward in set(collected) | set(expected)}


@indicator(code="FSM-8", group="fsm", feature="fsm", unit="%", name=_("SLA compliance"),
           formula=_("applications emptied in the period that were approved within the approval SLA and emptied "
                     "within the emptying SLA after approval ÷ applications emptied in the period × 100"),
           source=_("FSM applications; FSM settings (SLA hours)"),
           explanation=_("How often the municipality kept its service promise on time at every step."))
def fsm_sla_compliance(ctx: Context) -> Rows:
    params = {**ctx.params, "approval": int(ctx.fsm.get("approval_sla_hours", 24)),
              "emptying": int(ctx.fsm.get("emptying_sla_hours", 48))}
    return _rows(f"""SELECT w.number, count(*) FILTER (
                         WHERE coalesce(a.approved_at, a.received_at) <= a.received_at + make_interval(hours => %(approval)s)
                           AND a.emptied_at <= coalesce(a.approved_at, a.received_at)
                                               + make_interval(hours => %(emptying)s)), count(*)
                     FROM fsm_application a {APPLICATION_WARD}
                     WHERE a.emptied_at >= %(start)s AND a.emptied_at < %(end)s GROUP BY w.number""", params)


@indicator(code="FSM-9", group="fsm", feature="fsm", unit="count", higher_is_better=False,
           name=_("Emptied but not disposed"),
           formula=_("applications emptied in the period with no treatment plant arrival recorded after the "
                     "disposal SLA (hours)"),
           source=_("FSM applications and plant arrivals; FSM settings (disposal SLA)"),
           explanation=_("Loads that left a house but never reached a plant: each one may have been dumped."))
def fsm_emptied_not_disposed(ctx: Context) -> Rows:
    params = {**ctx.params, "hours": int(ctx.fsm.get("disposal_sla_hours", 24))}
    return _rows(f"""SELECT w.number, count(*) FILTER (
                         WHERE a.emptied_at + make_interval(hours => %(hours)s) < %(now)s
                           AND NOT EXISTS (SELECT 1 FROM fsm_disposal_applications da
                                           WHERE da.application_id = a.id)), count(*)
                     FROM fsm_application a {APPLICATION_WARD}
                     WHERE a.emptied_at >= %(start)s AND a.emptied_at < %(end)s GROUP BY w.number""", params)


# --- CWIS --------------------------------------------------------------------------------------------------

def _safe_sql(rule: dict) -> str:
    shared = "" if rule["is_shared_toilet_safe"] else "AND NOT b.has_shared_toilet"
    return f"""((b.sanitation_system = ANY(%(safe_systems)s)
                 OR (b.sanitation_system = ANY(%(containment_systems)s) AND EXISTS (
                     SELECT 1 FROM registry_containment_buildings cb
                     JOIN registry_containment c ON c.id = cb.containment_id
                     WHERE cb.building_id = b.id AND c.type = ANY(%(safe_types)s)
                       AND c.outlet = ANY(%(safe_outlets)s)))) {shared})"""


def _rule_params(rule: dict) -> dict:
    return {"safe_systems": list(rule["safe_systems"]), "containment_systems": list(rule["containment_systems"]),
            "safe_types": list(rule["safe_containment_types"]), "safe_outlets": list(rule["safe_outlets"])}


def _sanitation_population(ctx: Context) -> dict:
    """Per ward: people safely served, people, low-income people safely served, low-income people.

    Set-based, so it stays fast at 150,000 buildings: the buildings with a safe containment and those inside a
    low-income community (found from the few polygons through the footprints' spatial index) are each one
    semi-join, not a subquery per building."""
    rule = ctx.safe_rule
    shared = "" if rule["is_shared_toilet_safe"] else "AND NOT b.has_shared_toilet"
    return ctx.once("sanitation_population", lambda: _multi(f"""
        WITH safe_containment AS (
            SELECT DISTINCT cb.building_id FROM registry_containment_buildings cb
            JOIN registry_containment c ON c.id = cb.containment_id
            WHERE c.type = ANY(%(safe_types)s) AND c.outlet = ANY(%(safe_outlets)s)
        ), in_community AS (
            SELECT DISTINCT b.id FROM registry_lowincomecommunity lic
            JOIN registry_building b ON ST_Intersects(lic.geom, b.footprint)
        ), x AS (
            SELECT b.ward_id, b.population_male + b.population_female + b.population_other AS people,
                   ((b.sanitation_system = ANY(%(safe_systems)s)
                     OR (b.sanitation_system = ANY(%(containment_systems)s) AND sc.building_id IS NOT NULL))
                    {shared}) AS is_safe,
                   (b.is_low_income OR ic.id IS NOT NULL) AS is_low_income
            FROM registry_building b
            LEFT JOIN safe_containment sc ON sc.building_id = b.id
            LEFT JOIN in_community ic ON ic.id = b.id
        )
        SELECT w.number, sum(x.people) FILTER (WHERE x.is_safe), sum(x.people),
               sum(x.people) FILTER (WHERE x.is_safe AND x.is_low_income),
               sum(x.people) FILTER (WHERE x.is_low_income)
        FROM x LEFT JOIN registry_ward w ON w.id = x.ward_id GROUP BY w.number""", _rule_params(rule)))


@indicator(code="SF-1a", group="cwis", unit="%", is_period_bound=False,
           name=_("Population with safely managed sanitation"),
           formula=_("people in buildings whose sanitation is safe (by the safe-sanitation rule) ÷ people in all "
                     "buildings × 100"),
           source=_("Registry: buildings (population, sanitation system, shared toilet), containments (type, "
                    "outlet)"),
           explanation=_("How many residents use a toilet whose waste is safely contained or carried away: a sewer, "
                         "or a sealed tank or lined pit that does not overflow into a drain or water body."))
def cwis_safe_population(ctx: Context) -> Rows:
    return _pick(_sanitation_population(ctx), 0, 1)


@indicator(code="SF-2a", group="cwis", unit="%", is_period_bound=False,
           name=_("Low-income population with safely managed sanitation"),
           formula=_("people in low-income buildings (flagged, or inside a low-income community) with safe "
                     "sanitation ÷ people in low-income buildings × 100"),
           source=_("Registry: buildings, containments, low-income community boundaries"),
           explanation=_("The same measure for people in low-income communities."))
def cwis_safe_population_low_income(ctx: Context) -> Rows:
    return _pick(_sanitation_population(ctx), 2, 3)


def _equity_rows(ctx: Context) -> Rows:
    rows = {}
    for ward, (safe, people, safe_low, people_low) in _sanitation_population(ctx).items():
        rows[ward] = (_share(safe_low, people_low), _share(safe, people))
    return rows


def _share(numerator, denominator) -> Decimal:
    return Decimal(numerator) / Decimal(denominator) if denominator else Decimal(0)


def _equity_total(ctx: Context, rows: Rows) -> tuple:
    totals = [sum((values[i] for values in _sanitation_population(ctx).values()), Decimal(0)) for i in range(4)]
    if not totals[3]:
        return Decimal(0), Decimal(0)  # no low-income people: no data
    return _share(totals[2], totals[3]), _share(totals[0], totals[1])


@indicator(code="EQ-1", group="cwis", unit="ratio", is_period_bound=False,
           name=_("Sanitation equity ratio"),
           formula=_("share of low-income people with safe sanitation ÷ share of all people with safe sanitation"),
           source=_("Registry: buildings, containments, low-income community boundaries"),
           explanation=_("1.0 means low-income residents are as well served as everyone else; below 1.0 they are "
                         "left behind."))
def cwis_equity(ctx: Context) -> Rows:
    rows = _equity_rows(ctx)
    people_low = {ward: values[3] for ward, values in _sanitation_population(ctx).items()}
    rows = {ward: value if people_low.get(ward) else (Decimal(0), Decimal(0)) for ward, value in rows.items()}
    rows[ALL] = _equity_total(ctx, rows)  # a ratio of shares: the city figure is not the sum of the wards'
    return rows


@indicator(code="SF-3", group="cwis", feature="fsm", unit="%", name=_("Containments emptied"),
           formula=_("containments emptied at least once in the period ÷ containments in the registry × 100"),
           source=_("Registry containments (last emptied); FSM emptying records"),
           explanation=_("How many pits and tanks were emptied in the period. Regular emptying keeps them from "
                         "overflowing."))
def cwis_containments_emptied(ctx: Context) -> Rows:
    # the few containments emptied in the period, counted per ward; the containments per ward are period-free
    with connection.cursor() as cursor:
        cursor.execute("""WITH emptied AS (
                              SELECT a.containment_id AS id FROM fsm_application a
                              JOIN fsm_emptying e ON e.application_id = a.id
                              WHERE a.containment_id IS NOT NULL AND e.emptied_on >= %(start_date)s
                                AND e.emptied_on < %(end_date)s
                              UNION
                              SELECT id FROM registry_containment
                              WHERE last_emptied_on >= %(start_date)s AND last_emptied_on < %(end_date)s)
                          SELECT w.number, count(*) FROM emptied JOIN registry_containment c ON c.id = emptied.id
                          LEFT JOIN registry_ward w ON w.id = c.ward_id GROUP BY w.number""", ctx.params)
        emptied = {ward: Decimal(count) for ward, count in cursor.fetchall()}
    containments = ctx.part("containments_by_ward", ("registry",), _containments_by_ward)
    return {ward: (emptied.get(ward, Decimal(0)), containments.get(ward, Decimal(0)))
            for ward in set(containments) | set(emptied)}


def _containments_by_ward() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT w.number, count(*) FROM registry_containment c
                          LEFT JOIN registry_ward w ON w.id = c.ward_id GROUP BY w.number""")
        return {ward: Decimal(count) for ward, count in cursor.fetchall()}


def _city(numerator, denominator) -> Rows:
    return {ALL: (Decimal(numerator or 0), Decimal(denominator or 0))}


def _plant_volume(ctx: Context) -> Decimal:
    def compute():
        with connection.cursor() as cursor:
            cursor.execute("SELECT sum(volume_received_m3) FROM fsm_disposal WHERE arrived_at >= %(start)s "
                           "AND arrived_at < %(end)s", ctx.params)
            return Decimal(cursor.fetchone()[0] or 0)
    return ctx.once("plant_volume", compute)


@indicator(code="SF-1c", group="cwis", feature="fsm", unit="%", is_city_wide=True,
           name=_("Collected sludge received at plants"),
           formula=_("m³ received at treatment plants in the period ÷ m³ emptied in the period × 100"),
           source=_("Plant arrival records (including unregistered vehicles); FSM emptying records"),
           explanation=_("The plant gate's view: how much sludge arrived compared with how much was emptied."))
def cwis_collected_vs_emptied(ctx: Context) -> Rows:
    return _city(_plant_volume(ctx), sum(_emptied_volume(ctx).values(), Decimal(0)))


def _capacity(ctx: Context) -> Decimal:
    def compute():
        with connection.cursor() as cursor:
            cursor.execute("SELECT sum(capacity_m3_per_day) FROM registry_treatmentplant WHERE status = 'operational'")
            per_day = Decimal(cursor.fetchone()[0] or 0)
        return per_day * ctx.period.days_elapsed(today=ctx.today)
    return ctx.once("capacity", compute)


@indicator(code="SF-4a", group="cwis", feature="fsm", unit="%", is_city_wide=True,
           name=_("Treatment capacity vs sludge generated"),
           formula=_("operational plants' capacity (m³/day) × days elapsed ÷ sludge expected to be generated × 100"),
           source=_("Registry treatment plants; building population; FSM settings"),
           # xgettext:no-python-format  (a literal per cent sign)
           explanation=_("Could the plants treat all the sludge the city produces? 100 % or more means yes."))
def cwis_capacity_vs_generated(ctx: Context) -> Rows:
    return _city(_capacity(ctx), sum(_expected_sludge(ctx).values(), Decimal(0)))


@indicator(code="SF-4b", group="cwis", feature="fsm", unit="%", is_city_wide=True,
           name=_("Treatment capacity vs sludge collected"),
           formula=_("operational plants' capacity (m³/day) × days elapsed ÷ m³ emptied in the period × 100"),
           source=_("Registry treatment plants; FSM emptying records"),
           # xgettext:no-python-format  (a literal per cent sign)
           explanation=_("Can the plants take what is being collected today? Below 100 % they are overloaded."))
def cwis_capacity_vs_collected(ctx: Context) -> Rows:
    return _city(_capacity(ctx), sum(_emptied_volume(ctx).values(), Decimal(0)))


@indicator(code="SF-5", group="cwis", feature="fsm", unit="%", is_city_wide=True, sources=("fsm",),
           name=_("Effluent tests meeting standards"),
           formula=_("effluent tests in the period where every measured parameter meets the standard ÷ tests with "
                     "at least one measured parameter × 100"),
           source=_("Plant effluent tests; FSM settings (BOD, COD, TSS, E. coli, pH standards)"),
           explanation=_("Is the water leaving the plants clean enough to release?"))
def cwis_effluent_compliance(ctx: Context) -> Rows:
    from imis.tenant_apps.fsm.models import EffluentTest
    from imis.tenant_apps.fsm.services import effluent_test_compliance

    passed = tested = 0
    tests = EffluentTest.objects.filter(sampled_on__gte=ctx.period.start_date, sampled_on__lt=ctx.period.end_date)
    for test in tests.only("bod_mg_l", "cod_mg_l", "tss_mg_l", "ecoli_cfu_100ml", "ph"):
        results = [ok for ok in effluent_test_compliance(test, config=ctx.fsm).values() if ok is not None]
        if results:
            tested += 1
            passed += all(results)
    return _city(passed, tested)


def _facility_sql(use: str) -> str:
    return f"""SELECT w.number, count(*) FILTER (WHERE x.is_safe), count(*)
               FROM (SELECT b.ward_id, {{safe}} AS is_safe FROM registry_building b
                     WHERE b.functional_use = '{use}') x
               LEFT JOIN registry_ward w ON w.id = x.ward_id GROUP BY w.number"""


@indicator(code="SF-6a", group="cwis", unit="%", is_period_bound=False, name=_("Schools with safe sanitation"),
           formula=_("educational buildings with safe sanitation ÷ educational buildings × 100"),
           source=_("Registry: buildings (functional use, sanitation), containments"),
           explanation=_("Whether schools' toilets are safely managed."))
def cwis_schools(ctx: Context) -> Rows:
    return _rows(_facility_sql("educational").format(safe=_safe_sql(ctx.safe_rule)), _rule_params(ctx.safe_rule))


@indicator(code="SF-6b", group="cwis", unit="%", is_period_bound=False,
           name=_("Health facilities with safe sanitation"),
           formula=_("health buildings with safe sanitation ÷ health buildings × 100"),
           source=_("Registry: buildings (functional use, sanitation), containments"),
           explanation=_("Whether clinics' and hospitals' toilets are safely managed."))
def cwis_health_facilities(ctx: Context) -> Rows:
    return _rows(_facility_sql("health").format(safe=_safe_sql(ctx.safe_rule)), _rule_params(ctx.safe_rule))


# --- revenue -----------------------------------------------------------------------------------------------

TAX_SQL = """
WITH paid AS (
    SELECT pa.bill_id,
           sum(pa.amount) FILTER (WHERE p.received_at < %(start)s) AS before,
           sum(pa.amount) FILTER (WHERE p.received_at >= %(start)s AND p.received_at < %(end)s) AS during
    FROM tax_paymentallocation pa JOIN tax_payment p ON p.id = pa.payment_id AND p.status = 'valid'
    WHERE pa.bill_id IS NOT NULL GROUP BY pa.bill_id
)
SELECT w.number,
       sum(coalesce(paid.before, 0) + coalesce(paid.during, 0)) FILTER (WHERE b.due_date >= %(start_date)s),
       sum(b.current_amount + b.surcharge) FILTER (WHERE b.due_date >= %(start_date)s),
       sum(LEAST(coalesce(paid.during, 0), GREATEST(b.current_amount + b.surcharge - coalesce(paid.before, 0), 0)))
           FILTER (WHERE b.due_date < %(start_date)s),
       sum(GREATEST(b.current_amount + b.surcharge - coalesce(paid.before, 0), 0))
           FILTER (WHERE b.due_date < %(start_date)s)
FROM tax_bill b JOIN registry_holding h ON h.id = b.holding_id LEFT JOIN registry_ward w ON w.id = h.ward_id
LEFT JOIN paid ON paid.bill_id = b.id
WHERE b.due_date < %(end_date)s
GROUP BY w.number
"""


def _tax(ctx: Context) -> dict:
    return ctx.once("tax", lambda: _multi(TAX_SQL, ctx.params))


@indicator(code="TAX-1", group="revenue", feature="holding_tax", unit="%", name=_("Holding tax collection efficiency"),
           formula=_("(current + arrears collected) ÷ (current + arrears demand) × 100"),
           source=_("Holding tax bills and valid payments (allocations)"),
           explanation=_("Of all the holding tax that was due, how much was paid."))
def tax_collection_efficiency(ctx: Context) -> Rows:
    return {ward: (v[0] + v[2], v[1] + v[3]) for ward, v in _tax(ctx).items()}


@indicator(code="TAX-1a", group="revenue", feature="holding_tax", unit="%", name=_("Collection efficiency, current"),
           formula=_("payments (received up to the end of the period) against bills falling due in the period ÷ "
                     "those bills' charges and surcharges × 100"),
           source=_("Holding tax bills and valid payments (allocations)"),
           explanation=_("How much of this period's bills has been paid."))
def tax_collection_current(ctx: Context) -> Rows:
    return _pick(_tax(ctx), 0, 1)


@indicator(code="TAX-1b", group="revenue", feature="holding_tax", unit="%", name=_("Collection efficiency, arrears"),
           formula=_("payments in the period against bills due before it ÷ what was still unpaid on those bills at "
                     "the start of the period × 100"),
           source=_("Holding tax bills and valid payments (allocations)"),
           explanation=_("How much of the old dues was recovered in this period."))
def tax_collection_arrears(ctx: Context) -> Rows:
    return _pick(_tax(ctx), 2, 3)


@indicator(code="TAX-2", group="revenue", feature="holding_tax", unit="%", higher_is_better=False,
           name=_("Holdings in arrears"),
           formula=_("holdings with an unpaid bill due before the end of the period (or today) ÷ holdings billed "
                     "× 100"),
           source=_("Holding tax bills and valid payments (allocations)"),
           explanation=_("How many property owners are behind with their holding tax."))
def tax_holdings_in_arrears(ctx: Context) -> Rows:
    params = {**ctx.params, "as_of": min(ctx.period.end_date, (ctx.today or timezone.localdate()))}
    return _rows("""
        WITH owed AS (
            SELECT b.holding_id, sum(b.current_amount + b.surcharge - coalesce((
                SELECT sum(pa.amount) FROM tax_paymentallocation pa JOIN tax_payment p ON p.id = pa.payment_id
                WHERE pa.bill_id = b.id AND p.status = 'valid' AND p.received_at < %(end)s), 0)) AS due
            FROM tax_bill b WHERE b.due_date < %(as_of)s GROUP BY b.holding_id
        )
        SELECT w.number, count(*) FILTER (WHERE o.due > 0), count(*)
        FROM owed o JOIN registry_holding h ON h.id = o.holding_id LEFT JOIN registry_ward w ON w.id = h.ward_id
        GROUP BY w.number""", params)


def _licences_selector():
    """The trade-licence app's renewal selector, when that app (built separately) is installed and has one."""
    if not apps.is_installed("imis.tenant_apps.licences"):
        return None
    try:
        from imis.tenant_apps.licences import selectors  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(selectors, "licences_renewed_on_time", None)


@indicator(code="TL-1", group="revenue", feature="trade_licence", unit="%", name=_("Trade licences renewed on time"),
           formula=_("licences due for renewal in the period renewed by their due date ÷ licences due for renewal in "
                     "the period × 100"),
           source=_("Trade licences (renewal due dates and renewals)"),
           explanation=_("How many businesses renewed their trade licence before it lapsed."),
           is_available=lambda: _licences_selector() is not None)
def licences_renewed_on_time(ctx: Context) -> Rows:
    selector = _licences_selector()
    rows = selector(start=ctx.period.start_date, end=ctx.period.end_date)  # {ward number: (on time, due)}
    return {ward: (Decimal(on_time or 0), Decimal(due or 0)) for ward, (on_time, due) in rows.items()}


# --- registry health ---------------------------------------------------------------------------------------

def _dataio_installed() -> bool:
    return apps.is_installed("imis.tenant_apps.dataio")


@indicator(code="DQ-1", group="registry", unit="%", is_period_bound=False, sources=("dataio", "registry"),
           name=_("Registry data-quality score"),
           formula=_("records (buildings, holdings, containments) not flagged by any data-quality check ÷ records "
                     "× 100, from the latest data-quality report"),
           source=_("Registry data-quality report"),
           explanation=_("How clean the registry is. It rises as flagged records are fixed; refresh the data-quality "
                         "report to update it."),
           is_available=_dataio_installed)
def registry_quality(ctx: Context) -> Rows:
    from imis.tenant_apps.dataio.quality import quality_latest

    report = quality_latest()
    if report is None:
        return {}
    return {ward.number: (Decimal(ward.records - ward.problems), Decimal(ward.records)) for ward in report.wards}


# --- lookups -----------------------------------------------------------------------------------------------

def indicators_for(enabled_features) -> list[Indicator]:
    """The indicators a municipality sees: those of its enabled features whose app is installed."""
    enabled = set(enabled_features)
    return [item for item in REGISTRY.values()
            if (item.feature is None or item.feature in enabled) and item.is_available()]


def total_of(item: Indicator, ctx: Context, rows: Rows) -> tuple[Decimal, Decimal]:
    if ALL in rows:
        return rows[ALL]
    if item.total is not None:
        return item.total(ctx, rows)
    numerator = sum((values[0] for values in rows.values()), Decimal(0))
    denominator = sum((values[1] for values in rows.values()), Decimal(0))
    return numerator, denominator


# Bangla names for the PDF report (the web UI translates through gettext).
NAMES_BN = {
    "FSM-1": "আবেদনে সাড়া দেওয়ার দক্ষতা", "FSM-2": "সাড়া দেওয়ার সময়", "FSM-3": "গ্রাহক সন্তুষ্টি",
    "FSM-4": "সুরক্ষা সরঞ্জাম (PPE) ব্যবহার", "FSM-4b": "সুরক্ষা সরঞ্জাম ব্যবহার (কর্মীদের তথ্য)",
    "FSM-5": "নিরাপদ পয়ঃবর্জ্য অপসারণ (আয়তন)", "FSM-5b": "নিরাপদ পয়ঃবর্জ্য অপসারণ (সংখ্যা)",
    "FSM-6": "অন্তর্ভুক্তি (নিম্ন আয়ের এলাকা)", "FSM-7": "পয়ঃবর্জ্য সংগ্রহের অনুপাত", "FSM-8": "সেবার সময়সীমা মেনে চলা",
    "FSM-9": "খালি করা হয়েছে কিন্তু শোধনাগারে পৌঁছায়নি",
    "SF-1a": "নিরাপদ স্যানিটেশন সুবিধাপ্রাপ্ত জনসংখ্যা", "SF-2a": "নিম্ন আয়ের জনগোষ্ঠীর নিরাপদ স্যানিটেশন",
    "EQ-1": "স্যানিটেশন সমতা অনুপাত", "SF-3": "খালি করা ট্যাংক/পিট", "SF-1c": "শোধনাগারে পৌঁছানো সংগৃহীত পয়ঃবর্জ্য",
    "SF-4a": "শোধন ক্ষমতা বনাম উৎপন্ন পয়ঃবর্জ্য", "SF-4b": "শোধন ক্ষমতা বনাম সংগৃহীত পয়ঃবর্জ্য",
    "SF-5": "মানদণ্ড পূরণকারী বর্জ্যপানি পরীক্ষা", "SF-6a": "নিরাপদ স্যানিটেশনসহ বিদ্যালয়",
    "SF-6b": "নিরাপদ স্যানিটেশনসহ স্বাস্থ্যকেন্দ্র",
    "TAX-1": "হোল্ডিং কর আদায়ের দক্ষতা", "TAX-1a": "আদায়ের দক্ষতা, চলতি", "TAX-1b": "আদায়ের দক্ষতা, বকেয়া",
    "TAX-2": "বকেয়াসহ হোল্ডিং", "TL-1": "সময়মতো নবায়নকৃত ট্রেড লাইসেন্স", "DQ-1": "নিবন্ধন তথ্যের মান",
}
