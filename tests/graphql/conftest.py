"""GraphQL test helpers: a client per (municipality, user or token) and a small registry in Khulna."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.services import api_token_create
from imis.tenant_apps.registry.models import Building, Containment, Holding, Owner
from tests.tenant_apps.registry.factories import point, road, square, ward


class Api:
    """POSTs GraphQL documents to one municipality's /graphql/ as one caller."""

    def __init__(self, client: Client, **headers):
        self.client = client
        self.headers = headers

    def post(self, query: str, variables: dict | None = None, **extra):
        body = {"query": query}
        if variables is not None:
            body["variables"] = variables
        response = self.client.post("/graphql/", data=json.dumps(body), content_type="application/json",
                                    **{**self.headers, **extra})
        connection.set_schema_to_public()
        return response

    def run(self, query: str, variables: dict | None = None) -> dict:
        """The JSON answer (status 200 or 400 both give JSON)."""
        return self.post(query, variables).json()

    def data(self, query: str, variables: dict | None = None) -> dict:
        """The data of an answer that must have no errors."""
        body = self.run(query, variables)
        assert "errors" not in body, body.get("errors")
        return body["data"]


@pytest.fixture
def api_for(world):
    """`api_for(world.khulna, "viewer")` (session of `viewer@khulna.test`), `api_for(m, token=key)`, `api_for(m)`."""

    def make(municipality, role: str | None = None, *, slug: str | None = None, token: str | None = None,
             enforce_csrf: bool = False) -> Api:
        client = Client(HTTP_HOST=municipality.get_primary_domain().domain, enforce_csrf_checks=enforce_csrf)
        if role is not None:
            client.force_login(world.user(role, slug or municipality.slug))
        headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
        connection.set_schema_to_public()
        return Api(client, **headers)

    return make


def token_for(world, municipality, role: str, slug: str | None = None) -> str:
    _token, key = api_token_create(user=world.user(role, slug or municipality.slug), municipality=municipality,
                                   name="tests")
    return key


@dataclass
class City:
    wards: list
    roads: list
    holdings: list[Holding]
    buildings: list[Building]
    containments: list[Containment]


def build_city(municipality, *, containments: int = 6, buildings_per_containment: int = 2,
               prefix: str = "K") -> City:
    """Two wards, two roads; holdings with two owners each; buildings in rows; containments serving them.

    Written with bulk inserts (not the audited services) so that a hundred containments take a moment.
    """
    with tenant_context(municipality):
        wards = [ward(1, -500, -500, 500, 500), ward(2, 500, -500, 5000, 500)]
        roads = [road("R-1", (-200, 0), (4900, 0), hierarchy="primary", width_m=8),
                 road("R-2", (0, -400), (0, 400), hierarchy="lane")]
        count = containments * buildings_per_containment
        holdings = Holding.objects.bulk_create([
            Holding(holding_id=f"{1 + (n * 20 >= 500)}-1-{n + 1}", ward=wards[n * 20 >= 500], road=roads[0],
                    address=f"House {n + 1}") for n in range(count)
        ])
        Owner.objects.bulk_create([
            Owner(holding=holding, name=f"Owner {index} of {holding.holding_id}", phone=f"+88017000{n:05d}",
                  national_id=f"{1000000000 + n}", gender="female" if index else "male")
            for n, holding in enumerate(holdings) for index in range(2)
        ])
        buildings = Building.objects.bulk_create([
            Building(bin=f"B-{prefix}{n:04d}", footprint=square(20 * n, 10), holding=holdings[n],
                     ward=wards[n * 20 >= 500], floors=1 + n % 3, households=2, population_male=3,
                     population_female=3, functional_use="commercial" if n % 4 == 0 else "residential",
                     sanitation_system="septic_tank" if n % 2 else "pit", verification_status="verified"
                     if n % 3 == 0 else "unverified")
            for n in range(count)
        ])
        made = Containment.objects.bulk_create([
            Containment(code=f"C-{prefix}{n:04d}", type="septic_tank", outlet="soak_pit", volume_m3="3.50",
                        location=point(20 * n * buildings_per_containment + 5, 5),
                        ward=wards[20 * n * buildings_per_containment >= 500],
                        last_emptied_on=f"2025-0{1 + n % 9}-15", next_emptying_due=f"2027-0{1 + n % 9}-15",
                        times_emptied=n % 4)
            for n in range(containments)
        ])
        Containment.buildings.through.objects.bulk_create([
            Containment.buildings.through(containment_id=containment.pk,
                                          building_id=buildings[n * buildings_per_containment + k].pk)
            for n, containment in enumerate(made) for k in range(buildings_per_containment)
        ])
    connection.set_schema_to_public()
    return City(wards, roads, holdings, buildings, made)


@pytest.fixture
def city(world):
    return build_city(world.khulna)
