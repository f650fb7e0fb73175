"""A Khulna with water supply switched on: two holdings with a building each, a tariff for 2026-27."""

from __future__ import annotations

import datetime

from django.core.cache import cache
from django.db import connection as db
from django.utils import timezone

from imis.shared_apps.tenants.models import MunicipalityFeature
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.water import services
from tests.tenant_apps.registry.factories import square, ward

YEAR = 2026


def feature_switch(municipality, on: bool) -> None:
    db.set_schema_to_public()
    MunicipalityFeature.objects.update_or_create(municipality=municipality, feature_id="water_supply",
                                                 defaults={"is_enabled": on})
    municipality.__dict__.pop("_enabled_features", None)
    cache.clear()


class Town:
    def __init__(self, world):
        self.world = world
        self.ward = ward(1, -500, -500, 500, 500)
        self.holding = registry.holding_create(by=None, holding_id="1-0001-00001", ward=self.ward,
                                               address="12 KDA Avenue", owners=[{"name": "Karim"}])
        self.other_holding = registry.holding_create(by=None, holding_id="1-0001-00002", ward=self.ward,
                                                     address="14 KDA Avenue", owners=[{"name": "Rahim"}])
        self.building = Building.objects.create(bin="B-1", holding=self.holding, footprint=square(0, 0))
        self.tariff = services.tariff_set(by=None, fiscal_year=YEAR, slabs="10:8, 20:10.5, :15",
                                          flat_monthly_rate="300", connection_fee="2500")

    def user(self, role):
        return self.world.user(role, "khulna")

    def apply(self, **kwargs):
        kwargs.setdefault("holding", self.holding)
        return services.connection_apply(by=self.user("water_officer"), applicant_name="Abdul Karim",
                                         applicant_phone="01712345678", **kwargs)

    def approved(self, **kwargs):
        connection = self.apply(**kwargs)
        services.connection_inspect(by=self.user("water_officer"), connection=connection, passed=True,
                                    notes="Line within 20 m")
        return services.connection_approve(by=self.user("water_officer"), connection=connection)

    def pay_fee(self, connection):
        from imis.tenant_apps.payments.services import counter_take

        return counter_take(by=self.user("cashier"), holding=connection.holding,
                            items=[("water", f"fee:{connection.pk}", None)], method="cash")

    def active(self, *, is_metered=True, on=datetime.date(2026, 8, 25), initial="100", **kwargs):
        connection = self.approved(is_metered=is_metered, **kwargs)
        self.pay_fee(connection)
        return services.connection_activate(by=self.user("water_officer"), connection=connection,
                                            meter_number="M-1" if is_metered else "", initial_reading=initial,
                                            activated_on=on)


def today():
    return timezone.localdate()
