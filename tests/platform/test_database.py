"""The database session our connections open. PostGIS prices its functions high so that big scans get parallel
workers, but each worker first loads PostGIS (~30 ms): a map box or a GraphQL page of a hundred footprints ran
several times slower in parallel than alone (tests/bench/test_graphql.py). Every connection we open raises the
price of starting workers, so only whole-layer work gets them."""

import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _setup_cost(cursor) -> float:
    cursor.execute("SHOW parallel_setup_cost")
    return float(cursor.fetchone()[0])


def test_every_connection_prices_parallel_workers_for_whole_layer_work_only(world, settings):
    assert settings.DATABASES["default"]["OPTIONS"]["options"].endswith("-c parallel_setup_cost=100000")
    with connection.cursor() as cursor:
        assert _setup_cost(cursor) == 100_000
    # the import's helper thread uses the same session; a worker process opening its own connection gets it too
    with psycopg.connect(**connection.get_connection_params()) as other, other.cursor() as cursor:
        assert _setup_cost(cursor) == 100_000
