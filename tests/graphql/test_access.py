"""Who may do what: anonymous, another municipality, the wrong role and the right role, for every operation;
sessions with CSRF, API tokens (scope, revocation), feature gates."""

import json

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.models import ApiToken
from imis.shared_apps.accounts.services import api_token_revoke
from imis.shared_apps.tenants.services import municipality_feature_set
from imis.tenant_apps.registry.models import Sewer, WaterLine
from tests.graphql.conftest import token_for
from tests.tenant_apps.registry.factories import at, square

pytestmark = pytest.mark.django_db

# operation -> (document, variables, permission it needs, a role without it, a role with it)
READ = ("service_provider", "viewer")
EDIT = ("viewer", "gis_officer")
QUERIES = {
    "wards": "{ wards { totalCount } }",
    "buildings": "{ buildings { totalCount } }",
    "holdings": "{ holdings { totalCount } }",
    "containments": "{ containments { totalCount } }",
    "roads": "{ roads { totalCount } }",
    "drains": "{ drains { totalCount } }",
    "waterBodies": "{ waterBodies { totalCount } }",
    "waterloggingAreas": "{ waterloggingAreas { totalCount } }",
    "lowIncomeCommunities": "{ lowIncomeCommunities { totalCount } }",
    "treatmentPlants": "{ treatmentPlants { totalCount } }",
    "publicToilets": "{ publicToilets { totalCount } }",
    "municipalBoundaries": "{ municipalBoundaries { totalCount } }",
    "building": '{ building(bin: "B-K0000") { bin } }',
    "holding": '{ holding(holdingId: "1-1-1") { holdingId } }',
    "containment": '{ containment(code: "C-K0000") { code } }',
}
MUTATIONS = {
    "buildingCreate": ("mutation($i: BuildingCreateInput!) { buildingCreate(input: $i) { errors { code } } }",
                       {"bin": "B-P1", "footprint": json.loads(square(300, 60).geojson)}),
    "buildingUpdate": ("mutation($i: BuildingUpdateInput!) { buildingUpdate(input: $i) { errors { code } } }",
                       {"id": "@building", "floors": 4}),
    "buildingsBulkUpdate": ("mutation($i: BuildingsBulkUpdateInput!) { buildingsBulkUpdate(input: $i) { "
                            "errors { code } } }", {"ids": ["@building"], "isLowIncome": True}),
    "buildingsLinkNearestRoads": ("mutation($i: BuildingsLinkNearestRoadsInput!) { buildingsLinkNearestRoads("
                                  "input: $i) { errors { code } } }", {"buildings": ["@building"]}),
    "holdingCreate": ("mutation($i: HoldingCreateInput!) { holdingCreate(input: $i) { errors { code } } }",
                      {"holdingId": "1-9-9", "ward": "@ward"}),
    "holdingUpdate": ("mutation($i: HoldingUpdateInput!) { holdingUpdate(input: $i) { errors { code } } }",
                      {"id": "@holding", "address": "Here"}),
    "containmentCreate": ("mutation($i: ContainmentCreateInput!) { containmentCreate(input: $i) { errors { code } "
                          "} }", {"code": "C-P1", "type": "LINED_PIT", "location": {"type": "Point",
                                                                              "coordinates": list(at(30, 30))}}),
    "containmentUpdate": ("mutation($i: ContainmentUpdateInput!) { containmentUpdate(input: $i) { errors { code } "
                          "} }", {"id": "@containment", "timesEmptied": 3}),
}


def _references(api):
    data = api.data('{ building(bin: "B-K0000") { id } holding(holdingId: "1-1-1") { id } '
                    'containment(code: "C-K0000") { id } wards(number: 1) { edges { node { id } } } }')
    return {"@building": data["building"]["id"], "@holding": data["holding"]["id"],
            "@containment": data["containment"]["id"], "@ward": data["wards"]["edges"][0]["node"]["id"]}


def _resolve(value, references):
    if isinstance(value, list):
        return [_resolve(item, references) for item in value]
    return references.get(value, value) if isinstance(value, str) else value


def _caller(world, api_for, kind, roles):
    if kind == "anonymous":
        return api_for(world.khulna)
    if kind == "other municipality":
        return api_for(world.khulna, "municipal_admin", slug="jhenaidah")
    return api_for(world.khulna, roles[0] if kind == "wrong role" else roles[1])


