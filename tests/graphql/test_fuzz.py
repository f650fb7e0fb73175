"""Fuzzing the endpoint with schemathesis' GraphQL mode: no generated query or mutation makes the server fail.

Schemathesis reads the committed schema.graphql (offline) and generates documents for every root field; each is
POSTed through Django's test client as a municipal admin's API token on Khulna (with every feature on and every
role added to the admin, so that permission refusals do not hide what runs behind them) and judged by schemathesis' `not_a_server_error` check: no 5xx, and no GraphQL error
that is not the client's fault (INTERNAL_SERVER_ERROR, or an error in a field without a client-error code).

More examples: IMIS_FUZZ_EXAMPLES=200 pytest tests/graphql/test_fuzz.py
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import schemathesis
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import not_a_server_error
from schemathesis.graphql import nodes

from imis.shared_apps.accounts.models import Membership
from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.tenants.services import municipality_feature_set
from tests.graphql.conftest import build_city, token_for
from tests.tenant_apps.registry.factories import at, square

pytestmark = pytest.mark.django_db

SCHEMA_FILE = Path(settings.BASE_DIR) / "schema.graphql"
EXAMPLES = int(os.environ.get("IMIS_FUZZ_EXAMPLES", "10"))
URL = "http://khulna.localhost/graphql/"


def _geojson_nodes() -> st.SearchStrategy:
    """Mostly plausible geometry near Khulna (so services run), sometimes nonsense."""
    lon_lat = st.tuples(st.floats(-300, 300), st.floats(-150, 150)).map(list)
    near = st.tuples(st.integers(-600, 4000), st.integers(-300, 300))
    point = near.map(lambda xy: {"type": "Point", "coordinates": list(at(*xy))})
    polygon = st.tuples(near, st.integers(1, 40)).map(
        lambda spec: json.loads(square(spec[0][0], spec[0][1], spec[1]).geojson))
    odd = st.one_of(
        st.fixed_dictionaries({"type": st.sampled_from(["Point", "Polygon", "LineString", "Nope"]),
                               "coordinates": st.lists(lon_lat, max_size=4)}),
        st.text(max_size=30),
    )
    return st.one_of(point, polygon, odd).map(
        lambda value: nodes.String(value) if isinstance(value, str) else nodes.String(json.dumps(value)))


def _decimal_nodes() -> st.SearchStrategy:
    """Money and volumes as strings: mostly plausible amounts, sometimes huge, negative, non-finite or not numbers."""
    plausible = st.decimals(min_value=-1000, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
    odd = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e30", "0.001", "", "abc", "12,50"])
    return st.one_of(plausible.map(str), odd).map(nodes.String)


def _load_schema():
    schemathesis.graphql.scalar("GeoJSON", _geojson_nodes())
    schemathesis.graphql.scalar("Decimal", _decimal_nodes())
    return schemathesis.graphql.from_path(SCHEMA_FILE)


SCHEMA = _load_schema()
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


def _as_requests_response(response, body: dict) -> requests.Response:
    """Django's test response in the shape schemathesis' checks read."""
    converted = requests.Response()
    converted.status_code = response.status_code
    converted._content = response.content
    converted.headers = CaseInsensitiveDict(dict(response.items()))
    converted.encoding = "utf-8"
    converted.url = URL
    converted.request = requests.Request("POST", URL, json=body).prepare()
    converted.elapsed = timedelta(0)
    return converted


@pytest.fixture
def admin_api(world, api_for):
    build_city(world.khulna, containments=3)
    for feature in ("sewer", "water_supply"):
        municipality_feature_set(municipality=world.khulna, code=feature, is_enabled=True)
    admin = world.user("municipal_admin", "khulna")
    for role in Role.values:
        Membership.objects.get_or_create(user=admin, municipality=world.khulna, role=role)
    return api_for(world.khulna, token=token_for(world, world.khulna, "municipal_admin"))


def test_schemathesis_sees_every_root_field():
    assert {"Query.buildings", "Query.node", "Mutation.buildingCreate", "Mutation.containmentUpdate"} <= set(OPERATIONS)


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_fuzzing_finds_no_server_error(admin_api, label):
    operation = OPERATIONS[label]

    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case):
        body = {"query": case.body}
        response = admin_api.client.post("/graphql/", data=json.dumps(body), content_type="application/json",
                                         **admin_api.headers)
        assert "Traceback" not in response.content.decode(errors="replace")
        case.validate_response(_as_requests_response(response, body), checks=[not_a_server_error])

    check()
