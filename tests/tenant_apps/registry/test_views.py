"""Registry staff screens: lists and filters, search, record pages, edit forms, permissions and isolation."""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.selectors import audit_trail_of
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Building, Containment, Holding

from .factories import at, point, road, square, ward

pytestmark = pytest.mark.django_db

# A list page costs the same SQL queries whatever its size: about 7 for the platform (tenant lookup and two
# search_path switches, session, user, membership, enabled features), then the ward choices, the count, the page's
# rows and, for holdings, one prefetch of their owners. Measured: buildings 10, holdings 11, containments 10, at 10
# rows and at 200 rows alike (after a first request, which may also write the session).
LIST_QUERY_BOUND = 12


@dataclass
class Registry:
    buildings: dict[str, Building]
    holdings: dict[str, Holding]
    containments: dict[str, Containment]


def officer(world):
    return world.user("gis_officer", "khulna")


def wkt(polygon) -> str:
    return polygon.wkt


@pytest.fixture
def registry(world) -> Registry:
    """Khulna: wards 1 (x 0-500 m) and 2 (500-1000 m), road R-1 along y = 0, four buildings, two holdings, two
    containments. KHL-0004 has no holding, no containment and lies too far from the road."""
    by = officer(world)
    with tenant_context(world.khulna):
        ward_1 = ward(1, 0, -500, 500, 500)
        ward_2 = ward(2, 500, -500, 1000, 500)
        road("R-1", (0, 0), (1000, 0), name="KDA Avenue")
        h1 = services.holding_create(
            holding_id="1-0001-00001", ward=ward_1, by=by, address="12 KDA Avenue",
            owners=[{"name": "Rahima Begum", "phone": "01712345678", "national_id": "1234567890", "gender": "female"}],
        )
        h2 = services.holding_create(holding_id="2-0002-00002", ward=ward_2, by=by,
                                     owners=[{"name": "Karim Uddin", "phone": "01812345678"}])
        b1 = services.building_create(by=by, bin="KHL-0001", footprint=square(100, 20), holding=h1,
                                      functional_use="residential", sanitation_system="septic_tank",
                                      verification_status="verified", households=2, population_female=5)
        b2 = services.building_create(by=by, bin="KHL-0002", footprint=square(130, 20), holding=h1,
                                      functional_use="commercial", sanitation_system="pit")
        b3 = services.building_create(by=by, bin="KHL-0003", footprint=square(600, 20), holding=h2,
                                      functional_use="residential", sanitation_system="sewer",
                                      verification_status="needs_review")
        b4 = services.building_create(by=by, bin="KHL-0004", footprint=square(700, 300),
                                      functional_use="institutional")
        c1 = services.containment_create(by=by, code="CT-0001", type="septic_tank", outlet="soak_pit",
                                         location=point(120, 25), length_m=2, width_m=1.5, depth_m=1.5,
                                         last_emptied_on=timezone.localdate(), building_ids=[b1.pk, b2.pk])
        c2 = services.containment_create(by=by, code="CT-0002", type="lined_pit", outlet="drain",
                                         location=point(605, 40), diameter_m=1, depth_m=2,
                                         last_emptied_on=datetime.date(2020, 1, 1), building_ids=[b3.pk])
    return Registry(
        buildings={b.bin: b for b in (b1, b2, b3, b4)},
        holdings={h.holding_id: h for h in (h1, h2)},
        containments={c.code: c for c in (c1, c2)},
    )


