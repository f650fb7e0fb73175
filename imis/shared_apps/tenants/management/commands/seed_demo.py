import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.module_loading import autodiscover_modules

from imis.platform.demo import TENANT_STEPS
from imis.shared_apps.tenants.demo import (
    demo_figures,
    demo_municipality_ensure,
    demo_platform_admin_ensure,
    demo_users_ensure,
)


class Command(BaseCommand):
    help = "Create the demo municipalities, their users and data. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=0.02, help="share of the published counts (1 = real)")
        parser.add_argument("--only", default="", help="comma-separated slugs")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, **options):
        scale, seed = options["scale"], options["seed"]
        if not 0 < scale <= 1:
            raise CommandError("--scale must be in (0, 1].")
        figures = demo_figures()
        only = {slug.strip() for slug in options["only"].split(",") if slug.strip()}
        unknown = only - {f["slug"] for f in figures}
        if unknown:
            raise CommandError(f"Unknown demo municipality: {', '.join(sorted(unknown))}")
        autodiscover_modules("demo")
        if demo_platform_admin_ensure():
            self.stdout.write("platform_admin@imis.demo created")
        for city in figures:
            if only and city["slug"] not in only:
                continue
            started = time.perf_counter()
            municipality, created = demo_municipality_ensure(city)
            users = demo_users_ensure(municipality)
            connection.set_tenant(municipality)
            try:
                for step in TENANT_STEPS:
                    step.fn(municipality=municipality, figures=city, scale=scale, seed=seed, log=self.stdout.write)
            finally:
                connection.set_schema_to_public()
            self.stdout.write(
                f"{municipality.slug}: {'created' if created else 'present'}, {users} new users, "
                f"{time.perf_counter() - started:.1f}s"
            )
