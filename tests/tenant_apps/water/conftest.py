import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from .town import Town, feature_switch


@pytest.fixture
def town(world):
    feature_switch(world.khulna, True)
    with tenant_context(world.khulna):
        yield Town(world)
    cache.clear()
