import datetime
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import TaxZone, UseRate
from tests.tenant_apps.registry.factories import point, ward

FY = 2026  # 2026-27


class Town:
    """Two wards, holdings assessed for 2026-27 at round annual values, rates: 7 + 7 + 3 + 3 = 20 %."""

    def __init__(self, world, holdings=4):
        self.world = world
        self.ward1 = ward(1, -500, -500, 500, 500)
        self.ward2 = ward(2, 500, -500, 1500, 500)
        self.zone = TaxZone.objects.create(code="A", name="Commercial core", factor=Decimal("1.5"))
        UseRate.objects.create(fiscal_year=FY, functional_use="residential", rate_per_m2=Decimal("120"))
        self.schedule = tax.rate_schedule_set(
            by=None, fiscal_year=FY, effective_from=datetime.date(2026, 7, 1),
            heads={"holding_tax": 7, "conservancy": 7, "lighting": 3, "water": 3}, surcharge_percent=5,
            rebate_percent=10, instalments=4)
        self.holdings = []
        for n in range(holdings):
            holding = registry.holding_create(by=None, holding_id=f"{1 + n % 2}-0010-{n + 1:05d}",
                                              ward=self.ward1 if n % 2 == 0 else self.ward2,
                                              owners=[{"name": f"Owner {n}", "phone": "01711000000"}])
            tax.assessment_create(by=None, holding=holding, fiscal_year=FY, basis="rent",
                                  monthly_rent=Decimal(1000 * (n + 1)))
            self.holdings.append(holding)

    def user(self, role):
        return self.world.user(role, "khulna")


@pytest.fixture
def town(world):
    with tenant_context(world.khulna):
        yield Town(world)


def ward_point():
    return point(0, 0)
