"""Demo trade licences for municipalities with the feature (Khulna): categories with a fee schedule for three
licence years, and licences on commercial and mixed-use holdings in every state of their life cycle — most valid
and renewed each year, some expired, a few cancelled, and a queue of applications to inspect, approve and pay.

Deterministic (seeded random over the holdings in ID order, a fixed calendar ending 28 Nov 2026), idempotent
(a municipality with licences is left as it is), bulk inserts at real scale (~25k licences for Khulna).
"""

from __future__ import annotations

import datetime
import random
import time
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from imis.platform.demo import demo_step
from imis.shared_apps.tenants.features import is_feature_enabled
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry.models import Building, Holding
from imis.tenant_apps.tax.models import ReceiptCounter

from .models import BusinessCategory, CategoryFee, Certificate, Licence, LicenceEvent, LicencePayment
from .services import licence_year_start_month

DEMO_TODAY = datetime.date(2026, 11, 28)
YEARS = (2024, 2025, 2026)
LICENCES_AT_SCALE_1 = 25_000
CATEGORIES = [  # code, English, Bangla, new-licence fee 2026-27 (BDT)
    ("R-01", "Grocery and general store", "মুদি ও মনিহারি দোকান", 1500),
    ("R-02", "Pharmacy", "ঔষধের দোকান", 2500),
    ("R-03", "Clothing and tailoring", "কাপড় ও দর্জি দোকান", 2000),
    ("R-04", "Mobile phone and electronics", "মোবাইল ও ইলেকট্রনিক্স দোকান", 3000),
    ("F-01", "Restaurant and hotel", "রেস্তোরাঁ ও হোটেল", 5000),
    ("F-02", "Tea stall and bakery", "চায়ের দোকান ও বেকারি", 800),
    ("S-01", "Barber and beauty salon", "সেলুন ও বিউটি পার্লার", 1000),
    ("S-02", "Coaching centre", "কোচিং সেন্টার", 4000),
    ("S-03", "Clinic and diagnostic centre", "ক্লিনিক ও ডায়াগনস্টিক সেন্টার", 10000),
    ("W-01", "Wholesale and warehouse", "পাইকারি ব্যবসা ও গুদাম", 7500),
    ("I-01", "Workshop and small factory", "ওয়ার্কশপ ও ক্ষুদ্র কারখানা", 6000),
    ("I-02", "Fish processing and ice factory", "মাছ প্রক্রিয়াকরণ ও বরফকল", 12000),
]
WEIGHTS = [22, 8, 12, 10, 6, 14, 7, 4, 2, 5, 6, 4]
NAME_PARTS = ["Rupsha", "Sundarban", "Bhairab", "Mollah", "Shapla", "Padma", "Janata", "Khan", "Modern", "New",
              "Bismillah", "Sonali", "Royal", "Fatema", "Rahman", "Kabir", "Noor", "Amin", "Desh", "Mayer Doa"]
SUFFIX = {"R-01": "Store", "R-02": "Pharmacy", "R-03": "Fashion", "R-04": "Telecom", "F-01": "Restaurant",
          "F-02": "Bakery", "S-01": "Salon", "S-02": "Coaching", "S-03": "Diagnostic", "W-01": "Traders",
          "I-01": "Engineering Works", "I-02": "Ice & Fish"}
S = Licence.Status


@demo_step("licences.history", order=61)
def demo_licences(*, municipality, figures, scale, seed, log):
    if not is_feature_enabled(municipality, "trade_licence"):
        return
    if Licence.objects.exists():
        log(f"  {municipality.slug}: trade licences present, left as it is")
        return
    started = time.perf_counter()
    rng = random.Random(f"licences:{municipality.slug}:{seed}")
    with transaction.atomic():
        categories = categories_and_fees()
        premises = list(Holding.objects.filter(
            pk__in=Building.objects.filter(functional_use__in=["commercial", "mixed", "industrial"])
            .values("holding_id")).order_by("holding_id").values_list("pk", "holding_id", "address"))
        if not premises:
            return
        owners = owner_of([pk for pk, _code, _address in premises])
        count = max(20, round(LICENCES_AT_SCALE_1 * scale))
        made = licences_create(rng, count, premises, owners, categories)
    log(f"  {municipality.slug}: {made:,} trade licences in {time.perf_counter() - started:.1f}s")


