"""The residents' portal: a holding only with a second factor, rate-limited, uniform errors, one municipality."""

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from imis.tenant_apps.tax import services as tax
from tests.tenant_apps.tax.conftest import FY, Town

pytestmark = pytest.mark.django_db


@pytest.fixture
def town(world):
    cache.clear()
    with tenant_context(world.khulna):
        town = Town(world, holdings=2)  # owners' phones end in 0000
        tax.bill_run_execute(by=None, fiscal_year=FY, period=1)
        yield town
    cache.clear()


def look_up(client, holding_id, factor, host="khulna.localhost"):
    return client.post("/portal/", {"holding_id": holding_id, "second_factor": factor}, HTTP_HOST=host)


def test_lookup_with_phone_digits_or_bill_number(town, client):
    response = look_up(client, "1-0010-00001", "0000")
    assert response.status_code == 302
    page = client.get("/portal/holding/", HTTP_HOST="khulna.localhost").content.decode()
    assert "1-0010-00001" in page and "500.00" in page
    other = look_up(client, "2-0010-00002", "HT2026-1-2-0010-00002")
    assert other.status_code == 302


def test_wrong_details_get_one_uniform_answer(town, client):
    unknown = look_up(client, "9-9999-99999", "0000").content.decode()
    wrong_factor = look_up(client, "1-0010-00001", "1234").content.decode()
    message = "We could not find a holding with these details"
    assert message in unknown and message in wrong_factor
    assert client.get("/portal/holding/", HTTP_HOST="khulna.localhost").status_code == 404


def test_lookup_is_rate_limited(town, client):
    for _ in range(8):
        look_up(client, "9-9999-99999", "0000")
    blocked = look_up(client, "1-0010-00001", "0000")  # even the right details wait now
    assert blocked.status_code == 429
    assert client.get("/portal/holding/", HTTP_HOST="khulna.localhost").status_code == 404


def test_a_verified_session_shows_nothing_on_another_municipality(town, client):
    look_up(client, "1-0010-00001", "0000")
    cookie = client.cookies["sessionid"].value
    client.cookies["sessionid"] = cookie
    assert client.get("/portal/holding/", HTTP_HOST="jhenaidah.localhost").status_code == 404


def test_resident_requests_desludging_online(town, client):
    from imis.tenant_apps.fsm.models import Application

    look_up(client, "1-0010-00001", "0000")
    client.post("/portal/desludging/", {"name": "Rahima", "phone": "01712345678"}, HTTP_HOST="khulna.localhost")
    with tenant_context(town.world.khulna):
        application = Application.objects.get()
        assert application.channel == "online" and application.holding == town.holdings[0]
