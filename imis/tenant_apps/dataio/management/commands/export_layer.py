"""python manage.py export_layer --municipality khulna --layer buildings [--ward 3] --format gpkg OUT"""

import shutil
import tempfile
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import Municipality

from ...exporting import EXPORT_FORMATS, export_area, export_count, export_write
from ...layers import LAYER_SPECS, layer_spec_for


class Command(BaseCommand):
    help = "Export a registry layer to GeoPackage, zipped Shapefile, GeoJSON, KML, CSV or Excel."

    def add_arguments(self, parser):
        parser.add_argument("out")
        parser.add_argument("--municipality", required=True, help="slug")
        parser.add_argument("--layer", required=True, help=f"one of {', '.join(LAYER_SPECS)}")
        parser.add_argument("--format", required=True, choices=list(EXPORT_FORMATS))
        parser.add_argument("--ward", type=int, default=None, help="only this ward (number)")
        parser.add_argument("--polygon", default=None, help="only this area: GeoJSON text or a .geojson file")

    def handle(self, *args, **options):
        municipality = Municipality.objects.filter(slug=options["municipality"]).first()
        if municipality is None:
            raise CommandError(f"Unknown municipality: {options['municipality']}")
        polygon = options["polygon"] or ""
        if polygon and Path(polygon).is_file():
            polygon = Path(polygon).read_text(encoding="utf-8")
        out = Path(options["out"])
        with tenant_context(municipality):
            spec = layer_spec_for(municipality, options["layer"])
            if spec is None:
                raise CommandError(f"Unknown or disabled layer: {options['layer']}")
            try:
                area = export_area(ward=options["ward"], polygon_geojson=polygon)
            except ValidationError as error:
                raise CommandError("; ".join(error.messages))
            count = export_count(spec, area)
            folder = Path(tempfile.mkdtemp(prefix="dataio-export-"))
            try:
                written = export_write(spec=spec, fmt=options["format"], area=area, folder=folder)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(written), out)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        self.stdout.write(f"{count} {spec.name} -> {out} ({out.stat().st_size:,} bytes)")
