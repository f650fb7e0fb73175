"""seed_demo's holding tax and trade licence steps on a small synthetic city: assessments for every holding,
three fiscal years of quarterly bills, a payment history where most pay and some owe arrears, receipts without
gaps, the ledger adding up, trade licences in every state, deterministic and idempotent."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.demo import demo_figures
from imis.tenant_apps.licences.demo import demo_licences
from imis.tenant_apps.licences.models import Certificate, Licence
from imis.tenant_apps.registry.demo import demo_city
from imis.tenant_apps.registry.models import Holding
from imis.tenant_apps.tax import selectors
from imis.tenant_apps.tax.demo import demo_tax
from imis.tenant_apps.tax.models import Adjustment, Assessment, Bill, LedgerEntry, Payment, PaymentAllocation

pytestmark = pytest.mark.django_db
SCALE = 0.004
KHULNA = next(city for city in demo_figures() if city["slug"] == "khulna")
LINES: list[str] = []


def seed(world):
    demo_city(municipality=world.khulna, figures=KHULNA, scale=SCALE, seed=42, log=LINES.append)
    demo_tax(municipality=world.khulna, figures=KHULNA, scale=SCALE, seed=42, log=LINES.append)
    demo_licences(municipality=world.khulna, figures=KHULNA, scale=SCALE, seed=42, log=LINES.append)


def digest() -> str:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT string_agg(concat_ws('|', h.holding_id, b.fiscal_year, b.period, b.total_payable),
                                            ',' ORDER BY h.holding_id, b.fiscal_year, b.period)
                          FROM tax_bill b JOIN registry_holding h ON h.id = b.holding_id""")
        bills = cursor.fetchone()[0] or ""
        cursor.execute("""SELECT string_agg(concat_ws('|', p.receipt_number, h.holding_id, p.amount, p.method),
                                            ',' ORDER BY p.receipt_number)
                          FROM tax_payment p JOIN registry_holding h ON h.id = p.holding_id""")
        payments = cursor.fetchone()[0] or ""
    licences = ",".join(Licence.objects.order_by("application_number").values_list("application_number", flat=True))
    return hashlib.sha256((bills + payments + licences).encode()).hexdigest()


def test_demo_history_adds_up(world):
    with tenant_context(world.khulna):
        seed(world)
        holdings = Holding.objects.count()
        assert holdings > 300
        assert Assessment.objects.filter(is_current=True).count() == 3 * holdings
        exempt = Assessment.objects.filter(fiscal_year=2026).exclude(exemption="").count()
        assert Bill.objects.filter(fiscal_year=2024).count() == 4 * (holdings - exempt)
        assert set(Bill.objects.filter(fiscal_year=2026).values_list("period", flat=True)) == {1, 2}
        # receipts: R-00000001 … without gaps, in the order the money came in
        numbers = list(Payment.objects.order_by("received_at", "id").values_list("receipt_number", flat=True))
        assert numbers == [f"R-{n:08d}" for n in range(1, len(numbers) + 1)]
        # the ledger: billed − paid − adjusted = due
        bills = Bill.objects.aggregate(c=Sum("current_amount"), s=Sum("surcharge"))
        paid = Payment.objects.filter(status="valid").aggregate(t=Sum("amount"))["t"]
        adjusted = Adjustment.objects.filter(status="approved").aggregate(t=Sum("amount"))["t"] or 0
        due = LedgerEntry.objects.aggregate(t=Sum("amount"))["t"]
        assert due == bills["c"] + bills["s"] - paid - adjusted
        # every valid payment is fully allocated to bills
        allocated = PaymentAllocation.objects.filter(payment__status="valid").aggregate(t=Sum("amount"))["t"]
        assert allocated == paid
        # most pay, some owe: years due 0 for most, and 1, 2 and 3 all present
        buckets = {row["years_due"]: row["count"] for row in selectors.due_status_summary(
            today=datetime.date(2026, 11, 28))}
        assessed = sum(buckets.values())
        assert buckets[0] > 0.4 * assessed and buckets[1] > 0 and buckets[2] > 0 and buckets[3] > 0
        assert Bill.objects.filter(surcharge__gt=0).exists()  # late payers carried a surcharge
        assert Payment.objects.values("method").annotate(n=Count("id")).count() == 3  # cash, cheque, bank
        assert Payment.objects.filter(status="dishonoured").count() == 1
        assert Adjustment.objects.filter(status="pending").count() == 3
        # trade licences in every state, certificates for what was paid
        states = set(Licence.objects.values_list("status", flat=True))
        assert {"active", "expired", "applied"} <= states
        assert Certificate.objects.count() >= Licence.objects.filter(status="active").count() > 0
        assert not Licence.objects.filter(status="active", valid_until__lt="2026-11-28").exists()


def test_demo_is_idempotent_and_deterministic(world):
    with tenant_context(world.khulna):
        sid = transaction.savepoint()
        seed(world)
        first = digest()
        counts = (Bill.objects.count(), Payment.objects.count(), Licence.objects.count())
        seed(world)  # again: left as it is
        assert (Bill.objects.count(), Payment.objects.count(), Licence.objects.count()) == counts
        assert any("holding tax present" in line for line in LINES)
        transaction.savepoint_rollback(sid)
        seed(world)
        assert digest() == first


def test_no_tax_demo_without_the_feature(world):
    from imis.shared_apps.tenants.models import MunicipalityFeature

    with tenant_context(world.jhenaidah):
        MunicipalityFeature.objects.filter(municipality=world.jhenaidah, feature_id="holding_tax").update(
            is_enabled=False)
        world.jhenaidah._enabled_features = None
        try:
            demo_tax(municipality=world.jhenaidah, figures=KHULNA, scale=SCALE, seed=42, log=LINES.append)
            assert not Assessment.objects.exists()
        finally:
            MunicipalityFeature.objects.filter(municipality=world.jhenaidah, feature_id="holding_tax").update(
                is_enabled=True)
            world.jhenaidah._enabled_features = None
        demo_licences(municipality=world.jhenaidah, figures=KHULNA, scale=SCALE, seed=42, log=LINES.append)
        assert not Licence.objects.exists()  # Jhenaidah has no trade licence