@pytest.fixture
def crowded(registry, world) -> Registry:
    """Thirty more holdings, each with an owner, a building and a containment, so a page of 10 differs from 200."""
    by = officer(world)
    with tenant_context(world.khulna):
        ward_1 = Holding.objects.get(holding_id="1-0001-00001").ward
        for n in range(30):
            x = 20 + (n % 10) * 40
            y = 60 + (n // 10) * 40
            holding = services.holding_create(holding_id=f"1-0100-{n:05d}", ward=ward_1, by=by,
                                              owners=[{"name": f"Owner {n}", "phone": f"0171100{n:04d}"}])
            building = services.building_create(by=by, bin=f"KHL-1{n:03d}", footprint=square(x, y),
                                                holding=holding)
            services.containment_create(by=by, code=f"CT-1{n:03d}", type="septic_tank", location=point(x + 5, y - 3),
                                        building_ids=[building.pk])
    return registry


def rows(response) -> list[str]:
    """The first column (identifier) of the rows the list page shows."""
    table = response.context["table"]
    return [str(row.record) for row in table.paginated_rows]


def client_for(world, tenant_client, role="gis_officer", slug="khulna"):
    return tenant_client(getattr(world, slug), world.user(role, slug))


# --- lists and filters --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["KHL-0001", "KHL-0002", "KHL-0003", "KHL-0004"]),
        ("ward=1", ["KHL-0001", "KHL-0002"]),
        ("functional_use=commercial", ["KHL-0002"]),
        ("sanitation_system=sewer", ["KHL-0003"]),
        ("verification_status=needs_review", ["KHL-0003"]),
        ("has_holding=no", ["KHL-0004"]),
        ("has_holding=yes", ["KHL-0001", "KHL-0002", "KHL-0003"]),
        ("has_containment=yes", ["KHL-0001", "KHL-0002", "KHL-0003"]),
        ("has_containment=no", ["KHL-0004"]),
        ("road_link_status=far", ["KHL-0004"]),
        ("ward=2&functional_use=residential", ["KHL-0003"]),
        ("q=Rahima", ["KHL-0001", "KHL-0002"]),
        ("q=khl-0003", ["KHL-0003"]),
    ],
)
def test_building_list_filters_narrow_the_rows(registry, world, tenant_client, query, expected):
    response = client_for(world, tenant_client).get(f"/registry/buildings/?{query}")
    assert response.status_code == 200
    assert rows(response) == expected
    assert response.context["total"] == len(expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["1-0001-00001", "2-0002-00002"]),
        ("ward=2", ["2-0002-00002"]),
        ("q=Karim", ["2-0002-00002"]),
        ("q=01712345678", ["1-0001-00001"]),
        ("q=1-0001", ["1-0001-00001"]),
    ],
)
def test_holding_list_filters_narrow_the_rows(registry, world, tenant_client, query, expected):
    response = client_for(world, tenant_client).get(f"/registry/holdings/?{query}")
    assert rows(response) == expected


def test_containment_list_filters_narrow_the_rows(registry, world, tenant_client):
    client = client_for(world, tenant_client)
    today = timezone.localdate().isoformat()
    assert rows(client.get("/registry/containments/")) == ["CT-0001", "CT-0002"]
    assert rows(client.get("/registry/containments/?ward=2")) == ["CT-0002"]
    assert rows(client.get("/registry/containments/?type=lined_pit")) == ["CT-0002"]
    assert rows(client.get("/registry/containments/?outlet=soak_pit")) == ["CT-0001"]
    assert rows(client.get(f"/registry/containments/?emptying_due_before={today}")) == ["CT-0002"]
    assert rows(client.get("/registry/containments/?q=KHL-0002")) == ["CT-0001"]


def test_list_shows_the_total_and_an_empty_state_when_nothing_matches(registry, world, tenant_client):
    client = client_for(world, tenant_client)
    body = client.get("/registry/buildings/?ward=1").content.decode()
    assert "2 match the filters" in body
    empty = client.get("/registry/buildings/?q=NO-SUCH-BIN").content.decode()
    assert "Nothing matches these filters" in empty
    assert "<table" not in empty


def test_new_button_shows_only_for_editors(registry, world, tenant_client):
    editor = client_for(world, tenant_client).get("/registry/buildings/").content.decode()
    viewer = client_for(world, tenant_client, "viewer").get("/registry/buildings/").content.decode()
    assert 'href="/registry/buildings/new/"' in editor and "New building" in editor
    assert 'href="/registry/buildings/new/"' not in viewer


def test_lists_paginate_and_cap_the_page_size(crowded, world, tenant_client):
    client = client_for(world, tenant_client)
    first = client.get("/registry/buildings/?per_page=10")
    second = client.get("/registry/buildings/?per_page=10&page=2")
    assert first.context["total"] == 34
    assert len(rows(first)) == 10 and len(rows(second)) == 10
    assert not set(rows(first)) & set(rows(second))
    assert 'href="?per_page=10&amp;page=2"' in first.content.decode()
    assert len(rows(client.get("/registry/buildings/?per_page=100000"))) == 34  # capped at 200, all fit
    assert client.get("/registry/buildings/?per_page=100000").context["table"].paginator.per_page == 200
    assert len(rows(client.get("/registry/buildings/?per_page=10&page=99"))) == 4  # past the end: last page


