"""Registry rules: validation, derived values, road links, audit, isolation."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Building, Containment, Holding, Ward

from .factories import point, road, square, ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def khulna(world):
    """Khulna with two wards side by side (x 0-500 m and 500-1000 m) and a road along y = 0."""
    with tenant_context(world.khulna):
        ward(1, 0, -500, 500, 500)
        ward(2, 500, -500, 1000, 500)
        road("R-1", (0, 0), (1000, 0), name="KDA Avenue", hierarchy="primary")
        yield world


def officer(world):
    return world.user("gis_officer", "khulna")


def test_building_gets_its_ward_and_nearest_road(khulna):
    building = services.building_create(by=officer(khulna), bin="B-1", footprint=square(100, 20))
    assert building.ward.number == 1
    assert building.nearest_road.code == "R-1"
    assert building.road_link_status == "linked"
    assert 19 < building.road_distance_m < 21


def test_building_far_from_every_road_is_flagged(khulna):
    building = services.building_create(by=officer(khulna), bin="B-far", footprint=square(100, 300))
    assert building.road_link_status == "far"


def test_building_between_two_equally_near_roads_is_ambiguous(khulna):
    road("R-2", (0, 50), (1000, 50))
    building = services.building_create(by=officer(khulna), bin="B-mid", footprint=square(200, 20))
    assert building.road_link_status == "ambiguous"


@pytest.mark.parametrize(
    ("footprint", "code"),
    [
        ("POLYGON((89.54 22.84, 89.5401 22.8401, 89.5401 22.84, 89.54 22.8401, 89.54 22.84))", "invalid_geometry"),
        ("LINESTRING(89.54 22.84, 89.541 22.841)", "wrong_geometry_type"),
        ("not a geometry", "invalid_geometry"),
        ("POLYGON((89.54 22.84, 89.54001 22.84, 89.54001 22.84001, 89.54 22.84))", "implausible_area"),
    ],
)
def test_invalid_footprints_are_refused_and_nothing_is_saved(khulna, footprint, code):
    with pytest.raises(ValidationError) as error:
        services.building_create(by=officer(khulna), bin="B-bad", footprint=footprint)
    assert error.value.code == code or code in str(error.value)
    assert not Building.objects.filter(bin="B-BAD").exists()
    assert not AuditEntry.objects.filter(model="registry.building").exists()


def test_duplicate_bin_is_refused(khulna):
    services.building_create(by=officer(khulna), bin="B-7", footprint=square(100, 20))
    with pytest.raises(ValidationError) as error:
        services.building_create(by=officer(khulna), bin="b-7", footprint=square(200, 20))
    assert "already registered" in str(error.value)
    assert Building.objects.count() == 1


def test_holding_id_follows_the_municipality_pattern(khulna):
    ward1 = services.ward_at(point(10, 10))
    holding = services.holding_create(by=officer(khulna), holding_id="01-0012-00034", ward=ward1,
                                      owners=[{"name": "Rahima Begum", "phone": "01712345678", "gender": "female"}])
    assert holding.owners.get().phone == "+8801712345678"
    with pytest.raises(ValidationError) as error:
        services.holding_create(by=officer(khulna), holding_id="house 12", ward=ward1)
    assert error.value.code == "invalid_holding_id"


def test_duplicate_holding_id_is_refused(khulna):
    ward1 = services.ward_at(point(10, 10))
    services.holding_create(by=officer(khulna), holding_id="1-2-3", ward=ward1)
    with pytest.raises(ValidationError) as error:
        services.holding_create(by=officer(khulna), holding_id="1-2-3", ward=ward1)
    assert error.value.code == "duplicate_holding_id"
    assert Holding.objects.count() == 1


def test_holding_buildings_stay_in_one_ward_unless_confirmed(khulna):
    ward1 = services.ward_at(point(10, 10))
    holding = services.holding_create(by=officer(khulna), holding_id="1-2-4", ward=ward1)
    services.building_create(by=officer(khulna), bin="B-W1", footprint=square(100, 20), holding=holding)
    with pytest.raises(ValidationError) as error:
        services.building_create(by=officer(khulna), bin="B-W2", footprint=square(700, 20), holding=holding)
    assert error.value.code == "multi_ward_holding"
    services.holding_update(holding=holding, by=officer(khulna), is_multi_ward_confirmed=True)
    services.building_create(by=officer(khulna), bin="B-W2", footprint=square(700, 20), holding=holding)
    assert holding.buildings.count() == 2


@pytest.mark.parametrize(
    ("dimensions", "volume"),
    [
        ({"type": "septic_tank", "length_m": 2, "width_m": Decimal("1.5"), "depth_m": Decimal("1.2")}, Decimal("3.60")),
        ({"type": "lined_pit", "diameter_m": Decimal("1.2"), "depth_m": 2}, Decimal("2.26")),
        ({"type": "lined_pit", "depth_m": 2}, None),
    ],
)
def test_containment_volume_from_dimensions(dimensions, volume):
    assert services.containment_volume_m3(**dimensions) == volume


def test_next_emptying_date_follows_volume_users_and_rate():
    since = datetime.date(2024, 1, 1)
    # 3.6 m3 x 2/3 = 2400 L; 10 users x 40 L = 400 L/year -> 6 years, capped at 5
    assert services.containment_next_emptying_date(
        volume_m3=Decimal("3.6"), users=10, since=since, accumulation_l_per_person_year=Decimal("40"),
        max_interval_years=5,
    ) == since + datetime.timedelta(days=int(5 * 365.25))
    # 20 users -> 3 years
    assert services.containment_next_emptying_date(
        volume_m3=Decimal("3.6"), users=20, since=since, accumulation_l_per_person_year=Decimal("40"),
        max_interval_years=5,
    ) == since + datetime.timedelta(days=int(Decimal("3.001") * Decimal("365.25")))
    # 200 users fill it in months: not sooner than half a year
    assert services.containment_next_emptying_date(
        volume_m3=Decimal("3.6"), users=200, since=since, accumulation_l_per_person_year=Decimal("40"),
        max_interval_years=5,
    ) == since + datetime.timedelta(days=int(Decimal("0.5") * Decimal("365.25")))


def test_containment_serves_nearby_buildings_and_gets_its_due_date(khulna):
    building = services.building_create(by=officer(khulna), bin="B-C", footprint=square(100, 20),
                                        households=4, population_male=10, population_female=10)
    containment = services.containment_create(
        by=officer(khulna), building_ids=[building.pk], code="c-1", type="septic_tank", length_m=2,
        width_m=Decimal("1.5"), depth_m=Decimal("1.2"), location=point(105, 35),
        last_emptied_on=datetime.date(2024, 1, 1),
    )
    assert containment.code == "C-1" and containment.volume_m3 == Decimal("3.60") and containment.ward.number == 1
    assert containment.next_emptying_due == datetime.date(2024, 1, 1) + datetime.timedelta(
        days=int(Decimal("3.001") * Decimal("365.25")))


def test_bulk_refresh_gives_the_same_due_dates_as_the_service(khulna):
    building = services.building_create(by=officer(khulna), bin="B-D", footprint=square(300, 20), households=3)
    containment = services.containment_create(
        by=officer(khulna), building_ids=[building.pk], code="C-2", type="lined_pit", diameter_m=Decimal("1.2"),
        depth_m=2, location=point(305, 35), construction_year=2020,
    )
    one_by_one = containment.next_emptying_due
    Containment.objects.update(next_emptying_due=None)
    assert services.containments_refresh_emptying_due() == 1
    containment.refresh_from_db()
    assert containment.next_emptying_due == one_by_one


def test_due_dates_count_from_the_survey_day_in_the_municipalitys_calendar(khulna):
    """Surveyed at 02:00 in Dhaka on 1 July = 20:00 UTC on 30 June: both ways count from 1 July."""
    surveyed = datetime.datetime(2026, 6, 30, 20, 0, tzinfo=datetime.UTC)
    building = services.building_create(by=officer(khulna), bin="B-T", footprint=square(500, 20), households=2)
    containment = services.containment_create(
        by=officer(khulna), building_ids=[building.pk], code="C-9", type="septic_tank", location=point(505, 35),
        surveyed_at=surveyed)
    one_by_one = containment.next_emptying_due
    _rate, max_years = services._fsm_rates()  # no volume: the longest interval, from the local survey day
    assert one_by_one == datetime.date(2026, 7, 1) + datetime.timedelta(days=int(365.25 * max_years))
    Containment.objects.update(next_emptying_due=None)
    services.containments_refresh_emptying_due()
    containment.refresh_from_db()
    assert containment.next_emptying_due == one_by_one


def test_containment_too_far_from_its_building_is_refused(khulna):
    building = services.building_create(by=officer(khulna), bin="B-E", footprint=square(100, 20))
    with pytest.raises(ValidationError) as error:
        services.containment_create(by=officer(khulna), building_ids=[building.pk], code="C-3",
                                    type="septic_tank", location=point(400, 200))
    assert error.value.code == "containment_too_far"
    assert not Containment.objects.exists()


def test_edits_are_audited_with_before_and_after(khulna):
    building = services.building_create(by=officer(khulna), bin="B-F", footprint=square(100, 20), floors=1)
    services.building_update(building=building, by=officer(khulna), floors=3, functional_use="mixed")
    entries = list(AuditEntry.objects.filter(model="registry.building", object_id=str(building.pk)).order_by("id"))
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].before == {"floors": 1, "functional_use": "residential"}
    assert entries[1].after == {"floors": 3, "functional_use": "mixed"}
    assert entries[1].actor_label == "gis_officer@khulna.test"


def test_bulk_edit_audits_each_changed_building(khulna):
    ids = [services.building_create(by=officer(khulna), bin=f"B-{n}", footprint=square(100 + 20 * n, 20)).pk
           for n in range(3)]
    services.buildings_bulk_update(building_ids=ids[:2], by=officer(khulna), verification_status="verified")
    assert services.buildings_bulk_update(building_ids=ids, by=officer(khulna), verification_status="verified") == 1
    bulk = AuditEntry.objects.filter(action="bulk_update")
    assert bulk.count() == 3
    assert {e.after["verification_status"] for e in bulk} == {"verified"}
    with pytest.raises(ValidationError):
        services.buildings_bulk_update(building_ids=ids, by=officer(khulna), verification_status="maybe")
    with pytest.raises(ValidationError):
        services.buildings_bulk_update(building_ids=ids, by=officer(khulna), bin="X")


def test_bulk_road_linking_matches_single_linking_and_is_audited(khulna):
    near = services.building_create(by=officer(khulna), bin="B-N", footprint=square(100, 20))
    far = services.building_create(by=officer(khulna), bin="B-FAR", footprint=square(600, 300))
    Building.objects.update(nearest_road=None, road_link_status="none", road_distance_m=None)
    counts = services.buildings_link_nearest_roads(by=officer(khulna))
    assert counts["linked"] == 1 and counts["far"] == 1 and counts["changed"] == 2
    near.refresh_from_db()
    far.refresh_from_db()
    assert near.road_link_status == "linked" and near.nearest_road.code == "R-1"
    assert far.road_link_status == "far"
    assert AuditEntry.objects.filter(action="bulk_update", model="registry.building").count() == 2
    assert services.buildings_link_nearest_roads(by=officer(khulna))["changed"] == 0  # re-running changes nothing


def test_registry_rows_stay_in_their_municipality(khulna):
    services.building_create(by=officer(khulna), bin="B-ISO", footprint=square(100, 20))
    with tenant_context(khulna.jhenaidah):
        assert not Building.objects.filter(bin="B-ISO").exists()
        assert Building.objects.count() == 0


def test_overlong_holding_and_owner_fields_are_refused_by_field_and_write_nothing(khulna):
    w = Ward.objects.get(number=1)
    with pytest.raises(ValidationError) as refused:
        services.holding_create(by=officer(khulna), holding_id="1-0001-00001", ward=w, address="x" * 301)
    assert "address" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.holding_create(by=officer(khulna), holding_id="1-0001-00001", ward=w,
                                owners=[{"name": "Rahima"}, {"name": "N" * 201}])
    assert "Owner 2" in refused.value.message_dict["owners"][0]
    with pytest.raises(ValidationError) as refused:
        services.holding_create(by=officer(khulna), holding_id="1-0001-00001", ward=w,
                                owners=[{"name": "Karim", "gender": "unknown"}])
    assert "owners" in refused.value.message_dict
    assert not Holding.objects.filter(holding_id="1-0001-00001").exists()


def test_construction_years_are_bounded(khulna):
    with pytest.raises(ValidationError) as refused:
        services.building_create(by=officer(khulna), bin="B-Y", footprint=square(300, 200), construction_year=3026)
    assert "construction_year" in refused.value.message_dict
    assert not Building.objects.filter(bin="B-Y").exists()
