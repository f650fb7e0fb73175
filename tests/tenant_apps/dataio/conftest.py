import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.registry.models import Holding
from tests.tenant_apps.registry.factories import road, ward


def _town(world):
    with tenant_context(world.khulna):
        first = ward(1, -500, -500, 1500, 500)
        ward(2, 1500, -500, 3000, 500)
        road("R-1", (-400, 0), (2900, 0), width_m=6, hierarchy="access")
        Holding.objects.create(holding_id="1-2-3", ward=first)
    return world


@pytest.fixture
def town(world):
    """Khulna with two wards side by side (x -500..1500 m and 1500..3000 m), a road along y = 0 and holding 1-2-3."""
    return _town(world)


@pytest.fixture
def ttown(tworld):
    """The same town, for tests whose import must really commit (or really roll back)."""
    return _town(tworld)


@pytest.fixture
def officer(world):
    return world.user("gis_officer", "khulna")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
