"""The synthetic demo city: exact counts, determinism, geometry rules and the COPY loader."""

from __future__ import annotations

import re
import sys
import types
from collections import Counter

import pytest
from django.db import connection

from imis.shared_apps.tenants.demo import demo_figures
from imis.shared_apps.tenants.models import utm_epsg_for
from imis.shared_apps.tenants.services import municipality_create
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry.demo import EMPTYING_DUE_HOOK, demo_city
from imis.tenant_apps.registry.models import (
    Building,
    Containment,
    Holding,
    MunicipalBoundary,
    Owner,
    Road,
    Sewer,
    TreatmentPlant,
    Ward,
    WaterLine,
)
from imis.tenant_apps.registry.synthetic import city_counts, city_generate, stable_seed

FIGURES = {city["slug"]: city for city in demo_figures()}
HOLDING_ID = re.compile(r"^\d{1,3}-\d{1,4}-\d{1,5}[A-Z]?$")
PHONE = re.compile(r"^\+8801[3-9]\d{8}$")


def seed_city(municipality, slug: str, *, scale: float, seed: int = 42) -> None:
    connection.set_tenant(municipality)
    demo_city(municipality=municipality, figures=FIGURES[slug], scale=scale, seed=seed, log=lambda _line: None)


def utm_srid(slug: str) -> int:
    longitude, latitude = FIGURES[slug]["centroid"]
    return utm_epsg_for(longitude=longitude, latitude=latitude)