def year_bounds_of(start_month: int):
    """licence_year_bounds without a settings query per call (it runs for every licence and payment)."""
    def bounds(year: int) -> tuple[datetime.date, datetime.date]:
        start = datetime.date(year, start_month, 1)
        return start, datetime.date(year + 1, start_month, 1) - datetime.timedelta(days=1)

    return bounds


def categories_and_fees() -> list[BusinessCategory]:
    categories = []
    for code, name, name_bn, fee in CATEGORIES:
        category, _created = BusinessCategory.objects.get_or_create(code=code, defaults={"name": name,
                                                                                        "name_bn": name_bn})
        categories.append(category)
        for year in YEARS:
            base = Decimal(fee) * Decimal("0.9") ** (YEARS[-1] - year)  # fees rose ~10 % a year
            new_fee = (base / 50).quantize(Decimal(1)) * 50
            CategoryFee.objects.get_or_create(category=category, fiscal_year=year, defaults={
                "new_fee": new_fee, "renewal_fee": (new_fee * Decimal("0.8") / 50).quantize(Decimal(1)) * 50,
                "late_fee_percent": 20})
    return categories


def owner_of(holding_pks: list[int]) -> dict[int, tuple[str, str, str]]:
    from imis.tenant_apps.registry.models import Owner

    found: dict[int, tuple[str, str, str]] = {}
    for holding_id, name, phone, national_id in Owner.objects.filter(holding_id__in=holding_pks).order_by(
            "id").values_list("holding_id", "name", "phone", "national_id"):
        found.setdefault(holding_id, (name, phone, national_id))
    return found


def _at(day: datetime.date, rng: random.Random) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10 + rng.randrange(6),
                                                                            rng.randrange(60))))


