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


# --- the domains: FSM, holding tax, trade licences ------------------------------------------------------------

APPLICATIONS = """query($n: Int) { fsmApplications(first: $n) { totalCount edges { node {
    number status location holding { holdingId owners { name } } building { bin } containment { code }
    ward { number } provider { name } vehicle { registration provider { name } } crew { name }
    emptying { volumeM3 vehicle { registration } crew { name } } disposals { arrivedAt treatmentPlant { name } }
    feedback { rating } events { toStatus } } } } }"""
PROVIDERS = """query($n: Int) { serviceProviders(first: $n) { edges { node {
    name wards { number } vehicles { registration } crew { name } } } } }"""
BILLS = """query($n: Int) { taxBills(first: $n) { totalCount edges { node {
    number currentAmount paid left heads { code amount } holding { holdingId ward { number } } } } } }"""
PAYMENTS = """query($n: Int) { taxPayments(first: $n) { edges { node {
    receiptNumber amount holding { holdingId } allocations { amount bill { number paid } } } } } }"""
DUES = """query($n: Int) { taxDues(first: $n) { totalCount balanceTotal edges { node {
    holdingId balance yearsDue holding { address owners { name } } } } } }"""
LICENCES = """query($n: Int) { tradeLicences(first: $n) { totalCount edges { node {
    number status category { code } holding { holdingId ward { number } }
    certificates { number payment { receiptNumber } } payments { amount } events { action } } } } }"""

# A domain's request also reads the municipality's enabled features once (its feature gate): 7 statements before
# the first field.
DOMAIN_CASES = {
    # + COUNT, page (holding, building, containment, ward, provider, vehicle + its provider joined), owners, crew,
    #   emptying (vehicle joined), its crew, disposals (plant joined), feedback, events
    "100 FSM applications with site, schedule, emptying, disposals, feedback and timeline": (APPLICATIONS, 17),
    # + page, wards, vehicles, crew
    "service providers with wards, vehicles and crew": (PROVIDERS, 11),
    # + COUNT, page (holding and ward joined, paid as a subquery)
    "bills with what is paid and left, and their holding": (BILLS, 9),
    # + page (holding joined), allocations, their bills (paid as a subquery)
    "payments with their apportionment": (PAYMENTS, 10),
    # + holdings of the page, owners (the due table itself is cached per data version: 5 more when it is not)
    "due status with holdings and owners": (DUES, 9),
    # + COUNT, page (category, holding, ward joined), certificates (payment joined), payments, events
    "trade licences with category, holding, certificates, payments and timeline": (LICENCES, 12),
}


