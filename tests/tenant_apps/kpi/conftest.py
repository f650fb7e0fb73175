import datetime
from decimal import Decimal

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.fsm.models import Application, Disposal, EffluentTest, Emptying, Feedback
from imis.tenant_apps.registry.models import Building, Containment, LowIncomeCommunity, Ward
from tests.tenant_apps.fsm.conftest import Site
from tests.tenant_apps.registry.factories import at, square

FY = 2025  # 1 July 2025 – 30 June 2026: over, so every day of it counts


def local(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


def box(x0, y0, x1, y1) -> Polygon:
    polygon = Polygon.from_bbox((*at(x0, y0), *at(x1, y1)))
    polygon.srid = 4326
    return polygon


class Scene(Site):
    """Site's street (ward 1: B-0, B-1, B-2, ten people each) plus ward 2 with a low-income community.

    Sanitation: B-0 septic tank C-0 → soak pit (safe); B-1 septic tank C-1 → drain (unsafe); B-2 (flagged
    low-income) shares C-0 (safe); B-3 in ward 2, 20 people inside the low-income polygon, on a drain (unsafe);
    a school on the sewer (safe) and a clinic on a drain (unsafe), nobody living in them.
    """

    def __init__(self, world):
        super().__init__(world)
        self.ward1 = Ward.objects.get(number=1)
        self.ward2 = Ward.objects.create(number=2, name="Ward 2",
                                         boundary=MultiPolygon(box(500, -500, 1500, 500), srid=4326))
        b0, b1, b2 = self.buildings
        c0, c1, c2 = self.containments
        Building.objects.filter(pk=b0.pk).update(sanitation_system="septic_tank")
        Building.objects.filter(pk=b1.pk).update(sanitation_system="septic_tank")
        Building.objects.filter(pk=b2.pk).update(sanitation_system="shared_septic_tank")
        Containment.objects.filter(pk=c0.pk).update(outlet="soak_pit")
        Containment.objects.filter(pk=c1.pk).update(outlet="drain")
        Containment.objects.filter(pk=c2.pk).update(last_emptied_on=datetime.date(2025, 11, 1))
        c0.buildings.add(b2)  # one containment shared by two buildings
        self.lic = LowIncomeCommunity.objects.create(name="Rail colony", households=5, population=20,
                                                     geom=box(900, -100, 1100, 100))
        self.b3 = Building.objects.create(bin="B-3", footprint=square(990, 0), ward=self.ward2,
                                          sanitation_system="drain", population_male=10, population_female=10)
        Building.objects.create(bin="S-1", footprint=square(700, 0), ward=self.ward2, functional_use="educational",
                                sanitation_system="sewer")
        Building.objects.create(bin="H-1", footprint=square(750, 0), ward=self.ward2, functional_use="health",
                                sanitation_system="drain")
        self.fsm_history()

    def application(self, n, *, ward, received, approved=None, emptied=None, status="received", building=None,
                    containment=None, location=None, volume=None, ppe=False):
        app = Application.objects.create(
            number=f"T-{n}", status=status, ward=ward, received_at=received, approved_at=approved,
            emptied_at=emptied, building=building, containment=containment,
            location=location if location is not None else (containment.location if containment else None),
            applicant_name=f"Applicant {n}")
        if volume is not None:
            Emptying.objects.create(application=app, emptied_on=timezone.localtime(emptied).date(),
                                    volume_m3=Decimal(volume), vehicle=self.truck, is_ppe_worn=ppe)
        return app

    def fsm_history(self):
        b0, b1, b2 = self.buildings
        c0 = self.containments[0]
        h = datetime.timedelta(hours=1)
        t1, t2, t3 = local(2025, 8, 1, 8), local(2025, 8, 3, 8), local(2025, 9, 1, 8)
        self.a1 = self.application(1, ward=self.ward1, received=t1, approved=t1 + 10 * h, emptied=t1 + 40 * h,
                                   status="closed", building=b0, containment=c0, volume="2.0", ppe=True)
        self.a2 = self.application(2, ward=self.ward1, received=t2, approved=t2 + 30 * h, emptied=t2 + 50 * h,
                                   status="closed", building=b2, containment=c0, volume="2.0", ppe=False)
        self.a3 = self.application(3, ward=self.ward2, received=t3, approved=t3 + 2 * h, emptied=t3 + 12 * h,
                                   status="emptied", building=self.b3, location=self.b3.footprint.point_on_surface,
                                   volume="1.0", ppe=True)
        self.application(4, ward=self.ward2, received=local(2025, 10, 1, 9), status="rejected")
        self.application(6, ward=self.ward1, received=local(2026, 6, 30, 23), building=b1)  # last hour of FY
        self.application(7, ward=self.ward1, received=local(2026, 7, 1, 0, 30), building=b1)  # next FY
        self.a5 = self.application(5, ward=self.ward1, received=local(2024, 12, 1, 8),
                                   approved=local(2024, 12, 1, 9), emptied=local(2024, 12, 2, 8), status="closed",
                                   building=b1, volume="1.0", ppe=True)  # the year before
        shared = Disposal.objects.create(treatment_plant=self.plant, vehicle=self.truck,
                                         arrived_at=t2 + 52 * h, volume_received_m3=Decimal("3.0"))
        shared.applications.set([self.a1, self.a2])  # one trip, two households' sludge
        Disposal.objects.create(treatment_plant=self.plant, unregistered_vehicle="DHAKA-X",
                                arrived_at=local(2025, 10, 5, 10), volume_received_m3=Decimal("0.5"))
        Disposal.objects.create(treatment_plant=self.plant, vehicle=self.truck, arrived_at=local(2024, 12, 2, 12),
                                volume_received_m3=Decimal("1.0")).applications.set([self.a5])
        Feedback.objects.create(application=self.a1, rating=5, service_quality=5, is_ppe_worn=True)
        Feedback.objects.create(application=self.a2, rating=3, service_quality=3, is_ppe_worn=None)
        Feedback.objects.create(application=self.a3, rating=4, service_quality=4, is_ppe_worn=False)
        EffluentTest.objects.create(treatment_plant=self.plant, sampled_on=datetime.date(2025, 9, 1),
                                    bod_mg_l=30, ph=7)
        EffluentTest.objects.create(treatment_plant=self.plant, sampled_on=datetime.date(2025, 12, 1),
                                    bod_mg_l=80, cod_mg_l=100)
        EffluentTest.objects.create(treatment_plant=self.plant, sampled_on=datetime.date(2026, 1, 1))  # nothing


@pytest.fixture
def site(world):
    cache.clear()
    with tenant_context(world.khulna):
        yield Site(world)


@pytest.fixture
def scene(world):
    cache.clear()
    with tenant_context(world.khulna):
        yield Scene(world)
