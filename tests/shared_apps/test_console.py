"""The provisioning console: staff only, onboarding, toggles, status, invitations, support sessions, backups."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.models import User
from imis.shared_apps.console import services
from imis.shared_apps.console.models import ConsoleAuditEntry
from imis.shared_apps.tenants.models import Municipality
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry import services as registry
from tests.tenant_apps.registry.factories import point, road, square, ward

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rolled-back tests never bump a data version (it happens on commit): the console's figures, cached per
    data version, must not come from another test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(world):
    return User.objects.get(email="support@imis.test")


@pytest.fixture
def console(client, staff):
    client.force_login(staff)
    client.defaults["HTTP_HOST"] = "localhost"
    return client


def test_console_is_for_platform_staff_only(world, client):
    assert client.get("/console/", HTTP_HOST="localhost").status_code == 302
    client.force_login(world.user("municipal_admin", "khulna"))
    assert client.get("/console/", HTTP_HOST="localhost").status_code == 403


def test_console_is_not_served_on_a_municipality_host(world, tenant_client, staff):
    assert tenant_client(world.khulna, staff).get("/console/").status_code in (403, 404)


def test_municipality_list_shows_status_features_and_counts(world, console):
    with tenant_context(world.khulna):
        ward(1, -500, -500, 500, 500)
        registry.building_create(by=None, bin="B-1", footprint=square(0, 0))
    body = console.get("/console/?sort=buildings").content.decode()
    assert "Khulna City Corporation" in body and "Jhenaidah Paurashava" in body
    assert body.index("Khulna City Corporation") < body.index("Jhenaidah Paurashava")
    assert 'data-features="fsm holding_tax trade_licence"' in body
    assert "Jhenaidah" not in console.get("/console/?q=khul").content.decode()


def test_onboarding_creates_a_ready_municipality(world, console):
    response = console.post("/console/new/", {
        "name": "Narail Paurashava", "name_bn": "নড়াইল পৌরসভা", "slug": "narail", "features": ["fsm", "holding_tax"],
        "centroid_lon": 89.51, "centroid_lat": 23.17, "timezone": "Asia/Dhaka", "currency": "BDT",
        "default_language": "bn", "holding_id_pattern": r"^\d{2}-\d{4}$",
    })
    assert response.status_code == 302 and response["Location"] == "/console/m/narail/onboarding/gis/"
    narail = Municipality.objects.get(slug="narail")
    assert narail.holding_id_pattern == r"^\d{2}-\d{4}$" and narail.default_language == "bn"
    page = console.get("/console/m/narail/").content.decode()
    assert 'data-check="created" data-done="yes"' in page and 'data-check="buildings" data-done="no"' in page
    assert ConsoleAuditEntry.objects.filter(action="create", municipality=narail).exists()


def test_onboarding_shows_errors_beside_fields(world, console):
    response = console.post("/console/new/", {
        "name": "Again", "slug": "khulna", "centroid_lon": 89, "centroid_lat": 23, "timezone": "Asia/Dhaka",
        "currency": "BDT", "default_language": "en", "holding_id_pattern": "([",
    })
    body = response.content.decode()
    assert response.status_code == 200
    assert "Not a valid regular expression" in body
    assert Municipality.objects.filter(slug="khulna").count() == 1


def test_feature_toggle_takes_effect_at_once(world, console, tenant_client):
    admin = tenant_client(world.khulna, world.user("municipal_admin", "khulna"))
    assert admin.get("/fsm/").status_code == 200
    console.post("/console/m/khulna/features/fsm/", {"enabled": "0"})
    assert admin.get("/fsm/").status_code == 404
    console.post("/console/m/khulna/features/fsm/", {"enabled": "1", "emptying_sla_hours": "48"})
    assert admin.get("/fsm/").status_code == 200
    assert world.khulna.features.get(feature_id="fsm").settings["emptying_sla_hours"] == 48


def test_invalid_feature_settings_are_refused(world, console):
    response = console.post("/console/m/khulna/features/holding_tax/", {"enabled": "1",
                                                                        "fiscal_year_start_month": "13"}, follow=True)
    assert "fiscal_year_start_month" in response.content.decode()
    assert world.khulna.features.get(feature_id="holding_tax").settings["fiscal_year_start_month"] == 7


def test_suspend_blocks_access_and_resume_restores_it(world, console, tenant_client):
    admin = tenant_client(world.khulna, world.user("municipal_admin", "khulna"))
    console.post("/console/m/khulna/status/", {"status": "suspended"})
    assert admin.get("/").status_code == 503
    console.post("/console/m/khulna/status/", {"status": "active"})
    assert admin.get("/").status_code == 200


def test_invitation_email_carries_a_working_one_time_link(world, console, client):
    console.post("/console/m/jhenaidah/invite/", {"email": "mayor.office@jhenaidah.gov.bd", "full_name": "Admin"})
    assert len(mail.outbox) == 1
    link = next(word for word in mail.outbox[0].body.split() if "/accounts/password/reset/key/" in word)
    assert link.startswith("http://jhenaidah.localhost/")
    invited = User.objects.get(email="mayor.office@jhenaidah.gov.bd")
    assert invited.memberships.get().role == "municipal_admin" and not invited.has_usable_password()
    path = link.split("jhenaidah.localhost", 1)[1]
    page = client.get(path, HTTP_HOST="jhenaidah.localhost", follow=True)
    assert page.status_code == 200 and "password1" in page.content.decode()


def test_support_session_grants_time_limited_audited_access(world, tenant_client, staff):
    client = tenant_client(world.khulna, staff)
    assert client.get("/settings/").status_code == 403  # platform staff have no role there

    session = services.support_session_start(user=staff, municipality=world.khulna, reason="Ticket 42: tax rates")
    assert client.get("/settings/").status_code == 200
    assert tenant_client(world.jhenaidah, staff).get("/settings/").status_code == 403  # only where it was started

    with tenant_context(world.khulna):
        trail = list(AuditEntry.objects.filter(action="support").order_by("id"))
    assert trail[0].after["event"] == "started"
    assert trail[-1].after == {"method": "GET", "path": "/settings/", "status": 200}
    assert trail[-1].actor_label == "support@imis.test (support)"

    services.support_session_end(session=session, by=staff)
    assert client.get("/settings/").status_code == 403


def test_support_session_needs_a_reason(world, staff):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.support_session_start(user=staff, municipality=world.khulna, reason="x")
    assert error.value.code == "reason_required"


def _checksum(municipality) -> tuple:
    with tenant_context(municipality), connection.cursor() as cursor:
        cursor.execute("SELECT count(*), md5(string_agg(bin || ST_AsText(footprint) || floors, ',' ORDER BY bin)) "
                       "FROM registry_building")
        buildings = cursor.fetchone()
        cursor.execute("SELECT count(*), md5(string_agg(code || ST_AsText(location), ',' ORDER BY code)) "
                       "FROM registry_containment")
        containments = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM registry_containment_buildings")
        links = cursor.fetchone()
    return buildings, containments, links


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip(tworld, client):
    """pg_dump reads committed data from its own connection: this test commits."""
    world = tworld
    client.force_login(User.objects.get(email="support@imis.test"))
    client.defaults["HTTP_HOST"] = "localhost"
    console = client
    with tenant_context(world.khulna):
        ward(1, -500, -500, 500, 500)
        road("R-1", (-300, 0), (300, 0), width_m=6)
        for n in range(5):
            building = registry.building_create(by=None, bin=f"B-{n}", footprint=square(20 * n, 10), floors=n + 1)
            registry.containment_create(by=None, building_ids=[building.pk], code=f"C-{n}", type="septic_tank",
                                        length_m=2, width_m=1, depth_m=1, location=point(20 * n + 5, 25))
    original = _checksum(world.khulna)

    archive = console.post("/console/m/khulna/backup/").content
    assert archive[:2] == b"\x1f\x8b"  # gzip
    upload = SimpleUploadedFile("imis-khulna.tar.gz", archive, content_type="application/gzip")
    response = console.post("/console/restore/", {"archive": upload, "slug": "khulna_copy", "name": "Khulna (copy)"})
    assert response.status_code == 302
    restored = Municipality.objects.get(slug="khulna_copy")
    assert _checksum(restored) == original
    assert restored.get_primary_domain().domain == "khulna_copy.localhost"
    assert sorted(restored.features.values_list("feature_id", flat=True)) == ["fsm", "holding_tax", "trade_licence"]
    assert restored.memberships.filter(user__email="municipal_admin@khulna.test").exists()
    with tenant_context(world.khulna):  # the original is untouched
        assert _checksum(world.khulna) == original


def test_restore_refuses_a_broken_archive(world, console):
    response = console.post("/console/restore/", {"archive": SimpleUploadedFile("x.tar.gz", b"not a tar"),
                                                  "slug": "broken", "name": "Broken"})
    assert "not a readable IMIS backup" in response.content.decode()
    assert not Municipality.objects.filter(slug="broken").exists()
