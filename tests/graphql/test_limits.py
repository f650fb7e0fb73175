"""Depth, cost, page size, introspection and request limits; errors that never leak internals."""

import json

import pytest
from graphql import get_introspection_query

from imis.graphql import limits
from imis.tenant_apps.registry import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world, api_for):
    return api_for(world.khulna, "gis_officer")


def _nest(levels: int) -> str:
    """containments → buildings → containments → … `levels` relation hops below a containment."""

    def inside(level: int, on_containment: bool) -> str:
        leaf = "code" if on_containment else "bin"
        if level == 0:
            return leaf
        relation = "buildings" if on_containment else "containments"
        return f"{leaf} {relation} {{ {inside(level - 1, not on_containment)} }}"

    return f"{{ containments(first: 1) {{ edges {{ node {{ {inside(levels, True)} }} }} }} }}"


def test_a_query_nested_too_deeply_is_refused_before_running(api):
    response = api.post(_nest(14))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP", "maxDepth": limits.MAX_DEPTH}
    assert api.post(_nest(4)).status_code == 200


def test_depth_counts_through_fragments(api):
    query = "fragment F on Building { containments { buildings { containments { buildings { containments { " \
            "buildings { bin } } } } } } } " \
            "{ buildings { edges { node { containments { buildings { containments { buildings { " \
            "containments { buildings { ...F } } } } } } } } } }"
    assert api.post(query).json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


def test_an_expensive_query_is_refused(api):
    aliases = " ".join(f"a{n}: buildings(first: 100) {{ edges {{ node {{ bin holding {{ owners {{ name }} }} }} }} }}"
                       for n in range(40))
    body = api.post(f"{{ {aliases} }}").json()
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_EXPENSIVE", "maxCost": limits.MAX_COST}
    assert "data" not in body


def test_reused_fragments_are_costed_without_expanding_them(api):
    # 10 fragments each spreading the next twice: 2**10 expansions, but checked in linear time.
    fragments = [f"fragment F{n} on Building {{ a: containments {{ buildings {{ ...F{n + 1} }} }} "
                 f"b: containments {{ buildings {{ ...F{n + 1} }} }} }}" for n in range(10)]
    fragments.append("fragment F10 on Building { bin }")
    query = "{ buildings(first: 100) { edges { node { ...F0 } } } } " + " ".join(fragments)
    errors = api.post(query).json()["errors"]
    assert errors[0]["extensions"]["code"] in {"QUERY_TOO_DEEP", "QUERY_TOO_EXPENSIVE"}


def test_page_size_is_capped(api):
    body = api.run("{ buildings(first: 1000) { edges { node { bin } } } }")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "maxPageSize": 100}


def test_members_may_introspect_with_the_standard_query(api):
    body = api.run(get_introspection_query(descriptions=True))
    assert "errors" not in body
    names = {entry["name"] for entry in body["data"]["__schema"]["types"]}
    assert {"Building", "Containment", "Sewer", "GeoJSON", "FieldError"} <= names


def test_introspection_may_not_fan_out(api):
    body = api.run("{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "fields" in body["errors"][0]["message"]


def test_an_overlong_query_is_refused(api):
    response = api.post("{ " + "__typename " * 3000 + "}")
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"


@pytest.mark.parametrize("body", ['{"query": 5}', '{"query": "{ me { email } }", "variables": [1]}',
                                  '{"query": "{ me { email } }", "operationName": {}}', "[1, 2]", "not json",
                                  '{"query": "{ me { email } "}', '{"query": "{ nothing }"}'])
def test_malformed_requests_get_a_400_with_a_graphql_error(api, body):
    response = api.client.post("/graphql/", data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["errors"][0]["message"] and "Traceback" not in response.content.decode()


def test_unexpected_failures_are_masked_and_logged(api, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    monkeypatch.setattr(selectors, "buildings_listed", explode)
    response = api.post("{ buildings { totalCount } wards { totalCount } }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"buildings": None, "wards": {"totalCount": 0}}
    assert body["errors"] == [{"message": "Internal server error.", "locations": [{"line": 1, "column": 3}],
                               "path": ["buildings"], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    assert "hunter2" not in response.content.decode()
    assert "hunter2" in caplog.text  # but the operators see it


def test_validation_and_syntax_errors_carry_a_code(api):
    body = json.loads(api.post("{ buildings { nope } }").content)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert api.run("{ buildings { ")["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_nul_characters_are_refused_in_literals_and_variables(api):
    literal = api.post('{ building(bin: "B-\\u0000") { bin } }')
    assert literal.status_code == 400 and literal.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    variable = api.post("query($b: String!) { building(bin: $b) { bin } }", {"b": "B-\x00"})
    assert variable.status_code == 400 and variable.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_field_repeated_hundreds_of_times_is_refused_before_validation(api):
    # graphql-core would compare every pair of the 300 copies (seconds of CPU); refused in one pass instead.
    response = api.post("{ " + "me { email } " * 300 + "}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    inline = api.post("{ " + "... on Query { me { email } } " * 30 + "}")
    assert inline.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_a_document_with_too_many_tokens_is_refused(api):
    query = "{ " + " ".join(f"a{n}:me{{email}}" for n in range(1100)) + " }"
    assert len(query) < limits.MAX_QUERY_LENGTH
    response = api.post(query)
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
