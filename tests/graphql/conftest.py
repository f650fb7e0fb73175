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


# --- the access matrix, shared by every domain's tests ----------------------------------------------------------

CALLERS = ["anonymous", "other municipality", "wrong role", "right role"]


def caller(world, api_for, kind: str, roles: tuple[str, str]) -> Api:
    """anonymous; a member of Jhenaidah only; the wrong and right role in Khulna (roles = (wrong, right))."""
    if kind == "anonymous":
        return api_for(world.khulna)
    if kind == "other municipality":
        return api_for(world.khulna, "municipal_admin", slug="jhenaidah")
    return api_for(world.khulna, roles[0] if kind == "wrong role" else roles[1])


def expect_access(response, kind: str, operation: str) -> dict:
    body = response.json()
    if kind == "anonymous":
        assert response.status_code == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    elif kind == "other municipality":
        assert response.status_code == 403 and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    elif kind == "wrong role":
        assert response.status_code == 200 and body["data"][operation] is None, body
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["errors"][0]["path"] == [operation]
    else:
        assert response.status_code == 200 and "errors" not in body, body
        assert body["data"][operation] is not None
        errors = body["data"][operation].get("errors") if isinstance(body["data"][operation], dict) else None
        assert not errors, errors
    return body


def resolve_refs(value, references: dict):
    """Replace "@name" strings (anywhere in a variables structure) by references[name]."""
    if isinstance(value, dict):
        return {key: resolve_refs(item, references) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_refs(item, references) for item in value]
    if isinstance(value, str) and value.startswith("@"):
        return references.get(value, value)
    return value


def gid(type_name: str, municipality, pk) -> str:
    """A global ID as the API mints it on `municipality`'s endpoint."""
    from graphql_relay import to_global_id

    return to_global_id(type_name, f"{municipality.schema_name}:{pk}")


# --- FSM: a site with applications in every state ------------------------------------------------------------

@dataclass
class FsmWorld:
    site: object
    received: object
    approved: object
    scheduled: object
    emptied: object
    disposed: object
    extra_containments: list


def build_fsm(world) -> FsmWorld:
    """The FSM tests' Site (a provider with two trucks and crew, a plant, price slabs) and one application in each
    state, written through the services (audited, with their timelines)."""
    import datetime as _datetime
    from decimal import Decimal

    from django.utils import timezone

    from imis.tenant_apps.fsm import services as fsm
    from imis.tenant_apps.registry import services as registry
    from tests.tenant_apps.fsm.conftest import Site
    from tests.tenant_apps.registry.factories import point
    from tests.tenant_apps.registry.factories import square as _square

    with tenant_context(world.khulna):
        site = Site(world)
        officer = world.user("gis_officer", "khulna")
        extra = []
        for n in range(3, 8):
            holding = registry.holding_create(by=officer, holding_id=f"1-0001-{n + 1:05d}",
                                              ward=registry.ward_at(point(0, 10)), address=f"House {n + 1}")
            building = registry.building_create(by=officer, bin=f"B-{n}", footprint=_square(40 * n, 10),
                                                holding=holding, households=2, population_male=5,
                                                population_female=5)
            extra.append(registry.containment_create(
                by=officer, building_ids=[building.pk], code=f"C-{n}", type="septic_tank", length_m=2, width_m=2,
                depth_m=Decimal("1.2"), location=point(40 * n + 5, 25)))
        containments = site.containments + extra
        desk, officer_fsm = site.user("help_desk"), site.user("sanitation_officer")
        today = timezone.localdate()

        def register(n):
            return fsm.application_register(by=desk, applicant_name=f"Resident {n}", applicant_phone="01712345678",
                                            containment=containments[n])

        def approve(n):
            return fsm.application_approve(application=register(n), by=officer_fsm)

        def schedule(n):
            return fsm.application_schedule(application=approve(n), by=officer_fsm, provider=site.provider,
                                            vehicle=site.truck, date=today, slot="morning",
                                            crew=[site.driver, site.emptier])

        def empty(n):
            return fsm.application_record_emptying(application=schedule(n), by=site.user("service_provider"),
                                                   emptied_on=today, volume_m3="3", trips=1, is_ppe_worn=True)

        received, approved, scheduled, emptied = register(0), approve(1), schedule(2), empty(3)
        disposed = empty(4)
        fsm.disposal_record(by=site.user("plant_operator"), treatment_plant=site.plant, vehicle=site.truck,
                            arrived_at=timezone.now() - _datetime.timedelta(minutes=5), volume_received_m3="3",
                            applications=[disposed])
    connection.set_schema_to_public()
    return FsmWorld(site, received, approved, scheduled, emptied, disposed, containments[5:])


