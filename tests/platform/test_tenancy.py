"""Hosts, isolation, status pages, membership and the feature gate."""

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.services import municipality_feature_set, municipality_set_status
from imis.tenant_apps.registry.models import Ward

pytestmark = pytest.mark.django_db


def test_ward_created_in_khulna_is_invisible_from_jhenaidah_through_orm(world):
    with tenant_context(world.khulna):
        Ward.objects.create(number=901, name="Only-in-Khulna")
    with tenant_context(world.jhenaidah):
        assert not Ward.objects.filter(name="Only-in-Khulna").exists()
    with tenant_context(world.khulna):
        assert Ward.objects.filter(name="Only-in-Khulna").count() == 1


def test_ward_created_in_khulna_is_invisible_from_jhenaidah_through_http(world, tenant_client):
    with tenant_context(world.khulna):
        Ward.objects.create(number=902, name="Sonadanga-Secret")
    khulna = tenant_client(world.khulna, world.user("municipal_admin", "khulna"))
    jhenaidah = tenant_client(world.jhenaidah, world.user("municipal_admin", "jhenaidah"))

    assert "Sonadanga-Secret" in khulna.get("/registry/").content.decode()
    assert "Sonadanga-Secret" not in jhenaidah.get("/registry/").content.decode()


def test_cache_entries_are_scoped_to_the_municipality(world):
    with tenant_context(world.khulna):
        cache.set("headline", "khulna-figures", 60)
    with tenant_context(world.jhenaidah):
        assert cache.get("headline") is None
        cache.set("headline", "jhenaidah-figures", 60)
    with tenant_context(world.khulna):
        assert cache.get("headline") == "khulna-figures"
    connection.set_schema_to_public()
    assert cache.get("headline") is None


def test_unknown_host_gets_a_404_page_without_public_data(world, client):
    response = client.get("/", HTTP_HOST="nowhere.localhost")
    body = response.content.decode()
    assert response.status_code == 404
    assert "No municipality is served at this address" in body
    assert "Khulna" not in body and "Jhenaidah" not in body


def test_public_host_lists_the_municipalities(world, client):
    response = client.get("/", HTTP_HOST="localhost")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Khulna City Corporation" in body and "http://khulna.localhost/" in body


def test_suspended_municipality_answers_503_and_shows_no_data(world, tenant_client):
    with tenant_context(world.khulna):
        Ward.objects.create(number=903, name="Hidden-While-Suspended")
    municipality_set_status(municipality=world.khulna, status="suspended")
    client = tenant_client(world.khulna, world.user("municipal_admin", "khulna"))

    for path in ("/", "/registry/", "/health"):
        response = client.get(path)
        assert response.status_code == 503
        assert "Hidden-While-Suspended" not in response.content.decode()


def test_archived_municipality_is_not_served(world, tenant_client):
    municipality_set_status(municipality=world.khulna, status="archived")
    response = tenant_client(world.khulna, world.user("municipal_admin", "khulna")).get("/")
    assert response.status_code == 404


def test_anonymous_visitor_is_sent_to_login(world, tenant_client):
    response = tenant_client(world.khulna).get("/registry/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/registry/")


def test_user_without_membership_gets_403(world, tenant_client):
    khulna_officer = world.user("tax_officer", "khulna")
    response = tenant_client(world.jhenaidah, khulna_officer).get("/")
    assert response.status_code == 403
    assert "no access to this municipality" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("municipal_admin", 200), ("viewer", 403), ("tax_officer", 403)],
)
def test_settings_page_is_for_municipal_admins(world, tenant_client, role, expected):
    response = tenant_client(world.khulna, world.user(role, "khulna")).get("/settings/")
    assert response.status_code == expected


def test_disabled_feature_answers_404_and_leaves_the_menu(world, tenant_client):
    admin = world.user("municipal_admin", "jhenaidah")
    client = tenant_client(world.jhenaidah, admin)

    assert client.get("/licences/").status_code == 404  # Jhenaidah has no trade licence
    home = client.get("/").content.decode()
    assert 'href="/licences/"' not in home
    assert 'href="/fsm/"' in home
    assert client.get("/fsm/").status_code == 200


def test_switching_a_feature_off_hides_it_at_once(world, tenant_client):
    municipality_feature_set(municipality=world.khulna, code="fsm", is_enabled=False)
    client = tenant_client(world.khulna, world.user("municipal_admin", "khulna"))
    assert client.get("/fsm/").status_code == 404
    assert 'href="/fsm/"' not in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("tax_officer", ['href="/tax/"', 'href="/licences/"'], ['href="/fsm/"', 'href="/settings/"']),
        ("sanitation_officer", ['href="/fsm/"'], ['href="/tax/"', 'href="/settings/"']),
        ("municipal_admin", ['href="/fsm/"', 'href="/tax/"', 'href="/settings/"'], ['href="/water/"']),
    ],
)
def test_menu_shows_what_the_role_may_use(world, tenant_client, role, visible, hidden):
    home = tenant_client(world.khulna, world.user(role, "khulna")).get("/").content.decode()
    for link in visible:
        assert link in home
    for link in hidden:
        assert link not in home


def test_feature_page_refuses_a_role_without_permission(world, tenant_client):
    response = tenant_client(world.khulna, world.user("sanitation_officer", "khulna")).get("/tax/")
    assert response.status_code == 403
