"""The test municipalities, created once per run and re-created when a transactional test flushed them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_exists

from imis.shared_apps.accounts.models import Membership, User
from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.tenants.models import Municipality
from imis.shared_apps.tenants.services import municipality_create

PASSWORD = "imis-demo"
# Every test user in an MFA role has this authenticator secret (tests compute codes from it).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

WORLD = {
    "khulna": dict(name="Khulna City Corporation", name_bn="খুলনা সিটি কর্পোরেশন",
                   features=["fsm", "holding_tax", "trade_licence"], centroid=(89.5403, 22.8456)),
    "jhenaidah": dict(name="Jhenaidah Paurashava", name_bn="ঝিনাইদহ পৌরসভা",
                      features=["fsm", "holding_tax"], centroid=(89.1539, 23.5448)),
}


@dataclass
class World:
    khulna: Municipality
    jhenaidah: Municipality

    def user(self, role: str, slug: str) -> User:
        return User.objects.get(email=f"{role}@{slug}.test")


def world_ensure() -> World:
    connection.set_schema_to_public()
    municipalities = {}
    for slug, spec in WORLD.items():
        municipality = Municipality.objects.filter(slug=slug).first()
        if municipality is None:
            if schema_exists(slug):  # rows flushed by a transactional test: start the schema afresh
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP SCHEMA "{slug}" CASCADE')
            municipality = municipality_create(slug=slug, domain=f"{slug}.localhost", **spec)
        municipalities[slug] = municipality
        for role in Role.values:
            email = f"{role}@{slug}.test"
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, PASSWORD, full_name=f"{role} of {slug}")
            Membership.objects.get_or_create(user=user, municipality=municipality, role=role)
            if role in settings.IMIS_MFA_REQUIRED_ROLES:
                mfa_ensure(user)
    staff = User.objects.filter(email="support@imis.test").first()
    if staff is None:
        staff = User.objects.create_user("support@imis.test", PASSWORD, full_name="Support", platform_role="support")
    mfa_ensure(staff)
    return World(**municipalities)


def mfa_ensure(user: User) -> None:
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, TOTP_SECRET)


def totp_now(steps_back: int = 0) -> str:
    """The authenticator code of the test users, taken with at least 5 seconds of its 30 left (a code typed at the
    very end of its step would otherwise be judged in the next one)."""
    if 30 - time.time() % 30 < 5:
        time.sleep(30 - time.time() % 30 + 0.1)
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // 30 - steps_back))


# --- Between transactional tests --------------------------------------------------------------------------------
# Django's TransactionTestCase empties every table after each test (flush) and the next test would re-create the
# municipalities (a schema copy each). Instead the world is kept as a snapshot taken once per test database and put
# back after each transactional test: rows are deleted from the world's schemas and the snapshot's rows put back
# (foreign-key triggers off while doing so), and schemas made by the test (a municipality it onboarded) are dropped.

SNAPSHOT_SCHEMA = "test_world_snapshot"
_NOT_RESET = {("public", "spatial_ref_sys"), ("public", "django_migrations")}


def _world_schemas() -> list[str]:
    return ["public", *WORLD]


def _world_tables(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s) ORDER BY 1, 2",
        [_world_schemas()],
    )
    return [row for row in cursor.fetchall() if row not in _NOT_RESET]


def world_snapshot() -> None:
    """Keep a copy of every row of the world's schemas (after world_ensure) for world_restore."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SNAPSHOT_SCHEMA}" CASCADE; CREATE SCHEMA "{SNAPSHOT_SCHEMA}"')
        for schema, table in _world_tables(cursor):
            cursor.execute(f'SELECT EXISTS (SELECT FROM "{schema}"."{table}")')
            if cursor.fetchone()[0]:
                cursor.execute(f'CREATE TABLE "{SNAPSHOT_SCHEMA}"."{schema}.{table}" AS '
                               f'SELECT * FROM "{schema}"."{table}"')


def world_has_snapshot() -> bool:
    return schema_exists(SNAPSHOT_SCHEMA)


def world_restore() -> None:
    """Put the world's rows back as world_snapshot found them and drop the schemas a test created."""
    from django.db import transaction

    connection.set_schema_to_public()
    keep = {*_world_schemas(), SNAPSHOT_SCHEMA, settings.IMIS_TEMPLATE_SCHEMA, "information_schema", "topology",
            "tiger", "tiger_data"}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' AND NOT nspname = ANY(%s)",
                       [list(keep)])
        statements = [f'DROP SCHEMA "{name}" CASCADE' for (name,) in cursor.fetchall()]
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                       [SNAPSHOT_SCHEMA])
        kept = {name for (name,) in cursor.fetchall()}
        statements.append("SET LOCAL session_replication_role = replica")
        for schema, table in _world_tables(cursor):
            statements.append(f'DELETE FROM "{schema}"."{table}"')
            if f"{schema}.{table}" in kept:
                statements.append(f'INSERT INTO "{schema}"."{table}" SELECT * FROM "{SNAPSHOT_SCHEMA}"."{schema}.{table}"')
        cursor.execute(";\n".join(statements))
