import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from imis.shared_apps.tenants.features import parse_feature_codes
from imis.shared_apps.tenants.services import municipality_create


class Command(BaseCommand):
    help = "Create a ready municipality (schema, domain, features) in seconds."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--name-bn", default="")
        parser.add_argument("--features", default="", help="comma-separated: fsm,sewer,holding_tax,...")
        parser.add_argument("--domain", default=None, help="default: <slug>.<IMIS_BASE_DOMAIN>")
        parser.add_argument("--centroid", default=None, help="lon,lat")
        parser.add_argument("--language", default="en", choices=["en", "bn"])

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            centroid = None
            if options["centroid"]:
                lon, lat = (float(part) for part in options["centroid"].split(","))
                centroid = (lon, lat)
            municipality = municipality_create(
                slug=options["slug"],
                name=options["name"],
                name_bn=options["name_bn"],
                features=parse_feature_codes(options["features"]),
                domain=options["domain"],
                centroid=centroid,
                default_language=options["language"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        except ValueError as error:
            raise CommandError(f"--centroid must be lon,lat: {error}") from error
        domain = municipality.get_primary_domain()
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {municipality.name} ({municipality.slug}) at http://{domain.domain}:8000/ "
                f"in {time.perf_counter() - started:.2f}s"
            )
        )
