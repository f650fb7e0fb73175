from django.apps import AppConfig


class DataioConfig(AppConfig):
    name = "imis.tenant_apps.dataio"
    label = "dataio"
    verbose_name = "GIS data in and out"
