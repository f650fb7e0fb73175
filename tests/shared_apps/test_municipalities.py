"""create_municipality, feature settings and the demo pipeline."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from imis.shared_apps.accounts.models import Membership, User
from imis.shared_apps.tenants import template_schema
from imis.shared_apps.tenants.features import clean_feature_settings
from imis.shared_apps.tenants.models import Domain, Municipality, utm_epsg_for
from imis.shared_apps.tenants.services import municipality_create
from imis.tenant_apps.registry.models import Ward

pytestmark = pytest.mark.django_db


def test_create_municipality_command_makes_a_ready_tenant(world, capsys):
    call_command("create_municipality", "--slug", "narail", "--name", "Narail Paurashava",
                 "--features", "fsm,holding_tax", "--centroid", "89.51,23.17")
    assert "Created Narail Paurashava" in capsys.readouterr().out
    municipality = Municipality.objects.get(slug="narail")
    assert municipality.get_primary_domain().domain == "narail.localhost"
    assert sorted(municipality.features.values_list("feature_id", flat=True)) == ["fsm", "holding_tax"]
    assert municipality.projected_srid == 32645  # UTM 45N at 89.5 E
    assert schema_exists("narail")
    with tenant_context(municipality):
        Ward.objects.create(number=1, name="Ward 1")
        assert Ward.objects.count() == 1


def test_create_municipality_takes_an_explicit_domain(world):
    call_command("create_municipality", "--slug", "magura", "--name", "Magura", "--domain", "imis.magura.gov.bd")
    assert Domain.objects.get(domain="imis.magura.gov.bd").tenant.slug == "magura"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "Bad Slug", "--name", "X"], "lower-case"),
        (["--slug", "khulna", "--name", "Again"], "exists"),
        (["--slug", "public", "--name", "X"], "reserved"),
        (["--slug", "okslug", "--name", "X", "--features", "fsm,teleport"], "Unknown feature"),
        (["--slug", "okslug2", "--name", "X", "--domain", "khulna.localhost"], "taken"),
    ],
)
def test_create_municipality_refuses_bad_input(world, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_municipality", *args)
    assert not Municipality.objects.filter(slug__in=["okslug", "okslug2"]).exists()


def test_failed_creation_leaves_neither_row_nor_schema(world, monkeypatch):
    def broken_sql(*, target_schema):
        return f'CREATE SCHEMA "{target_schema}"; CREATE TABLE "{target_schema}".t (id int); SELECT 1/0;'

    monkeypatch.setattr(template_schema, "template_schema_sql", broken_sql)
    with pytest.raises(Exception, match="division by zero"):
        municipality_create(slug="brokenville", name="Broken", features=["fsm"])
    connection.set_schema_to_public()
    assert not Municipality.objects.filter(slug="brokenville").exists()
    assert not Domain.objects.filter(domain="brokenville.localhost").exists()
    assert not schema_exists("brokenville")


def test_new_schema_matches_the_template(world):
    municipality = municipality_create(slug="kushtia", name="Kushtia", features=[])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables "
            "WHERE table_schema IN (%s, %s) GROUP BY table_schema",
            [template_schema.template_schema_name(), municipality.schema_name],
        )
        counts = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM kushtia.django_migrations")
        applied = cursor.fetchone()[0]
    assert counts[municipality.schema_name] == counts[template_schema.template_schema_name()] > 0
    assert applied > 0


def test_feature_settings_are_validated_and_defaulted():
    assert clean_feature_settings("holding_tax", {})["fiscal_year_start_month"] == 7
    assert clean_feature_settings("holding_tax", {"fiscal_year_start_month": 1})["fiscal_year_start_month"] == 1
    with pytest.raises(ValidationError, match="fiscal_year_start_month"):
        clean_feature_settings("holding_tax", {"fiscal_year_start_month": 13})
    with pytest.raises(ValidationError, match="Unknown setting"):
        clean_feature_settings("fsm", {"colour": "blue"})


def test_utm_zone_follows_longitude():
    assert utm_epsg_for(longitude=90.42, latitude=24.0) == 32646
    assert utm_epsg_for(longitude=89.15, latitude=23.5) == 32645
    assert utm_epsg_for(longitude=-58.4, latitude=-34.6) == 32721


def test_seed_demo_is_idempotent(world):
    call_command("seed_demo", "--only", "jashore", "--scale", "0.001")
    jashore = Municipality.objects.get(slug="jashore")

    def snapshot():
        connection.set_schema_to_public()
        users = User.objects.filter(email__endswith="@jashore.demo").count()
        memberships = Membership.objects.filter(municipality=jashore).count()
        with tenant_context(jashore):
            wards = list(Ward.objects.values_list("number", "boundary"))
        return users, memberships, [(n, b.wkt) for n, b in wards]

    first = snapshot()
    call_command("seed_demo", "--only", "jashore", "--scale", "0.001")
    assert snapshot() == first
    users, memberships, wards = first
    assert users == 12 and memberships == 12 and len(wards) == 9
    assert sorted(jashore.features.values_list("feature_id", flat=True)) == ["fsm", "holding_tax"]
    assert User.objects.filter(email="platform_admin@imis.demo", platform_role="platform_admin").exists()
    assert User.objects.get(email="tax_officer@jashore.demo").check_password("imis-demo")


def test_seed_demo_refuses_unknown_municipality(world):
    with pytest.raises(CommandError, match="Unknown demo municipality"):
        call_command("seed_demo", "--only", "atlantis")
