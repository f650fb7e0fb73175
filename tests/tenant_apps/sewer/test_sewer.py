"""Sewer connections: the life cycle (apply → survey → approve → fee → connected, or rejected/cancelled) per role,
connecting changes the building's sanitation through the registry (audited), the campaign list of buildings that
could connect (hand-built geometry), the fee through the one payment flow (counter and online), the screens,
feature gating and isolation between municipalities."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection as db
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import MunicipalityFeature
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.payments import payables
from imis.tenant_apps.payments import services as payments
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import Building, Sewer
from imis.tenant_apps.sewer import selectors, services
from imis.tenant_apps.sewer.models import SewerConnection, SewerConnectionEvent, SewerConnectionPayment
from tests.tenant_apps.registry.factories import at, square, ward

pytestmark = pytest.mark.django_db
S = SewerConnection.Status


def sewer_enable(municipality, enabled: bool = True) -> None:
    db.set_schema_to_public()
    MunicipalityFeature.objects.update_or_create(municipality=municipality, feature_id="sewer",
                                                 defaults={"is_enabled": enabled})
    municipality._enabled_features = None


class Town:
    """Ward 1 (x −500…500 m) and ward 2 (500…1500 m); sewer SW-1 along y = 0 from x = 0 to 1000 m."""

    def __init__(self, world):
        from django.contrib.gis.geos import LineString

        self.world = world
        w1, w2 = ward(1, -500, -500, 500, 500), ward(2, 500, -500, 1500, 500)
        self.sewer = Sewer.objects.create(code="SW-1", diameter_mm=300,
                                          geom=LineString(at(0, 0), at(1000, 0), srid=4326))
        self.holding = registry.holding_create(by=None, holding_id="1-0001-00001", ward=w1, address="1 Sewer Road",
                                               owners=[{"name": "Rahima Begum", "phone": "01712345678"}])
        self.near = registry.building_create(by=None, bin="B-NEAR", footprint=square(100, 20), holding=self.holding,
                                             sanitation_system="septic_tank", population_female=4)
        self.far = registry.building_create(by=None, bin="B-FAR", footprint=square(100, 200),
                                            sanitation_system="pit")
        self.on_sewer = registry.building_create(by=None, bin="B-ON", footprint=square(200, 10),
                                                 sanitation_system="sewer")
        self.ward2 = registry.building_create(by=None, bin="B-W2", footprint=square(800, 30),
                                              sanitation_system="drain")
        assert self.ward2.ward == w2

    def user(self, role: str):
        return self.world.user(role, "khulna")

    def apply(self, building=None, **kwargs):
        return services.connection_apply(by=self.user("sanitation_officer"), building=building or self.near,
                                         applicant_name="Rahima Begum", applicant_phone="01712345678", **kwargs)

    def approved(self, fee=5000):
        connection = self.apply()
        officer = self.user("sanitation_officer")
        services.connection_survey(by=officer, connection=connection, is_feasible=True, notes="Slope is fine",
                                   distance_m="22.5")
        return services.connection_approve(by=officer, connection=connection, fee_amount=fee)


@pytest.fixture
def town(world):
    sewer_enable(world.khulna)
    cache.clear()
    with tenant_context(world.khulna):
        yield Town(world)
    cache.clear()


def test_life_cycle_to_connected_changes_the_building_with_audit(town):
    connection = town.apply()
    assert connection.status == S.APPLIED and connection.application_number.startswith("SCA-")
    assert connection.sewer == town.sewer and connection.holding == town.holding
    assert Decimal("19") <= connection.map_distance_m <= Decimal("21")  # 20 m north of the line
    assert connection.applicant_phone == "+8801712345678"
    officer = town.user("sanitation_officer")
    connection = services.connection_survey(by=officer, connection=connection, is_feasible=True,
                                            notes="Manhole 3 m from the gate", distance_m="24")
    assert connection.status == S.SURVEYED and connection.survey_distance_m == Decimal("24.0")
    connection = services.connection_approve(by=town.user("municipal_admin"), connection=connection, fee_amount=5000)
    assert connection.status == S.APPROVED and connection.fee_amount == Decimal("5000.00")
    payment = services.connection_pay(by=town.user("cashier"), connection=connection, method="cash")
    assert payment.receipt_number == "SCR-00000001" and payment.amount == Decimal("5000.00")
    connection.refresh_from_db()
    assert connection.status == S.FEE_PAID
    connection = services.connection_connect(by=officer, connection=connection, note="Joined at manhole 3")
    assert connection.status == S.CONNECTED and connection.connected_on is not None
    building = Building.objects.get(pk=town.near.pk)
    assert (building.sanitation_system, building.sewer_code) == ("sewer", "SW-1")
    entry = AuditEntry.objects.filter(model="registry.building", object_id=str(building.pk)).latest("pk")
    assert entry.actor_label == "sanitation_officer@khulna.test"
    assert entry.before["sanitation_system"] == "septic_tank" and entry.after["sanitation_system"] == "sewer"
    assert [e.action for e in connection.events.all()] == ["applied", "surveyed", "approved", "fee_paid",
                                                           "connected"]
    assert AuditEntry.objects.filter(model="sewer.sewerconnection", object_id=str(connection.pk)).count() == 5


@pytest.mark.parametrize("role, allowed", [("sanitation_officer", True), ("municipal_admin", True),
                                           ("viewer", False), ("executive", False), ("water_officer", False),
                                           ("cashier", False), ("help_desk", False)])
def test_who_may_run_the_steps(town, role, allowed):
    user = town.user(role)
    if not allowed:
        with pytest.raises(ValidationError) as refused:
            services.connection_apply(by=user, building=town.near, applicant_name="X")
        assert refused.value.code == "forbidden"
        connection = town.apply()
        for step in (lambda: services.connection_survey(by=user, connection=connection, is_feasible=True,
                                                        notes="ok", distance_m=10),
                     lambda: services.connection_reject(by=user, connection=connection, reason="no"),
                     lambda: services.connection_cancel(by=user, connection=connection, reason="no")):
            with pytest.raises(ValidationError) as refused:
                step()
            assert refused.value.code == "forbidden"
        connection.refresh_from_db()
        assert connection.status == S.APPLIED and connection.events.count() == 1
        return
    connection = services.connection_apply(by=user, building=town.near, applicant_name="Rahima")
    services.connection_survey(by=user, connection=connection, is_feasible=True, notes="ok", distance_m=10)
    services.connection_approve(by=user, connection=connection, fee_amount=100)
    services.connection_pay(by=user, connection=connection, method="cash")
    assert services.connection_connect(by=user, connection=connection).status == S.CONNECTED


@pytest.mark.parametrize("role, allowed", [("cashier", True), ("tax_officer", True), ("sanitation_officer", True),
                                           ("viewer", False), ("water_officer", False)])
def test_who_may_take_the_fee(town, role, allowed):
    connection = town.approved()
    if allowed:
        assert services.connection_pay(by=town.user(role), connection=connection, method="cash").amount == 5000
    else:
        with pytest.raises(ValidationError) as refused:
            services.connection_pay(by=town.user(role), connection=connection, method="cash")
        assert refused.value.code == "forbidden" and SewerConnectionPayment.objects.count() == 0


def test_steps_out_of_order_are_refused_and_write_nothing(town):
    officer = town.user("sanitation_officer")
    connection = town.apply()

    def refused(call, code):
        with pytest.raises(ValidationError) as error:
            call()
        assert error.value.code == code, error.value
        return error.value

    refused(lambda: services.connection_approve(by=officer, connection=connection, fee_amount=10),
            "invalid_transition")
    refused(lambda: services.connection_pay(by=officer, connection=connection, method="cash"), "nothing_due")
    refused(lambda: services.connection_connect(by=officer, connection=connection), "invalid_transition")
    refused(lambda: town.apply(), "duplicate_application")
    refused(lambda: town.apply(building=town.on_sewer), "already_connected")
    # bad input: an error beside its field, nothing written
    error = refused(lambda: services.connection_survey(by=officer, connection=connection, is_feasible=True,
                                                       notes=" ", distance_m=10), "required")
    assert "notes" in error.message_dict
    error = refused(lambda: services.connection_survey(by=officer, connection=connection, is_feasible=True,
                                                       notes="ok", distance_m="far"), "invalid_distance")
    assert "distance_m" in error.message_dict
    error = refused(lambda: services.connection_apply(by=officer, building=town.far, applicant_name=" "), "required")
    assert "applicant_name" in error.message_dict
    error = refused(lambda: services.connection_apply(by=officer, building=town.far, applicant_name="A",
                                                      applicant_phone="017"), "invalid_phone")
    assert "applicant_phone" in error.message_dict
    connection.refresh_from_db()
    assert connection.status == S.APPLIED and SewerConnection.objects.count() == 1
    assert SewerConnectionEvent.objects.count() == 1
    services.connection_survey(by=officer, connection=connection, is_feasible=True, notes="ok", distance_m=10)
    error = refused(lambda: services.connection_approve(by=officer, connection=connection, fee_amount=-5),
                    "invalid_amount")
    assert "fee_amount" in error.message_dict
    services.connection_approve(by=officer, connection=connection, fee_amount=700)
    refused(lambda: services.connection_reject(by=officer, connection=connection, reason="late"),
            "invalid_transition")
    refused(lambda: services.connection_pay(by=officer, connection=connection, method="cheque"), "required")
    services.connection_pay(by=officer, connection=connection, method="cheque", reference="SONALI 77")
    refused(lambda: services.connection_pay(by=officer, connection=connection, method="cash"), "nothing_due")
    services.connection_connect(by=officer, connection=connection)
    refused(lambda: services.connection_cancel(by=officer, connection=connection, reason="changed mind"),
            "invalid_transition")


def test_infeasible_survey_rejects_too_far_is_not_approved_and_a_waived_fee_skips_payment(town):
    officer = town.user("sanitation_officer")
    rejected = services.connection_survey(by=officer, connection=town.apply(), is_feasible=False,
                                          notes="Below the sewer level", distance_m=20)
    assert rejected.status == S.REJECTED and rejected.closing_reason == "Below the sewer level"
    far = services.connection_apply(by=officer, building=town.far, applicant_name="Far away")
    services.connection_survey(by=officer, connection=far, is_feasible=True, notes="Long lateral", distance_m=190)
    with pytest.raises(ValidationError) as too_far:
        services.connection_approve(by=officer, connection=far, fee_amount=100)
    assert too_far.value.code == "too_far" and "50" in str(too_far.value)  # the municipality's limit, 50 m
    cancelled = services.connection_cancel(by=officer, connection=far, reason="Owner withdrew")
    assert cancelled.status == S.CANCELLED
    waived = services.connection_apply(by=officer, building=town.ward2, applicant_name="Poor household")
    services.connection_survey(by=officer, connection=waived, is_feasible=True, notes="ok", distance_m=30)
    waived = services.connection_approve(by=officer, connection=waived, fee_amount=0)
    assert waived.status == S.FEE_PAID and waived.fee_paid_on is not None
    assert services.connection_connect(by=officer, connection=waived).status == S.CONNECTED


def test_campaign_lists_buildings_near_a_sewer_not_yet_on_it(town):
    result = selectors.campaign_buildings(distance_m=50)
    assert [(row["bin"], row["ward"], row["sewer_code"]) for row in result.rows] == [
        ("B-NEAR", 1, "SW-1"), ("B-W2", 2, "SW-1")]  # not B-FAR (200 m) nor B-ON (already on the sewer)
    assert result.summary["by_ward"] == [
        {"ward": 1, "buildings": 1, "population": 4, "with_application": 0},
        {"ward": 2, "buildings": 1, "population": 0, "with_application": 0}]
    assert [row["bin"] for row in selectors.campaign_buildings(distance_m=300).rows] == ["B-NEAR", "B-FAR", "B-W2"]
    assert [row["bin"] for row in selectors.campaign_buildings(distance_m=50, ward=2).rows] == ["B-W2"]
    # one line (the maps analysis itself) gives the same buildings
    assert [row["bin"] for row in selectors.campaign_buildings(distance_m=50, sewer_id=town.sewer.pk).rows] == [
        "B-NEAR", "B-W2"]
    connection = town.apply()
    row = selectors.campaign_buildings(distance_m=50).rows[0]
    assert (row["bin"], row["application_id"], row["application_number"]) == (
        "B-NEAR", connection.pk, connection.application_number)
    with pytest.raises(ValidationError):
        selectors.campaign_buildings(distance_m=0)


def test_campaign_screen_and_csv(town, tenant_client):
    connection = town.apply()
    client = tenant_client(town.world.khulna, town.user("sanitation_officer"))
    page = client.get("/sewer/campaign/").content.decode()  # the municipality's 50 m by default
    assert 'data-bin="B-NEAR"' in page and 'data-bin="B-W2"' in page and 'data-bin="B-FAR"' not in page
    assert f'href="/sewer/{connection.pk}/"' in page
    assert f'href="/sewer/new/?building={town.ward2.pk}&amp;sewer={town.sewer.pk}"' in page
    assert 'data-ward-buildings="2"' in page
    assert page.count('data-action="map"') == 2 and 'href="/map/#view=19/' in page  # each row opens on the map
    form = client.get(f"/sewer/new/?building={town.ward2.pk}&sewer={town.sewer.pk}").content.decode()
    assert 'value="B-W2"' in form
    response = client.get("/sewer/campaign/", {"distance_m": "300", "ward": "1", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r["bin"], r["ward"], r["application_number"]) for r in rows] == [
        ("B-NEAR", "1", connection.application_number), ("B-FAR", "1", "")]
    assert client.get("/sewer/campaign/", {"distance_m": "-3"}).status_code == 400
    viewer = tenant_client(town.world.khulna, town.user("viewer")).get("/sewer/campaign/").content.decode()
    assert 'data-bin="B-W2"' in viewer and 'data-action="apply"' not in viewer


def test_fee_is_a_payable_taken_at_the_counter(town):
    connection = town.approved()
    dues = {due.kind: due for due in payables.holding_dues(town.holding)}
    assert dues["sewer_fee"].amount == Decimal("5000.00") and connection.application_number in dues["sewer_fee"].title
    with pytest.raises(ValidationError) as refused:
        payments.counter_take(by=town.user("viewer"), holding=town.holding,
                              items=[("sewer_fee", str(connection.pk), None)], method="cash")
    assert refused.value.code == "forbidden"
    settlements = payments.counter_take(by=town.user("cashier"), holding=town.holding,
                                        items=[("sewer_fee", str(connection.pk), None)], method="cash")
    assert [s.receipt_number for s in settlements] == ["SCR-00000001"]
    connection.refresh_from_db()
    assert connection.status == S.FEE_PAID and connection.payment.cashier_label == "cashier@khulna.test"
    assert "sewer_fee" not in {due.kind for due in payables.holding_dues(town.holding)}
    with pytest.raises(ValidationError):  # paid already: not payable twice
        payments.counter_take(by=town.user("cashier"), holding=town.holding,
                              items=[("sewer_fee", str(connection.pk), None)], method="cash")
    facts = payables.receipt_verify("SCR-00000001")
    assert facts["service"] == connection.application_number and facts["amount"] == Decimal("5000.00")
    payable = payables.payable_for("sewer_fee")
    assert [row.number for row in payable.receipts(town.holding)] == ["SCR-00000001"]
    content = payable.receipt_pdf("SCR-00000001", holding=town.holding, municipality=town.world.khulna,
                                  language="en")
    assert content.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True,
                              check=True).stdout.decode()
        assert "sewer connection fee" in text and "SCR-00000001" in text and "Rahima Begum" in text
    other = registry.holding_create(by=None, holding_id="1-0001-00002", ward=town.holding.ward)
    assert payable.receipt_pdf("SCR-00000001", holding=other, municipality=town.world.khulna, language="en") is None


def test_fee_paid_online_through_the_payment_flow(town, client):
    from tests.tenant_apps.payments.stripe_standin import StripeStandIn, signed_event

    secret = "whsec_test_khulna"
    standin = StripeStandIn().start()
    try:
        payments.gateway_configure(by=None, gateway="stripe", secret_key="sk_test_khulna", webhook_secret=secret,
                                   api_base=standin.url)
        connection = town.approved(fee=1500)
        url = "http://khulna.localhost/portal/payments/{payment}/"
        payment = payments.checkout_start(holding=town.holding, items=[("sewer_fee", str(connection.pk), None)],
                                          success_url=url, cancel_url=url)
        assert standin.sessions[payment.gateway_session_id]["amount_total"] == 150000
        session = standin.complete(payment.gateway_session_id)
        body, signature = signed_event(secret=secret, event_type="checkout.session.completed", session=session)
        for _ in range(2):  # a resent event changes nothing
            response = client.post("/payments/webhook/stripe/", body, content_type="application/json",
                                   HTTP_STRIPE_SIGNATURE=signature, HTTP_HOST="khulna.localhost")
            assert response.status_code == 200
    finally:
        standin.stop()
    with tenant_context(town.world.khulna):
        connection.refresh_from_db()
        assert connection.status == S.FEE_PAID
        receipt = SewerConnectionPayment.objects.get()
        assert (receipt.receipt_number, receipt.method, receipt.amount) == ("SCR-00000001", "online", Decimal("1500"))


def test_screens_walk_the_whole_life_cycle(town, tenant_client):
    officer = tenant_client(town.world.khulna, town.user("sanitation_officer"))
    assert tenant_client(town.world.khulna, town.user("viewer")).get("/sewer/").status_code == 200
    assert tenant_client(town.world.khulna, town.user("viewer")).get("/sewer/new/").status_code == 403
    assert tenant_client(town.world.khulna, town.user("help_desk")).get("/sewer/").status_code == 403
    page = officer.post("/sewer/new/", {"building": "B-NOPE", "applicant_name": "A"}).content.decode()
    assert "No building has this BIN." in page
    page = officer.post("/sewer/new/", {"building": "B-ON", "applicant_name": "A"}).content.decode()
    assert "already connected to the sewer" in page
    response = officer.post("/sewer/new/", {"building": "b-near", "applicant_name": "Rahima Begum",
                                            "applicant_phone": "01712345678"})
    with tenant_context(town.world.khulna):
        connection = SewerConnection.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sewer/{connection.pk}/"
    base = f"/sewer/{connection.pk}/"
    page = officer.post(base + "survey/", {"is_feasible": "yes", "distance_m": "22", "notes": ""}).content.decode()
    assert "This field is required." in page
    assert officer.post(base + "survey/", {"is_feasible": "yes", "distance_m": "22",
                                           "notes": "Fine"}).status_code == 302
    assert officer.post(base + "approve/", {"fee_amount": "2500"}).status_code == 302
    page = officer.get(base).content.decode()
    assert 'data-action="pay"' in page and "৳ 2,500.00" in page
    cashier = tenant_client(town.world.khulna, town.user("cashier"))
    assert cashier.post(base + "pay/", {"method": "cash"}).status_code == 302
    assert tenant_client(town.world.khulna, town.user("viewer")).post(base + "pay/",
                                                                      {"method": "cash"}).status_code == 403
    assert officer.post(base + "connect/", {"connected_on": "2999-01-01"}).status_code == 200  # future: refused
    assert officer.post(base + "connect/", {"connected_on": ""}).status_code == 200
    from django.utils import timezone

    assert officer.post(base + "connect/", {"connected_on": timezone.localdate().isoformat(),
                                            "note": "done"}).status_code == 302
    page = officer.get(base).content.decode()
    assert 'data-receipt="SCR-00000001"' in page
    assert officer.get("/payments/receipts/SCR-00000001/receipt.pdf")["Content-Type"] == "application/pdf"
    assert 'data-status="connected"' in page and 'data-sanitation="sewer"' in page
    assert [a for a in ("applied", "surveyed", "approved", "fee_paid", "connected")
            if f'data-event="{a}"' in page] == ["applied", "surveyed", "approved", "fee_paid", "connected"]
    listing = officer.get("/sewer/", {"status": "connected", "ward": "1"}).content.decode()
    assert connection.application_number in listing and 'data-total="1"' in listing
    assert 'data-total="0"' in officer.get("/sewer/", {"status": "applied"}).content.decode()


def test_list_runs_a_bounded_number_of_queries(town, tenant_client, django_assert_max_num_queries):
    for building in (town.near, town.far, town.ward2):
        town.apply(building=building)
    client = tenant_client(town.world.khulna, town.user("viewer"))
    with django_assert_max_num_queries(25):
        assert client.get("/sewer/").status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get("/sewer/campaign/", {"distance_m": "300"}).status_code == 200


def test_pages_are_404_without_the_feature(town, tenant_client):
    connection = town.apply()
    sewer_enable(town.world.khulna, enabled=False)
    client = tenant_client(town.world.khulna, town.user("municipal_admin"))
    for path in ("/sewer/", "/sewer/new/", "/sewer/campaign/", f"/sewer/{connection.pk}/",
                 f"/sewer/{connection.pk}/survey/"):
        assert client.get(path).status_code == 404, path
    with tenant_context(town.world.khulna):
        assert "sewer_fee" not in {p.kind for p in payables.payables_enabled()}


def test_another_municipalitys_ids_are_404(town, tenant_client):
    connection = town.approved()
    sewer_enable(town.world.jhenaidah)
    try:
        client = tenant_client(town.world.jhenaidah, town.world.user("municipal_admin", "jhenaidah"))
        assert client.get("/sewer/").status_code == 200
        for path in ("", "survey/", "approve/", "pay/", "connect/", "reject/", "cancel/"):
            assert client.get(f"/sewer/{connection.pk}/{path}").status_code == 404, path
            assert client.post(f"/sewer/{connection.pk}/{path}", {"reason": "x"}).status_code == 404, path
        assert "B-NEAR" not in client.get("/sewer/campaign/").content.decode()
        with tenant_context(town.world.jhenaidah):
            assert SewerConnection.objects.count() == 0 and payables.payable_for("sewer_fee").due(
                str(connection.pk)) is None
        # a Khulna member gets nothing on Jhenaidah's site either
        foreign = tenant_client(town.world.jhenaidah, town.user("sanitation_officer"))
        assert foreign.get("/sewer/").status_code in (302, 403, 404)
    finally:
        sewer_enable(town.world.jhenaidah, enabled=False)
    with tenant_context(town.world.khulna):
        assert SewerConnection.objects.get().status == S.APPROVED


def test_demo_step_builds_applications_from_the_campaign_list_once(town):
    from imis.tenant_apps.sewer.demo import demo_sewer

    lines = []
    demo_sewer(municipality=town.world.khulna, figures=None, scale=0.01, seed=1, log=lines.append)
    connections = list(SewerConnection.objects.select_related("building"))
    assert sorted(c.building.bin for c in connections) == ["B-NEAR", "B-W2"]  # the campaign list at 50 m
    for connection in connections:
        events = list(connection.events.all())
        assert events[0].action == "applied" and [e.at for e in events] == sorted(e.at for e in events)
        if connection.status == S.CONNECTED:
            assert Building.objects.get(pk=connection.building_id).sanitation_system == "sewer"
    demo_sewer(municipality=town.world.khulna, figures=None, scale=0.01, seed=1, log=lines.append)
    assert SewerConnection.objects.count() == 2 and "left as it is" in lines[-1]
