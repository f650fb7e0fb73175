import datetime
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.fsm.models import CrewMember, PriceSlab, ServiceProvider, Vehicle
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import TreatmentPlant
from tests.tenant_apps.registry.factories import at, point, road, square, ward


class Site:
    """A Khulna street with three households, a provider with two trucks and a plant."""

    def __init__(self, world):
        self.world = world
        officer = world.user("gis_officer", "khulna")
        ward(1, -500, -500, 500, 500)
        road("R-1", (-300, 0), (300, 0), width_m=6)
        self.plant = TreatmentPlant.objects.create(name="Rayer Mohol FSTP", type="fstp", capacity_m3_per_day=50,
                                                   location=Point(*at(400, 400), srid=4326))
        self.holdings, self.buildings, self.containments = [], [], []
        for n in range(3):
            holding = registry.holding_create(by=officer, holding_id=f"1-0001-{n + 1:05d}",
                                              ward=registry.ward_at(point(0, 10)), address=f"House {n + 1}")
            building = registry.building_create(by=officer, bin=f"B-{n}", footprint=square(40 * n, 10),
                                                holding=holding, households=2, population_male=5,
                                                population_female=5, is_low_income=(n == 2))
            containment = registry.containment_create(
                by=officer, building_ids=[building.pk], code=f"C-{n}", type="septic_tank", length_m=2, width_m=2,
                depth_m=Decimal("1.2"), location=point(40 * n + 5, 25))
            self.holdings.append(holding)
            self.buildings.append(building)
            self.containments.append(containment)
        provider_user = world.user("service_provider", "khulna")
        self.provider = ServiceProvider.objects.create(name="Khulna Sweepers Ltd", user_ids=[provider_user.pk],
                                                       contract_end=timezone.localdate() + datetime.timedelta(days=365))
        self.other_provider = ServiceProvider.objects.create(name="Other Co")
        self.truck = Vehicle.objects.create(provider=self.provider, registration="KHULNA-TA-11-0001",
                                            capacity_m3=Decimal("4"))
        self.small_truck = Vehicle.objects.create(provider=self.provider, registration="KHULNA-TA-11-0002",
                                                  capacity_m3=Decimal("2"))
        self.other_truck = Vehicle.objects.create(provider=self.other_provider, registration="DHAKA-1",
                                                  capacity_m3=Decimal("4"))
        self.driver = CrewMember.objects.create(provider=self.provider, name="Abdul Karim", role="driver")
        self.emptier = CrewMember.objects.create(provider=self.provider, name="Rina Das", role="emptier")
        PriceSlab.objects.create(volume_from_m3=0, volume_to_m3=5, fee_per_trip=Decimal("1500"))
        PriceSlab.objects.create(volume_from_m3=0, volume_to_m3=5, building_use="commercial",
                                 fee_per_trip=Decimal("3000"))
        PriceSlab.objects.create(volume_from_m3=Decimal("5.01"), volume_to_m3=50, fee_per_trip=Decimal("2500"))

    def user(self, role):
        return self.world.user(role, "khulna")


@pytest.fixture
def site(world):
    with tenant_context(world.khulna):
        yield Site(world)