def _expect(response, kind, operation):
    body = response.json()
    if kind == "anonymous":
        assert response.status_code == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    elif kind == "other municipality":
        assert response.status_code == 403 and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    elif kind == "wrong role":
        assert response.status_code == 200 and body["data"][operation] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["errors"][0]["path"] == [operation]
    else:
        assert response.status_code == 200 and "errors" not in body, body
        assert body["data"][operation] is not None
        errors = body["data"][operation].get("errors") if isinstance(body["data"][operation], dict) else None
        assert not errors, errors


CALLERS = ["anonymous", "other municipality", "wrong role", "right role"]


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(QUERIES))
def test_query_permission_matrix(world, city, api_for, operation, kind):
    response = _caller(world, api_for, kind, READ).post(QUERIES[operation])
    _expect(response, kind, operation)


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(MUTATIONS))
def test_mutation_permission_matrix(world, city, api_for, operation, kind):
    document, payload = MUTATIONS[operation]
    references = _references(api_for(world.khulna, "viewer"))
    variables = {"i": {key: _resolve(value, references) for key, value in payload.items()}}
    response = _caller(world, api_for, kind, EDIT).post(document, variables)
    _expect(response, kind, operation)


@pytest.mark.parametrize(("role", "visible"), [("viewer", False), ("executive", False), ("help_desk", False),
                                               ("gis_officer", True), ("field_surveyor", True),
                                               ("municipal_admin", True)])
def test_owner_phone_and_national_id_need_registry_edit(world, city, api_for, role, visible):
    body = api_for(world.khulna, role).run(
        '{ holding(holdingId: "1-1-1") { owners { name phone nationalId } } }')
    owners = body["data"]["holding"]["owners"]
    assert [owner["name"] for owner in owners] == ["Owner 0 of 1-1-1", "Owner 1 of 1-1-1"]
    if visible:
        assert "errors" not in body and owners[0]["phone"] == "+8801700000000"
    else:
        assert all(owner["phone"] is None and owner["nationalId"] is None for owner in owners)
        assert {error["extensions"]["code"] for error in body["errors"]} == {"FORBIDDEN"}


def test_anonymous_json_post_gets_graphql_401_not_a_login_redirect(world):
    client = Client(HTTP_HOST="khulna.localhost", enforce_csrf_checks=True)
    response = client.post("/graphql/", data='{"query": "{ me { email } }"}', content_type="application/json")
    assert response.status_code == 401 and response["Content-Type"] == "application/json"
    assert response.json() == {"errors": [{"message": response.json()["errors"][0]["message"],
                                           "extensions": {"code": "UNAUTHENTICATED"}}]}
    introspection = client.post("/graphql/", data='{"query": "{ __schema { types { name } } }"}',
                                content_type="application/json")
    assert introspection.status_code == 401