def test_list_sorts_by_a_column(registry, world, tenant_client):
    response = client_for(world, tenant_client).get("/registry/buildings/?sort=-bin")
    assert rows(response) == ["KHL-0004", "KHL-0003", "KHL-0002", "KHL-0001"]


@pytest.mark.parametrize("path", ["/registry/buildings/", "/registry/holdings/", "/registry/containments/"])
def test_list_runs_the_same_bounded_number_of_queries_for_10_and_200_rows(crowded, world, tenant_client, path):
    client = client_for(world, tenant_client)
    client.get(path)  # the session's first request may do one-off work (MFA check, session write)
    counts = {}
    for per_page in (10, 200):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{path}?per_page={per_page}")
        assert response.status_code == 200
        assert len(rows(response)) == min(per_page, 34 if "buildings" in path else 32)
        counts[per_page] = len(queries)
    assert counts[10] == counts[200] <= LIST_QUERY_BOUND, counts


@pytest.mark.parametrize("per_page", [10, 200])
def test_building_list_query_bound_pinned(crowded, world, tenant_client, django_assert_max_num_queries, per_page):
    client = client_for(world, tenant_client)
    client.get("/")  # the session's first request may do one-off work (MFA check, session write)
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        client.get(f"/registry/buildings/?per_page={per_page}&has_containment=yes&q=KHL")


# --- CSV export ---------------------------------------------------------------------------------------

def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_building_csv_respects_the_filters(registry, world, tenant_client):
    response = client_for(world, tenant_client).get("/registry/buildings/?ward=1&export=csv")
    table = read_csv(response)
    assert table[0][:3] == ["BIN", "Holding ID", "Ward"]
    assert [row[0] for row in table[1:]] == ["KHL-0001", "KHL-0002"]
    first = dict(zip(table[0], table[1], strict=True))
    assert first["Holding ID"] == "1-0001-00001"
    assert first["Sanitation system"] == "Septic tank"
    assert first["Verification"] == "Verified"
    assert 95 < float(first["Footprint area (m²)"]) < 105
    assert 'filename="buildings-' in response["Content-Disposition"]


def test_holding_and_containment_csv(registry, world, tenant_client):
    client = client_for(world, tenant_client)
    holdings = read_csv(client.get("/registry/holdings/?export=csv"))
    assert holdings[1][:2] == ["1-0001-00001", "1"]
    assert "Rahima Begum" in holdings[1] and "+8801712345678" in holdings[1]
    assert holdings[1][-1] == "2"  # buildings
    containments = read_csv(client.get("/registry/containments/?export=csv&type=septic_tank"))
    assert [row[0] for row in containments[1:]] == ["CT-0001"]
    row = dict(zip(containments[0], containments[1], strict=True))
    assert row["Buildings served"] == "KHL-0001 KHL-0002"
    assert row["Volume (m³)"] == "4.50"


def test_csv_quotes_text_a_spreadsheet_would_run_as_a_formula(registry, world, tenant_client):
    with tenant_context(world.khulna):
        holding = Holding.objects.get(holding_id="2-0002-00002")
        services.holding_update(holding=holding, by=officer(world), address='=HYPERLINK("http://evil.test")')
    table = read_csv(client_for(world, tenant_client).get("/registry/holdings/?ward=2&export=csv"))
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Address"] == "'=HYPERLINK(\"http://evil.test\")"
    assert row["Owner phones"] == "+8801812345678"


def test_csv_export_runs_a_bounded_number_of_queries(crowded, world, tenant_client):
    client = client_for(world, tenant_client)
    client.get("/")  # the session's first request may do one-off work (MFA check, session write)
    for path in ("/registry/buildings/", "/registry/holdings/", "/registry/containments/"):
        with CaptureQueriesContext(connection) as queries:
            table = read_csv(client.get(f"{path}?export=csv"))
        assert len(table) > 30
        assert len(queries) <= LIST_QUERY_BOUND, (path, len(queries))


# --- search -------------------------------------------------------------------------------------------

def test_search_by_exact_holding_id_or_bin_opens_the_record(registry, world, tenant_client):
    client = client_for(world, tenant_client, "help_desk")
    holding = client.get("/registry/?q=1-0001-00001")
    assert holding.status_code == 302
    assert holding["Location"] == f"/registry/holdings/{registry.holdings['1-0001-00001'].pk}/"
    building = client.get("/registry/?q=khl-0004")
    assert building["Location"] == f"/registry/buildings/{registry.buildings['KHL-0004'].pk}/"


