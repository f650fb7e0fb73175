"""Computing the dashboard: every indicator for a period, per ward, cached under the versions of its sources.

Any audited change (an emptying, a disposal, a feedback, a payment ...) bumps the version of the app it touched
(imis.platform.versioning), so the next request recomputes the indicators that read that app's tables — an
emptying recomputes the FSM indicators, not the registry's sanitation coverage nor holding tax — from the raw
tables: numbers are current within seconds, with no nightly batch. Between changes, a dashboard is a handful of
cache reads. Entries also expire after CACHE_SECONDS and are keyed by today's date while their period runs,
because a few indicators depend on the clock (days elapsed, loads overdue for disposal).

The dashboard page asks for `stale_ok`: when some indicators must be recomputed and their last value is at hand,
it shows the last value at once, says so on the page (with the time it was computed), and a Celery task
recomputes them; the page reloads itself a few seconds later. If no worker picks the task up within
REFRESH_GRACE_SECONDS, the next request computes in the request. Exports and the API-like endpoints never take a
stale value.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from imis.platform.versioning import data_version_current, source_versions_current
from imis.shared_apps.tenants.features import enabled_features_of, feature_settings, is_feature_enabled

from .indicators import (
    ALL,
    DEFAULT_SAFE_RULE,
    GROUPS,
    REGISTRY,
    Context,
    Indicator,
    Period,
    Rows,
    indicators_for,
    total_of,
    versions_key,
)
from .models import KpiTarget, SanitationRule

CACHE_SECONDS = 600
LAST_VALUE_SECONDS = 7 * 24 * 3600  # the last computed value, shown while a newer one is being computed
REFRESH_GRACE_SECONDS = 20  # how long a queued refresh may take before requests compute themselves


# --- settings a computation depends on ---------------------------------------------------------------------

def safe_rule_current() -> dict:
    rule = SanitationRule.objects.first()
    if rule is None:
        return dict(DEFAULT_SAFE_RULE)
    return {"safe_systems": rule.safe_systems, "containment_systems": rule.containment_systems,
            "safe_containment_types": rule.safe_containment_types, "safe_outlets": rule.safe_outlets,
            "is_shared_toilet_safe": rule.is_shared_toilet_safe}


def safe_rule_set(*, by, **rule) -> SanitationRule:
    from imis.tenant_apps.audit.models import AuditEntry
    from imis.tenant_apps.audit.services import audit_record

    with transaction.atomic():
        row = SanitationRule.objects.select_for_update().first() or SanitationRule()
        before = safe_rule_current()
        for name, value in rule.items():
            setattr(row, name, value)
        row.save()
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=row, before=before, after=rule)
    return row


def kpi_context(period: Period, *, municipality=None) -> Context:
    municipality = municipality or connection.tenant
    # Defaults when the feature has no stored settings (its indicators are hidden then anyway).
    return Context(period=period, fsm=feature_settings(municipality, "fsm"), safe_rule=safe_rule_current())


def _settings_digest(ctx: Context) -> str:
    text = json.dumps([ctx.fsm, ctx.safe_rule], sort_keys=True, default=str)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:10]


def _scope(item: Indicator, period: Period, today: datetime.date) -> str:
    """The period part of a cache key: 'now' for registry snapshots; the period, and today's date while the
    period runs (days elapsed and "overdue" move with the clock)."""
    if not item.is_period_bound:
        return "now"
    return period.key if period.end_date <= today else f"{period.key}@{today.isoformat()}"


def _cache_key(versions: dict, digest: str, item: Indicator, period: Period, today: datetime.date) -> str:
    return f"kpi:{digest}:{item.code}:{_scope(item, period, today)}:{versions_key(item.sources, versions)}"


def _last_key(digest: str, item: Indicator, period: Period) -> str:
    return f"kpi:last:{digest}:{item.code}:{period.key if item.is_period_bound else 'now'}"


def sources_of(items) -> set[str]:
    return {name for item in items for name in item.sources}


# --- computing ---------------------------------------------------------------------------------------------

@dataclass
class Freshness:
    """What a dashboard served: stale values (computed before the latest change) and when they were computed."""

    stale_codes: set = field(default_factory=set)
    as_of: datetime.datetime | None = None
    refresh_queued: bool = False

    def note_stale(self, code: str, computed_at: datetime.datetime) -> None:
        self.stale_codes.add(code)
        self.as_of = computed_at if self.as_of is None else min(self.as_of, computed_at)


def indicator_rows(items: list[Indicator], period: Period, *, ctx: Context | None = None,
                   use_cache: bool = True, versions: dict | None = None,
                   stale: dict | None = None) -> dict[str, Rows]:
    """Each indicator's per-ward (numerator, denominator) for the period, from the cache or the database.

    With `stale` (a dict), an indicator whose current value is not cached but whose last value is, gets the
    last value, and `stale[code] = computed_at` records it: the caller decides to queue a refresh."""
    ctx = ctx or kpi_context(period)
    if ctx.period != period:
        ctx = Context(period=period, fsm=ctx.fsm, safe_rule=ctx.safe_rule, today=ctx.today)
    if not use_cache:
        return {item.code: item.compute(ctx) for item in items}
    versions = versions or source_versions_current(sources_of(items))
    ctx.versions = versions
    digest, today = _settings_digest(ctx), ctx.today or timezone.localdate()
    keys = {item.code: _cache_key(versions, digest, item, period, today) for item in items}
    found = cache.get_many(list(keys.values()))
    result, to_compute = {}, []
    for item in items:
        if keys[item.code] in found:
            result[item.code] = found[keys[item.code]]
        else:
            to_compute.append(item)
    if to_compute and stale is not None:
        last_keys = {item.code: _last_key(digest, item, period) for item in to_compute}
        last = cache.get_many(list(last_keys.values()))
        for item in list(to_compute):
            entry = last.get(last_keys[item.code])
            if entry is not None:
                rows, computed_at = entry
                result[item.code] = rows
                stale[(item.code, period)] = computed_at
                to_compute.remove(item)
    if to_compute:
        computed_at, fresh = timezone.now(), {}
        for item in to_compute:
            result[item.code] = fresh[keys[item.code]] = item.compute(ctx)
        cache.set_many(fresh, CACHE_SECONDS)
        cache.set_many({_last_key(digest, item, period): (result[item.code], computed_at) for item in to_compute},
                       LAST_VALUE_SECONDS)
    return result


def _round(value: Decimal | None, unit: str) -> Decimal | None:
    if value is None:
        return None
    places = {"ratio": Decimal("0.01"), "count": Decimal(1)}.get(unit, Decimal("0.1"))
    return Decimal(value).quantize(places, rounding=ROUND_HALF_UP)


@dataclass
class KpiValue:
    indicator: Indicator
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    previous: Decimal | None = None
    target: KpiTarget | None = None
    series: list = field(default_factory=list)  # [(label, value)] quarters of the year

    @property
    def code(self) -> str:
        return self.indicator.code

    @property
    def has_data(self) -> bool:
        return self.value is not None

    @property
    def status(self) -> str | None:
        return target_status(self.value, self.target)

    @property
    def trend(self) -> str | None:
        """"up" / "down" / "flat" against the previous period; None when either has no data."""
        if self.value is None or self.previous is None:
            return None
        if self.value == self.previous:
            return "flat"
        return "up" if self.value > self.previous else "down"

    @property
    def is_trend_good(self) -> bool | None:
        if self.trend in (None, "flat"):
            return None
        return (self.trend == "up") == self.indicator.higher_is_better


def target_status(value: Decimal | None, target: KpiTarget | None) -> str | None:
    """green: the target is met; amber: within the amber band of it; red: further off. None: no data / target."""
    if value is None or target is None:
        return None
    gap = (target.target - value) if target.direction == KpiTarget.Direction.HIGHER else (value - target.target)
    if gap <= 0:
        return "green"
    return "amber" if gap <= target.amber_band else "red"


def _value(item: Indicator, ctx: Context, rows: Rows, ward: int | None) -> tuple:
    if ward is None or item.is_city_wide:
        numerator, denominator = total_of(item, ctx, rows)
    else:
        numerator, denominator = rows.get(ward, (Decimal(0), Decimal(0)))
    value = item.value_of(numerator, denominator)
    if value is None:
        return None, numerator, denominator
    return _round(value, item.unit), numerator, denominator


@dataclass
class Dashboard:
    period: Period
    ward: int | None
    values: list[KpiValue]
    by_ward: dict  # code -> {ward number: value}
    version: int
    computed_at: datetime.datetime
    freshness: Freshness = field(default_factory=Freshness)

    @property
    def is_updating(self) -> bool:
        """Some values shown are the last computed ones; newer ones are being computed."""
        return bool(self.freshness.stale_codes)

    def groups(self) -> list[tuple[str, str, list[KpiValue]]]:
        return [(code, label, [v for v in self.values if v.indicator.group == code])
                for code, label in GROUPS.items() if any(v.indicator.group == code for v in self.values)]

    def value(self, code: str) -> KpiValue | None:
        return next((v for v in self.values if v.code == code), None)


def targets_for(year: int) -> dict[str, KpiTarget]:
    return {target.code: target for target in KpiTarget.objects.filter(year=year)}


def dashboard_compute(*, period: Period, ward: int | None = None, municipality=None, use_cache: bool = True,
                      with_series: bool = True, stale_ok: bool = False) -> Dashboard:
    """Every visible indicator's value, previous value, target and quarterly series, for the city or a ward.

    stale_ok: serve the last computed value of what must be recomputed, and queue the recomputation (see the
    module's docstring); `Dashboard.is_updating` then says so."""
    municipality = municipality or connection.tenant
    items = indicators_for(enabled_features_of(municipality))
    ctx = kpi_context(period, municipality=municipality)
    versions = source_versions_current(sources_of(items)) if use_cache else None
    stale: dict | None = {} if stale_ok and use_cache and not _refresh_is_overdue(ctx, versions) else None
    options = {"use_cache": use_cache, "versions": versions, "stale": stale}
    rows = indicator_rows(items, period, ctx=ctx, **options)
    previous_period = period.previous()
    previous_ctx = Context(period=previous_period, fsm=ctx.fsm, safe_rule=ctx.safe_rule)
    bound = [item for item in items if item.is_period_bound]
    previous_rows = indicator_rows(bound, previous_period, ctx=previous_ctx, **options)
    quarter_rows: dict[Period, dict] = {}
    if with_series:
        for quarter in period.quarters():
            if quarter.start_date > timezone.localdate():
                continue
            if quarter == period:
                quarter_rows[quarter] = rows
            elif quarter == previous_period:
                quarter_rows[quarter] = previous_rows
            else:
                quarter_ctx = Context(period=quarter, fsm=ctx.fsm, safe_rule=ctx.safe_rule)
                quarter_rows[quarter] = indicator_rows(bound, quarter, ctx=quarter_ctx, **options)
    freshness = Freshness()
    if stale:
        for (code, _period), computed_at in stale.items():
            freshness.note_stale(code, computed_at)
        freshness.refresh_queued = _refresh_queue(ctx, versions, period=period, with_series=with_series)
    targets = targets_for(period.year)
    values, by_ward = [], {}
    for item in items:
        value, numerator, denominator = _value(item, ctx, rows[item.code], ward)
        kpi = KpiValue(indicator=item, value=value, numerator=numerator, denominator=denominator,
                       target=targets.get(item.code))
        if item.is_period_bound:
            kpi.previous = _value(item, previous_ctx, previous_rows[item.code], ward)[0]
            kpi.series = [(f"Q{q.quarter}", _value(item, ctx, quarter_rows[q][item.code], ward)[0])
                          for q in sorted(quarter_rows, key=lambda p: p.quarter)]
        values.append(kpi)
        if not item.is_city_wide:
            by_ward[item.code] = {number: _round(item.value_of(*pair), item.unit)
                                  for number, pair in rows[item.code].items() if number not in (None, ALL)}
    return Dashboard(period=period, ward=ward, values=values, by_ward=by_ward, version=data_version_current(),
                     computed_at=timezone.now(), freshness=freshness)


PENDING_SINCE_KEY = "kpi:refresh:pending-since"  # when the oldest refresh not yet done was queued


def _refresh_key(ctx: Context, versions: dict) -> str:
    return f"kpi:refresh:{_settings_digest(ctx)}:{versions_key(versions.keys() - {'*'}, versions)}"


def _refresh_is_overdue(ctx: Context, versions: dict | None) -> bool:
    """A queued refresh has waited longer than the grace: no worker is taking them (or they are slow), so
    requests compute in the request until the refreshes land again."""
    if versions is None:
        return False
    pending_since = cache.get(PENDING_SINCE_KEY)
    return pending_since is not None and timezone.now().timestamp() - pending_since > REFRESH_GRACE_SECONDS


def _refresh_queue(ctx: Context, versions: dict, *, period: Period, with_series: bool) -> bool:
    """Queue one recomputation per period and version set (a lock in the cache); True if queued now or before."""
    from .tasks import kpi_refresh_task

    key = f"{_refresh_key(ctx, versions)}:{period.key}"
    if cache.add(key, timezone.now().timestamp(), CACHE_SECONDS):
        cache.add(PENDING_SINCE_KEY, timezone.now().timestamp(), CACHE_SECONDS)
        try:
            kpi_refresh_task.delay(period.year, period.quarter)
        except Exception:  # noqa: BLE001 - the broker is down: requests compute in the request meanwhile
            cache.set(PENDING_SINCE_KEY, 0, CACHE_SECONDS)
            return False
    return True


def dashboard_refresh(*, period: Period) -> Dashboard:
    """Recompute (into the cache) every indicator a dashboard of the period shows: what the refresh task does."""
    dashboard = dashboard_compute(period=period)
    cache.delete(PENDING_SINCE_KEY)
    return dashboard


# --- chart series (cheap aggregates, cached the same way) --------------------------------------------------

CHART_SOURCES = ("fsm", "tax", "payments", "registry")


def _cached(name: str, period: Period, compute):
    versions = source_versions_current(CHART_SOURCES)
    key = f"kpi:chart:{name}:{period.key}:{timezone.localdate().isoformat()}:{versions_key(CHART_SOURCES, versions)}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def monthly_activity(*, period: Period, ward: int | None = None, municipality=None) -> dict:
    """Per month of the period: applications received and emptied, m³ emptied and delivered, tax collected."""
    municipality = municipality or connection.tenant
    months = period.months()
    params = {"start": period.start, "end": period.end, "ward": ward}
    ward_filter = "AND w.number = %(ward)s" if ward is not None else ""
    series: dict[str, dict] = {}

    def by_month(sql: str) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {row[0]: [float(value or 0) for value in row[1:]] for row in cursor.fetchall()}

    if is_feature_enabled(municipality, "fsm"):
        received = by_month(f"""SELECT date_trunc('month', a.received_at AT TIME ZONE 'Asia/Dhaka')::date, count(*)
            FROM fsm_application a LEFT JOIN registry_ward w ON w.id = a.ward_id
            WHERE a.received_at >= %(start)s AND a.received_at < %(end)s {ward_filter} GROUP BY 1""")
        emptied = by_month(f"""SELECT date_trunc('month', e.emptied_on)::date, count(*), sum(e.volume_m3)
            FROM fsm_emptying e JOIN fsm_application a ON a.id = e.application_id
            LEFT JOIN registry_ward w ON w.id = a.ward_id
            WHERE e.emptied_on >= %(start)s::date AND e.emptied_on < %(end)s::date {ward_filter} GROUP BY 1""")
        series["applications"] = [received.get(m, [0])[0] for m in months]
        series["emptied"] = [emptied.get(m, [0, 0])[0] for m in months]
        series["volume"] = [emptied.get(m, [0, 0])[1] for m in months]
        if ward is None:
            delivered = by_month("""SELECT date_trunc('month', d.arrived_at AT TIME ZONE 'Asia/Dhaka')::date,
                                           sum(d.volume_received_m3)
                                    FROM fsm_disposal d WHERE d.arrived_at >= %(start)s AND d.arrived_at < %(end)s
                                    GROUP BY 1""")
            series["delivered"] = [delivered.get(m, [0])[0] for m in months]
    if is_feature_enabled(municipality, "holding_tax"):
        collected = by_month(f"""SELECT date_trunc('month', p.received_at AT TIME ZONE 'Asia/Dhaka')::date,
                                        sum(p.amount)
            FROM tax_payment p JOIN registry_holding h ON h.id = p.holding_id
            LEFT JOIN registry_ward w ON w.id = h.ward_id
            WHERE p.status = 'valid' AND p.received_at >= %(start)s AND p.received_at < %(end)s {ward_filter}
            GROUP BY 1""")
        series["tax_collected"] = [collected.get(m, [0])[0] for m in months]
    return {"months": [m.strftime("%b %Y") for m in months], "month_starts": [m.isoformat() for m in months],
            "series": series}


def tax_collection_by_ward(*, period: Period) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT w.number, sum(p.amount) FROM tax_payment p JOIN registry_holding h ON h.id = p.holding_id
                          LEFT JOIN registry_ward w ON w.id = h.ward_id
                          WHERE p.status = 'valid' AND p.received_at >= %s AND p.received_at < %s
                          GROUP BY w.number ORDER BY w.number NULLS LAST""", [period.start, period.end])
        return [{"ward": ward, "amount": float(amount or 0)} for ward, amount in cursor.fetchall()]


def by_provider(*, period: Period, ward: int | None = None) -> list[dict]:
    """Emptyings per service provider: count, m³, average response hours, PPE worn (crew-reported) %."""
    ward_filter = "AND w.number = %(ward)s" if ward is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT sp.name, count(*), sum(e.volume_m3),
                   avg(extract(epoch FROM a.emptied_at - a.received_at)) / 3600,
                   100.0 * count(*) FILTER (WHERE e.is_ppe_worn) / count(*)
            FROM fsm_emptying e JOIN fsm_application a ON a.id = e.application_id
            JOIN fsm_vehicle v ON v.id = e.vehicle_id JOIN fsm_serviceprovider sp ON sp.id = v.provider_id
            LEFT JOIN registry_ward w ON w.id = a.ward_id
            WHERE e.emptied_on >= %(start)s AND e.emptied_on < %(end)s {ward_filter}
            GROUP BY sp.name ORDER BY sp.name""",
                       {"start": period.start_date, "end": period.end_date, "ward": ward})
        return [{"provider": name, "emptyings": count, "volume": float(volume or 0),
                 "response_hours": round(float(hours), 1) if hours is not None else None,
                 "ppe": round(float(ppe), 1) if ppe is not None else None}
                for name, count, volume, hours, ppe in cursor.fetchall()]