def scalar(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


@pytest.fixture
def fresh(db):
    """`fresh(slug)` -> a new, empty municipality (rolled back with the test)."""

    def make(slug: str):
        connection.set_schema_to_public()
        return municipality_create(slug=slug, name=slug.title(), features=["fsm"], domain=f"{slug}.localhost")

    yield make
    connection.set_schema_to_public()


# --- the generator alone -----------------------------------------------------------------------------

@pytest.mark.parametrize("slug", ["khulna", "jhenaidah", "gazipur", "jashore"])
@pytest.mark.parametrize("scale", [0.001, 0.01])
def test_generator_counts_are_exact(slug, scale):
    figures = FIGURES[slug]
    city = city_generate(figures, scale=scale, seed=42)
    rows = {key: len(layer.rows) for key, layer in city.layers.items()}
    assert rows["building"] == round(figures["buildings"] * scale)
    assert rows.get("containment", 0) == (round(figures["containments"] * scale) if figures["containments"] else 0)
    assert rows["ward"] == figures["wards"]
    assert rows["municipalboundary"] == 1


def test_scale_one_counts_are_the_published_ones():
    expected = {"khulna": (156_052, 67_330), "jhenaidah": (27_047, 20_016), "gazipur": (132_343, 0),
                "jashore": (43_358, 5_200)}
    for slug, (buildings, containments) in expected.items():
        counts = city_counts(FIGURES[slug], 1)
        assert (counts.buildings, counts.containments) == (buildings, containments)
    assert city_counts(FIGURES["gazipur"], 1).zone_buildings == (83_950, 48_393)
    assert city_counts(FIGURES["jhenaidah"], 0.00001).buildings == 1  # never rounded away


def test_seeds_are_stable_across_runs():
    assert stable_seed(42, "khulna", "layout") == stable_seed(42, "khulna", "layout")
    assert stable_seed(42, "khulna", "layout") == 11520612608239682425  # not hash(): the same in every process


def test_roads_have_a_hierarchy_and_buildings_front_them():
    city = city_generate(FIGURES["khulna"], scale=0.05, seed=42)
    roads = city.layers["road"]
    hierarchy = Counter(row[roads.columns.index("hierarchy")] for row in roads.rows)
    assert set(hierarchy) == {"primary", "secondary", "tertiary", "access", "lane"}
    assert hierarchy["access"] + hierarchy["lane"] > 5 * hierarchy["primary"]
    assert all(re.fullmatch(r"R-\d{5}", row[0]) for row in roads.rows)
    assert "lowincomecommunity" in city.layers and "waterloggingarea" in city.layers


# --- loaded into a municipality --------------------------------------------------------------------------

def test_jhenaidah_counts_and_attributes(fresh):
    municipality = fresh("demo_jhenaidah")
    seed_city(municipality, "jhenaidah", scale=0.01)
    assert Building.objects.count() == round(27047 * 0.01)
    assert Containment.objects.count() == round(20016 * 0.01)
    assert list(Ward.objects.values_list("number", flat=True)) == list(range(1, 10))
    assert Ward.objects.get(number=7).name_bn == "ওয়ার্ড ৭"
    assert MunicipalBoundary.objects.count() == 1
    assert TreatmentPlant.objects.filter(type="fstp").count() == 1
    assert not Sewer.objects.exists() and not WaterLine.objects.exists()

    buildings = Building.objects.count()
    holdings = Holding.objects.count()
    assert 1.05 < buildings / holdings < 1.3
    assert Owner.objects.count() == holdings
    assert all(HOLDING_ID.match(h) for h in Holding.objects.values_list("holding_id", flat=True))
    assert all(PHONE.match(p) for p in Owner.objects.values_list("phone", flat=True))
    assert not Building.objects.filter(holding=None).exists()
    assert not Building.objects.exclude(road_link_status="linked").exists()
    assert not Building.objects.filter(nearest_road=None).exists()
    assert Building.objects.filter(functional_use="residential").count() > 0.6 * buildings
    assert Building.objects.filter(floors__lte=2).count() > 0.7 * buildings
    assert not Building.objects.filter(floors__gt=6).exists()
    assert Building.objects.filter(verification_status="verified").count() > 0.7 * buildings
    assert 0.05 < Building.objects.filter(is_low_income=True).count() / buildings < 0.3
    assert scalar("SELECT sum(population_male + population_female + population_other)::float / sum(households) "
                  "FROM registry_building") == pytest.approx(4.5, abs=0.5)
    # desludging trucks cannot use the narrow lanes
    assert not Building.objects.filter(nearest_road__width_m__lt=3, is_desludging_vehicle_accessible=True).exists()
    assert not Building.objects.filter(nearest_road__width_m__gte=3, is_desludging_vehicle_accessible=False).exists()
    assert 0.25 < Containment.objects.exclude(last_emptied_on=None).count() / Containment.objects.count() < 0.55
    audited = Counter(AuditEntry.objects.values_list("model", flat=True))
    assert {"registry.building", "registry.containment", "registry.road", "registry.ward"} <= set(audited)
    assert set(audited.values()) == {1}  # one summary per layer, not one per feature


def test_footprints_are_realistic_and_do_not_overlap(fresh):
    seed_city(fresh("demo_khulna"), "khulna", scale=0.01)
    assert scalar("SELECT count(*) FROM registry_building WHERE NOT ST_IsValid(footprint)") == 0
    assert scalar("SELECT min(ST_Area(footprint::geography)) FROM registry_building") > 39.9
    assert scalar("SELECT max(ST_Area(footprint::geography)) FROM registry_building") < 250.1
    overlaps = scalar("""
        SELECT count(*) FROM registry_building a JOIN registry_building b
          ON a.id < b.id AND ST_Intersects(a.footprint, b.footprint)
         WHERE ST_Area(ST_Intersection(a.footprint, b.footprint)::geography) > 0.01""")
    assert overlaps == 0
    # off the carriageway: at least half the road's width plus a setback from its centre line. Measured in UTM:
    # PostGIS 3.3's geography reads a 10 m edge parallel to a road 1.4 m away as touching it (distance 0).
    srid = utm_srid("khulna")
    on_roads = scalar("""
        SELECT count(*) FROM registry_building b JOIN registry_road r ON b.footprint && ST_Expand(r.geom, 0.0002)
         WHERE ST_DWithin(ST_Transform(b.footprint, %s), ST_Transform(r.geom, %s), r.width_m / 2)""", [srid, srid])
    assert on_roads == 0
    assert scalar("""
        SELECT max(abs(ST_Distance(ST_Transform(b.footprint, %s), ST_Transform(r.geom, %s)) - b.road_distance_m))
          FROM registry_building b JOIN registry_road r ON r.id = b.nearest_road_id""", [srid, srid]) < 0.1


def test_every_building_lies_in_its_ward_and_the_wards_tile_the_city(fresh):
    seed_city(fresh("demo_wards"), "khulna", scale=0.01)
    assert not Building.objects.filter(ward=None).exists()
    assert scalar("""
        SELECT count(*) FROM registry_building b JOIN registry_ward w ON w.id = b.ward_id
         WHERE NOT ST_Contains(w.boundary, ST_Centroid(b.footprint))""") == 0
    ward_area = scalar("SELECT sum(ST_Area(boundary::geography)) FROM registry_ward")
    city_area = scalar("SELECT ST_Area(boundary::geography) FROM registry_municipalboundary")
    assert ward_area == pytest.approx(city_area, rel=1e-6)
    overlapping_wards = scalar("""
        SELECT count(*) FROM registry_ward a JOIN registry_ward b ON a.id < b.id
         WHERE ST_Area(ST_Intersection(a.boundary, b.boundary)::geography) > 1""")
    assert overlapping_wards == 0
    # land per building stays urban: 300-400 m² once the minimum extent no longer dominates
    assert 250 < city_area / Building.objects.count() < 450


def test_containment_volumes_follow_their_dimensions(fresh):
    seed_city(fresh("demo_tanks"), "jhenaidah", scale=0.01)
    tanks = Containment.objects.filter(type__in=["septic_tank", "holding_tank"])
    pits = Containment.objects.filter(type__in=["lined_pit", "unlined_pit"])
    assert tanks.exists() and pits.exists()
    assert not tanks.filter(length_m=None).exists() and not tanks.exclude(diameter_m=None).exists()
    assert not pits.filter(diameter_m=None).exists() and not pits.exclude(length_m=None).exists()
    assert scalar("""SELECT count(*) FROM registry_containment WHERE type IN ('septic_tank', 'holding_tank')
                      AND volume_m3 <> round(length_m * width_m * depth_m, 2)""") == 0
    assert scalar("""SELECT max(abs(volume_m3 - (pi() * (diameter_m / 2) ^ 2 * depth_m)::numeric))
                       FROM registry_containment WHERE type IN ('lined_pit', 'unlined_pit')""") <= 0.006
    served = Counter(Containment.buildings.through.objects.values_list("containment_id", flat=True))
    assert len(served) == Containment.objects.count()
    assert set(served.values()) <= {1, 2, 3} and 1 in served.values()
    assert scalar("""SELECT max(ST_Distance(c.location::geography, b.footprint::geography))
                       FROM registry_containment c
                       JOIN registry_containment_buildings cb ON cb.containment_id = c.id
                       JOIN registry_building b ON b.id = cb.building_id""") < 15


def test_jashore_containments_are_all_in_ward_5(fresh):
    seed_city(fresh("demo_jashore"), "jashore", scale=0.01)
    assert Containment.objects.count() == round(5200 * 0.01)
    assert set(Containment.objects.values_list("ward__number", flat=True)) == {5}
    assert scalar("""SELECT count(*) FROM registry_containment c, registry_ward w
                      WHERE w.number = 5 AND NOT ST_Contains(w.boundary, c.location)""") == 0
    assert set(Building.objects.filter(containments__isnull=False).values_list("ward__number", flat=True)) == {5}


def test_gazipur_has_two_zones_sewers_and_no_containments(fresh):
    seed_city(fresh("demo_gazipur"), "gazipur", scale=0.005)
    assert Building.objects.count() == round(132343 * 0.005)
    assert Ward.objects.count() == 57
    assert not Containment.objects.exists() and not TreatmentPlant.objects.exists()
    assert Sewer.objects.exists() and WaterLine.objects.exists()
    assert scalar("SELECT ST_NumGeometries(boundary) FROM registry_municipalboundary") == 2
    sewered = Building.objects.filter(sanitation_system="sewer")
    assert sewered.exists() and not sewered.filter(sewer_code="").exists()
    assert set(sewered.values_list("sewer_code", flat=True)) <= set(Sewer.objects.values_list("code", flat=True))
    onsite = Building.objects.filter(sanitation_system__in=["septic_tank", "pit", "shared_septic_tank"]).count()
    assert onsite > Building.objects.count() / 2


def test_same_seed_same_city_other_seed_other_city(fresh):
    seed_city(fresh("demo_twin_a"), "jhenaidah", scale=0.005)
    first = city_checksum()
    seed_city(fresh("demo_twin_b"), "jhenaidah", scale=0.005)
    assert city_checksum() == first
    seed_city(fresh("demo_other"), "jhenaidah", scale=0.005, seed=7)
    assert city_checksum() != first


def city_checksum() -> str:
    return scalar("""
        SELECT md5(string_agg(concat_ws('|', b.bin, ST_AsText(b.footprint), w.number, h.holding_id, r.code,
                   b.functional_use, b.structure_type, b.floors, b.construction_year, b.households,
                   b.population_male, b.population_female, b.is_low_income, b.water_source, b.sanitation_system,
                   b.road_distance_m, b.verification_status, b.surveyed_at,
                   (SELECT string_agg(c.code || c.type || c.volume_m3 || ST_AsText(c.location), ',' ORDER BY c.code)
                      FROM registry_containment c
                      JOIN registry_containment_buildings cb ON cb.containment_id = c.id
                     WHERE cb.building_id = b.id)), ';' ORDER BY b.bin))
          FROM registry_building b
          JOIN registry_ward w ON w.id = b.ward_id
          JOIN registry_holding h ON h.id = b.holding_id
          JOIN registry_road r ON r.id = b.nearest_road_id""")


def test_running_twice_changes_nothing(fresh):
    municipality = fresh("demo_again")
    seed_city(municipality, "jashore", scale=0.002)
    counts = (Building.objects.count(), Containment.objects.count(), Road.objects.count(), Ward.objects.count(),
              AuditEntry.objects.count())
    seed_city(municipality, "jashore", scale=0.002)
    assert (Building.objects.count(), Containment.objects.count(), Road.objects.count(), Ward.objects.count(),
            AuditEntry.objects.count()) == counts
    assert AuditEntry.objects.filter(model="registry.building", object_id="*").count() == 1


def test_the_generator_leaves_next_emptying_due_to_the_service():
    city = city_generate(FIGURES["jhenaidah"], scale=0.002, seed=42)
    containments = city.layers["containment"]
    due = containments.columns.index("next_emptying_due")
    assert {row[due] for row in containments.rows} == {None}


def test_the_emptying_due_hook_runs_after_the_load(fresh, monkeypatch):
    calls = []
    module_name, function_name = EMPTYING_DUE_HOOK
    fake = types.ModuleType(module_name)
    setattr(fake, function_name, lambda: calls.append(Containment.objects.count()))
    monkeypatch.setitem(sys.modules, module_name, fake)
    seed_city(fresh("demo_hook"), "jhenaidah", scale=0.002)
    assert calls == [round(20016 * 0.002)]