@pytest.mark.parametrize(
    ("query", "holdings", "buildings", "containments"),
    [
        ("Rahima", ["1-0001-00001"], ["KHL-0001", "KHL-0002"], ["CT-0001"]),
        ("01812345678", ["2-0002-00002"], ["KHL-0003"], ["CT-0002"]),
        ("1-0001", ["1-0001-00001"], ["KHL-0001", "KHL-0002"], ["CT-0001"]),
        ("KHL-000", [], ["KHL-0001", "KHL-0002", "KHL-0003", "KHL-0004"], ["CT-0001", "CT-0002"]),
    ],
)
def test_search_groups_results(registry, world, tenant_client, query, holdings, buildings, containments):
    response = client_for(world, tenant_client, "help_desk").get("/registry/", {"q": query})
    assert response.status_code == 200
    results = response.context["results"]
    assert [str(h) for h in results["holdings"]] == holdings
    assert [str(b) for b in results["buildings"]] == buildings
    assert [str(c) for c in results["containments"]] == containments
    body = response.content.decode()
    for identifier in holdings + buildings + containments:
        assert identifier in body


def test_search_without_results_explains_what_to_type(registry, world, tenant_client):
    body = client_for(world, tenant_client).get("/registry/?q=Nobody").content.decode()
    assert "Nothing found" in body


def test_overview_lists_wards_with_counts(registry, world, tenant_client):
    response = client_for(world, tenant_client, "viewer").get("/registry/")
    wards = {w.number: w for w in response.context["wards"]}
    assert (wards[1].building_count, wards[1].holding_count, wards[1].containment_count) == (2, 1, 1)
    assert (wards[2].building_count, wards[2].holding_count, wards[2].containment_count) == (2, 1, 1)


# --- record pages -------------------------------------------------------------------------------------

