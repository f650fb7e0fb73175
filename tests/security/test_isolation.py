"""The isolation suite: every URL of a municipality's site, discovered from the URLconf (so a new endpoint is
covered without anyone adding it here), tried as an anonymous visitor, as another municipality's member holding
this municipality's object ids, with a session from another municipality, and with forged Host headers.

Expected: 302 to the login page, 401, 403, 404 or 405 — and never a byte of the other municipality's data.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry import services as registry
from tests.tenant_apps.registry.factories import point, road, square, ward

pytestmark = pytest.mark.django_db

SECRET_BIN = "KHL-SECRET-BIN-7731"
SECRET_OWNER = "Khulna Secret Owner"
SECRET_HOLDING = "9-0999-09999"
REFUSED = {301, 302, 400, 401, 403, 404, 405}
# Routes residents and devices reach without a membership (each checks what it serves by itself).
PUBLIC = re.compile(r"^(health|accounts/|i18n/|portal/|payments/webhook/|tax/verify/|licences/verify/|openrosa/|"
                    r"static/)")


def tenant_routes() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return sorted(set(walk(get_resolver("imis.platform.urls_tenant").url_patterns)))


@pytest.fixture
def khulna_secrets(world):
    """Khulna data with recognisable strings, and the ids a foreign user would try."""
    with tenant_context(world.khulna):
        ward(1, -500, -500, 500, 500)
        road("R-SECRET", (-300, 0), (300, 0), width_m=6)
        holding = registry.holding_create(by=None, holding_id=SECRET_HOLDING, ward=registry.ward_at(point(0, 0)),
                                          owners=[{"name": SECRET_OWNER, "phone": "01799999999"}])
        building = registry.building_create(by=None, bin=SECRET_BIN, footprint=square(10, 10), holding=holding)
        containment = registry.containment_create(by=None, building_ids=[building.pk], code="KHL-SECRET-C",
                                                  type="septic_tank", location=point(15, 25))
        audit_count = AuditEntry.objects.count()
    return {"int": max(holding.pk, building.pk, containment.pk), "ids": [holding.pk, building.pk, containment.pk],
            "audit_count": audit_count}


def concrete(route: str, value_int: int) -> str:
    path = route.replace("^", "").replace("$", "")
    path = re.sub(r"<int:[^>]+>", str(value_int), path)
    path = re.sub(r"<uuid:[^>]+>", str(uuid.uuid4()), path)
    path = re.sub(r"<slug:layer>", "buildings", path)
    path = re.sub(r"<slug:collection_id>", "buildings", path)
    path = re.sub(r"<(str|slug|path):[^>]+>", "HT2026-1-NO-SUCH", path)
    path = re.sub(r"\(\?P<[^>]+>[^)]*\)", "x", path)
    return "/" + path


def assert_no_secrets(response, route: str) -> None:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    for secret in (SECRET_BIN, SECRET_OWNER, SECRET_HOLDING, "KHL-SECRET-C", "R-SECRET"):
        assert secret.encode() not in body, f"{route} leaked {secret}"


def test_every_route_is_discovered():
    routes = tenant_routes()
    assert "registry/buildings/<int:pk>/" in routes and "tiles/<slug:layer>/<int:z>/<int:x>/<int:y>.mvt" in routes
    assert len(routes) > 40


def test_anonymous_visitors_get_nothing_but_public_pages(world, khulna_secrets, tenant_client):
    client = tenant_client(world.khulna)
    for route in tenant_routes():
        path = concrete(route, khulna_secrets["int"])
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            if PUBLIC.match(route.lstrip("^")):
                assert response.status_code < 500, f"{method} {route}: {response.status_code}"
            else:
                assert response.status_code in REFUSED, f"anonymous {method} {route}: {response.status_code}"
                if response.status_code == 302:
                    assert response["Location"].startswith(("/accounts/login/", "/accounts/2fa/")), route
            assert_no_secrets(response, route)


def test_another_municipalitys_member_with_this_municipalitys_ids(world, khulna_secrets, tenant_client):
    """Jhenaidah's admin, on Jhenaidah's site, asks for Khulna's record ids: nothing of Khulna comes back."""
    client = tenant_client(world.jhenaidah, world.user("municipal_admin", "jhenaidah"))
    for route in tenant_routes():
        for object_id in khulna_secrets["ids"]:
            path = concrete(route, object_id)
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                assert response.status_code < 500, f"{method} {route}: {response.status_code}"
                assert_no_secrets(response, route)
    with tenant_context(world.khulna):
        assert AuditEntry.objects.count() == khulna_secrets["audit_count"]  # nothing written in Khulna


def test_a_session_from_one_municipality_opens_nothing_on_another(world, khulna_secrets, tenant_client):
    client = tenant_client(world.khulna, world.user("municipal_admin", "jhenaidah"))
    for route in tenant_routes():
        if PUBLIC.match(route.lstrip("^")):
            continue
        path = concrete(route, khulna_secrets["int"])
        response = client.get(path)
        assert response.status_code in REFUSED, f"{route}: {response.status_code}"
        assert_no_secrets(response, route)


@pytest.mark.parametrize("headers", [
    {"HTTP_HOST": "evil.localhost"},
    {"HTTP_HOST": "khulna.localhost.evil.com"},
    {"HTTP_HOST": "jhenaidah.localhost", "HTTP_X_FORWARDED_HOST": "khulna.localhost"},
    {"HTTP_HOST": "jhenaidah.localhost", "HTTP_X_FORWARDED_SERVER": "khulna.localhost"},
])
def test_forged_hosts_never_reach_khulna(world, khulna_secrets, client, headers):
    client.force_login(world.user("municipal_admin", "jhenaidah"))
    for path in ("/", "/registry/", f"/registry/buildings/{khulna_secrets['ids'][1]}/", "/ogcapi/collections/"
                 "buildings/items", "/tiles/buildings.json"):
        response = client.get(path, **headers)
        assert response.status_code in REFUSED | {200}
        assert_no_secrets(response, path)
