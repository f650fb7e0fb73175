"""The demo municipalities (figures from the product brief) and their users."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction

from imis.shared_apps.accounts.models import Membership, User
from imis.shared_apps.accounts.roles import PlatformRole, Role

from .models import Municipality
from .services import municipality_create

DEMO_PASSWORD = "imis-demo"  # noqa: S105 - the documented demo password
PLATFORM_ADMIN_EMAIL = "platform_admin@imis.demo"
FIGURES_PATH = Path(__file__).parent / "data" / "municipalities.json"


def demo_figures() -> list[dict]:
    return json.loads(FIGURES_PATH.read_text(encoding="utf-8"))["municipalities"]


def demo_email(role: str, slug: str) -> str:
    return f"{role}@{slug}.demo"


def demo_municipality_ensure(figures: dict) -> tuple[Municipality, bool]:
    existing = Municipality.objects.filter(slug=figures["slug"]).first()
    if existing:
        return existing, False
    lon, lat = figures["centroid"]
    municipality = municipality_create(
        slug=figures["slug"], name=figures["name"], name_bn=figures.get("name_bn", ""),
        features=list(figures["features"]), centroid=(lon, lat),
    )
    return municipality, True


def demo_users_ensure(municipality: Municipality) -> int:
    """One user per role (`<role>@<slug>.demo`), password imis-demo. Returns how many were created."""
    password_hash = None
    created = 0
    with transaction.atomic():
        for role in Role:
            email = demo_email(role.value, municipality.slug)
            user = User.objects.filter(email=email).first()
            if user is None:
                password_hash = password_hash or make_password(DEMO_PASSWORD)  # one hash for all twelve
                user = User.objects.create(
                    email=email, full_name=f"{role.label} ({municipality.name})", password=password_hash
                )
                created += 1
            Membership.objects.get_or_create(user=user, municipality=municipality, role=role.value)
    return created


def demo_platform_admin_ensure() -> bool:
    _user, created = User.objects.get_or_create(
        email=PLATFORM_ADMIN_EMAIL,
        defaults={
            "full_name": "Platform admin", "password": make_password(DEMO_PASSWORD),
            "platform_role": PlatformRole.PLATFORM_ADMIN, "is_staff": True, "is_superuser": True,
        },
    )
    return created
