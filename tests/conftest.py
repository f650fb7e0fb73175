import os

import pytest
from django.db import connection

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's event loop beside pytest-django

from tests.world import world_ensure  # noqa: E402


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from imis.shared_apps.tenants.template_schema import template_schema_migrate

    with django_db_blocker.unblock():
        template_schema_migrate()
        world_ensure()


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
