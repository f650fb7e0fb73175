"""The console's municipalities list (figures read in each municipality's own schema, search, sort) and the
onboarding checklist computed from a municipality's real data."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.models import User
from imis.shared_apps.console.selectors import municipalities_for_console, onboarding_checklist
from imis.shared_apps.tenants.models import Domain, Municipality
from imis.tenant_apps.fsm import services as fsm
from imis.tenant_apps.registry import services as registry
from tests.tenant_apps.registry.factories import point, square, ward

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rolled-back tests never bump a data version (it happens on commit): start each test from an empty cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def console(world, client):
    client.force_login(User.objects.get(email="support@imis.test"))
    client.defaults["HTTP_HOST"] = "localhost"
    return client


@pytest.fixture
def towns(world):
    """Khulna: 4 buildings, 2 containments, 4 holdings, 1 open application; Jhenaidah: 1 building, no more."""
    with tenant_context(world.khulna):
        first = ward(1, -500, -500, 500, 500)
        containments = []
        for n in range(4):
            holding = registry.holding_create(by=None, holding_id=f"1-1-{n + 1}", ward=first)
            building = registry.building_create(by=None, bin=f"K-{n}", footprint=square(30 * n, 10),
                                                holding=holding, sanitation_system="septic_tank",
                                                structure_type="pucca", water_source="municipal")
            if n < 2:
                containments.append(registry.containment_create(
                    by=None, building_ids=[building.pk], code=f"KC-{n}", type="septic_tank", length_m=2,
                    width_m=1, depth_m=1, location=point(30 * n + 5, 25)))
        fsm.application_register(by=world.user("help_desk", "khulna"), applicant_name="Rahim",
                                 containment=containments[0])
    with tenant_context(world.jhenaidah):
        ward(1, -500, -500, 500, 500)
        registry.building_create(by=None, bin="J-1", footprint=square(0, 10))
    return world


def _row(body: str, slug: str) -> str:
    match = re.search(rf'<tr data-slug="{slug}">(.*?)</tr>', body, re.S)
    assert match, slug
    return match.group(1)


def _cell(row: str, name: str) -> str:
    return re.search(rf'data-{name}="([^"]*)"', row).group(1)


def test_the_list_shows_each_municipalitys_own_figures(towns, console):
    body = console.get("/console/").content.decode()
    khulna, jhenaidah = _row(body, "khulna"), _row(body, "jhenaidah")
    assert (_cell(khulna, "buildings"), _cell(khulna, "containments"), _cell(khulna, "holdings"),
            _cell(khulna, "open-applications")) == ("4", "2", "4", "1")
    assert (_cell(jhenaidah, "buildings"), _cell(jhenaidah, "containments"), _cell(jhenaidah, "holdings"),
            _cell(jhenaidah, "open-applications")) == ("1", "0", "0", "0")
    assert "khulna.localhost" in khulna and "jhenaidah.localhost" in jhenaidah
    assert _cell(khulna, "features") == "fsm holding_tax trade_licence"
    assert _cell(jhenaidah, "features") == "fsm holding_tax"
    assert 'status-active' in khulna
    assert _cell(khulna, "quality").isdigit() and _cell(jhenaidah, "quality").isdigit()
    assert re.search(r"\d+ \w{3} \d{4} \d\d:\d\d", re.search(r"data-activity>(.*?)</td>", khulna).group(1))
    assert 'data-kpi="SF-1a"' in khulna and 'data-kpi="FSM-1"' in khulna and 'data-kpi="TAX-1"' in khulna


def test_the_quality_score_is_the_data_quality_reports(towns, console):
    from imis.tenant_apps.dataio.quality import quality_latest

    console.get("/console/")
    with tenant_context(towns.khulna):
        score = quality_latest().score
    row = next(row for row in municipalities_for_console() if row["municipality"].slug == "khulna")
    assert row["quality"]["score"] == score and row["quality"]["is_current"]


def test_figures_never_appear_under_another_municipality(towns, console, django_capture_on_commit_callbacks):
    """Warm both municipalities' cached figures, change one, and the other's stay its own."""
    console.get("/console/")
    with tenant_context(towns.jhenaidah), django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            registry.building_create(by=None, bin=f"J-{n + 2}", footprint=square(40 * n, 60))
    rows = {row["municipality"].slug: row for row in municipalities_for_console()}
    assert rows["jhenaidah"]["counts"]["buildings"] == 6 and rows["khulna"]["counts"]["buildings"] == 4
    assert rows["jhenaidah"]["schema"] == "jhenaidah" and rows["khulna"]["schema"] == "khulna"
    body = console.get("/console/?sort=buildings").content.decode()
    assert _cell(_row(body, "jhenaidah"), "buildings") == "6" and _cell(_row(body, "khulna"), "buildings") == "4"


def test_each_municipalitys_figures_are_cached_under_its_own_schema(towns):
    """django_tenants.cache.make_key puts the schema first: no municipality can read another's entry."""
    municipalities_for_console()
    keys = [key.decode() for key in cache._cache.get_client().keys("*console:overview:*")]
    assert {key.split(":", 1)[0] for key in keys} == {"khulna", "jhenaidah"}
    with tenant_context(towns.khulna):
        from imis.platform.versioning import data_version_current

        khulna_version = data_version_current()
    with tenant_context(towns.jhenaidah):  # the same logical key, read from Jhenaidah's schema, is not Khulna's
        assert cache.get(f"console:overview:{khulna_version}:fsm,holding_tax,trade_licence") is None


