"""django-tenants' migrate_schemas, then the template schema new municipalities are copied from."""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from imis.shared_apps.tenants.services import feature_catalogue_sync
from imis.shared_apps.tenants.template_schema import template_schema_migrate


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options.get("schema_name") or options.get("fake") or options.get("check_unapplied") or options.get("plan"):
            return
        if options.get("app_label"):
            return
        feature_catalogue_sync()
        template_schema_migrate(verbosity=max(0, int(options.get("verbosity", 1)) - 1))