@pytest.fixture
def busy_city(world):
    """100 of everything, written in bulk: applications at every step, bills and payments, licences."""
    import datetime
    from decimal import Decimal

    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from imis.platform.versioning import data_version_bump
    from imis.tenant_apps.fsm.models import (
        Application,
        ApplicationEvent,
        CrewMember,
        Disposal,
        Emptying,
        Feedback,
        ServiceProvider,
        Vehicle,
    )
    from imis.tenant_apps.licences.models import BusinessCategory, Certificate, Licence, LicenceEvent, LicencePayment
    from imis.tenant_apps.registry.models import TreatmentPlant
    from imis.tenant_apps.tax.models import Assessment, Bill, LedgerEntry, Payment, PaymentAllocation
    from tests.tenant_apps.registry.factories import point

    city = build_city(world.khulna, containments=100, buildings_per_containment=1)
    now, today = timezone.now(), timezone.localdate()
    with tenant_context(world.khulna):
        providers = ServiceProvider.objects.bulk_create([ServiceProvider(name=f"Provider {n}") for n in range(100)])
        for provider in providers:
            provider.wards.set(city.wards)
        vehicles = Vehicle.objects.bulk_create([Vehicle(provider=providers[n], registration=f"V-{n}",
                                                        capacity_m3=Decimal("4")) for n in range(100)])
        crew = CrewMember.objects.bulk_create([CrewMember(provider=providers[n], name=f"Crew {n}", role="driver")
                                               for n in range(100)])
        plant = TreatmentPlant.objects.create(name="FSTP", type="fstp", capacity_m3_per_day=50, location=point(0, 0))
        applications = Application.objects.bulk_create([
            Application(number=f"FSM-2026-{n:06d}", status="closed", holding=city.holdings[n],
                        building=city.buildings[n], containment=city.containments[n], ward=city.wards[0],
                        location=city.containments[n].location, applicant_name=f"Resident {n}", received_at=now,
                        provider=providers[n], vehicle=vehicles[n], scheduled_date=today)
            for n in range(100)])
        Application.crew.through.objects.bulk_create([
            Application.crew.through(application_id=a.pk, crewmember_id=crew[n].pk) for n, a in enumerate(applications)])
        emptyings = Emptying.objects.bulk_create([
            Emptying(application=a, emptied_on=today, volume_m3=Decimal("3"), vehicle=vehicles[n])
            for n, a in enumerate(applications)])
        Emptying.crew.through.objects.bulk_create([
            Emptying.crew.through(emptying_id=e.pk, crewmember_id=crew[n].pk) for n, e in enumerate(emptyings)])
        disposal = Disposal.objects.create(treatment_plant=plant, arrived_at=now, volume_received_m3=Decimal("300"),
                                           unregistered_vehicle="X")
        disposal.applications.set(applications)
        Feedback.objects.bulk_create([Feedback(application=a, rating=4, service_quality=4) for a in applications])
        ApplicationEvent.objects.bulk_create([
            ApplicationEvent(application=a, at=now, from_status=before, to_status=after)
            for a in applications for before, after in (("", "received"), ("received", "approved"))])

        Assessment.objects.bulk_create([Assessment(holding=h, fiscal_year=2026, basis="rent", annual_value=10000)
                                        for h in city.holdings])
        bills = Bill.objects.bulk_create([
            Bill(holding=h, fiscal_year=2026, period=1, number=f"HT2026-1-{h.holding_id}", issue_date=today,
                 due_date=today + datetime.timedelta(days=30), annual_value=10000, current_amount=500,
                 heads={"holding_tax": "175.00", "conservancy": "175.00", "lighting": "75.00", "water": "75.00"},
                 total_payable=500) for h in city.holdings])
        LedgerEntry.objects.bulk_create([LedgerEntry(holding=b.holding, kind="bill", amount=500, bill=b, at=now,
                                                     fiscal_year=2026) for b in bills])
        payments = Payment.objects.bulk_create([
            Payment(holding=b.holding, amount=200, method="cash", received_at=now, receipt_number=f"R-{n:08d}")
            for n, b in enumerate(bills)])
        PaymentAllocation.objects.bulk_create([PaymentAllocation(payment=p, bill=b, amount=200)
                                               for p, b in zip(payments, bills, strict=True)])
        LedgerEntry.objects.bulk_create([LedgerEntry(holding=p.holding, kind="payment", amount=-200, payment=p,
                                                     at=now, fiscal_year=2026) for p in payments])

        category = BusinessCategory.objects.create(code="R-01", name="Grocery")
        licences = Licence.objects.bulk_create([
            Licence(application_number=f"TLA-{n}", number=f"TL-{n:06d}", status="active", business_name=f"Shop {n}",
                    category=category, holding=city.holdings[n], owner_name="Owner", applied_on=today,
                    valid_until=today + datetime.timedelta(days=200)) for n in range(100)])
        licence_payments = LicencePayment.objects.bulk_create([
            LicencePayment(licence=licence, kind="new", fiscal_year=2026, fee=1000, amount=1000, method="cash",
                           receipt_number=f"TLR-{n:08d}", received_at=now) for n, licence in enumerate(licences)])
        Certificate.objects.bulk_create([
            Certificate(licence=p.licence, number=f"{p.licence.number}-2026", fiscal_year=2026, valid_from=today,
                        valid_until=today + datetime.timedelta(days=200), issued_on=today, payment=p)
            for p in licence_payments])
        LicenceEvent.objects.bulk_create([LicenceEvent(licence=licence, at=now, action="issued")
                                          for licence in licences])
        data_version_bump()  # bulk writes skip the services that do this: cached due tables are stale now
    connection.set_schema_to_public()
    return city


@pytest.mark.parametrize("case", list(DOMAIN_CASES))
def test_domain_lists_run_a_bounded_number_of_statements(world, busy_city, api_for, case,
                                                         django_assert_max_num_queries):
    document, bound = DOMAIN_CASES[case]
    api = api_for(world.khulna, "municipal_admin")
    api.run("{ __typename }")
    api.run(document, {"n": 1})  # warm what is cached per data version (the due table)
    small, small_data = _count(api, document, 10)
    large, large_data = _count(api, document, 100)
    assert len(next(iter(small_data.values()))["edges"]) == 10
    assert len(next(iter(large_data.values()))["edges"]) == 100
    assert small == large <= bound, (small, large)
    with django_assert_max_num_queries(bound):
        api.run(document, {"n": 100})
