"""The test municipalities, created once per run and re-created when a transactional test flushed them."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
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