def test_search_matches_name_bangla_name_slug_and_domain(towns, console):
    Domain.objects.create(domain="jhenaidah.gov.bd", tenant=towns.jhenaidah, is_primary=False)
    cases = {"khul": ["khulna"], "ঝিনাইদহ": ["jhenaidah"], "jhena": ["jhenaidah"], "gov.bd": ["jhenaidah"],
             "nowhere": []}
    for query, expected in cases.items():
        body = console.get("/console/", {"q": query}).content.decode()
        assert re.findall(r'<tr data-slug="(\w+)">', body) == expected, query
    assert "jhenaidah.gov.bd" in console.get("/console/", {"q": "gov.bd"}).content.decode()


@pytest.mark.parametrize(("sort", "direction", "expected"), [
    ("name", None, ["jhenaidah", "khulna"]),
    ("name", "desc", ["khulna", "jhenaidah"]),
    ("buildings", None, ["khulna", "jhenaidah"]),
    ("buildings", "asc", ["jhenaidah", "khulna"]),
    ("containments", None, ["khulna", "jhenaidah"]),
    ("holdings", "asc", ["jhenaidah", "khulna"]),
    ("open_applications", None, ["khulna", "jhenaidah"]),
    ("quality", None, ["khulna", "jhenaidah"]),
    ("nonsense", None, ["jhenaidah", "khulna"]),
])
def test_sort_by_any_column(towns, console, sort, direction, expected):
    params = {"sort": sort, **({"dir": direction} if direction else {})}
    body = console.get("/console/", params).content.decode()
    assert re.findall(r'<tr data-slug="(\w+)">', body) == expected


def test_the_column_headers_sort_and_toggle(towns, console):
    body = console.get("/console/", {"sort": "buildings"}).content.decode()
    assert 'href="?sort=buildings&amp;dir=asc" data-sort="buildings"' in body  # next click: the other way
    assert 'aria-sort="descending"' in body
    assert 'href="?sort=name&amp;dir=asc" data-sort="name"' in body


def test_the_list_runs_a_bounded_number_of_queries(towns, console, django_assert_max_num_queries):
    """With the figures cached: session, user, municipalities, domains, features, console history, and per
    municipality its search path, a savepoint around its reads and its latest audit entry (measured: 16 for two
    municipalities)."""
    console.get("/console/")  # warm the figures
    with django_assert_max_num_queries(8 + 4 * 2):
        console.get("/console/")