def licences_create(rng, count, premises, owners, categories) -> int:
    licence_year_bounds = year_bounds_of(licence_year_start_month())
    fees = {(fee.category_id, fee.fiscal_year): fee for fee in CategoryFee.objects.all()}
    licences, payments, certificates, events = [], [], [], []
    numbers = {"licence": 0, "receipt": 0, "application": 0}
    for _index in range(count):
        pk, code, address = premises[rng.randrange(len(premises))]
        category = rng.choices(categories, weights=WEIGHTS)[0]
        owner_name, phone, national_id = owners.get(pk, ("Business owner", "", ""))
        roll = rng.random()
        first_year = rng.choice(YEARS) if roll < 0.86 else YEARS[-1]
        start, _end = licence_year_bounds(first_year)
        applied_on = start + datetime.timedelta(days=rng.randrange(0, 120 if first_year < YEARS[-1] else 100))
        applied_on = min(applied_on, DEMO_TODAY - datetime.timedelta(days=2))
        numbers["application"] += 1
        licence = Licence(
            application_number=f"TLA-{applied_on.year}-{numbers['application']:06d}",
            business_name=f"{rng.choice(NAME_PARTS)} {SUFFIX[category.code]}", category=category, holding_id=pk,
            address=address, owner_name=owner_name, owner_phone=phone, owner_national_id=national_id,
            applied_on=applied_on, status=S.APPLIED)
        licence._events = [("applied", _at(applied_on, rng), "")]
        licence._payments = []
        if roll >= 0.86:  # this year's queue: applied, inspected, approved, rejected
            stage = rng.random()
            if stage >= 0.35:
                licence.inspected_on = min(applied_on + datetime.timedelta(days=rng.randrange(3, 15)), DEMO_TODAY)
                licence.inspection_passed = stage >= 0.45
                licence.inspection_notes = ("Premises fit for the trade; fire extinguisher present"
                                            if licence.inspection_passed else "No fire exit; storage blocks the road")
                licence.status = S.INSPECTED if licence.inspection_passed else S.REJECTED
                licence._events.append(("inspected" if licence.inspection_passed else "rejected",
                                        _at(licence.inspected_on, rng), licence.inspection_notes))
                if not licence.inspection_passed:
                    licence.closed_on, licence.closing_reason = licence.inspected_on, licence.inspection_notes
                elif stage >= 0.7:
                    licence.status, licence.approved_on = S.APPROVED, licence.inspected_on
                    licence._events.append(("approved", _at(licence.inspected_on, rng), ""))
            licences.append(licence)
            continue
        # issued in first_year, then renewed year by year until it stops
        licence.inspected_on = applied_on + datetime.timedelta(days=rng.randrange(2, 10))
        licence.inspection_passed, licence.inspection_notes = True, "Premises fit for the trade"
        licence.approved_on = licence.inspected_on + datetime.timedelta(days=rng.randrange(1, 5))
        paid_on = min(licence.approved_on + datetime.timedelta(days=rng.randrange(0, 10)), DEMO_TODAY)
        licence._events += [("inspected", _at(licence.inspected_on, rng), "Premises fit for the trade"),
                            ("approved", _at(licence.approved_on, rng), "")]
        numbers["licence"] += 1
        licence.number, licence.first_issued_on = f"TL-{numbers['licence']:06d}", paid_on
        keeps_renewing = roll < 0.74
        year, kind, day = first_year, LicencePayment.Kind.NEW, paid_on
        while True:
            year_start, year_end = licence_year_bounds(year)
            fee = fees[(category.pk, year)]
            amount = fee.new_fee if kind == LicencePayment.Kind.NEW else fee.renewal_fee
            late = Decimal(0)
            if kind == LicencePayment.Kind.RENEWAL and day > year_start:
                late = (fee.renewal_fee * fee.late_fee_percent / 100).quantize(Decimal("0.01"))
            numbers["receipt"] += 1
            licence._payments.append((kind, year, amount, late, day, year_start, year_end, numbers["receipt"]))
            licence._events.append(("issued" if kind == LicencePayment.Kind.NEW else "renewed", _at(day, rng),
                                    f"{licence.number}-{year}"))
            licence.valid_until = year_end
            next_start = year_end + datetime.timedelta(days=1)
            if year + 1 > YEARS[-1] or next_start > DEMO_TODAY:
                break
            if not keeps_renewing and rng.random() < 0.45:
                break
            year, kind = year + 1, LicencePayment.Kind.RENEWAL
            day = next_start - datetime.timedelta(days=rng.randrange(1, 40)) if rng.random() < 0.8 else (
                next_start + datetime.timedelta(days=rng.randrange(5, 60)))
            day = min(day, DEMO_TODAY)
        licence.status = S.ACTIVE if licence.valid_until >= DEMO_TODAY else S.EXPIRED
        if licence.status == S.EXPIRED and rng.random() < 0.25:
            licence.status, licence.closed_on = S.CANCELLED, licence.valid_until + datetime.timedelta(days=20)
            licence.closing_reason = "Business closed; the owner surrendered the licence"
            licence._events.append(("cancelled", _at(licence.closed_on, rng), licence.closing_reason))
        licences.append(licence)
    Licence.objects.bulk_create(licences, batch_size=2000)
    cashier_label = "counter"
    for licence in licences:
        for kind, year, amount, late, day, _start, _end, _receipt in licence._payments:
            payments.append(LicencePayment(
                licence=licence, kind=kind, fiscal_year=year, fee=amount, late_fee=late, amount=amount + late,
                method="cash", received_at=_at(day, rng),
                cashier_label=cashier_label))
        for action, at, note in licence._events:
            events.append(LicenceEvent(licence=licence, at=at, action=action, by_label="seed_demo", note=note))
    payments.sort(key=lambda payment: (payment.received_at, payment.licence.number))
    for receipt, payment in enumerate(payments, start=1):  # numbered in the order the money came in
        payment.receipt_number = f"TLR-{receipt:08d}"
    LicencePayment.objects.bulk_create(payments, batch_size=2000)
    for payment in payments:
        start, end = licence_year_bounds(payment.fiscal_year)
        day = timezone.localtime(payment.received_at).date()
        certificates.append(Certificate(
            licence=payment.licence, number=f"{payment.licence.number}-{payment.fiscal_year}",
            fiscal_year=payment.fiscal_year, valid_from=max(start, day) if payment.kind == "new" else start,
            valid_until=end, issued_on=day, payment=payment))
    Certificate.objects.bulk_create(certificates, batch_size=2000)
    LicenceEvent.objects.bulk_create(events, batch_size=5000)
    for series, last in (("tl-application", numbers["application"]), ("tl-number", numbers["licence"]),
                         ("tl-receipt", numbers["receipt"])):
        ReceiptCounter.objects.update_or_create(series=series, defaults={"last_number": last})
    AuditEntry.objects.create(action=AuditEntry.Action.IMPORT, model="licences.licence", object_id="*",
                              object_label=f"demo: {len(licences):,} licences", actor_label="seed_demo")
    return len(licences)
