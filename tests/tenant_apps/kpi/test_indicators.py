"""Every indicator against numbers worked out by hand from the scene in conftest.py."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from imis.shared_apps.tenants.features import feature_settings
from imis.tenant_apps.kpi.indicators import REGISTRY, Context, Period, total_of

from .conftest import FY

pytestmark = pytest.mark.django_db


def figures(code, year=FY, quarter=None, ward="city", today=None):
    """(value, numerator, denominator) of one indicator."""
    item = REGISTRY[code]
    ctx = Context(period=Period(year, quarter), fsm=feature_settings(connection.tenant, "fsm"),
                  today=today or datetime.date(2026, 11, 28))
    rows = item.compute(ctx)
    numerator, denominator = total_of(item, ctx, rows) if ward == "city" else rows.get(ward, (0, 0))
    value = item.value_of(numerator, denominator)
    return (None if value is None else round(value, 2)), numerator, denominator


def value(code, **kwargs):
    return figures(code, **kwargs)[0]


def pct(numerator, denominator):
    return round(Decimal(numerator) * 100 / Decimal(denominator), 2)


def test_periods_are_fiscal_years_and_quarters():
    assert (Period(2025).start_date, Period(2025).end_date) == (datetime.date(2025, 7, 1), datetime.date(2026, 7, 1))
    assert (Period(2025, 3).start_date, Period(2025, 3).end_date) == (datetime.date(2026, 1, 1),
                                                                      datetime.date(2026, 4, 1))
    assert Period(2025, 1).previous() == Period(2024, 4) and Period(2025).previous() == Period(2024)
    assert Period(2025).days_elapsed(today=datetime.date(2026, 11, 28)) == 365
    assert Period(2026).days_elapsed(today=datetime.date(2026, 7, 10)) == 10
    assert Period.parse("abc", "9") == Period(2026) or Period.parse("abc", "9").quarter is None


def test_response_efficiency_counts_the_period_cohort(scene):
    # received in FY 2025: A1, A2, A3 (emptied), A4 (rejected), A6 (last hour of 30 June); A7 is 1 July
    assert figures("FSM-1")[1:] == (3, 5)
    assert value("FSM-1") == Decimal("60.00")
    assert value("FSM-1", ward=1) == pct(2, 3) and value("FSM-1", ward=2) == Decimal("50.00")
    assert value("FSM-1", year=2024) == Decimal("100.00")


def test_response_time_is_average_hours(scene):
    assert value("FSM-2") == Decimal("34.00")  # (40 + 50 + 12) / 3
    assert value("FSM-2", ward=1) == Decimal("45.00")


def test_satisfaction_and_ppe(scene):
    assert value("FSM-3") == Decimal("80.00")  # (5 + 3 + 4) / 15
    assert figures("FSM-4")[1:] == (1, 2)  # the feedback that did not answer is left out
    assert value("FSM-4b") == pct(2, 3)


def test_safe_desludging_splits_a_shared_trip(scene):
    # A1 and A2 (2 m³ each) went to the plant in one 3 m³ trip: 1.5 m³ each; A3 (1 m³) never arrived
    assert figures("FSM-5")[1:] == (Decimal("3.0"), Decimal("5.0"))
    assert value("FSM-5") == Decimal("60.00")
    assert value("FSM-5b") == pct(2, 3)
    assert value("FSM-5", ward=2) == Decimal("0.00")


def test_inclusion_counts_low_income_buildings_and_polygons(scene):
    # A2 is from a flagged low-income building, A3 lies inside the rail colony polygon
    assert figures("FSM-6")[1:] == (2, 5)


def test_collection_ratio_uses_the_municipal_rate_and_counts_a_shared_containment_once(scene):
    # people served by a containment: B-0, B-1, B-2 (C-0 serves two of them) = 30; 40 L per person per year
    expected = Decimal(30) * 40 / 1000 * 365 / Decimal("365.25")
    numerator, denominator = figures("FSM-7")[1:]
    assert numerator == Decimal("5.0") and round(denominator, 6) == round(expected, 6)
    assert value("FSM-7") == round(Decimal(5) * 100 / expected, 2)


def test_sla_and_emptied_not_disposed(scene):
    assert value("FSM-8") == pct(2, 3)  # A2 waited 30 h for approval (SLA 24 h)
    assert figures("FSM-9") == (Decimal(1), 1, 3)  # A3


def test_safe_sanitation_population_and_equity(scene):
    assert figures("SF-1a")[1:] == (20, 50)  # B-0 and B-2 safe; B-1 and B-3 not
    assert value("SF-1a", ward=1) == pct(2, 3) and value("SF-1a", ward=2) == Decimal("0.00")
    assert figures("SF-2a")[1:] == (10, 30)  # B-2 (flag) safe, B-3 (polygon) not
    assert value("EQ-1") == round(Decimal(10) / 30 / (Decimal(20) / 50), 2)
    assert value("EQ-1", ward=1) == Decimal("1.50")
    assert value("EQ-1", ward=2) is None  # nobody in ward 2 is safely served: a ratio of nothing


def test_cwis_fsm_indicators(scene):
    assert figures("SF-3")[1:] == (2, 3)  # C-0 (two emptyings, counted once) and C-2 (last emptied)
    assert figures("SF-1c")[1:] == (Decimal("3.5"), Decimal("5.0"))  # incl. the unregistered truck
    expected = Decimal(30) * 40 / 1000 * 365 / Decimal("365.25")
    assert value("SF-4a") == round(Decimal(50 * 365) * 100 / expected, 2)
    assert value("SF-4b") == Decimal(50 * 365 * 100) / 5
    assert figures("SF-5")[1:] == (1, 2)  # the unmeasured sample is left out


def test_schools_and_health_facilities(scene):
    assert value("SF-6a") == Decimal("100.00") and value("SF-6b") == Decimal("0.00")


def test_safe_rule_is_configurable(scene):
    from imis.tenant_apps.kpi.services import safe_rule_set

    safe_rule_set(by=None, safe_systems=["sewer", "drain"], containment_systems=["septic_tank"],
                  safe_containment_types=["septic_tank"], safe_outlets=["soak_pit", "drain"],
                  is_shared_toilet_safe=False)
    from imis.tenant_apps.kpi.services import kpi_context

    ctx = kpi_context(Period(FY))
    item = REGISTRY["SF-1a"]
    assert total_of(item, ctx, item.compute(ctx)) == (40, 50)  # B-0, B-1 (drain outlet now safe), B-3 (drain)


@pytest.mark.parametrize("code", [code for code in REGISTRY if REGISTRY[code].is_period_bound
                                  and REGISTRY[code].feature == "fsm"])
def test_an_empty_period_is_no_data_not_zero(scene, code):
    if code in ("FSM-7", "SF-3"):  # sludge was generated / containments exist: nothing collected is a real 0 %
        assert value(code, year=2022) == 0
    elif code == "SF-4a":  # capacity ÷ generation: both exist without any service
        assert value(code, year=2022) > 0
    else:
        assert value(code, year=2022) is None


def test_no_data_at_all_never_crashes(world):
    from django_tenants.utils import tenant_context

    with tenant_context(world.jhenaidah):
        for code, item in REGISTRY.items():
            if item.is_available():
                assert value(code) is None, code