def test_building_page_shows_area_map_data_holding_containments_and_history(registry, world, tenant_client):
    b1 = registry.buildings["KHL-0001"]
    response = client_for(world, tenant_client, "viewer").get(f"/registry/buildings/{b1.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 95 < response.context["area_m2"] < 105
    assert "Verified" in body and "status-active" in body
    assert "1-0001-00001" in body and "Rahima Begum" in body and "CT-0001" in body
    assert 'id="minimap-data" type="application/json"' in body
    assert "/static/dist/assets/minimap-" in body
    roles = sorted(f["properties"]["role"] for f in response.context["map_data"]["features"])
    assert roles.count("subject") == 1 and "containment" in roles and "neighbour" in roles  # KHL-0002 is near
    history = response.context["history"]
    assert history[0]["entry"].action == "create"
    assert history[0]["entry"].actor_label == "gis_officer@khulna.test"
    assert "<script>" not in body and " style=" not in body  # CSP: no inline script or style


def test_viewer_sees_no_edit_button_on_a_record(registry, world, tenant_client):
    b1 = registry.buildings["KHL-0001"]
    viewer = client_for(world, tenant_client, "viewer").get(f"/registry/buildings/{b1.pk}/").content.decode()
    editor = client_for(world, tenant_client).get(f"/registry/buildings/{b1.pk}/").content.decode()
    assert f"/registry/buildings/{b1.pk}/edit/" not in viewer
    assert f"/registry/buildings/{b1.pk}/edit/" in editor


def test_holding_and_containment_pages(registry, world, tenant_client):
    client = client_for(world, tenant_client, "viewer")
    h1 = registry.holdings["1-0001-00001"]
    holding = client.get(f"/registry/holdings/{h1.pk}/")
    body = holding.content.decode()
    assert "KHL-0001" in body and "KHL-0002" in body and "CT-0001" in body and "+8801712345678" in body
    assert sum(f["properties"]["role"] == "subject" for f in holding.context["map_data"]["features"]) == 2
    c2 = registry.containments["CT-0002"]
    containment = client.get(f"/registry/containments/{c2.pk}/")
    body = containment.content.decode()
    assert "KHL-0003" in body and "2-0002-00002" in body
    assert "Emptying overdue" in body
    roles = [f["properties"]["role"] for f in containment.context["map_data"]["features"]]
    assert roles.count("served") == 1 and roles.count("containment") == 1


def test_bangla_pages_use_bangla_digits(registry, world, tenant_client):
    client = client_for(world, tenant_client, "viewer")
    client.cookies["django_language"] = "bn"
    listing = client.get("/registry/buildings/?ward=1").content.decode()
    assert "২" in listing and 'lang="bn"' in listing
    c2 = registry.containments["CT-0002"]
    page = client.get(f"/registry/containments/{c2.pk}/").content.decode()
    assert "CT-0002" in page and "২০২" in page  # the due date's year in Bangla digits


def test_unknown_record_is_404(registry, world, tenant_client):
    assert client_for(world, tenant_client).get("/registry/buildings/999999/").status_code == 404


# --- forms: create and edit ---------------------------------------------------------------------------

def building_post(**overrides) -> dict:
    data = {
        "bin": "KHL-0100", "holding": "1-0001-00001", "footprint": wkt(square(200, 20)),
        "functional_use": "residential", "structure_type": "pucca", "floors": "3", "construction_year": "",
        "households": "2", "population_male": "4", "population_female": "4", "population_other": "0",
        "population_differently_abled": "0", "water_source": "municipal", "water_customer_id": "",
        "has_toilet": "on", "toilet_count": "2", "sanitation_system": "septic_tank", "sewer_code": "",
        "drain_code": "", "is_desludging_vehicle_accessible": "true", "verification_status": "unverified",
        "surveyed_at": "",
    }
    data.update(overrides)
    return data


def test_create_building_writes_it_and_its_audit_entry(registry, world, tenant_client):
    response = client_for(world, tenant_client).post("/registry/buildings/new/", building_post())
    with tenant_context(world.khulna):
        building = Building.objects.get(bin="KHL-0100")
        assert response.status_code == 302
        assert response["Location"] == f"/registry/buildings/{building.pk}/"
        assert building.holding.holding_id == "1-0001-00001"
        assert building.ward.number == 1 and building.floors == 3 and building.is_desludging_vehicle_accessible
        entry = audit_trail_of(building).get()
        assert entry.action == AuditEntry.Action.CREATE
        assert entry.actor_label == "gis_officer@khulna.test"


def test_create_building_accepts_geojson_footprint(registry, world, tenant_client):
    footprint = square(250, 20).json
    response = client_for(world, tenant_client).post("/registry/buildings/new/",
                                                     building_post(bin="KHL-0101", footprint=footprint))
    assert response.status_code == 302


def assert_error_beside(response, field: str, message: str) -> None:
    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    body = response.content.decode()
    error_block = body.split(f'id="error_1_id_{field}"', 1)
    assert len(error_block) == 2, f"no error shown beside {field}"
    assert message.split("%")[0][:30] in error_block[1][:400].replace("&#x27;", "'").replace("&quot;", '"')


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"bin": "KHL-0001"}, "bin", "BIN KHL-0001 is already registered."),
        ({"holding": "ABC"}, "holding", "does not match this municipality"),
        ({"holding": "9-9999-99999"}, "holding", "No holding 9-9999-99999 is registered"),
        ({"footprint": "POLYGON((89.54 22.84, 89.5401"}, "footprint", "This is neither GeoJSON nor WKT."),
        ({"footprint": "POLYGON((89.54 22.84, 89.5401 22.8401, 89.5401 22.84, 89.54 22.8401, 89.54 22.84))"},
         "footprint", "The footprint is not a valid polygon (Self-intersection"),
        ({"floors": "500"}, "floors", "Ensure this value is less than or equal to 200."),
        ({"has_toilet": "", "toilet_count": "3"}, "toilet_count", "cannot have toilets counted"),
    ],
)
def test_create_building_errors_show_beside_the_field_and_save_nothing(registry, world, tenant_client, overrides,
                                                                        field, message):
    with tenant_context(world.khulna):
        audit_before = AuditEntry.objects.count()
    response = client_for(world, tenant_client).post("/registry/buildings/new/", building_post(**overrides))
    assert_error_beside(response, field, message)
    with tenant_context(world.khulna):
        assert not Building.objects.filter(bin="KHL-0100").exists()
        assert Building.objects.count() == 4
        assert AuditEntry.objects.count() == audit_before