@pytest.fixture
def fsm_world(world):
    return build_fsm(world)


def fsm_refs(fsm_world: FsmWorld, municipality) -> dict:
    site = fsm_world.site
    return {
        "@received": gid("FsmApplication", municipality, fsm_world.received.pk),
        "@approved": gid("FsmApplication", municipality, fsm_world.approved.pk),
        "@scheduled": gid("FsmApplication", municipality, fsm_world.scheduled.pk),
        "@emptied": gid("FsmApplication", municipality, fsm_world.emptied.pk),
        "@disposed": gid("FsmApplication", municipality, fsm_world.disposed.pk),
        "@provider": gid("ServiceProvider", municipality, site.provider.pk),
        "@truck": gid("Vehicle", municipality, site.truck.pk),
        "@driver": gid("CrewMember", municipality, site.driver.pk),
        "@plant": gid("FsmTreatmentPlant", municipality, site.plant.pk),
        "@free_containment": gid("Containment", municipality, fsm_world.extra_containments[0].pk),
    }


# --- holding tax: an assessed, billed town ------------------------------------------------------------------

def build_tax(world, *, holdings: int = 4, bill: bool = True):
    """The tax tests' Town (rates, four assessed holdings in two wards), billed for the first instalment, with one
    payment and one pending adjustment."""
    from decimal import Decimal

    from imis.tenant_apps.tax import services as tax
    from tests.tenant_apps.tax.conftest import FY, Town

    with tenant_context(world.khulna):
        town = Town(world, holdings=holdings)
        if bill:
            tax.bill_run_execute(by=None, fiscal_year=FY, period=1)
        town.payment = tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=Decimal("500"),
                                          method="cash")
        town.adjustment = tax.adjustment_request(by=town.user("tax_officer"), holding=town.holdings[1],
                                                 kind="write_off", amount=Decimal("100"), reason="Flood damage")
        town.assessment = town.holdings[0].assessments.get(is_current=True)
    connection.set_schema_to_public()
    return town


@pytest.fixture
def tax_town(world):
    return build_tax(world)


# --- trade licences: a shop at each step of its life cycle --------------------------------------------------

LICENCE_YEAR = 2026


@dataclass
class LicenceWorld:
    holding: object
    category: object
    applied: object
    inspected: object
    approved: object
    active: object


def build_licences(world) -> LicenceWorld:
    from imis.tenant_apps.licences import services as licences
    from imis.tenant_apps.licences.models import BusinessCategory
    from imis.tenant_apps.registry import services as registry
    from tests.tenant_apps.registry.factories import ward as _ward

    with tenant_context(world.khulna):
        officer = world.user("tax_officer", "khulna")
        holding = registry.holding_create(by=None, holding_id="1-0009-00001", ward=_ward(1, -500, -500, 500, 500),
                                          address="12 KDA Avenue", owners=[{"name": "Karim"}])
        category = BusinessCategory.objects.create(code="R-01", name="Grocery (retail)", name_bn="মুদি দোকান")
        for year in (LICENCE_YEAR - 1, LICENCE_YEAR, LICENCE_YEAR + 1):
            licences.category_fee_set(by=None, category=category, fiscal_year=year, new_fee=1000, renewal_fee=800)

        def apply(name):
            return licences.licence_apply(by=officer, business_name=name, category=category, holding=holding,
                                          owner_name="Abdul Karim", owner_phone="01712345678",
                                          owner_national_id="1990123456789")

        def inspect(name):
            return licences.licence_inspect(by=officer, licence=apply(name), passed=True, notes="Clean, safe")

        def approve(name):
            return licences.licence_approve(by=officer, licence=inspect(name))

        applied, inspected, approved = apply("Applied Store"), inspect("Inspected Store"), approve("Approved Store")
        active = licences.licence_pay(by=world.user("cashier", "khulna"), licence=approve("Active Store"),
                                      method="cash").licence
    connection.set_schema_to_public()
    return LicenceWorld(holding, category, applied, inspected, approved, active)


@pytest.fixture
def licence_world(world):
    return build_licences(world)
