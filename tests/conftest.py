import os

import pytest
from django.db import connection
from django.test import TransactionTestCase

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's event loop beside pytest-django

from tests.world import world_ensure, world_has_snapshot, world_restore, world_snapshot  # noqa: E402


def _world_put_back(self):
    """After a transactional test: the world's rows back from the snapshot, instead of Django's flush of every
    table and a re-creation of the municipalities by the next test (seconds each time)."""
    if world_has_snapshot():
        world_restore()
    else:
        _flush(self)


_flush = TransactionTestCase._fixture_teardown
TransactionTestCase._fixture_teardown = _world_put_back


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from imis.shared_apps.tenants.template_schema import template_schema_migrate

    with django_db_blocker.unblock():
        template_schema_migrate()
        world_ensure()
        world_snapshot()


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with an empty cache (its own Redis database per xdist worker): no counters of failed
    logins, used authenticator codes or cached pages from an earlier test; and in the default language, whatever
    an earlier test activated."""
    from django.conf import settings
    from django.core.cache import cache
    from django.utils import translation

    cache.clear()
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def world(db):
    """Khulna and Jhenaidah with one user per role (`<role>@<slug>.test`)."""
    created = world_ensure()
    yield created
    connection.set_schema_to_public()


@pytest.fixture
def tworld(transactional_db):
    """The same world for tests whose work must be committed (other threads, other processes)."""
    created = world_ensure()
    yield created
    connection.set_schema_to_public()


@pytest.fixture
def tenant_client(client):
    """`tenant_client(world.khulna, user)` -> a test client on that municipality's host, logged in as user."""
    from django.test import Client

    def make(municipality, user=None):
        tenant = Client(HTTP_HOST=municipality.get_primary_domain().domain)
        if user is not None:
            tenant.force_login(user)
        connection.set_schema_to_public()
        return tenant

    return make