def charts_data(*, dashboard: Dashboard, municipality=None) -> dict:
    municipality = municipality or connection.tenant
    period, ward = dashboard.period, dashboard.ward
    data = {
        "monthly": _cached(f"monthly:{ward}", period, lambda: monthly_activity(period=period, ward=ward,
                                                                              municipality=municipality)),
        "kpis": [{"code": v.code, "name": str(v.indicator.name), "unit": v.indicator.unit,
                  "value": _float(v.value), "target": _float(v.target.target) if v.target else None,
                  "series": [[label, _float(value)] for label, value in v.series],
                  "by_ward": {str(number): _float(value) for number, value in
                              sorted(dashboard.by_ward.get(v.code, {}).items())},
                  "higher_is_better": v.indicator.higher_is_better}
                 for v in dashboard.values],
    }
    if is_feature_enabled(municipality, "fsm"):
        data["providers"] = _cached(f"providers:{ward}", period, lambda: by_provider(period=period, ward=ward))
    return data


def _float(value) -> float | None:
    return None if value is None else float(value)


# --- targets -----------------------------------------------------------------------------------------------

def target_set(*, by, code: str, year: int, target: Decimal | None, direction: str | None = None,
               amber_band: Decimal | None = None) -> KpiTarget | None:
    """Set (or, with target None, clear) one indicator's target for a fiscal year; audited."""
    from django.core.exceptions import ValidationError

    from imis.tenant_apps.audit.models import AuditEntry
    from imis.tenant_apps.audit.services import audit_record

    item = REGISTRY.get(code)
    if item is None:
        raise ValidationError({"code": "Unknown indicator."}, code="unknown_indicator")
    with transaction.atomic():
        existing = KpiTarget.objects.select_for_update().filter(code=code, year=year).first()
        if target is None:
            if existing is not None:
                audit_record(actor=by, action=AuditEntry.Action.DELETE, instance=existing,
                             before={"target": str(existing.target)})
                existing.delete()
            return None
        row = existing or KpiTarget(code=code, year=year)
        before = None if existing is None else {"target": str(existing.target), "direction": existing.direction,
                                                "amber_band": str(existing.amber_band)}
        row.target = target
        row.direction = direction or (KpiTarget.Direction.HIGHER if item.higher_is_better
                                      else KpiTarget.Direction.LOWER)
        row.amber_band = amber_band if amber_band is not None else row.amber_band
        row.updated_by_id = getattr(by, "pk", None)
        row.save()
        audit_record(actor=by, action=AuditEntry.Action.UPDATE if existing else AuditEntry.Action.CREATE,
                     instance=row, before=before,
                     after={"target": str(row.target), "direction": row.direction,
                            "amber_band": str(row.amber_band)})
    return row
