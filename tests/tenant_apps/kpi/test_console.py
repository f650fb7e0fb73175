"""The support team's cross-municipality view: staff only, each municipality's own numbers and features."""

import pytest
from django.db import connection
from django.test import override_settings

from imis.shared_apps.accounts.models import User
from imis.shared_apps.tenants.models import Municipality, MunicipalityFeature

from .conftest import FY

pytestmark = pytest.mark.django_db
PUBLIC_URLS = "tests.tenant_apps.kpi.urls_public_kpi"


@pytest.fixture
def console(client, world):
    connection.set_schema_to_public()
    client.force_login(User.objects.get(email="support@imis.test"))
    client.defaults["HTTP_HOST"] = "localhost"
    return client


@override_settings(PUBLIC_SCHEMA_URLCONF=PUBLIC_URLS)
def test_kpis_across_municipalities_keep_each_ones_data(scene, console, world):
    connection.set_schema_to_public()
    MunicipalityFeature.objects.filter(municipality=world.jhenaidah, feature_id="fsm").update(is_enabled=False)
    response = console.get(f"/console/kpi/?year={FY}")
    assert response.status_code == 200
    page = response.content.decode()
    khulna = page.split('data-municipality="khulna"')[1].split("</tr>")[0]
    jhenaidah = page.split('data-municipality="jhenaidah"')[1].split("</tr>")[0]
    assert "60.0 %" in khulna  # FSM-1 from Khulna's schema
    assert "60.0 %" not in jhenaidah and "—" in jhenaidah  # FSM is off there, and its data is its own
    assert connection.schema_name == "public"


@override_settings(PUBLIC_SCHEMA_URLCONF=PUBLIC_URLS)
def test_suspended_municipalities_are_left_out(world, console):
    Municipality.objects.filter(slug="jhenaidah").update(status=Municipality.Status.SUSPENDED)
    page = console.get(f"/console/kpi/?year={FY}").content.decode()
    assert 'data-municipality="khulna"' in page and 'data-municipality="jhenaidah"' not in page


@override_settings(PUBLIC_SCHEMA_URLCONF=PUBLIC_URLS)
def test_only_platform_staff(world, client):
    connection.set_schema_to_public()
    client.force_login(world.user("municipal_admin", "khulna"))
    assert client.get("/console/kpi/", HTTP_HOST="localhost").status_code == 403
