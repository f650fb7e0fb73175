"""Thematic building layers fed by other services: tax due status (years due by the ledger's apportionment rule)
and water connection status. Each colours the same footprints by a property computed in the tile SQL."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import MunicipalityFeature
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import Holding
from imis.tenant_apps.tax import services as tax
from tests.tenant_apps.registry.factories import square, ward

from .test_tiles import get_tile, read_tile

pytestmark = pytest.mark.django_db
FY = 2026


@pytest.fixture
def taxed(world):
    """Four buildings: paid up, one year owed, two years owed, and one without a holding."""
    officer, cashier = world.user("tax_officer", "khulna"), world.user("cashier", "khulna")
    with tenant_context(world.khulna):
        w = ward(1, -500, -500, 500, 500)
        holdings = [registry.holding_create(by=None, holding_id=f"1-0001-{n:05d}", ward=w,
                                            owners=[{"name": f"Owner {n}", "phone": "01711000000"}])
                    for n in range(3)]
        for n, holding in enumerate(holdings):
            registry.building_create(by=None, bin=f"B-T{n}", footprint=square(10 + 20 * n, 10), holding=holding,
                                     water_source=["municipal", "tube_well", "pond"][n],
                                     water_customer_id="W-1" if n == 0 else "")
        registry.building_create(by=None, bin="B-T9", footprint=square(90, 10))
        for year in (FY - 1, FY):
            tax.rate_schedule_set(by=None, fiscal_year=year, effective_from=datetime.date(year, 7, 1),
                                  heads={"holding_tax": 20}, surcharge_percent=0, rebate_percent=0, instalments=1)
            for holding in holdings:
                tax.assessment_create(by=None, holding=holding, fiscal_year=year, basis="rent", monthly_rent=1000)
            tax.bill_run_execute(by=officer, fiscal_year=year, period=1)  # 2,000 a year each
        tax.payment_record(by=cashier, holding=holdings[0], amount=Decimal("4000"), method="cash")
        tax.payment_record(by=cashier, holding=holdings[1], amount=Decimal("2000"), method="cash")
    cache.clear()
    return world


def test_buildings_by_tax_due_status(taxed, tenant_client, tmp_path):
    response = get_tile(tenant_client(taxed.khulna, taxed.user("viewer", "khulna")), "buildings_tax_due")
    assert response.status_code == 200
    features = {f["bin"]: f for f in read_tile(response.content, tmp_path)["buildings_tax_due"]}
    assert {bin_: f["tax_status"] for bin_, f in features.items()} == {
        "B-T0": "paid", "B-T1": "one_year", "B-T2": "two_years", "B-T9": "not_assessed"}
    assert (features["B-T1"]["years_due"], features["B-T1"]["balance"]) == (1, 2000.0)
    assert features["B-T2"]["balance"] == 4000.0


def test_tax_due_layer_follows_a_payment(taxed, tenant_client, tmp_path, django_capture_on_commit_callbacks):
    client = tenant_client(taxed.khulna, taxed.user("viewer", "khulna"))
    get_tile(client, "buildings_tax_due")  # cached
    with tenant_context(taxed.khulna), django_capture_on_commit_callbacks(execute=True):
        holding = Holding.objects.get(holding_id="1-0001-00002")
        tax.payment_record(by=taxed.user("cashier", "khulna"), holding=holding, amount=Decimal("4000"),
                           method="cash")
    features = read_tile(get_tile(client, "buildings_tax_due").content, tmp_path)["buildings_tax_due"]
    assert {f["bin"]: f["tax_status"] for f in features}["B-T2"] == "paid"


def test_tax_due_layer_is_gated_and_needs_membership(taxed, tenant_client):
    assert get_tile(tenant_client(taxed.khulna), "buildings_tax_due").status_code == 302
    assert get_tile(tenant_client(taxed.khulna, taxed.user("viewer", "jhenaidah")),
                    "buildings_tax_due").status_code == 403
    MunicipalityFeature.objects.filter(municipality=taxed.khulna, feature_id="holding_tax").update(is_enabled=False)
    assert get_tile(tenant_client(taxed.khulna, taxed.user("viewer", "khulna")),
                    "buildings_tax_due").status_code == 404


def test_buildings_by_water_connection(taxed, tenant_client, tmp_path):
    client = tenant_client(taxed.khulna, taxed.user("viewer", "khulna"))
    assert get_tile(client, "buildings_water").status_code == 404  # water supply is off in Khulna
    connection.set_schema_to_public()
    MunicipalityFeature.objects.update_or_create(municipality=taxed.khulna, feature_id="water_supply",
                                                 defaults={"is_enabled": True})
    features = read_tile(get_tile(client, "buildings_water").content, tmp_path)["buildings_water"]
    assert {f["bin"]: f["water_status"] for f in features} == {
        "B-T0": "connected", "B-T1": "tube_well", "B-T2": "surface", "B-T9": "unknown"}
