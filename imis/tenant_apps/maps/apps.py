from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "imis.tenant_apps.maps"
    label = "maps"
    verbose_name = "Maps"
