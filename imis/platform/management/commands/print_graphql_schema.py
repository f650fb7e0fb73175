"""Print the GraphQL schema (SDL); `--write` updates the committed schema.graphql that a test compares."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation

SCHEMA_FILE = Path(settings.BASE_DIR) / "schema.graphql"


def printed_schema() -> str:
    """The schema as SDL, in English (descriptions come from translatable labels)."""
    from imis.graphql.schema import schema

    with translation.override("en"):
        return str(schema).rstrip() + "\n"


class Command(BaseCommand):
    help = "Print the GraphQL schema; with --write, update schema.graphql at the repository root."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help=f"Write {SCHEMA_FILE.name} instead of printing.")

    def handle(self, *args, write=False, **options):
        text = printed_schema()
        if write:
            SCHEMA_FILE.write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {SCHEMA_FILE}")
        else:
            self.stdout.write(text, ending="")
