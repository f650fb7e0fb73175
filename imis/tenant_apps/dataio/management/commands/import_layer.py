"""python manage.py import_layer --municipality khulna --layer buildings FILE [--mode upsert|replace] [--skip-bad-rows]

Exit status 0 only when the import landed (with --dry-run: when the file would import); the report on stdout.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.models import User
from imis.shared_apps.tenants.models import Municipality

from ...importing import ImportOptions, import_file, rejects_csv
from ...layers import LAYER_SPECS


class Command(BaseCommand):
    help = "Import a GIS file (GeoPackage, zipped Shapefile, GeoJSON, KML, CSV) into a registry layer."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--municipality", required=True, help="slug")
        parser.add_argument("--layer", required=True,
                            help=f"one of {', '.join(LAYER_SPECS)}, or 'all' for every matching layer of a GeoPackage")
        parser.add_argument("--mode", choices=["upsert", "replace"], default="upsert")
        parser.add_argument("--skip-bad-rows", action="store_true", help="import the good rows, report the bad")
        parser.add_argument("--source-layer", default=None, help="the layer of the file (default: its first)")
        parser.add_argument("--srid", type=int, default=None, help="EPSG code, for a file that does not state it")
        parser.add_argument("--swap-axes", action="store_true", help="the file lists latitude before longitude")
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        parser.add_argument("--user", default=None, help="e-mail of the user the audit records (default: system)")
        parser.add_argument("--rejects", default=None, help="write the rejected rows to this CSV file")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        municipality = Municipality.objects.filter(slug=options["municipality"]).first()
        if municipality is None:
            raise CommandError(f"Unknown municipality: {options['municipality']}")
        if options["layer"] != "all" and options["layer"] not in LAYER_SPECS:
            raise CommandError(f"Unknown layer {options['layer']}; choose one of {', '.join(LAYER_SPECS)} or all")
        by = None
        if options["user"]:
            by = User.objects.filter(email=options["user"]).first()
            if by is None:
                raise CommandError(f"Unknown user: {options['user']}")
        import_options = ImportOptions(mode=options["mode"], skip_bad_rows=options["skip_bad_rows"],
                                       srid=options["srid"], swap_axes=options["swap_axes"],
                                       dry_run=options["dry_run"])

        def progress(done, total, message):
            if options["verbosity"] >= 2:
                self.stderr.write(f"{done}/{total} {message}")

        with tenant_context(municipality):
            report = import_file(path=path, original_name=path.name, layer=options["layer"], by=by,
                                 options=import_options, source_layer=options["source_layer"], progress=progress)
        self.stdout.write(report.text())
        self.stdout.write(f"{report.seconds:.1f}s")
        if options["rejects"] and (report.rejects or any(layer.refused for layer in report.layers)):
            Path(options["rejects"]).write_bytes(rejects_csv(report))
        succeeded = report.landed or (options["dry_run"] and report.layers and not report.total("rejected")
                                      and not any(layer.refused for layer in report.layers))
        if not succeeded:
            raise CommandError(report.message or "Nothing was imported.", returncode=1)
