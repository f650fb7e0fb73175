"""No N+1: a list costs the same number of SQL statements for 10 rows as for 100, whatever it nests.

The bounds count the whole request, middleware included: measured, then pinned.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.graphql.conftest import build_city

pytestmark = pytest.mark.django_db

CONTAINMENTS = """query($n: Int) { containments(first: $n) { edges { node {
    code lastEmptiedOn nextEmptyingDue timesEmptied ward { number }
    buildings { bin holding { holdingId ward { number } } } } } } }"""
BUILDINGS = """query($n: Int) { buildings(first: $n) { totalCount pageInfo { hasNextPage } edges { node {
    bin footprint floors ward { number } nearestRoad { code } containments { code buildingCount }
    holding { holdingId buildingCount owners { name phone } road { code } } } } } }"""
HOLDINGS = """query($n: Int) { holdings(first: $n) { totalCount edges { node {
    holdingId buildingCount ward { number } owners { name nationalId }
    buildings { bin containments { code ward { number } } } } } } }"""
NESTED_FRAGMENTS = """fragment Place on Building { ward { number name } holding { ...Owners } }
fragment Owners on Holding { holdingId owners { name } }
query($n: Int) { containments(first: $n) { edges { node { code ... on Containment { buildings { ...Place } } } } } }"""

# Every request: SET search_path, the host's domain, SET search_path, session, user, roles (6 statements).
# (document, bound): the bound holds for first: 10 and first: 100 alike
CASES = {
    # + the page (ward joined), buildings (holding and its ward joined)
    "100 containments with their buildings, holdings, ward and last emptying": (CONTAINMENTS, 8),
    # + page (ward, road joined), holdings (road joined; prefetched for their owners), owners, containments, COUNT
    "buildings with holding, owners, road, containments": (BUILDINGS, 11),
    # + page (ward joined), owners, buildings, containments (ward joined), COUNT
    "holdings with owners, buildings and their containments": (HOLDINGS, 11),
    # + page, buildings (ward joined), holdings, owners
    "fragments": (NESTED_FRAGMENTS, 10),
}


@pytest.fixture
def big_city(world):
    return build_city(world.khulna, containments=100, buildings_per_containment=2)


def _count(api, document, size) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        body = api.run(document, {"n": size})
    assert "errors" not in body, body["errors"]
    return len(captured.captured_queries), body["data"]


@pytest.mark.parametrize("case", list(CASES))
def test_list_queries_run_a_bounded_number_of_statements(world, big_city, api_for, case,
                                                         django_assert_max_num_queries):
    document, bound = CASES[case]
    api = api_for(world.khulna, "gis_officer")
    api.run("{ __typename }")  # the session's first request also saves it; measure steady requests
    small, small_data = _count(api, document, 10)
    large, large_data = _count(api, document, 100)
    edges = next(iter(large_data.values()))["edges"]
    assert len(next(iter(small_data.values()))["edges"]) == 10 and len(edges) == 100
    assert small == large <= bound, (small, large)
    with django_assert_max_num_queries(bound):
        api.run(document, {"n": 100})


def test_the_nested_data_is_right(world, big_city, api_for):
    data = api_for(world.khulna, "viewer").data(CONTAINMENTS, {"n": 100})
    last = data["containments"]["edges"][-1]["node"]
    assert last["code"] == "C-K0099" and [b["bin"] for b in last["buildings"]] == ["B-K0198", "B-K0199"]
    assert last["ward"] == {"number": 2} and last["buildings"][0]["holding"]["ward"] == {"number": 2}
