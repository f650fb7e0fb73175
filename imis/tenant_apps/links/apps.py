from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "imis.tenant_apps.links"
    label = "links"
    verbose_name = "Outside data links"