def test_anonymous_browser_is_sent_to_login(world):
    response = Client(HTTP_HOST="khulna.localhost").get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_session_requests_need_the_csrf_token(world, api_for):
    api = api_for(world.khulna, "viewer", enforce_csrf=True)
    refused = api.post("{ me { email } }")
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "CSRF_FAILED"
    api.client.get("/graphql/?query=%7B__typename%7D")  # sets the csrftoken cookie (ensure_csrf_cookie)
    token = api.client.cookies["csrftoken"].value
    accepted = api.post("{ me { email } }", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200 and accepted.json()["data"]["me"]["email"] == "viewer@khulna.test"


def test_api_token_needs_no_csrf_and_acts_with_its_users_roles(world, city, api_for):
    key = token_for(world, world.khulna, "viewer")
    api = api_for(world.khulna, token=key, enforce_csrf=True)
    me = api.data("{ me { email roles isTokenAuthenticated } }")["me"]
    assert me == {"email": "viewer@khulna.test", "roles": ["VIEWER"], "isTokenAuthenticated": True}
    document, payload = MUTATIONS["holdingUpdate"]
    references = _references(api)
    body = api.run(document, {"i": {key_: _resolve(value, references) for key_, value in payload.items()}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # a viewer's token cannot edit
    editor = api_for(world.khulna, token=token_for(world, world.khulna, "gis_officer"), enforce_csrf=True)
    assert editor.run(document, {"i": {key_: _resolve(value, references) for key_, value in payload.items()}}
                      )["data"]["holdingUpdate"] == {"errors": []}


def test_a_token_works_only_in_its_municipality(world, city, api_for):
    key = token_for(world, world.jhenaidah, "municipal_admin")
    assert api_for(world.jhenaidah, token=key).data("{ me { email } }")["me"]["email"] == \
        "municipal_admin@jhenaidah.test"
    response = api_for(world.khulna, token=key).post("{ buildings { totalCount } }")
    assert response.status_code == 401 and response["Content-Type"] == "application/json"


def test_a_revoked_token_is_refused(world, api_for):
    key = token_for(world, world.khulna, "viewer")
    api = api_for(world.khulna, token=key)
    assert api.post("{ me { email } }").status_code == 200
    token = ApiToken.objects.get(prefix=key[:12])
    api_token_revoke(token=token, by=token.user)
    assert api.post("{ me { email } }").status_code == 401


def test_a_get_request_cannot_mutate(world, api_for):
    api = api_for(world.khulna, "gis_officer")
    response = api.client.get("/graphql/", {"query": 'mutation { holdingUpdate(input: {id: "x"}) { errors { code } } }'},
                              HTTP_ACCEPT="application/json")
    assert response.status_code == 405 and "POST" in response.json()["errors"][0]["message"]


# --- feature gates -------------------------------------------------------------------------------------------

def _lines(world):
    from django.contrib.gis.geos import LineString

    with tenant_context(world.khulna):
        sewer = Sewer.objects.create(code="S-1", diameter_mm=300, geom=LineString(at(0, 0), at(50, 0), srid=4326))
        WaterLine.objects.create(code="W-1", material="hdpe", geom=LineString(at(0, 5), at(50, 5), srid=4326))
    return sewer


@pytest.mark.parametrize(("field", "feature"), [("sewers", "sewer"), ("waterLines", "water_supply")])
def test_a_disabled_features_fields_answer_feature_not_enabled(world, api_for, field, feature):
    _lines(world)
    api = api_for(world.khulna, "municipal_admin")
    body = api.run(f"{{ {field} {{ totalCount edges {{ node {{ code geometry }} }} }} wards {{ totalCount }} }}")
    assert body["data"][field] is None and body["data"]["wards"] == {"totalCount": 0}
    error = body["errors"][0]
    assert error["extensions"] == {"code": "FEATURE_NOT_ENABLED", "feature": feature}
    assert "not enabled" in error["message"] and error["path"] == [field]

    municipality_feature_set(municipality=world.khulna, code=feature, is_enabled=True)
    data = api.data(f"{{ {field} {{ totalCount edges {{ node {{ code geometry }} }} }} }}")
    assert data[field]["totalCount"] == 1 and data[field]["edges"][0]["node"]["geometry"]["type"] == "LineString"
    assert api_for(world.khulna, "service_provider").run(f"{{ {field} {{ totalCount }} }}")["errors"][0][
        "extensions"]["code"] == "FORBIDDEN"


def test_a_disabled_features_objects_are_not_reachable_by_global_id(world, api_for):
    from graphql_relay import to_global_id

    sewer = _lines(world)
    api = api_for(world.khulna, "municipal_admin")
    sewer_id = to_global_id("Sewer", f"khulna:{sewer.pk}")
    body = api.run("query($id: ID!) { node(id: $id) { id } }", {"id": sewer_id})
    assert body["data"]["node"] is None and body["errors"][0]["extensions"]["code"] == "FEATURE_NOT_ENABLED"
    municipality_feature_set(municipality=world.khulna, code="sewer", is_enabled=True)
    assert api.data("query($id: ID!) { node(id: $id) { ... on Sewer { code diameterMm } } }",
                    {"id": sewer_id}) == {"node": {"code": "S-1", "diameterMm": 300}}


def test_node_checks_the_types_permission(world, city, api_for):
    building_id = api_for(world.khulna, "viewer").data('{ building(bin: "B-K0000") { id } }')["building"]["id"]
    body = api_for(world.khulna, "service_provider").run("query($id: ID!) { node(id: $id) { id } }",
                                                         {"id": building_id})
    assert body["data"]["node"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
