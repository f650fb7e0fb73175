from django.apps import AppConfig


class WaterConfig(AppConfig):
    name = "imis.tenant_apps.water"
    label = "water"
    verbose_name = "Water supply"