def post_data_from(form) -> dict:
    """What a browser would send for an unchanged edit form."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.NullBooleanField):
            data[name] = {True: "true", False: "false"}.get(value, "unknown")
        elif isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else str(value)
    return data


def test_edit_building_records_the_change_before_and_after(registry, world, tenant_client):
    b2 = registry.buildings["KHL-0002"]
    client = client_for(world, tenant_client)
    data = post_data_from(client.get(f"/registry/buildings/{b2.pk}/edit/").context["form"])
    assert data["holding"] == "1-0001-00001"
    data["floors"] = "4"
    response = client.post(f"/registry/buildings/{b2.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors if response.context else None
    with tenant_context(world.khulna):
        entry = audit_trail_of(b2).filter(action="update").get()
        assert entry.before == {"floors": 1} and entry.after == {"floors": 4}
    page = client.get(f"/registry/buildings/{b2.pk}/")
    changes = page.context["history"][0]["changes"]
    assert changes == [{"field": "Floors", "before": "1", "after": "4"}]


def test_edit_building_duplicate_bin_keeps_the_record_unchanged(registry, world, tenant_client):
    b2 = registry.buildings["KHL-0002"]
    client = client_for(world, tenant_client)
    data = post_data_from(client.get(f"/registry/buildings/{b2.pk}/edit/").context["form"])
    data.update(bin="KHL-0001", floors="9")
    response = client.post(f"/registry/buildings/{b2.pk}/edit/", data)
    assert_error_beside(response, "bin", "BIN KHL-0001 is already registered.")
    assert "Edit building KHL-0002" in response.content.decode()
    with tenant_context(world.khulna):
        assert Building.objects.get(pk=b2.pk).floors == 1
        assert not audit_trail_of(b2).filter(action="update").exists()


def holding_post(**overrides) -> dict:
    data = {
        "holding_id": "1-0005-00005", "road": "R-1", "address": "5 KDA Avenue",
        "owners-TOTAL_FORMS": "2", "owners-INITIAL_FORMS": "0", "owners-MIN_NUM_FORMS": "0",
        "owners-MAX_NUM_FORMS": "20",
        "owners-0-name": "Salma Khatun", "owners-0-phone": "017 1122 3344", "owners-0-national_id": "",
        "owners-0-gender": "female",
        "owners-1-name": "", "owners-1-phone": "", "owners-1-national_id": "", "owners-1-gender": "",
    }
    data.update(overrides)
    return data


def ward_pk(world, number: int) -> int:
    from imis.tenant_apps.registry.models import Ward

    with tenant_context(world.khulna):
        return Ward.objects.get(number=number).pk


def test_create_holding_with_owners(registry, world, tenant_client):
    response = client_for(world, tenant_client).post("/registry/holdings/new/",
                                                     holding_post(ward=ward_pk(world, 1)))
    assert response.status_code == 302
    with tenant_context(world.khulna):
        holding = Holding.objects.get(holding_id="1-0005-00005")
        assert holding.road.code == "R-1"
        assert list(holding.owners.values_list("name", "phone")) == [("Salma Khatun", "+8801711223344")]
        assert audit_trail_of(holding).get().action == "create"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"holding_id": "ABC-1"}, "holding_id", "does not match this municipality"),
        ({"holding_id": "1-0001-00001"}, "holding_id", "Holding ID 1-0001-00001 is already registered."),
        ({"road": "R-404"}, "road", "No road with code R-404 is registered."),
    ],
)
def test_create_holding_errors_beside_the_field(registry, world, tenant_client, overrides, field, message):
    response = client_for(world, tenant_client).post("/registry/holdings/new/",
                                                     holding_post(ward=ward_pk(world, 1), **overrides))
    assert_error_beside(response, field, message)
    with tenant_context(world.khulna):
        assert Holding.objects.count() == 2


def test_create_holding_bad_owner_phone_is_shown_on_the_owner_row(registry, world, tenant_client):
    response = client_for(world, tenant_client).post(
        "/registry/holdings/new/", holding_post(ward=ward_pk(world, 1), **{"owners-0-phone": "12345"}))
    assert response.status_code == 200
    owner_form = response.context["owner_formset"].forms[0]
    assert "Enter a phone number such as 01712345678." in owner_form.errors["phone"]
    assert 'id="error_1_id_owners-0-phone"' in response.content.decode()
    with tenant_context(world.khulna):
        assert not Holding.objects.filter(holding_id="1-0005-00005").exists()


def test_edit_holding_address(registry, world, tenant_client):
    h2 = registry.holdings["2-0002-00002"]
    client = client_for(world, tenant_client)
    response = client.post(f"/registry/holdings/{h2.pk}/edit/", {
        "holding_id": "2-0002-00002", "ward": ward_pk(world, 2), "road": "", "address": "Khalishpur Road",
        **owner_rows([{"name": "Karim Uddin", "phone": "01812345678"}]),
    })
    assert response.status_code == 302
    with tenant_context(world.khulna):
        entry = audit_trail_of(h2).filter(action="update").get()
        assert entry.after == {"address": "Khalishpur Road"}


def owner_rows(owners: list[dict]) -> dict:
    data = {"owners-TOTAL_FORMS": str(len(owners) + 1), "owners-INITIAL_FORMS": "0", "owners-MIN_NUM_FORMS": "0",
            "owners-MAX_NUM_FORMS": "20"}
    for index, owner in enumerate([*owners, {}]):
        for field in ("name", "phone", "national_id", "gender"):
            data[f"owners-{index}-{field}"] = owner.get(field, "")
    return data


def test_edit_holding_owners_is_audited(registry, world, tenant_client):
    h2 = registry.holdings["2-0002-00002"]
    client = client_for(world, tenant_client)
    form = client.get(f"/registry/holdings/{h2.pk}/edit/").content.decode()
    assert 'value="Karim Uddin"' in form
    response = client.post(f"/registry/holdings/{h2.pk}/edit/", {
        "holding_id": "2-0002-00002", "ward": ward_pk(world, 2), "road": "", "address": "",
        **owner_rows([{"name": "Karim Uddin", "phone": "01812345678"},
                      {"name": "Nasrin Akter", "phone": "01912345678", "gender": "female"}]),
    })
    assert response.status_code == 302
    with tenant_context(world.khulna):
        assert list(h2.owners.values_list("name", "phone")) == [("Karim Uddin", "+8801812345678"),
                                                               ("Nasrin Akter", "+8801912345678")]
        entry = audit_trail_of(h2).filter(action="update").get()
        assert [o["name"] for o in entry.before["owners"]] == ["Karim Uddin"]
        assert [o["name"] for o in entry.after["owners"]] == ["Karim Uddin", "Nasrin Akter"]


def containment_post(**overrides) -> dict:
    lon, lat = at(600, 40)
    data = {
        "code": "CT-0100", "type": "septic_tank", "outlet": "soak_pit", "length_m": "2", "width_m": "1",
        "diameter_m": "", "depth_m": "1.5", "volume_m3": "", "construction_year": "2015",
        "location": f"{lon:.6f}, {lat:.6f}", "buildings": "khl-0003", "last_emptied_on": "",
    }
    data.update(overrides)
    return data


def test_create_containment_derives_the_volume_and_links_buildings(registry, world, tenant_client):
    response = client_for(world, tenant_client).post("/registry/containments/new/", containment_post())
    assert response.status_code == 302
    with tenant_context(world.khulna):
        containment = Containment.objects.get(code="CT-0100")
        assert str(containment.volume_m3) == "3.00"
        assert [b.bin for b in containment.buildings.all()] == ["KHL-0003"]
        assert containment.ward.number == 2
        assert audit_trail_of(containment).get().after["building_ids"] == [registry.buildings["KHL-0003"].pk]


def test_create_containment_accepts_a_geojson_point(registry, world, tenant_client):
    location = point(600, 40).json
    response = client_for(world, tenant_client).post("/registry/containments/new/",
                                                     containment_post(location=location))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"buildings": "KHL-0001"}, "buildings", "The containment lies more than 50 m from: KHL-0001"),
        ({"buildings": "KHL-0003 NOPE-1"}, "buildings", "No building has the BIN NOPE-1."),
        ({"code": "CT-0001"}, "code", "Containment code CT-0001 is already registered."),
        ({"location": "somewhere"}, "location", "Enter the location as"),
        ({"location": "200, 22.8"}, "location", "Longitude goes from -180 to 180"),
    ],
)
def test_create_containment_errors_beside_the_field(registry, world, tenant_client, overrides, field, message):
    response = client_for(world, tenant_client).post("/registry/containments/new/", containment_post(**overrides))
    assert_error_beside(response, field, message)
    with tenant_context(world.khulna):
        assert not Containment.objects.filter(code="CT-0100").exists()
        assert Containment.objects.count() == 2


def test_edit_containment_changes_served_buildings(registry, world, tenant_client):
    c1 = registry.containments["CT-0001"]
    client = client_for(world, tenant_client)
    data = post_data_from(client.get(f"/registry/containments/{c1.pk}/edit/").context["form"])
    assert data["buildings"] == "KHL-0001 KHL-0002"
    data["buildings"] = "KHL-0001"
    response = client.post(f"/registry/containments/{c1.pk}/edit/", data)
    assert response.status_code == 302
    with tenant_context(world.khulna):
        entry = audit_trail_of(c1).filter(action="update").get()
        b1, b2 = registry.buildings["KHL-0001"].pk, registry.buildings["KHL-0002"].pk
        assert entry.before["building_ids"] == sorted([b1, b2]) and entry.after["building_ids"] == [b1]
    history = client.get(f"/registry/containments/{c1.pk}/").context["history"]
    served = next(change for change in history[0]["changes"] if change["field"] == "Buildings served")
    assert served == {"field": "Buildings served", "before": "KHL-0001, KHL-0002", "after": "KHL-0001"}


# --- permissions and isolation ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("role", "read", "edit"),
    [("gis_officer", 200, 200), ("field_surveyor", 200, 200), ("viewer", 200, 403), ("help_desk", 200, 403),
     ("executive", 200, 403), ("service_provider", 403, 403), ("plant_operator", 403, 403)],
)
def test_roles_read_and_edit(registry, world, tenant_client, role, read, edit):
    client = client_for(world, tenant_client, role)
    b1 = registry.buildings["KHL-0001"]
    assert client.get("/registry/buildings/").status_code == read
    assert client.get(f"/registry/buildings/{b1.pk}/").status_code == read
    assert client.get("/registry/buildings/new/").status_code == edit
    assert client.get(f"/registry/buildings/{b1.pk}/edit/").status_code == edit
    assert client.get("/registry/holdings/new/").status_code == edit
    assert client.get("/registry/containments/new/").status_code == edit


def test_viewer_cannot_post_an_edit(registry, world, tenant_client):
    client = client_for(world, tenant_client, "viewer")
    assert client.post("/registry/buildings/new/", building_post()).status_code == 403
    b2 = registry.buildings["KHL-0002"]
    assert client.post(f"/registry/buildings/{b2.pk}/edit/", building_post(bin="KHL-0002")).status_code == 403
    with tenant_context(world.khulna):
        assert not Building.objects.filter(bin="KHL-0100").exists()
        assert not audit_trail_of(b2).filter(action="update").exists()


@pytest.mark.parametrize("path", ["/registry/buildings/", "/registry/holdings/new/", "/registry/?q=KHL"])
def test_anonymous_is_sent_to_login(registry, world, tenant_client, path):
    response = tenant_client(world.khulna).get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_khulna_records_stay_out_of_jhenaidah(registry, world, tenant_client):
    jhenaidah = client_for(world, tenant_client, "gis_officer", "jhenaidah")
    b1 = registry.buildings["KHL-0001"]
    with tenant_context(world.jhenaidah):
        assert not Building.objects.filter(pk=b1.pk).exists()
    assert jhenaidah.get(f"/registry/buildings/{b1.pk}/").status_code == 404
    assert jhenaidah.get(f"/registry/holdings/{registry.holdings['1-0001-00001'].pk}/").status_code == 404
    for path in ("/registry/", "/registry/buildings/", "/registry/holdings/", "/registry/containments/"):
        body = jhenaidah.get(path).content.decode()
        assert "KHL-000" not in body and "1-0001-00001" not in body and "Rahima" not in body, path
    for query in ("KHL", "Rahima", "01712345678", "1-0001"):
        search = jhenaidah.get("/registry/", {"q": query})
        assert search.status_code == 200
        assert not any(search.context["results"].values()), query
        assert rows(jhenaidah.get("/registry/buildings/", {"q": query})) == []
    for path in ("/registry/buildings/", "/registry/holdings/", "/registry/containments/"):
        table = read_csv(jhenaidah.get(f"{path}?export=csv"))
        assert len(table) == 1, path  # the header only
    assert jhenaidah.get("/registry/?q=KHL-0001").status_code == 200  # no redirect to a Khulna record
