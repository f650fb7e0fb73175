"""One Khulna holding that owes all three kinds of payable: a holding tax bill, the fee of a recorded emptying
and a new trade licence's fee — built through the real services."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from imis.tenant_apps.fsm import services as fsm
from imis.tenant_apps.licences import services as licences
from imis.tenant_apps.licences.models import BusinessCategory
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import Bill, UseRate
from tests.tenant_apps.fsm.conftest import Site

FY = 2026


class Estate(Site):
    def __init__(self, world):
        super().__init__(world)
        self.holding = self.holdings[0]
        # holding tax: one quarter's bill of ৳ 500
        UseRate.objects.create(fiscal_year=FY, functional_use="residential", rate_per_m2=Decimal("120"))
        tax.rate_schedule_set(by=None, fiscal_year=FY, effective_from=datetime.date(2026, 7, 1),
                              heads={"holding_tax": 7, "conservancy": 7, "lighting": 3, "water": 3},
                              surcharge_percent=5, rebate_percent=0, instalments=4)
        tax.assessment_create(by=None, holding=self.holding, fiscal_year=FY, basis="rent", monthly_rent=1000)
        tax.bill_run_execute(by=None, fiscal_year=FY, period=1)
        self.bill = Bill.objects.get(holding=self.holding)
        # desludging: emptied today, priced from the slabs
        self.application = self.emptied(0)
        # trade licence: approved, the new-licence fee for this licence year is due
        self.grocery = BusinessCategory.objects.create(code="R-01", name="Grocery (retail)", name_bn="মুদি দোকান")
        year = licences.licence_year_of(timezone.localdate())
        for fiscal_year in (year - 1, year, year + 1):
            licences.category_fee_set(by=None, category=self.grocery, fiscal_year=fiscal_year, new_fee=1000,
                                      renewal_fee=800)
        licence = licences.licence_apply(by=None, business_name="Karim Store", category=self.grocery,
                                         holding=self.holding, owner_name="Abdul Karim", owner_phone="01712345678")
        licences.licence_inspect(by=None, licence=licence, passed=True, notes="Clean, safe")
        self.licence = licences.licence_approve(by=None, licence=licence)
        self.licence_year = year

    def emptied(self, n: int):
        application = fsm.application_register(by=None, applicant_name=f"Resident {n}", holding=self.holdings[n],
                                               containment=self.containments[n])
        fsm.application_approve(application=application, by=None)
        fsm.application_schedule(application=application, by=None, provider=self.provider, vehicle=self.truck,
                                 date=timezone.localdate(), slot="morning")
        return fsm.application_record_emptying(application=application, by=None, emptied_on=timezone.localdate(),
                                               volume_m3=Decimal("3.5"))
