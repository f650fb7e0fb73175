from django.apps import AppConfig


class SewerConfig(AppConfig):
    name = "imis.tenant_apps.sewer"
    label = "sewer"
    verbose_name = "Sewer"
