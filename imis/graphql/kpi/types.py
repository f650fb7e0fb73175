"""KPI types (read with `kpi.view`): a period's indicator values for the municipality or one ward, each with its
previous value, target, status, quarterly series and per-ward values. Only the indicators of the municipality's
enabled features appear. Values are Decimals (strings): percentages 0–100, hours, ratios or counts (`unit`)."""

from __future__ import annotations

import datetime

import graphene

VIEW = "kpi.view"

KpiStatus = graphene.Enum("KpiStatus", [("GREEN", "green"), ("AMBER", "amber"), ("RED", "red")],
                          description="Against the target: met, within the amber band of it, or further off.")
KpiTrend = graphene.Enum("KpiTrend", [("UP", "up"), ("DOWN", "down"), ("FLAT", "flat")],
                         description="Against the previous period.")


class KpiPeriod(graphene.ObjectType):
    """A fiscal year (2026 = 2026-27) or one of its quarters (1 = Jul–Sep)."""

    imis_permission = VIEW
    year = graphene.Int(required=True)
    quarter = graphene.Int()
    label = graphene.String(required=True, description="e.g. `Q2 2026-27`.")
    start_date = graphene.Date(required=True)
    end_date = graphene.Date(required=True, description="The last day of the period.")

    def resolve_end_date(period, info):
        return period.end_date - datetime.timedelta(days=1)


class KpiTargetType(graphene.ObjectType):
    imis_permission = VIEW

    class Meta:
        name = "KpiTarget"
        description = "The municipality's target for an indicator in a fiscal year."

    target = graphene.Decimal(required=True)
    higher_is_better = graphene.Boolean(required=True)
    amber_band = graphene.Decimal(required=True, description="How far short still shows amber.")

    def resolve_higher_is_better(target, info):
        return target.direction == "higher"


class KpiSeriesPoint(graphene.ObjectType):
    imis_permission = VIEW
    label = graphene.String(required=True, description="Q1 … Q4.")
    value = graphene.Decimal()


class KpiWardValue(graphene.ObjectType):
    imis_permission = VIEW
    ward = graphene.Int(required=True)
    value = graphene.Decimal()


class KpiValueType(graphene.ObjectType):
    """One indicator for the period (and ward): null `value` means no data."""

    imis_permission = VIEW

    class Meta:
        name = "KpiValue"

    code = graphene.String(required=True)
    name = graphene.String(required=True)
    group = graphene.String(required=True, description="fsm, cwis, revenue or registry.")
    unit = graphene.String(required=True, description="`%`, `h`, `ratio` or `count`.")
    formula = graphene.String(required=True)
    source = graphene.String(required=True)
    explanation = graphene.String(required=True)
    higher_is_better = graphene.Boolean(required=True)
    is_city_wide = graphene.Boolean(required=True, description="Its data has no ward: the city figure always.")
    value = graphene.Decimal()
    numerator = graphene.Decimal()
    denominator = graphene.Decimal()
    previous = graphene.Decimal(description="The previous period's value.")
    trend = graphene.Field(KpiTrend)
    status = graphene.Field(KpiStatus, description="Null without a target or data.")
    target = graphene.Field(KpiTargetType)
    series = graphene.List(graphene.NonNull(KpiSeriesPoint), required=True,
                           description="The fiscal year's quarters so far (period-bound indicators).")
    by_ward = graphene.List(graphene.NonNull(KpiWardValue), required=True,
                            description="Each ward's value (empty for city-wide indicators).")

    def resolve_code(kpi, info):
        return kpi.code

    def resolve_name(kpi, info):
        return str(kpi.indicator.name)

    def resolve_group(kpi, info):
        return kpi.indicator.group

    def resolve_unit(kpi, info):
        return kpi.indicator.unit

    def resolve_formula(kpi, info):
        return str(kpi.indicator.formula)

    def resolve_source(kpi, info):
        return str(kpi.indicator.source)

    def resolve_explanation(kpi, info):
        return str(kpi.indicator.explanation)

    def resolve_higher_is_better(kpi, info):
        return kpi.indicator.higher_is_better

    def resolve_is_city_wide(kpi, info):
        return kpi.indicator.is_city_wide

    def resolve_series(kpi, info):
        return [KpiSeriesPoint(label=label, value=value) for label, value in kpi.series]

    def resolve_by_ward(kpi, info):
        values = getattr(kpi, "ward_values", None) or {}
        return [KpiWardValue(ward=ward, value=value) for ward, value in sorted(values.items())]


class KpiDashboard(graphene.ObjectType):
    """Every indicator the municipality sees, for a period and the city or one ward."""

    imis_permission = VIEW

    period = graphene.Field(KpiPeriod, required=True)
    ward = graphene.Int(description="Null for the whole municipality.")
    computed_at = graphene.DateTime(required=True)
    values = graphene.List(graphene.NonNull(KpiValueType), required=True,
                           codes=graphene.List(graphene.NonNull(graphene.String),
                                               description="Only these indicators."))

    def resolve_values(dashboard, info, codes=None):
        wanted = set(codes) if codes is not None else None
        values = [value for value in dashboard.values if wanted is None or value.code in wanted]
        for value in values:
            value.ward_values = dashboard.by_ward.get(value.code, {})
        return values
