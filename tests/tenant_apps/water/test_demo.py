"""seed_demo's water step on a small synthetic city: a tariff, connections in every state, monthly readings, the
last months billed with most bills paid and some overdue, the map's water layer fed; deterministic, idempotent,
nothing where the feature is off."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Count
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.demo import demo_figures
from imis.tenant_apps.registry.demo import demo_city
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.water.demo import BILLED_MONTHS, demo_water
from imis.tenant_apps.water.models import MeterReading, WaterBill, WaterConnection, WaterPayment, WaterTariff

from .town import feature_switch

pytestmark = pytest.mark.django_db
SCALE = 0.004
GAZIPUR = next(city for city in demo_figures() if city["slug"] == "gazipur")
S = WaterConnection.Status


def state() -> dict:
    return {
        "connections": sorted(WaterConnection.objects.values_list("building__bin", "status", "is_metered",
                                                                  "applied_on")),
        "bills": sorted(WaterBill.objects.values_list("connection__building__bin", "period", "amount", "status")),
        "readings": MeterReading.objects.count(),
    }


def test_the_demo_gives_water_in_every_state_with_bills_partly_paid(world):
    assert "water_supply" in GAZIPUR["features"]
    feature_switch(world.khulna, True)  # the test world's city stands in for Gazipur
    lines: list[str] = []
    with tenant_context(world.khulna):
        demo_city(municipality=world.khulna, figures=GAZIPUR, scale=SCALE, seed=42, log=lines.append)
        demo_water(municipality=world.khulna, figures=GAZIPUR, scale=SCALE, seed=42, log=lines.append)
        statuses = dict(WaterConnection.objects.values_list("status").annotate(n=Count("id")))
        assert set(statuses) == set(S.values), statuses
        assert statuses[S.ACTIVE] > statuses[S.DISCONNECTED]
        assert WaterTariff.objects.count() == 2

        billed = WaterConnection.objects.filter(status__in=(S.ACTIVE, S.DISCONNECTED))
        months = sorted(set(WaterBill.objects.values_list("period", flat=True)))
        assert len(months) == BILLED_MONTHS and months[-1] < datetime.date.today().replace(day=1)
        for connection in billed.prefetch_related("bills", "readings"):
            assert connection.bills.count() == BILLED_MONTHS, connection
            if connection.is_metered:  # the reading at connection and one at each month's end
                assert len(connection.readings.all()) == BILLED_MONTHS + 1
                assert all(bill.consumption > 0 for bill in connection.bills.all())
            assert Building.objects.get(pk=connection.building_id).water_source == "municipal"
        paid = WaterBill.objects.filter(status=WaterBill.Status.PAID).count()
        unpaid = WaterBill.objects.filter(status=WaterBill.Status.ISSUED).count()
        assert paid > unpaid > 0
        assert WaterPayment.objects.filter(kind="bill", status="valid").count() == paid
        assert WaterBill.objects.filter(status="issued", due_date__lt=datetime.date.today()).exists()  # overdue
        approved = WaterConnection.objects.filter(status=S.APPROVED)
        assert all(c.fee_paid_on is None and c.connection_fee for c in approved)
        for connection in billed:
            assert connection.applied_on < connection.inspected_on < connection.approved_on < connection.fee_paid_on
            assert connection.fee_paid_on <= connection.activated_on
        assert "water connections" in lines[-1]
        before = state()

        demo_water(municipality=world.khulna, figures=GAZIPUR, scale=SCALE, seed=42, log=lines.append)
        assert "left as it is" in lines[-1] and state() == before


def test_the_demo_is_deterministic_and_skips_a_municipality_without_the_feature(world):
    feature_switch(world.khulna, True)
    with tenant_context(world.khulna):
        demo_city(municipality=world.khulna, figures=GAZIPUR, scale=SCALE, seed=42, log=print)
        demo_water(municipality=world.khulna, figures=GAZIPUR, scale=SCALE, seed=42, log=print)
        first = state()
        WaterPayment.objects.all().delete()
        WaterBill.objects.all().delete()
        WaterConnection.objects.all().delete()
        Building.objects.update(water_source="", water_customer_id="")
        demo_water(municipality=world.khulna, figures=GAZIPUR, scale=SCALE, seed=42, log=print)
        assert state() == first
    feature_switch(world.jhenaidah, False)
    with tenant_context(world.jhenaidah):
        demo_water(municipality=world.jhenaidah, figures=GAZIPUR, scale=SCALE, seed=42, log=print)
        assert WaterConnection.objects.count() == 0