def test_a_municipality_whose_schema_cannot_be_read_does_not_take_the_list_down(towns, console):
    ghost = Municipality(schema_name="ghost_town", slug="ghost_town", name="Ghost Town")
    ghost.save()  # no schema: as after a failed restore
    Domain.objects.create(domain="ghost_town.localhost", tenant=ghost, is_primary=True)
    response = console.get("/console/", {"sort": "buildings"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "data-unavailable" in _row(body, "ghost_town") and _cell(_row(body, "ghost_town"), "buildings") == ""
    assert _cell(_row(body, "khulna"), "buildings") == "4"
    assert re.findall(r'<tr data-slug="(\w+)">', body) == ["khulna", "jhenaidah", "ghost_town"]


# --- the checklist ----------------------------------------------------------------------------------------------

def test_the_checklist_follows_the_real_data(world, console):
    items = {item["key"]: item for item in onboarding_checklist(world.jhenaidah)}
    assert items["created"]["done"]
    assert not items["wards"]["done"] and not items["buildings"]["done"] and not items["providers"]["done"]
    assert not items["rates"]["done"] and "licence_fees" not in items  # trade licence is off in Jhenaidah
    assert items["admin"]["done"]  # the world has a municipal admin
    assert items["wards"]["link"] == "/data/import/?layer=wards"
    assert items["providers"]["link"] == "/fsm/setup/providers/" and items["rates"]["link"] == "/tax/rates/"

    with tenant_context(world.jhenaidah):
        ward(1, -500, -500, 500, 500)
        from imis.tenant_apps.fsm.models import ServiceProvider

        ServiceProvider.objects.create(name="Jhenaidah Sanitation Ltd")
    items = {item["key"]: item for item in onboarding_checklist(world.jhenaidah)}
    assert items["wards"]["done"] and items["wards"]["count"] == 1 and items["providers"]["done"]
    assert not items["buildings"]["done"]
    khulna = {item["key"]: item for item in onboarding_checklist(world.khulna)}
    assert not khulna["wards"]["done"] and not khulna["providers"]["done"] and "licence_fees" in khulna


def test_the_checklist_page_links_to_the_municipalitys_site(world, console):
    page = console.get("/console/m/jhenaidah/onboarding/checklist/").content.decode()
    assert 'data-check="wards" data-done="no"' in page
    assert 'href="http://jhenaidah.localhost/data/import/?layer=wards"' in page
    assert 'href="http://jhenaidah.localhost/fsm/setup/providers/"' in page
    assert 'href="/console/m/jhenaidah/onboarding/invite/"' in page
    assert "data-checklist-progress=" in page


def test_the_invite_step_sends_the_link_and_goes_on_to_the_checklist(world, console):
    response = console.post("/console/m/jhenaidah/onboarding/invite/", {"email": "Admin@Jhenaidah.gov.bd",
                                                                        "full_name": "Admin"})
    assert response.status_code == 302 and response["Location"] == "/console/m/jhenaidah/onboarding/checklist/"
    assert len(mail.outbox) == 1 and "/accounts/password/reset/key/" in mail.outbox[0].body
    assert User.objects.get(email="admin@jhenaidah.gov.bd").memberships.get().role == "municipal_admin"
    bad = console.post("/console/m/jhenaidah/onboarding/invite/", {"email": "not-an-email"})
    assert bad.status_code == 200 and "Enter a valid email address" in bad.content.decode()


# --- every console URL is for platform staff only ---------------------------------------------------------------

def console_routes() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return sorted(route for route in walk(get_resolver("imis.platform.urls_public").url_patterns)
                  if route.startswith("console/"))


def _concrete(route: str) -> str:
    path = re.sub(r"<slug:slug>", "khulna", route)
    path = re.sub(r"<slug:code>", "fsm", path)
    path = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000000", path)
    return "/" + path


def test_every_console_route_refuses_anyone_but_platform_staff(world, client, tenant_client):
    routes = console_routes()
    assert "console/m/<slug:slug>/onboarding/gis/<uuid:import_id>/rejects.csv" in routes and len(routes) >= 14
    admin = world.user("municipal_admin", "khulna")
    for route in routes:
        path = _concrete(route)
        client.logout()
        for method in (client.get, client.post):
            response = method(path, HTTP_HOST="localhost")
            assert response.status_code in (302, 405), (route, response.status_code)
            if response.status_code == 302:
                assert "/accounts/login/" in response["Location"]
        client.force_login(admin)
        for method in (client.get, client.post):
            assert method(path, HTTP_HOST="localhost").status_code in (403, 405), route
        # a municipality's host never serves the console
        assert tenant_client(world.khulna, admin).get(path).status_code in (403, 404), route
