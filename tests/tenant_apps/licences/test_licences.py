"""Trade licences: the life cycle (apply → inspect → approve → fee → certificate → renewal), expiry and SMS
reminders before it, cancellation, fees per year, roles, the screens, the certificate PDF, the public verification
page, and isolation between municipalities."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.licences import pdf, selectors, services
from imis.tenant_apps.licences.models import BusinessCategory, Certificate, Licence, Reminder
from imis.tenant_apps.registry import services as registry
from tests.tenant_apps.registry.factories import ward

pytestmark = pytest.mark.django_db
D = Decimal
S = Licence.Status
YEAR = 2026  # licence year 2026-27 (July–June)
SENT: list[tuple[str, str]] = []


class RecordingSms:
    def send(self, to: str, body: str) -> str:
        SENT.append((to, body))
        return f"ref-{len(SENT)}"


class Shop:
    def __init__(self, world):
        self.world = world
        self.ward = ward(1, -500, -500, 500, 500)
        self.holding = registry.holding_create(by=None, holding_id="1-0001-00001", ward=self.ward,
                                               address="12 KDA Avenue", owners=[{"name": "Karim"}])
        self.grocery = BusinessCategory.objects.create(code="R-01", name="Grocery (retail)", name_bn="মুদি দোকান")
        for year in (YEAR - 1, YEAR, YEAR + 1):
            services.category_fee_set(by=None, category=self.grocery, fiscal_year=year, new_fee=1000,
                                      renewal_fee=800, late_fee_percent=25)

    def user(self, role):
        return self.world.user(role, "khulna")

    def apply(self, **kwargs):
        return services.licence_apply(by=self.user("tax_officer"), business_name="Karim Store", category=self.grocery,
                                      holding=self.holding, owner_name="Abdul Karim", owner_phone="01712345678",
                                      **kwargs)

    def issued(self, received=None):
        licence = self.apply()
        services.licence_inspect(by=self.user("tax_officer"), licence=licence, passed=True, notes="Clean, safe")
        services.licence_approve(by=self.user("municipal_admin"), licence=licence)
        return services.licence_pay(by=self.user("cashier"), licence=licence, method="cash", received_at=received)


@pytest.fixture
def shop(world):
    with tenant_context(world.khulna):
        yield Shop(world)


def at(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(11, 0)))


def test_life_cycle_to_certificate(shop):
    licence = shop.apply()
    assert licence.status == S.APPLIED and licence.application_number.startswith("TLA-")
    assert licence.owner_phone == "+8801712345678" and licence.address == "12 KDA Avenue"
    with pytest.raises(ValidationError):
        services.licence_approve(by=shop.user("tax_officer"), licence=licence)  # not inspected yet
    assert services.fee_due(licence) is None
    services.licence_inspect(by=shop.user("tax_officer"), licence=licence, passed=True, notes="Fire extinguisher")
    licence = services.licence_approve(by=shop.user("municipal_admin"), licence=licence)
    due = services.fee_due(licence, on=datetime.date(2026, 11, 28))
    assert (due["kind"], due["fiscal_year"], due["amount"]) == ("new", YEAR, D("1000.00"))
    with pytest.raises(ValidationError) as error:
        services.licence_pay(by=shop.user("viewer"), licence=licence, method="cash")
    assert error.value.code == "forbidden"
    certificate = services.licence_pay(by=shop.user("cashier"), licence=licence, method="cash")
    licence.refresh_from_db()
    assert licence.status == S.ACTIVE and licence.number == "TL-000001"
    assert certificate.number == "TL-000001-2026" and certificate.valid_until == datetime.date(2027, 6, 30)
    assert certificate.valid_from == timezone.localdate() and certificate.payment.receipt_number == "TLR-00000001"
    assert [event.action for event in licence.events.all()] == ["applied", "inspected", "approved", "issued"]


def test_failed_inspection_rejects(shop):
    licence = services.licence_inspect(by=shop.user("tax_officer"), licence=shop.apply(), passed=False,
                                       notes="Storing fuel in a residential building")
    assert licence.status == S.REJECTED and "fuel" in licence.closing_reason


def test_renewal_window_late_fee_and_expiry(shop):
    certificate = shop.issued(received=at(datetime.date(2026, 8, 1)))
    licence = certificate.licence
    assert services.fee_due(licence, on=datetime.date(2027, 3, 1)) is None  # too early to renew
    due = services.fee_due(licence, on=datetime.date(2027, 6, 1))
    assert (due["kind"], due["fiscal_year"], due["amount"]) == ("renewal", YEAR + 1, D("800.00"))
    # not renewed in time: expired after 30 June, effective status even before the nightly task
    assert selectors.effective_status(licence, today=datetime.date(2027, 7, 2)) == S.EXPIRED
    assert services.licences_expire(today=datetime.date(2027, 7, 2)) == 1
    licence.refresh_from_db()
    assert licence.status == S.EXPIRED
    due = services.fee_due(licence, on=datetime.date(2027, 8, 15))
    assert (due["fiscal_year"], due["late_fee"], due["amount"]) == (YEAR + 1, D("200.00"), D("1000.00"))
    renewed = services.licence_pay(by=shop.user("cashier"), licence=licence, method="cheque", reference="DBBL 5",
                                   received_at=at(datetime.date(2027, 8, 15)))
    licence.refresh_from_db()
    assert licence.status == S.ACTIVE and licence.valid_until == datetime.date(2028, 6, 30)
    assert renewed.number == "TL-000001-2027" and renewed.valid_from == datetime.date(2027, 7, 1)
    assert Certificate.objects.filter(licence=licence).count() == 2


def test_cancellation_needs_a_reason(shop):
    licence = shop.issued().licence
    with pytest.raises(ValidationError):
        services.licence_cancel(by=shop.user("tax_officer"), licence=licence, reason=" ")
    licence = services.licence_cancel(by=shop.user("tax_officer"), licence=licence, reason="Business closed")
    assert licence.status == S.CANCELLED and services.fee_due(licence) is None


@override_settings(IMIS_SMS_GATEWAY="tests.tenant_apps.licences.test_licences.RecordingSms")
def test_reminders_before_expiry_once_each(shop):
    SENT.clear()
    licence = shop.issued(received=at(datetime.date(2026, 8, 1))).licence
    no_phone = shop.issued(received=at(datetime.date(2026, 8, 1))).licence
    Licence.objects.filter(pk=no_phone.pk).update(owner_phone="")
    assert services.licence_reminders_send(today=datetime.date(2027, 5, 1)) == {"sent": 0, "failed": 0}
    assert services.licence_reminders_send(today=datetime.date(2027, 6, 1)) == {"sent": 1, "failed": 1}
    assert services.licence_reminders_send(today=datetime.date(2027, 6, 2)) == {"sent": 0, "failed": 1}  # no repeat
    assert services.licence_reminders_send(today=datetime.date(2027, 6, 25)) == {"sent": 1, "failed": 1}
    assert [to for to, _body in SENT] == ["+8801712345678", "+8801712345678"]
    assert "TL-000001" in SENT[0][1] and "30/06/2027" in SENT[0][1]  # in the municipality's language (English)
    assert Reminder.objects.filter(licence=licence).count() == 2
    assert Reminder.objects.get(licence=no_phone, days_before=7).error == "no phone number"


def test_daily_task_runs_in_each_municipality_with_the_feature(shop, world):
    from imis.tenant_apps.licences.tasks import licence_daily_all_task

    shop.issued(received=at(datetime.date(2025, 8, 1)))  # licence year 2025-26: expired on 30 June 2026
    result = licence_daily_all_task()
    assert result["khulna"]["expired"] == 1 and "jhenaidah" not in result  # Jhenaidah has no trade licence


def test_screens_roles_and_the_whole_flow(shop, world, tenant_client):
    officer = tenant_client(world.khulna, shop.user("tax_officer"))
    assert tenant_client(world.khulna, shop.user("viewer")).get("/licences/").status_code == 200
    assert tenant_client(world.khulna, shop.user("viewer")).get("/licences/new/").status_code == 403
    assert tenant_client(world.khulna, shop.user("help_desk")).get("/licences/").status_code == 403
    response = officer.post("/licences/new/", {"business_name": "Rupsha Pharmacy", "category": shop.grocery.pk,
                                              "holding": "9-9999-99999", "owner_name": "Nasrin"})
    assert "No holding has this ID." in response.content.decode()
    response = officer.post("/licences/new/", {"business_name": "Rupsha Pharmacy", "category": shop.grocery.pk,
                                              "holding": "1-0001-00001", "owner_name": "Nasrin",
                                              "owner_phone": "017"})
    assert "01712345678" in response.content.decode()  # the phone's error, beside the field
    response = officer.post("/licences/new/", {"business_name": "Rupsha Pharmacy", "category": shop.grocery.pk,
                                              "holding": "1-0001-00001", "owner_name": "Nasrin",
                                              "owner_phone": "01812345678"})
    with tenant_context(world.khulna):
        licence = Licence.objects.get(business_name="Rupsha Pharmacy")
    assert response["Location"] == f"/licences/{licence.pk}/"
    officer.post(f"/licences/{licence.pk}/inspect/", {"passed": "yes", "notes": "Cold storage fine"})
    officer.post(f"/licences/{licence.pk}/approve/")
    page = officer.get(f"/licences/{licence.pk}/").content.decode()
    assert 'data-action="pay"' in page and "৳ 1,000.00" in page
    cashier = tenant_client(world.khulna, shop.user("cashier"))
    assert cashier.post(f"/licences/{licence.pk}/pay/", {"method": "cash"}).status_code == 302
    with tenant_context(world.khulna):
        licence.refresh_from_db()
    assert licence.status == S.ACTIVE
    listing = officer.get("/licences/", {"status": "active"}).content.decode()
    assert "Rupsha Pharmacy" in listing and 'data-total="1"' in listing
    officer.post(f"/licences/{licence.pk}/cancel/", {"reason": "Owner asked"})
    with tenant_context(world.khulna):
        licence.refresh_from_db()
    assert licence.status == S.CANCELLED


def test_fee_schedule_screen(shop, world, tenant_client):
    officer = tenant_client(world.khulna, shop.user("tax_officer"))
    assert "৳ 1,000.00" in officer.get("/licences/categories/", {"fy": YEAR}).content.decode()
    officer.post("/licences/categories/", {"form": "category", "code": "M-02", "name": "Restaurant", "name_bn": "",
                                           "is_active": "on"})
    with tenant_context(world.khulna):
        category = BusinessCategory.objects.get(code="M-02")
    officer.post("/licences/categories/", {"form": "fee", "category": category.pk, "fiscal_year": YEAR,
                                           "new_fee": "5000", "renewal_fee": "4000", "late_fee_percent": "20"})
    assert "৳ 5,000.00" in officer.get("/licences/categories/", {"fy": YEAR}).content.decode()
    assert tenant_client(world.khulna, shop.user("viewer")).post(
        "/licences/categories/", {"form": "category", "code": "X"}).status_code == 403


def test_public_verification_page(shop, world, tenant_client):
    certificate = shop.issued()
    anonymous = tenant_client(world.khulna)
    html = anonymous.get(f"/licences/verify/{certificate.number}/").content.decode()
    assert "Karim Store" in html and 'data-status="active"' in html and "1-0001-00001" in html
    assert "Abdul Karim" not in html and "1712345678" not in html
    assert anonymous.get("/licences/verify/TL-999999-2026/").status_code == 404
    assert anonymous.get(f"/licences/verify/{certificate.licence.number}/").status_code == 200
    assert tenant_client(world.jhenaidah).get(f"/licences/verify/{certificate.number}/").status_code == 404
    with tenant_context(world.khulna):
        services.licence_cancel(by=shop.user("tax_officer"), licence=certificate.licence, reason="Closed")
    assert 'data-status="cancelled"' in anonymous.get(f"/licences/verify/{certificate.number}/").content.decode()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_certificate_pdf_in_bangla_extracts_right(shop, world, tenant_client):
    certificate = shop.issued(received=at(datetime.date(2026, 11, 28)))
    content = pdf.certificate_pdf(certificate, municipality=world.khulna, language="bn")
    folder = Path(__file__).resolve().parents[3] / "artifacts" / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "licence-certificate-bn.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("ট্রেড লাইসেন্স", "খুলনা সিটি কর্পোরেশন", "মুদি দোকান", "TL-000001-2026", "২০২৬-২৭",
                     "৩০ জুন ২০২৭", "৳ ১,০০০.০০"):
        assert expected in text, expected
    response = tenant_client(world.khulna, shop.user("viewer")).get(
        f"/licences/certificates/{certificate.number}/certificate.pdf", {"lang": "en"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    (folder / "licence-certificate-en.pdf").write_bytes(response.content)


def test_licence_pages_are_404_without_the_feature(world, tenant_client):
    assert tenant_client(world.jhenaidah, world.user("tax_officer", "jhenaidah")).get("/licences/").status_code == 404
    assert tenant_client(world.jhenaidah).get("/licences/verify/TL-000001-2026/").status_code == 404


def test_licences_stay_in_their_municipality(shop, world):
    shop.issued()
    with tenant_context(world.jhenaidah):
        assert Licence.objects.count() == 0 and Certificate.objects.count() == 0
